//! One shared thread that does the once-per-session work of starting Async AGI (reading
//! the channel's environment, formatting AsyncAGIStart and publishing it on the channel's
//! topic) while the channel thread waits for it.
//!
//! Why: memory allocated and freed on a channel's thread stays with that thread (glibc's
//! per-thread caches) for as long as the call lasts. AsyncAGIStart, with its environment,
//! is the largest event; built on each channel's own thread it made a parked channel cost
//! more resident memory. Done here, the cost is paid once, by one thread. The channel
//! thread blocks until the job is done, so AsyncAGIStart still precedes every event of the
//! channel's first command (and follows the `Newexten` of the AGI application, published
//! before). Per-command events are published from the channel thread: no hop on the hot
//! path.
//!
//! Only std's futex-based Mutex and Condvar are used on Asterisk's threads: they keep no
//! thread-local state, so no destructor of this module is ever registered on a thread it
//! does not own (that would keep the module mapped after unload and break a later load).
use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex};
use crate::ffi::thread::{self, Thread};

type Job = Box<dyn FnOnce() + Send + 'static>;

#[derive(Default)]
struct Done {
    flag: Mutex<bool>,
    cond: Condvar,
}

#[derive(Default)]
struct Queue {
    jobs: Mutex<(VecDeque<(Job, Arc<Done>)>, bool)>,
    cond: Condvar,
}

static RELAY: Mutex<Option<(Arc<Queue>, Thread)>> = Mutex::new(None);

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Starts the relay thread (module load).
pub fn start() -> bool {
    let queue = Arc::new(Queue::default());
    let q = queue.clone();
    let spawned = thread::spawn(move || loop {
        let next = {
            let mut jobs = lock(&q.jobs);
            loop {
                if let Some(job) = jobs.0.pop_front() {
                    break Some(job);
                }
                if jobs.1 {
                    break None;
                }
                jobs = q.cond.wait(jobs).unwrap_or_else(|p| p.into_inner());
            }
        };
        let Some((job, done)) = next else { return };
        crate::ffi::guard::guard("Async AGI start (relay thread)", (), job);
        *lock(&done.flag) = true;
        done.cond.notify_one();
    });
    match spawned {
        Some(thread) => {
            *lock(&RELAY) = Some((queue, thread));
            true
        }
        None => {
            crate::ast_log!(Error, "res_agi_rs: cannot start the relay thread");
            false
        }
    }
}

/// Stops the relay thread and waits for it to end (module unload, after every session).
pub fn stop() {
    if let Some((queue, thread)) = lock(&RELAY).take() {
        lock(&queue.jobs).1 = true;
        queue.cond.notify_one();
        thread.join();
    }
}

/// Runs `job` on the relay thread and returns when it is done; runs it here if the relay is
/// not running.
pub fn run_blocking(job: impl FnOnce() + Send + 'static) {
    let queue = lock(&RELAY).as_ref().map(|(q, _)| q.clone());
    let Some(queue) = queue else { return job() };
    let done = Arc::new(Done::default());
    lock(&queue.jobs).0.push_back((Box::new(job), done.clone()));
    queue.cond.notify_one();
    let mut finished = lock(&done.flag);
    while !*finished {
        finished = done.cond.wait(finished).unwrap_or_else(|p| p.into_inner());
    }
}
