//! The AGI dialplan application and the Async AGI loop of one channel.
//!
//! `AGI(agi:async[,args…])` finds the channel's queue (session::Session, in a datastore;
//! made by the channel's first run and kept for its life), sends AsyncAGIStart, then runs
//! queued commands in FIFO order on this, the channel's own thread. With nothing queued it
//! blocks in `ast_waitfor(chan, -1)`: no polling and no CPU while idle. Whoever queues a
//! command wakes it at once by queueing a null frame (session::enqueue). When the channel
//! leaves (ASYNCAGI BREAK, Redirect) what is still queued waits for its next run, as in
//! stock; on hangup each such command gets an explicit cancellation. Then AsyncAGIEnd.
use crate::engine;
use crate::env;
use crate::events::{CancelReason, Emitter};
use crate::failpoint;
use crate::ffi::channel::{current_thread_id, Chan, FrameRead, SendableChannel};
use crate::ffi::misc;
use crate::relay;
use crate::session::{Queued, RunId, Session};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

pub const APP: &std::ffi::CStr = c"AGI";

/// Channels currently in Async AGI; the module refuses to unload while any are.
static ACTIVE: AtomicUsize = AtomicUsize::new(0);

pub fn active_sessions() -> usize {
    ACTIVE.load(Ordering::SeqCst)
}


/// How an Async AGI session ended (stock's agi_result).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ended {
    /// ASYNCAGI BREAK.
    Break,
    /// The channel hung up or was redirected.
    Hangup,
    /// Could not start, or waiting on the channel failed.
    Failure,
}

/// The AGI application. Returns 0 to go on in the dialplan, -1 to hang up.
pub fn exec(chan: &Chan, data: &[u8]) -> i32 {
    if data.is_empty() {
        crate::ast_log!(Warning, "AGI requires an argument (script)");
        return -1;
    }
    let mut args = misc::standard_app_args(data);
    let script = if args.is_empty() { Vec::new() } else { args.remove(0) };
    let ended = if engine::parse::starts_with_ci(&script, b"agi:async") {
        // The arguments move to where the environment is built: a parked channel keeps
        // nothing of them.
        run_async(chan, args)
    } else {
        crate::ast_log!(
            Warning,
            "res_agi_rs runs Async AGI only (AGI(agi:async,...)); '{}' is not supported",
            String::from_utf8_lossy(&script)
        );
        Ended::Failure
    };
    let (status, ret): (&std::ffi::CStr, i32) = match ended {
        Ended::Break => (c"SUCCESS", 0),
        Ended::Failure => (c"FAILURE", 0),
        Ended::Hangup => (c"HANGUP", -1),
    };
    chan.set_var(c"AGISTATUS", status);
    ret
}

fn run_async(chan: &Chan, script_args: Vec<Vec<u8>>) -> Ended {
    // The channel's queue: made by its first run, kept for its whole life (as stock).
    let session = {
        let locked = chan.lock();
        match locked.datastore().map(|d| d.downcast::<Session>()) {
            Some(Ok(session)) => Some(session),
            Some(Err(_)) => None,
            None => {
                let session = Arc::new(Session::new());
                locked.attach_datastore(session.clone()).ok().map(|()| session)
            }
        }
    };
    let Some((session, run)) = session.and_then(|s| s.begin().map(|run| (s, run))) else {
        crate::ast_log!(Error, "Failed to start Async AGI on channel {}: it is already in Async AGI", chan.name());
        return Ended::Failure;
    };
    let _active = crate::guard::Counted::enter(&ACTIVE);
    let mut events = Emitter::new(chan);
    // The command taken from the queue and not answered yet: if this session fails
    // (a panic outside the per-command guard), it still gets its one AsyncAGIExec.
    let mut current: Option<Queued> = None;
    let ended = crate::guard::guard("Async AGI session", None, || {
        // Environment and AsyncAGIStart are made on the relay thread (see crate::relay).
        let sendable = SendableChannel::new(chan);
        let threadid = current_thread_id();
        relay::run_blocking(move || {
            let chan = sendable.chan();
            let environment = env::build(&chan.env_facts(threadid), b"async", &script_args);
            Emitter::new(chan).async_start(&environment);
        });
        Some(command_loop(chan, &session, run, &mut events, &mut current))
    });
    let Some(ended) = ended else {
        // The session failed inside this module: close the queue, cancel what it held,
        // take the datastore off the channel, and tell the client the channel left.
        let leftovers = current.into_iter().chain(session.close());
        for cmd in leftovers {
            events.async_exec_cancelled(&cmd.id, CancelReason::Failure);
        }
        chan.lock().detach_datastore();
        events.async_end();
        session.end(run, false, Vec::new());
        return Ended::Failure;
    };
    // Leave. Commands still queued stay for the channel's next run (after ASYNCAGI BREAK, a
    // Redirect...), as in stock; if the channel hung up, each gets its cancellation now.
    let hungup = ended == Ended::Hangup && !chan.redirect_pending();
    let leftovers = session.end(run, hungup, events.last_headers());
    for cmd in &leftovers {
        events.async_exec_cancelled(&cmd.id, CancelReason::Hangup);
    }
    events.async_end();
    ended
}

fn command_loop(chan: &Chan, session: &Session, run: RunId, events: &mut Emitter, current: &mut Option<Queued>) -> Ended {
    let mut io = engine::SessionIo::default();
    let mut hungup = chan.check_hangup_locked();
    loop {
        // Run everything queued, in order.
        while !hungup {
            let Some(cmd) = session.pop(run) else { break };
            let cmd = current.insert(cmd);
            failpoint::hit(cmd.command.as_bytes(), "_TEST PANIC SESSION");
            let outcome = engine::run(chan, events, &mut io, cmd.command.as_bytes());
            events.async_exec(&outcome.text, &cmd.id);
            *current = None;
            hungup = chan.check_hangup();
            if outcome.status == engine::Status::Break {
                return Ended::Break;
            }
            // Unlike stock, a failing command (e.g. STREAM FILE of a missing file) does not
            // end the session: its result is reported and the channel stays parked.
        }
        let ready = if hungup {
            // Drain the control queue until the channel reports it is gone.
            1
        } else {
            // Sleep until a frame arrives; a command queued while we sleep brings a null
            // frame (session::enqueue wakes only a sleeping thread).
            if !session.prepare_to_sleep(run) {
                continue;
            }
            events.idle();
            let res = chan.waitfor(-1);
            session.awake();
            if res < 0 {
                return if chan.check_hangup() { Ended::Hangup } else { Ended::Failure };
            }
            res
        };
        if ready > 0 {
            loop {
                match chan.read_and_discard() {
                    FrameRead::Gone | FrameRead::HangupControl => return Ended::Hangup,
                    FrameRead::Other => {}
                }
                hungup = chan.check_hangup();
                if !hungup {
                    break;
                }
            }
        } else {
            hungup = chan.check_hangup();
        }
    }
}
