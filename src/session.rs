//! The per-channel Async AGI queue. The AMI and CLI threads push; the channel's own thread
//! pops and runs. Each queue has its own lock (no lock is shared across channels).
//!
//! As in stock res_agi, the queue belongs to the channel, not to one `AGI(agi:async)` run:
//! it is made by the channel's first run and stays (in a channel datastore) until the
//! channel is destroyed. Commands queued behind `ASYNCAGI BREAK`, or sent while a Redirect
//! takes the channel elsewhere, wait there and run in the channel's next run. Unlike stock,
//! nothing is lost: a command still queued when the channel hangs up, or when it is
//! destroyed, gets one explicit cancellation.
use crate::events::{self, CancelReason};
use std::collections::VecDeque;
use std::ffi::CString;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};

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
}

/// One `AGI(agi:async)` run serving the queue.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RunId(u64);

#[derive(Default)]
pub struct Session {
    inner: Mutex<Inner>,
    /// The channel thread is (about to be) asleep in ast_waitfor: a pusher must wake it.
    sleeping: AtomicBool,
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
}

impl Session {
    pub fn new() -> Session {
        Session::default()
    }

    pub fn push(&self, cmd: Queued) -> Result<(), PushError> {
        let mut inner = lock(&self.inner);
        if inner.closed {
            return Err(PushError::Closed);
        }
        inner.queue.push_back(cmd);
        Ok(())
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
        Some(run)
    }

    /// The next command for `run`; None when the queue is empty or no longer served by it.
    pub fn pop(&self, run: RunId) -> Option<Queued> {
        let mut inner = lock(&self.inner);
        if inner.run != Some(run) {
            return None;
        }
        inner.queue.pop_front()
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

    /// Called by a pusher after pushing: whether it must wake the channel thread.
    fn take_sleeper(&self) -> bool {
        self.sleeping.swap(false, Ordering::SeqCst)
    }

    /// Ends `run`, remembering the channel headers of its last event. With `cancel` (the
    /// channel hung up) returns what was still queued, to be cancelled; otherwise the queue
    /// waits for the channel's next run. Nothing when the queue had moved to another channel.
    pub fn end(&self, run: RunId, cancel: bool, headers: Vec<u8>) -> Vec<Queued> {
        let mut inner = lock(&self.inner);
        if inner.run != Some(run) {
            return Vec::new();
        }
        inner.run = None;
        if !headers.is_empty() {
            inner.last_headers = headers;
        }
        if cancel { inner.queue.drain(..).collect() } else { Vec::new() }
    }

    /// A masquerade moved the queue (with the datastore) to the channel that took over this
    /// channel's identity: the run on the old channel object stops serving it, and what is
    /// queued waits for that channel's next run.
    pub fn moved(&self) {
        lock(&self.inner).run = None;
    }

    /// Closes the queue for good and returns what was still in it, oldest first.
    pub fn close(&self) -> Vec<Queued> {
        let mut inner = lock(&self.inner);
        inner.closed = true;
        inner.queue.drain(..).collect()
    }

    /// The channel is being destroyed (its datastore with it): every command still queued
    /// gets its cancellation, after everything the channel published before.
    pub fn destroyed(&self) {
        let leftovers = self.close();
        if leftovers.is_empty() {
            return;
        }
        let headers = lock(&self.inner).last_headers.clone();
        for cmd in &leftovers {
            events::cancelled_after_destroy(&headers, &cmd.id, CancelReason::Hangup);
        }
    }
}

#[derive(Debug, PartialEq, Eq)]
pub enum EnqueueError {
    /// The channel has no Async AGI queue (it never ran AGI(agi:async)).
    NotInAsyncAgi,
}

/// Queues `command` on `chan`'s Async AGI queue and wakes the channel's thread if it sleeps.
/// Shared by the manager action and the CLI.
pub fn enqueue(
    chan: &crate::ffi::channel::Chan,
    command: Vec<u8>,
    id: Vec<u8>,
) -> Result<(), EnqueueError> {
    // The channel lock is held only to find the session, never while waking the channel.
    let session = chan.lock().datastore().and_then(|d| d.downcast::<Session>().ok());
    let Some(session) = session.filter(|s| s.push(Queued { command: crate::ffi::cstring(command), id }).is_ok()) else {
        crate::ast_log!(Warning, "Channel {} is not setup for Async AGI.", chan.name());
        return Err(EnqueueError::NotInAsyncAgi);
    };
    if session.take_sleeper() {
        chan.wake();
    }
    if crate::ffi::log::debug_enabled(1) {
        crate::ffi::log::debug(1, &format!("Added AGI command to channel {} queue", chan.name()));
    }
    Ok(())
}
