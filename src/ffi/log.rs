//! Asterisk's logger, reached through the shim with "%s" so text is never a format string.
use super::{cstring, shim};

#[derive(Clone, Copy, Debug)]
pub enum Level {
    Error,
    Warning,
    Notice,
}

impl Level {
    fn raw(self) -> i32 {
        (match self {
            Level::Error => super::sys::__LOG_ERROR,
            Level::Warning => super::sys::__LOG_WARNING,
            Level::Notice => super::sys::__LOG_NOTICE,
        }) as i32
    }
}

pub fn log(level: Level, file: &str, line: u32, func: &str, msg: &str) {
    let (file, func, msg) = (cstring(file), cstring(func), cstring(msg));
    // SAFETY: all pointers are valid NUL-terminated strings for the duration of the call.
    unsafe { shim::rs_shim_log(level.raw(), file.as_ptr(), line as i32, func.as_ptr(), msg.as_ptr()) }
}

/// `ast_verb(level, "%s", msg)`, logged with the caller's file and line; msg should end
/// with a newline, as in C.
#[track_caller]
pub fn verb(level: i32, msg: &[u8]) {
    let at = std::panic::Location::caller();
    let (file, msg) = (cstring(at.file()), cstring(msg));
    // SAFETY: valid C strings for the call; the shim passes msg as a "%s" argument.
    unsafe { shim::rs_shim_verb(level, file.as_ptr(), at.line() as i32, c"".as_ptr(), msg.as_ptr()) }
}

/// Whether `ast_debug(level, …)` would log anything (for this module): lets callers skip
/// formatting a message nobody reads.
pub fn debug_enabled(level: i32) -> bool {
    // SAFETY: reads Asterisk's debug settings only.
    unsafe { shim::rs_shim_debug_enabled(level) != 0 }
}

/// `ast_verbose("%s", msg)`: shown whatever the verbosity (AGI debug traffic).
pub fn verbose(msg: &[u8]) {
    let msg = cstring(msg);
    // SAFETY: valid C string; the shim passes it as a "%s" argument.
    unsafe { shim::rs_shim_verbose(msg.as_ptr()) }
}

/// `ast_debug(level, "%s", msg)`, with the caller's file and line.
#[track_caller]
pub fn debug(level: i32, msg: &str) {
    let at = std::panic::Location::caller();
    let (file, msg) = (cstring(at.file()), cstring(msg));
    // SAFETY: valid C strings for the call; the shim passes msg as a "%s" argument.
    unsafe { shim::rs_shim_debug(level, file.as_ptr(), at.line() as i32, c"".as_ptr(), msg.as_ptr()) }
}

/// `ast_log!(Warning, "text {}", x)`: logs through Asterisk with this file and line.
#[macro_export]
macro_rules! ast_log {
    ($level:ident, $($arg:tt)*) => {
        $crate::ffi::log::log($crate::ffi::log::Level::$level, file!(), line!(), module_path!(), &format!($($arg)*))
    };
}

/// The call id (`[C-0000002a]` in log lines) of the calling thread, to carry onto a thread of
/// ours that works for the same call: its log lines, and Asterisk's own made on it, then
/// name the call as the channel thread's do.
#[derive(Clone, Copy)]
pub struct CallId(super::sys::ast_callid);

impl CallId {
    pub fn current() -> CallId {
        // SAFETY: reads the calling thread's own storage.
        CallId(unsafe { super::sys::ast_read_threadstorage_callid() })
    }

    /// Binds this call id to the calling thread (a new thread of ours, which has none). The
    /// binding lives in Asterisk's thread storage and goes with the thread
    /// (main/logger.c ast_callid_threadassoc_add).
    pub fn adopt(self) {
        if self.0 != 0 {
            // SAFETY: plain value; Asterisk keeps it in its own thread storage.
            unsafe { super::sys::ast_callid_threadassoc_add(self.0) };
        }
    }
}
