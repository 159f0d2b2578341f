//! Registration with Asterisk and small helpers.
use super::{bytes, cstring, opt_bytes, shim, sys};
#[cfg(ast_xml_docs)]
use super::take_malloced;
use std::ffi::CStr;
use std::os::raw::c_char;

/// Registers the dialplan application `name`; `kind` picks its exec entry (0 AGI, 1 EAGI,
/// 2 DeadAGI: entry::rs_agi_app_exec, rs_agi_eagi_exec, rs_agi_deadagi_exec).
pub fn register_app(name: &'static CStr, kind: i32) -> bool {
    // SAFETY: static C string; Asterisk keeps a copy of the name.
    unsafe { shim::rs_shim_register_app(name.as_ptr(), kind) == 0 }
}

pub fn unregister_app(name: &'static CStr) -> bool {
    // SAFETY: static C string.
    unsafe { sys::ast_unregister_application(name.as_ptr()) == 0 }
}

/// Registers the manager action `name` in the `agi` class (entry::rs_agi_manager_action).
/// Registers manager action `name` in the `agi` class; `which` picks the shim's callback
/// (0 AGI, 1 AGIInterrupt, 2 AGIFlush, 3 AGIClaim, 4 AGIChannels).
pub fn register_manager(name: &'static CStr, which: i32) -> bool {
    // SAFETY: static C string, kept by Asterisk for the registration's life.
    unsafe { shim::rs_shim_register_manager(name.as_ptr(), sys::EVENT_FLAG_AGI as i32, which) == 0 }
}

/// What reading a configuration file gave.
pub enum Config {
    Missing,
    Invalid,
    /// The `name = value` pairs of one category, in file order.
    Category(Vec<(Vec<u8>, Vec<u8>)>),
}

/// Reads `category` of configuration file `file` (from Asterisk's config directory).
pub fn config_category(file: &CStr, category: &CStr) -> Config {
    let mut cfg: *mut sys::ast_config = std::ptr::null_mut();
    // SAFETY: valid C string; cfg is ours to fill.
    if unsafe { shim::rs_shim_config_load(file.as_ptr(), &mut cfg) } != 0 {
        return Config::Invalid;
    }
    if cfg.is_null() {
        return Config::Missing;
    }
    let mut out = Vec::new();
    // SAFETY: cfg is a loaded config we own until ast_config_destroy below; the variables
    // belong to it and are copied while it lives.
    unsafe {
        let mut v = sys::ast_variable_browse(cfg, category.as_ptr());
        while let Some(var) = v.as_ref() {
            out.push((bytes(var.name), bytes(var.value)));
            v = var.next;
        }
        sys::ast_config_destroy(cfg);
    }
    Config::Category(out)
}

pub fn unregister_manager(name: &'static CStr) -> bool {
    // SAFETY: static C string.
    unsafe { sys::ast_manager_unregister(name.as_ptr()) == 0 }
}

/// How many CLI entries the shim defines (registered one by one).
pub fn cli_count() -> usize {
    // SAFETY: returns a constant.
    unsafe { shim::rs_shim_cli_count() as usize }
}

/// Registers CLI entry `i` (< cli_count()).
/// How many Asterisk tests the shim defines (src/selftest.rs's TESTS, same order); only
/// where Asterisk was built with its test framework.
#[cfg(ast_test_framework)]
pub fn selftest_count() -> usize {
    // SAFETY: no arguments; a constant of the shim.
    unsafe { shim::rs_shim_selftest_count() as usize }
}

#[cfg(ast_test_framework)]
pub fn register_selftest(i: usize) -> bool {
    assert!(i < selftest_count());
    // SAFETY: i is in range; the callbacks are static in the shim.
    unsafe { shim::rs_shim_register_selftest(i as i32) == 0 }
}

#[cfg(ast_test_framework)]
pub fn unregister_selftest(i: usize) -> bool {
    assert!(i < selftest_count());
    // SAFETY: i is in range; the callbacks are static in the shim.
    unsafe { shim::rs_shim_unregister_selftest(i as i32) == 0 }
}

pub fn register_cli(i: usize) -> bool {
    assert!(i < cli_count());
    // SAFETY: i is in range; the entries are static in the shim.
    unsafe { shim::rs_shim_register_cli(i as i32) == 0 }
}

/// Threads that hold one of our CLI entries (Asterisk's `inuse` count of each); unload waits
/// for none.
pub fn cli_inuse() -> usize {
    // SAFETY: no arguments; atomic reads of the shim's static entries.
    unsafe { shim::rs_shim_cli_inuse().max(0) as usize }
}

/// False when Asterisk kept the entry (in use): it is still registered.
pub fn unregister_cli(i: usize) -> bool {
    assert!(i < cli_count());
    // SAFETY: i is in range; the entries are static in the shim.
    unsafe { shim::rs_shim_unregister_cli(i as i32) == 0 }
}

/// Hands res_agi's public API (ast_agi_register & co.) to Asterisk's optional-API registry
/// when nobody provides it (stock res_agi.so may), or takes back what we provided.
pub fn provide_api(on: bool) {
    // SAFETY: the shim's functions stay valid while the module is mapped; unload and the
    // shim's destructor take them back.
    unsafe {
        if on {
            shim::rs_shim_api_provide()
        } else {
            shim::rs_shim_api_withdraw()
        }
    }
}

/// Creates the stasis message type our events travel in.
pub fn events_init() -> bool {
    // SAFETY: called once per load, before any event is published.
    unsafe { shim::rs_shim_events_init() == 0 }
}

/// Waits (up to `timeout_ms`) until the manager has formatted every event we published,
/// then drops the message type. False on timeout.
pub fn events_cleanup(timeout_ms: i32) -> bool {
    // SAFETY: called at unload, after the last event was published.
    unsafe { shim::rs_shim_events_cleanup(timeout_ms) == 0 }
}

/// `ast_random()`, as stock res_agi numbers AGIExecStart/End.
pub fn random() -> i32 {
    // SAFETY: no arguments; thread-safe in Asterisk.
    unsafe { sys::ast_random() as i32 }
}

/// `ast_true`: "yes", "true", "y", "t", "on", "1".
pub fn is_true(v: &[u8]) -> bool {
    let v = cstring(v);
    // SAFETY: valid C string.
    unsafe { sys::ast_true(v.as_ptr()) != 0 }
}

/// `ast_false`: "no", "false", "n", "f", "off", "0".
pub fn is_false(v: &[u8]) -> bool {
    let v = cstring(v);
    // SAFETY: valid C string.
    unsafe { sys::ast_false(v.as_ptr()) != 0 }
}

/// Splits application data as `AST_STANDARD_APP_ARGS` does (commas, quotes, brackets),
/// into at most 128 arguments (stock's MAX_ARGS).
pub fn standard_app_args(data: &[u8]) -> Vec<Vec<u8>> {
    const MAX: usize = 128;
    let mut buf = cstring(data).into_bytes_with_nul();
    // On the stack, as stock's AST_DECLARE_APP_ARGS: a 1 KB heap block freed here would stay
    // in this (channel) thread's malloc cache for the whole call.
    let mut argv: [*mut c_char; MAX] = [std::ptr::null_mut(); MAX];
    // SAFETY: buf is a mutable NUL-terminated buffer that the function splits in place;
    // argv has room for MAX pointers into it, copied before buf is dropped.
    let n = unsafe {
        sys::__ast_app_separate_args(buf.as_mut_ptr().cast(), b',' as c_char, 1, argv.as_mut_ptr(), MAX as i32)
    };
    argv[..n as usize].iter().map(|&p| opt_bytes(p).unwrap_or_default()).collect()
}

/// Publishes AGI events (class `agi`) as one message on `chan`'s stasis topic, so AMI delivers
/// them in order with the channel's other events; with no channel (it is being destroyed), on
/// the manager topic. `records` holds one `name NUL body NUL` record per event, in order; a
/// body is the header block, each line ending in CRLF.
pub fn publish_events(chan: Option<&super::channel::Chan>, records: &[u8]) {
    let chan = chan.map_or(std::ptr::null_mut(), |c| c.raw());
    // SAFETY: chan is NULL or live for this call; records is a live buffer of records.len()
    // bytes, copied by the shim, which checks that it ends with a NUL, walks it as C strings
    // and passes each body to formatting functions as a "%s" argument only.
    unsafe { shim::rs_shim_event_publish(chan, records.as_ptr().cast(), records.len()) }
}

/// C's `sscanf(s, "%30lf", &v) == 1` (strtod on at most the first 30 characters).
pub fn scan_double(s: &CStr) -> Option<f64> {
    let b = s.to_bytes();
    let cut = cstring(&b[..b.len().min(30)]);
    let mut end: *mut c_char = std::ptr::null_mut();
    // SAFETY: valid C string; end points into it after the call.
    let v = unsafe { libc::strtod(cut.as_ptr(), &mut end) };
    (end as *const c_char != cut.as_ptr()).then_some(v)
}

/// The documentation Asterisk ships for one item (all None when it has none).
#[derive(Clone, Default)]
pub struct Docs {
    pub summary: Option<Vec<u8>>,
    pub since: Option<Vec<u8>>,
    pub usage: Option<Vec<u8>>,
    pub syntax: Option<Vec<u8>>,
    pub arguments: Option<Vec<u8>>,
    pub seealso: Option<Vec<u8>>,
}

/// Whether this Asterisk has XML documentation (AST_XML_DOCS in its autoconfig.h, read by
/// build.rs): without it every command's docs are static (stock res_agi: AST_STATIC_DOC).
pub const HAS_XML_DOCS: bool = cfg!(ast_xml_docs);

/// Builds `kind`'s item `name` documentation as res_agi does at registration.
#[cfg(ast_xml_docs)]
pub fn xmldoc(kind: &CStr, name: &CStr) -> Docs {
    let k = kind.as_ptr();
    let n = name.as_ptr();
    let none = std::ptr::null();
    // SAFETY: valid C strings; each result is ast_malloc'ed for us to free.
    unsafe {
        Docs {
            summary: take_malloced(sys::ast_xmldoc_build_synopsis(k, n, none)),
            since: take_malloced(sys::ast_xmldoc_build_since(k, n, none)),
            usage: take_malloced(sys::ast_xmldoc_build_description(k, n, none)),
            syntax: take_malloced(sys::ast_xmldoc_build_syntax(k, n, none)),
            arguments: take_malloced(sys::ast_xmldoc_build_arguments(k, n, none)),
            seealso: take_malloced(sys::ast_xmldoc_build_seealso(k, n, none)),
        }
    }
}

/// An Asterisk configured with --disable-xmldoc has no XML documentation (xmldoc.h declares
/// nothing without AST_XML_DOCS): none, as stock res_agi has none there.
#[cfg(not(ast_xml_docs))]
pub fn xmldoc(_kind: &CStr, _name: &CStr) -> Docs {
    Docs::default()
}

/// `ast_xmldoc_printable`: XML-doc text made readable (with terminal colors if asked).
#[cfg(ast_xml_docs)]
pub fn xmldoc_printable(text: &[u8], colors: bool) -> Vec<u8> {
    let t = cstring(text);
    // SAFETY: valid C string; the result is ast_malloc'ed for us to free.
    take_malloced(unsafe { sys::ast_xmldoc_printable(t.as_ptr(), colors as i32) }).unwrap_or_default()
}

/// Without XML documentation there is no markup to render: the text as it is.
#[cfg(not(ast_xml_docs))]
pub fn xmldoc_printable(text: &[u8], _colors: bool) -> Vec<u8> {
    text.to_vec()
}

/// The terminal escape that starts magenta text (empty when colors are off), and the reset.
pub fn term_magenta() -> (Vec<u8>, Vec<u8>) {
    // SAFETY: both return static or thread-local strings, copied at once.
    unsafe { (super::bytes(sys::ast_term_color(sys::COLOR_MAGENTA as i32, 0)), super::bytes(sys::ast_term_reset())) }
}

/// `ast_get_version()`: the running Asterisk's version string ("22.10.1",
/// "certified-20.7-cert11", Debian's "22.10.1+dfsg+…").
pub fn asterisk_version() -> Vec<u8> {
    // SAFETY: returns a static string of the core.
    bytes(unsafe { sys::ast_get_version() })
}

/// Whether Asterisk's XML documentation has an item `name` of `kind` ("application",
/// "manager", …), from any module. Logs nothing either way (an XPath query; the build_*
/// lookups warn when an item is missing).
pub fn xmldoc_documents(kind: &str, name: &str) -> bool {
    let xpath = cstring(format!("/docs/{kind}[@name='{name}']").as_bytes());
    // SAFETY: valid C string for the call; the shim passes it as a "%s" argument and frees
    // what the query returns.
    unsafe { shim::rs_shim_xmldoc_has(xpath.as_ptr()) != 0 }
}
