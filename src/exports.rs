//! The top floor: every function Asterisk calls into us, by name (`#[no_mangle]`, declared in
//! asterisk-headers/shim.c). Each hands its raw arguments to the matching adapter in
//! `ffi::callback` (guard, thread count, safe wrappers) and calls the feature it belongs to.
//! Nothing below imports this module.
use crate::app::AppKind;
use crate::ffi::callback;
use crate::ffi::sys;
use crate::session::Session;
use std::ffi::c_void;
use std::os::raw::{c_char, c_int};

#[no_mangle]
pub extern "C" fn rs_agi_load() -> c_int {
    callback::load(crate::module::load)
}

#[no_mangle]
pub extern "C" fn rs_agi_unload() -> c_int {
    callback::unload(crate::module::unload)
}

#[no_mangle]
pub extern "C" fn rs_agi_reload() -> c_int {
    callback::reload(crate::module::reload)
}

#[no_mangle]
pub extern "C" fn rs_agi_app_exec(chan: *mut sys::ast_channel, data: *const c_char) -> c_int {
    callback::app(chan, data, |chan, data| crate::app::exec_app(AppKind::Agi, chan, data))
}

#[no_mangle]
pub extern "C" fn rs_agi_eagi_exec(chan: *mut sys::ast_channel, data: *const c_char) -> c_int {
    callback::app(chan, data, |chan, data| crate::app::exec_app(AppKind::Eagi, chan, data))
}

#[no_mangle]
pub extern "C" fn rs_agi_deadagi_exec(chan: *mut sys::ast_channel, data: *const c_char) -> c_int {
    callback::app(chan, data, |chan, data| crate::app::exec_app(AppKind::DeadAgi, chan, data))
}

#[no_mangle]
pub extern "C" fn rs_agi_manager_action(s: *mut sys::mansession, m: *const sys::message) -> c_int {
    callback::manager(s, m, "manager action AGI", crate::manager::action_agi)
}

#[no_mangle]
pub extern "C" fn rs_agi_manager_interrupt(s: *mut sys::mansession, m: *const sys::message) -> c_int {
    callback::manager(s, m, "manager action AGIInterrupt", crate::manager::action_interrupt)
}

#[no_mangle]
pub extern "C" fn rs_agi_manager_flush(s: *mut sys::mansession, m: *const sys::message) -> c_int {
    callback::manager(s, m, "manager action AGIFlush", crate::manager::action_flush)
}

#[no_mangle]
pub extern "C" fn rs_agi_manager_claim(s: *mut sys::mansession, m: *const sys::message) -> c_int {
    callback::manager(s, m, "manager action AGIClaim", crate::manager::action_claim)
}

#[no_mangle]
pub extern "C" fn rs_agi_manager_channels(s: *mut sys::mansession, m: *const sys::message) -> c_int {
    callback::manager(s, m, "manager action AGIChannels", crate::manager::action_channels)
}

#[no_mangle]
pub extern "C" fn rs_agi_cli_interrupt(e: *mut sys::ast_cli_entry, cmd: c_int, a: *const sys::ast_cli_args) -> *mut c_char {
    callback::cli("CLI agi interrupt", e, cmd, a, crate::cli::agi_interrupt)
}

#[no_mangle]
pub extern "C" fn rs_agi_cli_flush(e: *mut sys::ast_cli_entry, cmd: c_int, a: *const sys::ast_cli_args) -> *mut c_char {
    callback::cli("CLI agi flush", e, cmd, a, crate::cli::agi_flush)
}

#[no_mangle]
pub extern "C" fn rs_agi_cli_show_channels(e: *mut sys::ast_cli_entry, cmd: c_int, a: *const sys::ast_cli_args) -> *mut c_char {
    callback::cli("CLI agi show channels", e, cmd, a, crate::cli::agi_show_channels)
}

#[no_mangle]
pub extern "C" fn rs_agi_cli_show_memory(e: *mut sys::ast_cli_entry, cmd: c_int, a: *const sys::ast_cli_args) -> *mut c_char {
    callback::cli("CLI agi show memory", e, cmd, a, crate::cli::agi_show_memory)
}

#[no_mangle]
pub extern "C" fn rs_agi_cli_show_stats(e: *mut sys::ast_cli_entry, cmd: c_int, a: *const sys::ast_cli_args) -> *mut c_char {
    callback::cli("CLI agi show stats", e, cmd, a, crate::cli::agi_show_stats)
}

/// The metrics endpoint's body (Prometheus text format), for the shim's HTTP callback.
#[no_mangle]
pub extern "C" fn rs_metrics_render(buf: *mut c_char, cap: usize) -> usize {
    callback::text_into("metrics endpoint", buf, cap, || crate::metrics::render(&crate::commands::metric_name))
}

#[no_mangle]
pub extern "C" fn rs_agi_cli_claim(e: *mut sys::ast_cli_entry, cmd: c_int, a: *const sys::ast_cli_args) -> *mut c_char {
    callback::cli("CLI agi claim", e, cmd, a, crate::cli::agi_claim)
}

#[no_mangle]
pub extern "C" fn rs_agi_cli_exec(e: *mut sys::ast_cli_entry, cmd: c_int, a: *const sys::ast_cli_args) -> *mut c_char {
    callback::cli("CLI agi exec", e, cmd, a, crate::cli::agi_exec)
}

#[no_mangle]
pub extern "C" fn rs_agi_cli_debug(e: *mut sys::ast_cli_entry, cmd: c_int, a: *const sys::ast_cli_args) -> *mut c_char {
    callback::cli("CLI agi set debug", e, cmd, a, crate::cli::agi_set_debug)
}

#[no_mangle]
pub extern "C" fn rs_agi_cli_show(e: *mut sys::ast_cli_entry, cmd: c_int, a: *const sys::ast_cli_args) -> *mut c_char {
    callback::cli("CLI agi show commands", e, cmd, a, crate::cli::agi_show_commands)
}

#[no_mangle]
pub extern "C" fn rs_agi_cli_dump_html(e: *mut sys::ast_cli_entry, cmd: c_int, a: *const sys::ast_cli_args) -> *mut c_char {
    callback::cli("CLI agi dump html", e, cmd, a, crate::cli::agi_dump_html)
}

#[no_mangle]
pub extern "C" fn rs_agi_datastore_destroy(data: *mut c_void) {
    callback::datastore_destroy(data, |value| {
        if let Ok(session) = value.downcast::<Session>() {
            session.destroyed();
        }
    })
}

/// A masquerade moved our datastore to the channel taking over the old one's identity: the
/// queue goes with it.
#[no_mangle]
pub extern "C" fn rs_agi_datastore_fixup(data: *mut c_void, _old: *mut sys::ast_channel, _new: *mut sys::ast_channel) {
    callback::datastore_fixup(data, |value| {
        if let Ok(session) = value.downcast::<Session>() {
            session.moved();
        }
    })
}

/// `ast_agi_register` (through the shim): 1 when registered, 0 when the command exists.
#[no_mangle]
pub extern "C" fn rs_agi_register(module: *mut sys::ast_module, cmd: *mut sys::agi_command) -> c_int {
    callback::agi_register(module, cmd, crate::registry::register)
}

/// `ast_agi_unregister`: 1 when it was registered, 0 otherwise.
#[no_mangle]
pub extern "C" fn rs_agi_unregister(cmd: *mut sys::agi_command) -> c_int {
    callback::agi_unregister(cmd, crate::registry::unregister)
}

/// `ast_agi_register_multiple`: 0, or -1 after undoing the ones registered.
#[no_mangle]
pub extern "C" fn rs_agi_register_multiple(module: *mut sys::ast_module, cmd: *mut sys::agi_command, len: u32) -> c_int {
    let mut done = 0usize;
    for i in 0..len as usize {
        // (Offsets into the caller's array of `len` descriptors; only the adapters read them.)
        if rs_agi_register(module, cmd.wrapping_add(i)) == 1 {
            done += 1;
            continue;
        }
        while done > 0 {
            rs_agi_unregister(cmd.wrapping_add(done - 1));
            done -= 1;
        }
        return -1;
    }
    0
}

/// `ast_agi_unregister_multiple`: the OR of each unregistration's result, as stock.
#[no_mangle]
pub extern "C" fn rs_agi_unregister_multiple(cmd: *mut sys::agi_command, len: u32) -> c_int {
    (0..len as usize).fold(0, |res, i| res | rs_agi_unregister(cmd.wrapping_add(i)))
}

#[cfg(ast_test_framework)]
#[no_mangle]
pub extern "C" fn rs_agi_selftest(which: c_int, msg: *mut c_char, len: usize) -> c_int {
    callback::selftest(which, msg, len, crate::selftest::run)
}

#[cfg(ast_test_framework)]
#[no_mangle]
pub extern "C" fn rs_agi_selftest_name(which: c_int) -> *const c_char {
    crate::selftest::TESTS.get(which as usize).map_or(c"?".as_ptr(), |t| t.0.as_ptr())
}

#[cfg(ast_test_framework)]
#[no_mangle]
pub extern "C" fn rs_agi_selftest_summary(which: c_int) -> *const c_char {
    crate::selftest::TESTS.get(which as usize).map_or(c"?".as_ptr(), |t| t.1.as_ptr())
}
