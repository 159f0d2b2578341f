//! The per-channel Async AGI queue. The AMI and CLI threads push; the channel's own thread
//! pops and runs. Each queue has its own lock (no lock is shared across channels), and once
//! closed it refuses new commands and hands back those still queued, so that every command
//! ends in exactly one result or one explicit cancellation.
use std::sync::{Mutex, MutexGuard};
use std::collections::VecDeque;
use std::ffi::CString;
use std::sync::atomic::{AtomicBool, Ordering};

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
    /// The channel has left (or is leaving) Async AGI.
    Closed,
}

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
    closed: bool,
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

    pub fn pop(&self) -> Option<Queued> {
        lock(&self.inner).queue.pop_front()
    }

    /// Called by the channel thread before it sleeps: announces the sleep, then looks at the
    /// queue once more. False (do not sleep) if a command is waiting. Paired with
    /// `take_sleeper`, no command can be left unseen: either this check finds it, or the
    /// pusher sees the flag and wakes the thread.
    pub fn prepare_to_sleep(&self) -> bool {
        self.sleeping.store(true, Ordering::SeqCst);
        if lock(&self.inner).queue.is_empty() {
            return true;
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

    /// Closes the queue for good and returns what was still in it, oldest first.
    pub fn close(&self) -> Vec<Queued> {
        let mut inner = lock(&self.inner);
        inner.closed = true;
        inner.queue.drain(..).collect()
    }
}

#[derive(Debug, PartialEq, Eq)]
pub enum EnqueueError {
    /// The channel has no Async AGI queue (never was, or has left).
    NotInAsyncAgi,
}

/// Queues `command` on `chan`'s Async AGI session and wakes the channel's thread.
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
