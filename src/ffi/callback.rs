//! The C→Rust edge, one adapter per kind of callback. Each turns the raw arguments Asterisk
//! passed into the safe wrappers, counts the thread in (unload refuses while any thread is
//! inside the module), and runs the body behind the guard, returning Asterisk's error value
//! on panic. The exported `#[no_mangle]` hooks (crate::exports, the top floor) call these
//! with exactly the arguments their callback received; nothing else may.
use super::agi::ForeignCommand;
use super::channel::{peek_datastore_data, take_datastore_data, Chan, DatastoreData};
use super::cli::{self, CliCall, CliOut};
use super::guard::{guard, Counted};
use super::manager::Action;
use super::sys;
use std::ffi::c_void;
use std::os::raw::{c_char, c_int};
use std::sync::atomic::{AtomicUsize, Ordering};

/// Threads running inside one of our callbacks right now (load and unload excepted).
static INSIDE: AtomicUsize = AtomicUsize::new(0);

/// How many threads are inside our code; unload refuses while any are.
pub fn threads_inside() -> usize {
    INSIDE.load(Ordering::SeqCst)
}

/// Counts a thread in for the length of a callback; the count drops as the callback's
/// last act, so a thread counted out has nothing of ours left to run but the return.
fn inside() -> Counted {
    Counted::enter(&INSIDE)
}

/// A text made for C into its buffer (the metrics endpoint): `body`'s bytes, cut to `cap`,
/// and their whole length (the caller calls again with a larger buffer when it did not fit).
/// A panic gives an empty text.
pub fn text_into(what: &str, buf: *mut c_char, cap: usize, body: impl FnOnce() -> String) -> usize {
    let _inside = inside();
    let text = guard(what, String::new(), body);
    if !buf.is_null() && cap > 0 {
        let n = text.len().min(cap);
        // SAFETY: the shim passes a buffer of `cap` bytes it owns for this call.
        unsafe { std::ptr::copy_nonoverlapping(text.as_ptr(), buf as *mut u8, n) };
    }
    text.len()
}

/// Counts one of our own threads in (a FastAGI-over-TLS relay) for as long as it runs: unload
/// refuses meanwhile.
pub fn own_thread() -> Counted {
    inside()
}

/// `load_module`: true to load, false to decline.
pub fn load(body: impl FnOnce() -> bool) -> c_int {
    super::guard::install_hook();
    guard("module load", sys::AST_MODULE_LOAD_DECLINE as c_int, || {
        if body() { sys::AST_MODULE_LOAD_SUCCESS as c_int } else { sys::AST_MODULE_LOAD_DECLINE as c_int }
    })
}

/// `unload_module`: true when unloaded, false to refuse.
pub fn unload(body: impl FnOnce() -> bool) -> c_int {
    guard("module unload", -1, || if body() { 0 } else { -1 })
}

/// `reload_module`: 0 when the configuration was taken, -1 when something was refused.
pub fn reload(body: impl FnOnce() -> bool) -> c_int {
    let _inside = inside();
    guard("module reload", -1, || if body() { 0 } else { -1 })
}

/// An Asterisk test (`test execute`): 0 when `body(which)` passed; otherwise 1, with what
/// failed (or the panic) written, NUL-terminated and cut to fit, into `msg[..len]`.
pub fn selftest(which: c_int, msg: *mut c_char, len: usize, body: impl FnOnce(usize) -> Result<(), String>) -> c_int {
    let _inside = inside();
    let result = guard("Asterisk test", Err("the test panicked (see the log)".to_string()), || body(which.max(0) as usize));
    let Err(text) = result else { return 0 };
    if !msg.is_null() && len > 0 {
        let bytes: Vec<u8> = text.bytes().filter(|&b| b != 0).take(len - 1).collect();
        // SAFETY: the shim passes a buffer of `len` bytes it owns for this call.
        unsafe {
            std::ptr::copy_nonoverlapping(bytes.as_ptr(), msg as *mut u8, bytes.len());
            *msg.add(bytes.len()) = 0;
        }
    }
    1
}

/// A dialplan application's exec: the channel it runs on and its data.
pub fn app(chan: *mut sys::ast_channel, data: *const c_char, body: impl FnOnce(&Chan, &[u8]) -> i32) -> c_int {
    let _inside = inside();
    guard("AGI application", -1, || {
        // SAFETY: Asterisk runs the application with a live channel for the whole call.
        let Some(chan) = (unsafe { Chan::from_raw(chan) }) else { return -1 };
        body(&chan, &super::bytes(data))
    })
}

/// A manager action. On panic the client still gets its one response, with its ActionID.
pub fn manager(s: *mut sys::mansession, m: *const sys::message, what: &str, body: impl FnOnce(&Action) -> i32) -> c_int {
    let _inside = inside();
    // SAFETY: these are the live arguments of this manager callback.
    let action = unsafe { Action::new(s, m) };
    guard(what, None, || Some(body(&action))).unwrap_or_else(|| {
        guard("manager action (error response)", (), || {
            action.send_error("Internal error in res_agi_rs: the action failed (see the Asterisk log)")
        });
        0
    })
}

/// A CLI handler. On panic: not CLI_SUCCESS (which is NULL) but a failure the user sees.
pub fn cli(what: &str, e: *mut sys::ast_cli_entry, cmd: c_int, a: *const sys::ast_cli_args, body: fn(CliCall) -> CliOut) -> *mut c_char {
    let _inside = inside();
    guard(what, None, || {
        // SAFETY: these are the live arguments of this CLI callback.
        Some(match unsafe { cli::call(e, cmd, a) } {
            Some(call) => body(call).into_raw(),
            None => std::ptr::null_mut(),
        })
    })
    .unwrap_or_else(|| {
        // SAFETY: the live arguments of this CLI callback, as above.
        unsafe { cli::failed(cmd, a, &format!("res_agi_rs: internal error in {what} (see the Asterisk log)\n")) }
    })
}

/// Our datastore's destroy: its value, taken back.
pub fn datastore_destroy(data: *mut c_void, body: impl FnOnce(DatastoreData)) {
    let _inside = inside();
    guard("datastore destroy", (), || {
        // SAFETY: Asterisk calls destroy once with the data our attach_datastore stored.
        if let Some(value) = unsafe { take_datastore_data(data) } {
            body(value)
        }
    })
}

/// Our datastore's chan_fixup (a masquerade moved it): its value.
pub fn datastore_fixup(data: *mut c_void, body: impl FnOnce(DatastoreData)) {
    let _inside = inside();
    guard("datastore fixup", (), || {
        // SAFETY: data is our datastore's, alive while the datastore is (Asterisk holds both
        // channels locked during the fixup).
        if let Some(value) = unsafe { peek_datastore_data(data) } {
            body(value)
        }
    })
}

/// `ast_agi_register` from another module: 0 on a NULL descriptor or a panic.
pub fn agi_register(module: *mut sys::ast_module, cmd: *mut sys::agi_command, body: impl FnOnce(ForeignCommand, *mut sys::ast_module) -> i32) -> c_int {
    let _inside = inside();
    guard("ast_agi_register", 0, || {
        // SAFETY: the caller passes a descriptor that stays valid until it unregisters it.
        match unsafe { ForeignCommand::from_raw(cmd) } {
            Some(c) => body(c, module),
            None => 0,
        }
    })
}

/// `ast_agi_unregister` from another module.
pub fn agi_unregister(cmd: *mut sys::agi_command, body: impl FnOnce(ForeignCommand) -> i32) -> c_int {
    let _inside = inside();
    guard("ast_agi_unregister", 0, || {
        // SAFETY: as in agi_register.
        match unsafe { ForeignCommand::from_raw(cmd) } {
            Some(c) => body(c),
            None => 0,
        }
    })
}
