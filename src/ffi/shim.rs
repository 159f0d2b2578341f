//! Declarations of the functions in asterisk-headers/shim.c (C twins of Asterisk macros).
use super::sys::*;
use std::os::raw::{c_char, c_int, c_void};

/// The shim's `struct rs_tls_conn` (opaque).
#[repr(C)]
pub struct RsTlsConn {
    _private: [u8; 0],
}

unsafe extern "C" {
    pub fn rs_shim_register_app(name: *const c_char, kind: c_int) -> c_int;
    pub fn rs_shim_register_manager(action: *const c_char, authority: c_int, which: c_int) -> c_int;
    pub fn rs_shim_config_load(file: *const c_char, cfg: *mut *mut ast_config) -> c_int;
    pub fn rs_shim_cli_count() -> c_int;
    pub fn rs_shim_cli_inuse() -> c_int;
    pub fn rs_shim_register_cli(i: c_int) -> c_int;
    pub fn rs_shim_unregister_cli(i: c_int) -> c_int;
    pub fn rs_shim_api_provide();
    pub fn rs_shim_api_withdraw();
    pub fn rs_shim_events_init() -> c_int;
    #[cfg(ast_test_framework)]
    pub fn rs_shim_selftest_count() -> c_int;
    #[cfg(ast_test_framework)]
    pub fn rs_shim_register_selftest(i: c_int) -> c_int;
    #[cfg(ast_test_framework)]
    pub fn rs_shim_unregister_selftest(i: c_int) -> c_int;
    pub fn rs_shim_xmldoc_has(xpath: *const c_char) -> c_int;
    pub fn rs_shim_events_cleanup(timeout_ms: c_int) -> c_int;
    pub fn rs_shim_event_publish(chan: *mut ast_channel, records: *const c_char, len: usize);
    pub fn rs_shim_log(level: c_int, file: *const c_char, line: c_int, func: *const c_char, msg: *const c_char);
    pub fn rs_shim_verb(level: c_int, file: *const c_char, line: c_int, func: *const c_char, msg: *const c_char);
    pub fn rs_shim_debug(level: c_int, file: *const c_char, line: c_int, func: *const c_char, msg: *const c_char);
    pub fn rs_shim_verbose(msg: *const c_char);
    pub fn rs_shim_debug_enabled(level: c_int) -> c_int;
    pub fn rs_shim_cli_print(fd: c_int, text: *const c_char);
    pub fn rs_shim_datastore_alloc(data: *mut c_void) -> *mut ast_datastore;
    pub fn rs_shim_datastore_info() -> *const ast_datastore_info;
    pub fn rs_shim_channel_lock(chan: *mut ast_channel);
    pub fn rs_shim_channel_unlock(chan: *mut ast_channel);
    pub fn rs_shim_channel_ref(chan: *mut ast_channel) -> *mut ast_channel;
    pub fn rs_shim_channel_unref(chan: *mut ast_channel);
    pub fn rs_shim_ao2_cleanup(obj: *mut c_void);
    pub fn rs_shim_frfree(f: *mut ast_frame);
    pub fn rs_shim_cap_slin() -> *mut ast_format_cap;
    pub fn rs_shim_speech_lock(speech: *mut ast_speech);
    pub fn rs_shim_speech_unlock(speech: *mut ast_speech);
    pub fn rs_shim_ao2_bump(obj: *mut c_void) -> *mut c_void;
    pub fn rs_shim_opt_transmit_silence() -> c_int;
    pub fn rs_shim_str_create(len: usize) -> *mut ast_str;
    pub fn rs_shim_str_buffer(s: *const ast_str) -> *const c_char;
    pub fn rs_shim_str_strlen(s: *const ast_str) -> usize;
    pub fn rs_shim_free(p: *mut c_void);
    pub fn rs_shim_set_agi_debug(on: c_int);
    pub fn rs_shim_agi_debug() -> c_int;
    pub fn rs_shim_module_running_ref(module: *mut ast_module) -> *mut ast_module;
    pub fn rs_shim_module_unref(module: *mut ast_module);
    pub fn rs_shim_agi_dir() -> *const c_char;
    pub fn rs_shim_launch_script(script: *const c_char, argv: *const *mut c_char, fds: *mut c_int, audio: *mut c_int, forked: *mut c_int) -> c_int;
    pub fn rs_shim_safe_fork_cleanup();
    pub fn rs_shim_tls_available() -> c_int;
    pub fn rs_shim_tls_max_host() -> usize;
    pub fn rs_shim_tls_check(names: *const *const c_char, values: *const *const c_char, n: c_int) -> c_int;
    pub fn rs_shim_tls_connect(addr: *const c_char, host: *const c_char, names: *const *const c_char, values: *const *const c_char, n: c_int, timeout_ms: c_int, timed_out: *mut c_int) -> *mut RsTlsConn;
    pub fn rs_shim_tls_fd(conn: *mut RsTlsConn) -> c_int;
    pub fn rs_shim_tls_read(conn: *mut RsTlsConn, buf: *mut c_void, len: usize, why: *mut c_char, whylen: usize) -> isize;
    pub fn rs_shim_tls_write(conn: *mut RsTlsConn, buf: *const c_void, len: usize) -> isize;
    pub fn rs_shim_tls_close(conn: *mut RsTlsConn);
    pub fn rs_shim_metrics_link(path: *const c_char) -> c_int;
    pub fn rs_shim_metrics_unlink();
    pub fn rs_shim_thread_start(thread: *mut libc::pthread_t, start: extern "C" fn(*mut c_void) -> *mut c_void, arg: *mut c_void) -> c_int;
}
