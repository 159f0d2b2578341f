//! The per-channel Async AGI queue. The AMI and CLI threads push; the channel's own thread
//! pops and runs. Each queue has its own lock (no lock is shared across channels).
//!
//! As in stock res_agi, the queue belongs to the channel, not to one `AGI(agi:async)` run:
//! it is made by the channel's first run and stays (in a channel datastore) until the
//! channel is destroyed. Commands queued behind `ASYNCAGI BREAK`, or sent while a Redirect
//! takes the channel elsewhere, wait there and run in the channel's next run. Unlike stock,
//! nothing is lost: a command still queued when the channel hangs up, or when it is
//! destroyed, gets one explicit cancellation.
use crate::context::InterruptFlag;
use crate::events::{self, CancelReason, Owner};
use crate::ffi::channel::{AgiFds, Chan, ChanLock};
use crate::ffi::process::EventFd;
use crate::interrupt::{classify, Stop};
use std::collections::{BTreeMap, VecDeque};
use std::ffi::CString;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Instant;

/// A command waiting in a channel's queue.
#[derive(Debug)]
pub struct Queued {
    /// The AGI command line, as the client sent it.
    pub command: CString,
    /// The client's CommandID (empty when none was given).
    pub id: Vec<u8>,
}

#[derive(Debug, PartialEq, Eq)]
pub enum PushError {
    /// The queue is gone with its channel.
    Closed,
    /// The queue holds `maxqueue` commands already.
    Full(usize),
}

/// The command a run is executing now.
struct Running {
    /// The run executing it.
    run: RunId,
    line: Vec<u8>,
    started: Instant,
    stop: Stop,
    interrupted: bool,
}

/// One `AGI(agi:async)` run serving the queue.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RunId(u64);

#[derive(Default)]
pub struct Session {
    inner: Mutex<Inner>,
    /// The channel thread is (about to be) asleep in ast_waitfor: a pusher must wake it.
    sleeping: AtomicBool,
    /// A pusher took the sleeper and owes it its wake-up, which it gives after answering its
    /// client. Another pusher that finds the debt gives the wake-up too (whichever answers
    /// first): a client that does not read its socket, whose answer blocks for the manager's
    /// write timeout, then delays no other client's command on the channel (issue 27).
    wake_owed: AtomicBool,
    /// Who owns the queue (AGIClaim / ASYNCAGI_OWNER); shared with the events.
    owner: Arc<Owner>,
    /// Raised when the running command is interrupted (the command reads it).
    interrupted: InterruptFlag,
}

/// std's futex-based Mutex: no thread-local state on Asterisk's threads (see crate::relay).
fn lock(m: &Mutex<Inner>) -> MutexGuard<'_, Inner> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[derive(Default)]
struct Inner {
    queue: VecDeque<Queued>,
    /// The run now serving the queue, if any.
    run: Option<RunId>,
    /// The channel is gone (datastore destroyed) or its session failed: no more pushes.
    closed: bool,
    /// The channel headers of the last event of a run: used for the cancellations sent when
    /// the channel is destroyed, when it has no snapshot any more.
    last_headers: Vec<u8>,
    running: Option<Running>,
    /// When the current run began (the channel parked).
    parked_since: Option<Instant>,
    /// The control descriptor of interruptible commands, made by a run's first one and
    /// closed when the run ends (no descriptor for a parked channel that never needs one).
    ctrl: Option<EventFd>,
    /// Commands that were running when a masquerade moved the queue to another channel
    /// object (with their run's control descriptor): they finish on the old object, out of
    /// reach of an interrupt, which finds the queue through the new one (issue 18).
    moved_away: Vec<(Running, Option<EventFd>)>,
}

/// Why an interrupt was refused.
#[derive(Debug, PartialEq, Eq)]
pub enum InterruptError {
    NothingRunning,
    /// The running command (its line) cannot be interrupted, and why.
    Cannot(Vec<u8>, String),
}

/// What a channel's queue looks like now (AGIChannels, agi show channels).
pub struct Status {
    pub owner: Option<Vec<u8>>,
    pub queued: usize,
    pub running: Option<(Vec<u8>, f64)>,
    pub parked_secs: f64,
}

impl Session {
    pub fn new() -> Session {
        Session::default()
    }

    pub fn push(&self, cmd: Queued, max: usize) -> Result<(), PushError> {
        let mut inner = lock(&self.inner);
        if inner.closed {
            return Err(PushError::Closed);
        }
        if inner.queue.len() >= max {
            return Err(PushError::Full(max));
        }
        inner.queue.push_back(cmd);
        crate::metrics::queued(inner.queue.len());
        Ok(())
    }

    pub fn owner(&self) -> &Arc<Owner> {
        &self.owner
    }

    pub fn interrupt_flag(&self) -> &InterruptFlag {
        &self.interrupted
    }

    /// The command `run` is about to execute: what it must watch to be interruptible.
    pub fn start_command(&self, run: RunId, line: &[u8]) -> AgiFds {
        let stop = classify(line);
        let mut inner = lock(&self.inner);
        if inner.run != Some(run) {
            return AgiFds::NONE;
        }
        let mut fds = AgiFds::NONE;
        if stop == Stop::Ctrl {
            if inner.ctrl.is_none() {
                inner.ctrl = EventFd::new();
            }
            fds.ctrl = inner.ctrl.as_ref().map_or(-1, EventFd::raw);
        }
        self.interrupted.set(false);
        inner.running = Some(Running { run, line: line.to_vec(), started: Instant::now(), stop, interrupted: false });
        fds
    }

    /// The command has returned: whether it was interrupted. Taking the running command
    /// out under the queue's lock is the point after which no interrupt can reach it (an
    /// interrupt finds nothing running); what an earlier one set is undone after that: the
    /// eventfd drained, or exactly our soft-hangup bit cleared (no later command has started
    /// yet, so the bit is this command's), and a file the stopped command left attached is
    /// closed. The channel lock is not taken: an uninterrupted command costs one queue lock.
    /// A command a masquerade moved away (`moved`) is finished the same way on `chan`, the
    /// old channel object it ran on; its control descriptor is closed now that it returned.
    pub fn finish_command(&self, run: RunId, chan: &Chan) -> bool {
        let stop = {
            let mut inner = lock(&self.inner);
            let (r, moved_ctrl) = match inner.running.take_if(|r| r.run == run) {
                Some(r) => (r, None),
                None => match inner.moved_away.iter().position(|(r, _)| r.run == run) {
                    Some(i) => inner.moved_away.swap_remove(i),
                    None => return false,
                },
            };
            if !r.interrupted {
                return false;
            }
            if r.stop == Stop::Ctrl {
                if let Some(c) = moved_ctrl.as_ref().or(inner.ctrl.as_ref()) {
                    c.drain();
                }
            }
            r.stop
        };
        if stop == Stop::Softhangup {
            chan.clear_interrupt_softhangup();
        }
        chan.stop_stream();
        true
    }

    /// Interrupts the running command (the caller holds the channel's lock). With `flush`,
    /// also takes every queued command out (to be cancelled by the caller). Returns the
    /// interrupted command's line.
    pub fn interrupt(&self, chan: &ChanLock, flush: bool) -> Result<(Vec<u8>, Vec<Queued>), InterruptError> {
        let mut inner = lock(&self.inner);
        let Inner { running, ctrl, queue, .. } = &mut *inner;
        let Some(running) = running.as_mut() else {
            return Err(InterruptError::NothingRunning);
        };
        match &running.stop {
            Stop::Not(why) => return Err(InterruptError::Cannot(running.line.clone(), why.clone())),
            Stop::Ctrl if !running.interrupted => {
                if let Some(c) = ctrl {
                    c.signal();
                }
            }
            Stop::Softhangup if !running.interrupted => chan.interrupt_softhangup(),
            _ => {}
        }
        running.interrupted = true;
        self.interrupted.set(true);
        let line = running.line.clone();
        let flushed: Vec<Queued> = if flush { queue.drain(..).collect() } else { Vec::new() };
        crate::metrics::dequeued(flushed.len());
        Ok((line, flushed))
    }

    /// Takes every queued command out (not the running one), oldest first.
    pub fn flush(&self) -> Vec<Queued> {
        let flushed: Vec<Queued> = lock(&self.inner).queue.drain(..).collect();
        crate::metrics::dequeued(flushed.len());
        flushed
    }

    pub fn status(&self) -> Status {
        let inner = lock(&self.inner);
        Status {
            owner: self.owner.get(),
            queued: inner.queue.len(),
            running: inner.running.as_ref().map(|r| (r.line.clone(), r.started.elapsed().as_secs_f64())),
            parked_secs: inner.parked_since.map_or(0.0, |t| t.elapsed().as_secs_f64()),
        }
    }

    /// Starts a run; None when one is already running (nested AGI(agi:async)).
    pub fn begin(&self) -> Option<RunId> {
        static RUNS: AtomicU64 = AtomicU64::new(1);
        let mut inner = lock(&self.inner);
        if inner.run.is_some() || inner.closed {
            return None;
        }
        let run = RunId(RUNS.fetch_add(1, Ordering::Relaxed));
        inner.run = Some(run);
        inner.parked_since = Some(Instant::now());
        Some(run)
    }

    /// The next command for `run`; None when the queue is empty or no longer served by it.
    pub fn pop(&self, run: RunId) -> Option<Queued> {
        let mut inner = lock(&self.inner);
        if inner.run != Some(run) {
            return None;
        }
        let cmd = inner.queue.pop_front();
        crate::metrics::dequeued(cmd.is_some() as usize);
        cmd
    }

    /// Called by the channel thread before it sleeps: announces the sleep, then looks at the
    /// queue once more. False (do not sleep) if a command is waiting. Paired with
    /// `take_sleeper`, no command can be left unseen: either this check finds it, or the
    /// pusher sees the flag and wakes the thread.
    pub fn prepare_to_sleep(&self, run: RunId) -> bool {
        self.sleeping.store(true, Ordering::SeqCst);
        {
            let inner = lock(&self.inner);
            if inner.queue.is_empty() || inner.run != Some(run) {
                return true;
            }
        }
        self.sleeping.store(false, Ordering::SeqCst);
        false
    }

    /// Called by the channel thread when it is awake again.
    pub fn awake(&self) {
        self.sleeping.store(false, Ordering::SeqCst);
    }

    /// Called by a pusher after pushing: whether it must wake the channel thread (it then owes
    /// the wake-up, or shares another pusher's debt not yet paid).
    fn take_sleeper(&self) -> bool {
        if self.sleeping.swap(false, Ordering::SeqCst) {
            self.wake_owed.store(true, Ordering::SeqCst);
            return true;
        }
        self.wake_owed.load(Ordering::SeqCst)
    }

    /// Pays the wake-up debt: true for the first caller only.
    fn pay_wake(&self) -> bool {
        self.wake_owed.swap(false, Ordering::SeqCst)
    }

    /// Ends `run`, remembering the channel headers of its last event. With `cancel` (the
    /// channel hung up) returns what was still queued, to be cancelled; otherwise the queue
    /// waits for the channel's next run. Nothing when the queue had moved to another channel.
    pub fn end(&self, run: RunId, cancel: bool, headers: Vec<u8>) -> Vec<Queued> {
        let mut inner = lock(&self.inner);
        inner.moved_away.retain(|(r, _)| r.run != run);
        if inner.run != Some(run) {
            return Vec::new();
        }
        inner.run = None;
        inner.running = None;
        inner.parked_since = None;
        inner.ctrl = None;
        if !headers.is_empty() {
            inner.last_headers = headers;
        }
        let left: Vec<Queued> = if cancel { inner.queue.drain(..).collect() } else { Vec::new() };
        crate::metrics::dequeued(left.len());
        left
    }

    /// A masquerade moved the queue (with the datastore) to the channel that took over this
    /// channel's identity: the run on the old channel object stops serving it, and what is
    /// queued waits for that channel's next run. The command it is running (if any) finishes
    /// on the old object: it is set aside with its run's control descriptor, so that an
    /// interrupt, which finds the queue through the new object by name, cannot reach it (its
    /// soft-hangup bit would land on the new object, and nothing would clear it there).
    pub fn moved(&self) {
        let mut inner = lock(&self.inner);
        inner.run = None;
        let ctrl = inner.ctrl.take();
        if let Some(r) = inner.running.take() {
            inner.moved_away.push((r, ctrl));
        }
    }

    /// Closes the queue for good and returns what was still in it, oldest first.
    pub fn close(&self) -> Vec<Queued> {
        let mut inner = lock(&self.inner);
        inner.closed = true;
        let left: Vec<Queued> = inner.queue.drain(..).collect();
        crate::metrics::dequeued(left.len());
        left
    }

    /// The channel is being destroyed (its datastore with it): every command still queued
    /// gets its cancellation, after everything the channel published before.
    pub fn destroyed(&self) {
        let leftovers = self.close();
        if leftovers.is_empty() {
            return;
        }
        let headers = lock(&self.inner).last_headers.clone();
        let owner = self.owner.get();
        let ids: Vec<&[u8]> = leftovers.iter().map(|cmd| cmd.id.as_slice()).collect();
        events::cancelled_after_destroy(&headers, &ids, CancelReason::Hangup, owner.as_deref());
    }
}

#[derive(Debug, PartialEq, Eq)]
pub enum EnqueueError {
    /// The channel has no Async AGI queue (it never ran AGI(agi:async)).
    NotInAsyncAgi,
    /// The channel belongs to another application (its token).
    Owned(Vec<u8>),
    /// The queue is full (maxqueue).
    Full(usize),
}

/// Who is asking, for the ownership rule: an AMI client with the `Owner` header it sent
/// (empty when none), or the CLI (an administrator: never refused for ownership).
#[derive(Clone, Copy)]
pub enum Asker<'a> {
    Ami(&'a [u8]),
    Cli,
}

/// The channel's queue, if it has one (the channel lock is held only to find it).
pub fn session_of(chan: &Chan) -> Option<Arc<Session>> {
    chan.lock().datastore().and_then(|d| d.downcast::<Session>().ok())
}

/// Ok when `asker` may command a channel whose queue `session` is; Err(owner) otherwise.
pub fn check_owner(session: &Session, asker: Asker) -> Result<(), Vec<u8>> {
    match (asker, session.owner.get()) {
        (Asker::Ami(token), Some(owner)) if token != owner.as_slice() => Err(owner),
        _ => Ok(()),
    }
}

/// The wake-up a queued command owes the channel's thread (if it sleeps): given when this is
/// dropped, so that the caller can answer first (the AMI thread writes its Response before the
/// channel thread competes with it for a CPU). Shared with any command queued meanwhile
/// (Session::take_sleeper): the first of them to answer wakes the thread.
pub struct Wakeup<'a>(Option<(&'a Chan, Arc<Session>)>);

impl Drop for Wakeup<'_> {
    fn drop(&mut self) {
        if let Some((chan, session)) = self.0.take() {
            if session.pay_wake() {
                chan.wake();
            }
        }
    }
}

/// Queues `command` on `chan`'s Async AGI queue; the returned Wakeup wakes the channel's thread
/// if it sleeps. Shared by the manager action and the CLI.
pub fn enqueue<'a>(chan: &'a Chan, command: Vec<u8>, id: Vec<u8>, asker: Asker) -> Result<Wakeup<'a>, EnqueueError> {
    // The channel lock is held only to find the session, never while waking the channel.
    let Some(session) = session_of(chan) else {
        crate::ast_log!(Warning, "Channel {} is not setup for Async AGI.", chan.name());
        return Err(EnqueueError::NotInAsyncAgi);
    };
    check_owner(&session, asker).map_err(EnqueueError::Owned)?;
    match session.push(Queued { command: crate::ffi::cstring(command), id }, crate::config::maxqueue()) {
        Ok(()) => {}
        Err(PushError::Full(n)) => return Err(EnqueueError::Full(n)),
        Err(PushError::Closed) => {
            crate::ast_log!(Warning, "Channel {} is not setup for Async AGI.", chan.name());
            return Err(EnqueueError::NotInAsyncAgi);
        }
    }
    let wakeup = Wakeup(session.take_sleeper().then(|| (chan, session.clone())));
    if crate::ffi::log::debug_enabled(1) {
        crate::ffi::log::debug(1, &format!("Added AGI command to channel {} queue", chan.name()));
    }
    Ok(wakeup)
}

/// Every channel now in AGI(agi:async): its queue and its uniqueid (AGIChannels). The one
/// lock shared across channels, taken once when a run starts and once when it ends.
static PARKED: Mutex<BTreeMap<u64, (Weak<Session>, Vec<u8>)>> = Mutex::new(BTreeMap::new());

pub fn register_run(run: RunId, session: &Arc<Session>, uniqueid: Vec<u8>) {
    PARKED.lock().unwrap_or_else(|p| p.into_inner()).insert(run.0, (Arc::downgrade(session), uniqueid));
}

/// Frees the map itself (module unload; no run is left then).
pub fn release_all() {
    std::mem::take(&mut *PARKED.lock().unwrap_or_else(|p| p.into_inner()));
}

pub fn unregister_run(run: RunId) {
    PARKED.lock().unwrap_or_else(|p| p.into_inner()).remove(&run.0);
}

/// The channels in Async AGI, in the order they parked: (uniqueid, queue).
pub fn parked() -> Vec<(Vec<u8>, Arc<Session>)> {
    PARKED.lock().unwrap_or_else(|p| p.into_inner()).values().filter_map(|(w, u)| w.upgrade().map(|s| (u.clone(), s))).collect()
}
