//! One CLI handler call, in its three forms (init, completion, execution).
use super::{shim, sys, cstring};
use std::ffi::CStr;
use std::os::raw::c_char;

pub enum CliCall<'a> {
    /// Asterisk asks for the command words and usage text.
    Init(CliInit<'a>),
    /// Tab completion: `pos` is the word being completed, `n` the n-th candidate.
    Generate(CliGenerate<'a>),
    Exec(CliExec<'a>),
}

pub struct CliInit<'a> {
    e: &'a mut sys::ast_cli_entry,
}

impl CliInit<'_> {
    pub fn set(&mut self, command: &'static CStr, usage: &'static CStr) {
        // Asterisk declares these `char *` but never writes through them.
        self.e.command = command.as_ptr() as *mut _;
        self.e.usage = usage.as_ptr() as *mut _;
    }
}

pub struct CliGenerate<'a> {
    a: &'a sys::ast_cli_args,
}

impl CliGenerate<'_> {
    pub fn pos(&self) -> i32 {
        self.a.pos
    }
    /// `ast_complete_channels` for word `rpos`.
    pub fn complete_channels(&self, rpos: i32) -> CliOut {
        // SAFETY: the args are live for this call; the result is malloc'ed and handed on
        // to Asterisk, which frees it.
        CliOut(unsafe { sys::ast_complete_channels(self.a.line, self.a.word, self.a.pos, self.a.n, rpos) })
    }
}

pub struct CliExec<'a> {
    a: &'a sys::ast_cli_args,
}

impl CliExec<'_> {
    pub fn args(&self) -> Vec<Vec<u8>> {
        (0..self.a.argc as usize)
            // SAFETY: argv holds argc valid C strings for this call.
            .map(|i| super::bytes(unsafe { *self.a.argv.add(i) }))
            .collect()
    }
    /// Prints text on the CLI that ran the command.
    pub fn print(&self, text: &str) {
        let t = cstring(text);
        // SAFETY: valid fd from Asterisk; the shim passes the text as "%s".
        unsafe { shim::rs_shim_cli_print(self.a.fd, t.as_ptr()) }
    }
}

/// A handler's answer: CLI_SUCCESS / CLI_SHOWUSAGE / CLI_FAILURE, a completion, or nothing.
pub struct CliOut(*mut c_char);

impl CliOut {
    pub fn success() -> Self {
        CliOut(sys::RESULT_SUCCESS as usize as *mut c_char)
    }
    pub fn show_usage() -> Self {
        CliOut(sys::RESULT_SHOWUSAGE as usize as *mut c_char)
    }
    pub fn failure() -> Self {
        CliOut(sys::RESULT_FAILURE as usize as *mut c_char)
    }
    pub fn none() -> Self {
        CliOut(std::ptr::null_mut())
    }
    pub(crate) fn into_raw(self) -> *mut c_char {
        self.0
    }
}

/// # Safety
/// `e` and `a` must be the live arguments of the current CLI callback.
pub(crate) unsafe fn call<'a>(e: *mut sys::ast_cli_entry, cmd: i32, a: *const sys::ast_cli_args) -> Option<CliCall<'a>> {
    if cmd == sys::CLI_INIT as i32 {
        return e.as_mut().map(|e| CliCall::Init(CliInit { e }));
    }
    let a = a.as_ref()?;
    if cmd == sys::CLI_GENERATE as i32 {
        Some(CliCall::Generate(CliGenerate { a }))
    } else {
        Some(CliCall::Exec(CliExec { a }))
    }
}

/// What a CLI callback returns when its handler failed (a caught panic): for an execution,
/// `text` on the CLI and CLI_FAILURE; for init and completion, nothing.
///
/// # Safety
/// `a` must be the live argument of the current CLI callback.
pub(crate) unsafe fn failed(cmd: i32, a: *const sys::ast_cli_args, text: &str) -> *mut c_char {
    if cmd == sys::CLI_INIT as i32 || cmd == sys::CLI_GENERATE as i32 {
        return std::ptr::null_mut();
    }
    if let Some(a) = a.as_ref() {
        CliExec { a }.print(text);
    }
    CliOut::failure().into_raw()
}
