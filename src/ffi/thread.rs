//! Threads of our own, made with Asterisk's ast_pthread_create rather than std::thread:
//! std's spawn registers thread-local destructors of this module on the calling thread
//! (an Asterisk thread), which keeps the module mapped after unload (seen: "Not Running"
//! after `module unload`).
//!
//! Every thread has one owner, its `Thread`, which joins it (on `join` or on drop): a thread
//! is counted from before it is created until its join has returned, so a thread counted out
//! has run its last instruction. Unload waits for the count to reach zero or refuses
//! (crate::module). A handle is never dropped on its own thread.
use super::shim;
use std::ffi::c_void;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Threads spawned and not yet joined.
static LIVE: AtomicUsize = AtomicUsize::new(0);

/// How many of our threads exist (spawned, not yet joined).
pub fn live() -> usize {
    LIVE.load(Ordering::SeqCst)
}

/// A joinable thread of ours; joined when dropped.
pub struct Thread(Option<libc::pthread_t>);

/// Starts `body` on a new joinable thread.
pub fn spawn(body: impl FnOnce() + Send + 'static) -> Option<Thread> {
    let boxed: Box<Box<dyn FnOnce() + Send>> = Box::new(Box::new(body));
    let arg = Box::into_raw(boxed).cast::<c_void>();
    let mut tid: libc::pthread_t = 0;
    LIVE.fetch_add(1, Ordering::SeqCst);
    // SAFETY: the start routine takes ownership of `arg` exactly once; if the thread could
    // not be made, we take it back here.
    let res = unsafe { shim::rs_shim_thread_start(&mut tid, thread_main, arg) };
    if res != 0 {
        LIVE.fetch_sub(1, Ordering::SeqCst);
        // SAFETY: the thread was not created, so `arg` is still ours.
        drop(unsafe { Box::from_raw(arg.cast::<Box<dyn FnOnce() + Send>>()) });
        return None;
    }
    Some(Thread(Some(tid)))
}

impl Thread {
    /// Waits for the thread to end.
    pub fn join(mut self) {
        self.join_now();
    }

    fn join_now(&mut self) {
        if let Some(tid) = self.0.take() {
            // SAFETY: a joinable thread we created and join exactly once (the id is taken).
            unsafe { libc::pthread_join(tid, std::ptr::null_mut()) };
            LIVE.fetch_sub(1, Ordering::SeqCst);
        }
    }
}

impl Drop for Thread {
    fn drop(&mut self) {
        self.join_now();
    }
}

/// Start routine of the threads `spawn` makes: runs the body behind the guard.
extern "C" fn thread_main(arg: *mut c_void) -> *mut c_void {
    // SAFETY: `spawn` passes a pointer from Box::into_raw of this exact type, used once.
    let body = unsafe { Box::from_raw(arg.cast::<Box<dyn FnOnce() + Send>>()) };
    super::guard::guard("module thread", (), move || body());
    std::ptr::null_mut()
}
