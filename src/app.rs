//! The AGI dialplan application and the Async AGI loop of one channel.
//!
//! `AGI(agi:async[,args…])` finds the channel's queue (session::Session, in a datastore;
//! made by the channel's first run and kept for its life), sends AsyncAGIStart, then runs
//! queued commands in FIFO order on this, the channel's own thread. With nothing queued it
//! blocks in `ast_waitfor(chan, -1)`: no polling and no CPU while idle. Whoever queues a
//! command wakes it at once by queueing a null frame (session::enqueue). When the channel
//! leaves (ASYNCAGI BREAK, Redirect) what is still queued waits for its next run, as in
//! stock; on hangup each such command gets an explicit cancellation. Then AsyncAGIEnd.
use crate::classic::{self, AgiResult};
use crate::engine;
use crate::env;
use crate::events::{CancelReason, Emitter};
use crate::failpoint;
use crate::ffi::channel::{current_thread_id, Chan, Format, FrameRead, SendableChannel};
use crate::ffi::misc;
use crate::relay;
use crate::session::{Queued, RunId, Session};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;


/// How long a parked channel keeps its event buffer and cached channel headers after its
/// last command (one wake-up then, to let them go: an idle parked channel keeps nothing).
const LINGER_MS: i32 = 2000;

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

/// The dialplan applications this module registers (stock's three).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AppKind {
    /// `AGI(script|agi://…|hagi://…|agi:async[,args])`.
    Agi,
    /// `EAGI(script[,args])`: AGI with the channel's inbound audio on the script's fd 3.
    Eagi,
    /// `DeadAGI(...)`: deprecated, runs AGI.
    DeadAgi,
}

impl AppKind {
    pub const ALL: [AppKind; 3] = [AppKind::Agi, AppKind::Eagi, AppKind::DeadAgi];

    pub fn name(self) -> &'static std::ffi::CStr {
        match self {
            AppKind::Agi => c"AGI",
            AppKind::Eagi => c"EAGI",
            AppKind::DeadAgi => c"DeadAGI",
        }
    }
}

/// One of the applications was called. Returns 0 to go on in the dialplan, -1 to hang up.
pub fn exec_app(kind: AppKind, chan: &Chan, data: &[u8]) -> i32 {
    match kind {
        AppKind::Agi => exec(chan, data, false),
        AppKind::Eagi => eagi(chan, data),
        AppKind::DeadAgi => {
            crate::ast_log!(Warning, "DeadAGI has been deprecated, please use AGI in all cases!");
            exec(chan, data, false)
        }
    }
}

fn eagi(chan: &Chan, data: &[u8]) -> i32 {
    if chan.check_hangup() {
        crate::ast_log!(Error, "EAGI cannot be run on a dead/hungup channel, please use AGI.");
        return 0;
    }
    let requested = chan.get_var(c"EAGI_AUDIO_FORMAT").and_then(|name| {
        let format = Format::by_name(&crate::ffi::cstring(name.clone()));
        match &format {
            Some(f) => crate::ffi::log::verb(3, format!("<{}> Setting EAGI audio pipe format to {}\n", chan.name(), f.name()).as_bytes()),
            None => crate::ast_log!(Error, "Could not find requested format: {}", String::from_utf8_lossy(&name)),
        }
        format
    });
    let saved = chan.read_format();
    if !chan.set_read_format(requested.as_ref()) {
        crate::ast_log!(Warning, "Unable to set channel '{}' to linear mode", chan.name());
        return -1;
    }
    let res = exec(chan, data, true);
    if res == 0 && !chan.set_read_format(saved.as_ref()) {
        crate::ast_log!(
            Warning,
            "Unable to restore channel '{}' to format {}",
            chan.name(),
            saved.as_ref().map(|f| f.name()).unwrap_or_default()
        );
    }
    res
}

/// stock's agi_exec_full.
fn exec(chan: &Chan, data: &[u8], enhanced: bool) -> i32 {
    if data.is_empty() {
        crate::ast_log!(Warning, "AGI requires an argument (script)");
        return -1;
    }
    let mut args = misc::standard_app_args(data);
    let script = if args.is_empty() { Vec::new() } else { args.remove(0) };
    let status: AgiResult = if crate::parse::starts_with_ci(&script, b"agi:async") {
        if enhanced {
            crate::ast_log!(Warning, "Async AGI does not support Enhanced AGI yet");
            AgiResult::Failure
        } else {
            // The arguments move to where the environment is built: a parked channel keeps
            // nothing of them.
            match run_async(chan, args) {
                Ended::Break => AgiResult::Success,
                Ended::Failure => AgiResult::Failure,
                Ended::Hangup => AgiResult::Hangup,
            }
        }
    } else {
        classic::run(chan, &script, &args, enhanced)
    };
    let (status, ret): (&std::ffi::CStr, i32) = match status {
        AgiResult::Success => (c"SUCCESS", 0),
        AgiResult::Failure => (c"FAILURE", 0),
        AgiResult::NotFound => (c"NOTFOUND", 0),
        AgiResult::Hangup => (c"HANGUP", -1),
    };
    let mode = if crate::parse::starts_with_ci(&script, b"agi:async") { crate::metrics::Mode::Async } else { crate::metrics::Mode::of_script(&script) };
    crate::metrics::session(mode, &String::from_utf8_lossy(status.to_bytes()));
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
    let _active = crate::ffi::guard::Counted::enter(&ACTIVE);
    let _in_async = crate::metrics::async_call();
    // ASYNCAGI_OWNER names the application this call belongs to (AGIClaim does it from AMI).
    if let Some(owner) = chan.get_var(c"ASYNCAGI_OWNER").filter(|o| !o.is_empty()) {
        session.owner().set(Some(owner));
    }
    crate::session::register_run(run, &session, chan.uniqueid().into_bytes());
    let _registered = Unregister(run);
    let owner = session.owner().clone();
    let mut events = Emitter::with_owner(chan, owner.clone());
    // The command taken from the queue and not answered yet: if this session fails
    // (a panic outside the per-command guard), it still gets its one AsyncAGIExec.
    let mut current: Option<Queued> = None;
    let ended = crate::ffi::guard::guard("Async AGI session", None, || {
        // Environment and AsyncAGIStart are made on the relay thread (see crate::relay).
        let sendable = SendableChannel::new(chan);
        let threadid = current_thread_id();
        relay::run_blocking(move || {
            let chan = sendable.chan();
            let environment = env::build(&chan.env_facts(threadid), b"async", &script_args, false);
            Emitter::with_owner(chan, owner).async_start(&environment);
        });
        Some(command_loop(chan, &session, run, &mut events, &mut current))
    });
    let Some(ended) = ended else {
        // The session failed inside this module: close the queue, cancel what it held,
        // take the datastore off the channel, and tell the client the channel left.
        let leftovers = current.into_iter().chain(session.close());
        events.hold();
        for cmd in leftovers {
            events.async_exec_cancelled(&cmd.id, CancelReason::Failure);
        }
        chan.lock().detach_datastore();
        events.async_end();
        events.release();
        session.end(run, false, Vec::new());
        return Ended::Failure;
    };
    // Leave. Commands still queued stay for the channel's next run (after ASYNCAGI BREAK, a
    // Redirect...), as in stock; if the channel hung up, each gets its cancellation now.
    let hungup = ended == Ended::Hangup && !chan.redirect_pending();
    let leftovers = session.end(run, hungup, events.headers());
    // The cancellations and AsyncAGIEnd go out as one stasis message: when hundreds of calls
    // hang up at once with commands queued, the manager's router gets one task per call, as
    // stock's AsyncAGIEnd alone (issue 20: 500 calls x 4 commands otherwise put 2,500 tasks
    // on it in a burst, near the 3,000 where Asterisk raises its taskprocessor alert).
    events.hold();
    for cmd in &leftovers {
        events.async_exec_cancelled(&cmd.id, CancelReason::Hangup);
    }
    events.async_end();
    events.release();
    ended
}

/// Takes a run off the list of parked channels however it ends.
struct Unregister(RunId);

impl Drop for Unregister {
    fn drop(&mut self) {
        crate::session::unregister_run(self.0);
    }
}

/// Whether parked channel threads wait as SCHED_BATCH (IdlePolicy). An experiment's switch,
/// not a setting: `RS_PARKED_POLICY=other` in Asterisk's environment keeps them SCHED_OTHER
/// (`bench --sched` compares the two, issue 28). Read once; a static, no thread-local.
fn parked_batch() -> bool {
    static BATCH: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *BATCH.get_or_init(|| std::env::var("RS_PARKED_POLICY").map_or(true, |v| v != "other"))
}

fn command_loop(chan: &Chan, session: &Session, run: RunId, events: &mut Emitter, current: &mut Option<Queued>) -> Ended {
    let mut io = engine::SessionIo::default();
    let mut idle = crate::ffi::process::IdlePolicy::new(parked_batch());
    let mut hungup = chan.check_hangup_locked();
    // When the last command finished: the event buffer and headers kept after it go
    // LINGER_MS later, whether the thread slept that long or was woken by frames meanwhile
    // (a call with media wakes it 50 times a second: the wait alone never timed out).
    let mut last_command = std::time::Instant::now();
    loop {
        // Run everything queued, in order.
        while !hungup {
            let Some(cmd) = session.pop(run) else { break };
            idle.active();
            let cmd = current.insert(cmd);
            failpoint::hit(cmd.command.as_bytes(), "_TEST PANIC SESSION");
            // What AGIInterrupt will use to stop it (see crate::interrupt).
            let fds = session.start_command(run, cmd.command.as_bytes());
            let began = std::time::Instant::now();
            let outcome = engine::run(chan, events, &mut io, cmd.command.as_bytes(), false, fds, Some(session.interrupt_flag()));
            crate::metrics::command(crate::metrics::Mode::Async, outcome.slot, began.elapsed().as_secs_f64());
            // (Tests: time for a masquerade and an interrupt between a command's return and
            // its finish; tests/hardening.rs. A finish that slow lets its AGIExecEnd out
            // first, as the command has returned.)
            if failpoint::pauses(cmd.command.as_bytes(), " _TEST SLOW FINISH") {
                events.release();
                failpoint::pause(cmd.command.as_bytes(), " _TEST SLOW FINISH", 3000);
            }
            let interrupted = session.finish_command(run, chan);
            // AGIExecEnd (held by the engine) and AsyncAGIExec go out as one message.
            events.async_exec_full(&outcome.text, &cmd.id, interrupted);
            events.release();
            last_command = std::time::Instant::now();
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
            // A channel that has just run commands keeps its event buffer and channel
            // headers for LINGER_MS, in case more come (the next command's events then reuse
            // them); if none comes by then, it forgets them and sleeps without a timeout.
            events.release();
            let mut timeout = -1;
            if events.keeps() {
                let left = i64::from(LINGER_MS) - last_command.elapsed().as_millis() as i64;
                if left > 0 {
                    timeout = left as i32;
                } else {
                    events.idle();
                }
            }
            // As SCHED_BATCH (see IdlePolicy): when the AMI thread that queued a command wakes
            // us, we do not preempt it on its CPU; under load more commands are queued by the
            // time we run (measured: half the wake-ups per command at 1,000 calls). The policy
            // stays so while frames of a parked call are read and dropped, until a command runs.
            let res = idle.wait(|| chan.waitfor(timeout));
            session.awake();
            if res < 0 {
                return if chan.check_hangup() { Ended::Hangup } else { Ended::Failure };
            }
            if res == 0 {
                events.idle();
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
