//! Every function Asterisk calls into us. Each turns raw pointers into the safe wrappers
//! and runs the feature code behind `guard`, returning Asterisk's error value on panic.
use super::channel::{peek_datastore_data, take_datastore_data, Chan};
use super::cli;
use super::manager::Action;
use super::sys;
use crate::guard::guard;
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
fn inside() -> crate::guard::Counted {
    crate::guard::Counted::enter(&INSIDE)
}

#[no_mangle]
pub extern "C" fn rs_agi_load() -> c_int {
    crate::guard::install_hook();
    guard("module load", sys::AST_MODULE_LOAD_DECLINE as c_int, || {
        if crate::module::load() { sys::AST_MODULE_LOAD_SUCCESS as c_int } else { sys::AST_MODULE_LOAD_DECLINE as c_int }
    })
}

#[no_mangle]
pub extern "C" fn rs_agi_unload() -> c_int {
    guard("module unload", -1, || if crate::module::unload() { 0 } else { -1 })
}

fn app_entry(kind: crate::app::AppKind, chan: *mut sys::ast_channel, data: *const c_char) -> c_int {
    let _inside = inside();
    guard("AGI application", -1, || {
        // SAFETY: Asterisk runs the application with a live channel for the whole call.
        let Some(chan) = (unsafe { Chan::from_raw(chan) }) else { return -1 };
        let data = super::bytes(data);
        crate::app::exec_app(kind, &chan, &data)
    })
}

#[no_mangle]
pub extern "C" fn rs_agi_app_exec(chan: *mut sys::ast_channel, data: *const c_char) -> c_int {
    app_entry(crate::app::AppKind::Agi, chan, data)
}

#[no_mangle]
pub extern "C" fn rs_agi_eagi_exec(chan: *mut sys::ast_channel, data: *const c_char) -> c_int {
    app_entry(crate::app::AppKind::Eagi, chan, data)
}

#[no_mangle]
pub extern "C" fn rs_agi_deadagi_exec(chan: *mut sys::ast_channel, data: *const c_char) -> c_int {
    app_entry(crate::app::AppKind::DeadAgi, chan, data)
}

#[no_mangle]
pub extern "C" fn rs_agi_manager_action(s: *mut sys::mansession, m: *const sys::message) -> c_int {
    let _inside = inside();
    // SAFETY: these are the live arguments of this manager callback.
    let action = unsafe { Action::new(s, m) };
    guard("manager action AGI", None, || Some(crate::manager::action_agi(&action))).unwrap_or_else(|| {
        // The client still gets its one response, with its ActionID.
        guard("manager action AGI (error response)", (), || {
            action.send_error("Internal error in res_agi_rs: the action failed (see the Asterisk log)")
        });
        0
    })
}

fn cli_entry(
    what: &str,
    e: *mut sys::ast_cli_entry,
    cmd: c_int,
    a: *const sys::ast_cli_args,
    body: fn(cli::CliCall) -> cli::CliOut,
) -> *mut c_char {
    let _inside = inside();
    guard(what, None, || {
        // SAFETY: these are the live arguments of this CLI callback.
        Some(match unsafe { cli::call(e, cmd, a) } {
            Some(call) => body(call).into_raw(),
            None => std::ptr::null_mut(),
        })
    })
    .unwrap_or_else(|| {
        // A panic: not CLI_SUCCESS (which is NULL) but a failure the user can see.
        // SAFETY: the live arguments of this CLI callback, as above.
        unsafe { cli::failed(cmd, a, &format!("res_agi_rs: internal error in {what} (see the Asterisk log)\n")) }
    })
}

#[no_mangle]
pub extern "C" fn rs_agi_cli_exec(e: *mut sys::ast_cli_entry, cmd: c_int, a: *const sys::ast_cli_args) -> *mut c_char {
    cli_entry("CLI agi exec", e, cmd, a, crate::cli::agi_exec)
}

#[no_mangle]
pub extern "C" fn rs_agi_cli_debug(e: *mut sys::ast_cli_entry, cmd: c_int, a: *const sys::ast_cli_args) -> *mut c_char {
    cli_entry("CLI agi set debug", e, cmd, a, crate::cli::agi_set_debug)
}

#[no_mangle]
pub extern "C" fn rs_agi_cli_show(e: *mut sys::ast_cli_entry, cmd: c_int, a: *const sys::ast_cli_args) -> *mut c_char {
    cli_entry("CLI agi show commands", e, cmd, a, crate::cli::agi_show_commands)
}

#[no_mangle]
pub extern "C" fn rs_agi_cli_dump_html(e: *mut sys::ast_cli_entry, cmd: c_int, a: *const sys::ast_cli_args) -> *mut c_char {
    cli_entry("CLI agi dump html", e, cmd, a, crate::cli::agi_dump_html)
}

#[no_mangle]
pub extern "C" fn rs_agi_datastore_destroy(data: *mut c_void) {
    let _inside = inside();
    guard("datastore destroy", (), || {
        // SAFETY: Asterisk calls destroy once with the data our attach_datastore stored.
        let value = unsafe { take_datastore_data(data) };
        if let Some(session) = value.and_then(|v| v.downcast::<crate::session::Session>().ok()) {
            session.destroyed();
        }
    })
}

/// A masquerade moved our datastore from `old` to `new` (the channel taking over old's
/// identity): the queue goes with it.
#[no_mangle]
pub extern "C" fn rs_agi_datastore_fixup(data: *mut c_void, _old: *mut sys::ast_channel, _new: *mut sys::ast_channel) {
    let _inside = inside();
    guard("datastore fixup", (), || {
        // SAFETY: data is our datastore's, alive while the datastore is (Asterisk holds both
        // channels locked during the fixup).
        if let Some(session) = unsafe { peek_datastore_data(data) }.and_then(|v| v.downcast::<crate::session::Session>().ok()) {
            session.moved();
        }
    })
}


/// Start routine of threads made by `ffi::thread::spawn`.
pub(crate) extern "C" fn rs_agi_thread_main(arg: *mut c_void) -> *mut c_void {
    // SAFETY: `spawn` passes a pointer from Box::into_raw of this exact type, used once.
    let body = unsafe { Box::from_raw(arg.cast::<Box<dyn FnOnce() + Send>>()) };
    guard("module thread", (), move || body());
    std::ptr::null_mut()
}

/// `ast_agi_register` (through the shim): 1 when registered, 0 when the command exists.
#[no_mangle]
pub extern "C" fn rs_agi_register(module: *mut sys::ast_module, cmd: *mut sys::agi_command) -> c_int {
    let _inside = inside();
    guard("ast_agi_register", 0, || {
        // SAFETY: the caller passes a descriptor that stays valid until it unregisters it.
        match unsafe { super::agi::ForeignCommand::from_raw(cmd) } {
            Some(c) => crate::registry::register(c, module),
            None => 0,
        }
    })
}

/// `ast_agi_unregister`: 1 when it was registered, 0 otherwise.
#[no_mangle]
pub extern "C" fn rs_agi_unregister(cmd: *mut sys::agi_command) -> c_int {
    let _inside = inside();
    guard("ast_agi_unregister", 0, || {
        // SAFETY: as in rs_agi_register.
        match unsafe { super::agi::ForeignCommand::from_raw(cmd) } {
            Some(c) => crate::registry::unregister(c),
            None => 0,
        }
    })
}

/// `ast_agi_register_multiple`: 0, or -1 after undoing the ones registered.
#[no_mangle]
pub extern "C" fn rs_agi_register_multiple(module: *mut sys::ast_module, cmd: *mut sys::agi_command, len: u32) -> c_int {
    let mut done = 0usize;
    for i in 0..len as usize {
        // SAFETY: cmd points to an array of `len` descriptors.
        if rs_agi_register(module, unsafe { cmd.add(i) }) == 1 {
            done += 1;
            continue;
        }
        while done > 0 {
            // SAFETY: as above, an element registered just before.
            rs_agi_unregister(unsafe { cmd.add(done - 1) });
            done -= 1;
        }
        return -1;
    }
    0
}

/// `ast_agi_unregister_multiple`: the OR of each unregistration's result, as stock.
#[no_mangle]
pub extern "C" fn rs_agi_unregister_multiple(cmd: *mut sys::agi_command, len: u32) -> c_int {
    // SAFETY: cmd points to an array of `len` descriptors.
    (0..len as usize).fold(0, |res, i| res | rs_agi_unregister(unsafe { cmd.add(i) }))
}
