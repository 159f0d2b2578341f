//! Threads of our own, made with Asterisk's ast_pthread_create rather than std::thread:
//! std's spawn registers thread-local destructors of this module on the calling thread
//! (an Asterisk thread), which keeps the module mapped after unload (seen: "Not Running"
//! after `module unload`).
use super::shim;
use std::ffi::c_void;

pub struct Thread(libc::pthread_t);

/// Starts `body` on a new joinable thread.
pub fn spawn(body: impl FnOnce() + Send + 'static) -> Option<Thread> {
    let boxed: Box<Box<dyn FnOnce() + Send>> = Box::new(Box::new(body));
    let arg = Box::into_raw(boxed).cast::<c_void>();
    let mut tid: libc::pthread_t = 0;
    // SAFETY: the start routine takes ownership of `arg` exactly once; if the thread could
    // not be made, we take it back here.
    let res = unsafe { shim::rs_shim_thread_start(&mut tid, thread_main, arg) };
    if res != 0 {
        // SAFETY: the thread was not created, so `arg` is still ours.
        drop(unsafe { Box::from_raw(arg.cast::<Box<dyn FnOnce() + Send>>()) });
        return None;
    }
    Some(Thread(tid))
}

impl Thread {
    /// Waits for the thread to end.
    pub fn join(self) {
        // SAFETY: a joinable thread we created and join exactly once.
        unsafe { libc::pthread_join(self.0, std::ptr::null_mut()) };
    }
}

/// Start routine of the threads `spawn` makes: runs the body behind the guard.
extern "C" fn thread_main(arg: *mut c_void) -> *mut c_void {
    // SAFETY: `spawn` passes a pointer from Box::into_raw of this exact type, used once.
    let body = unsafe { Box::from_raw(arg.cast::<Box<dyn FnOnce() + Send>>()) };
    super::guard::guard("module thread", (), move || body());
    std::ptr::null_mut()
}
