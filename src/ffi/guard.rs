//! The one guard every callback from Asterisk runs behind: a panic never unwinds into C.
//! It is caught, logged through Asterisk's logger with where it happened, and the callback
//! returns the error value Asterisk expects.
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, Once};

/// Counts its holder in a counter until dropped (threads inside the module, channels in
/// Async AGI: what unload must wait for).
pub struct Counted(&'static AtomicUsize);

impl Counted {
    pub fn enter(counter: &'static AtomicUsize) -> Counted {
        counter.fetch_add(1, Ordering::SeqCst);
        Counted(counter)
    }
}

impl Drop for Counted {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// The last panic's message and location, per thread (keyed by pthread_self). Not a
/// thread_local: a Rust thread-local with a destructor on one of Asterisk's threads would
/// pin this module in memory after unload.
static LAST_PANIC: Mutex<Vec<(i64, String)>> = Mutex::new(Vec::new());

fn this_thread() -> i64 {
    crate::ffi::channel::current_thread_id()
}

/// Installs (once per process image of this module) a panic hook that records the message
/// and location for the guard instead of printing to Asterisk's stderr. Each Rust cdylib
/// has its own std, so this hook affects this module only.
pub fn install_hook() {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        panic::set_hook(Box::new(|info| {
            let msg = if let Some(s) = info.payload().downcast_ref::<&str>() {
                (*s).to_string()
            } else if let Some(s) = info.payload().downcast_ref::<String>() {
                s.clone()
            } else {
                "unknown panic".to_string()
            };
            let loc = info.location().map(|l| format!("{}:{}", l.file(), l.line())).unwrap_or_default();
            let mut last = LAST_PANIC.lock().unwrap_or_else(|p| p.into_inner());
            let me = this_thread();
            last.retain(|(t, _)| *t != me);
            last.push((me, format!("{msg} at {loc}")));
        }));
    });
}

/// Module unload: drops the hook and what it recorded (Rust never runs statics'
/// destructors, and dlclose would leave them on Asterisk's heap).
pub fn release_all() {
    let _ = panic::take_hook();
    std::mem::take(&mut *LAST_PANIC.lock().unwrap_or_else(|p| p.into_inner()));
}

/// Runs `body`; on panic logs `what` with the panic's message and location and returns
/// `on_panic`. `what` is only formatted if a panic is logged.
pub fn guard<R>(what: impl std::fmt::Display, on_panic: R, body: impl FnOnce() -> R) -> R {
    match panic::catch_unwind(AssertUnwindSafe(body)) {
        Ok(r) => r,
        Err(payload) => {
            let recorded = {
                let mut last = LAST_PANIC.lock().unwrap_or_else(|p| p.into_inner());
                let me = this_thread();
                last.iter().position(|(t, _)| *t == me).map(|i| last.swap_remove(i).1)
            };
            let detail = recorded.unwrap_or_else(|| {
                payload
                    .downcast_ref::<&str>()
                    .map(|s| s.to_string())
                    .or_else(|| payload.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "unknown panic".into())
            });
            crate::ast_log!(Error, "res_agi_rs: panic in {what}: {detail} (caught; Asterisk goes on)");
            on_panic
        }
    }
}
