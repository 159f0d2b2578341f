//! AGI commands registered by other modules (struct agi_command, e.g. app_stack's GOSUB):
//! their words and documentation, and running their C handler with an output pipe, as
//! stock res_agi does for Async AGI.
use super::channel::Chan;
use super::{bytes, cstring, opt_bytes, shim, sys};
use std::ffi::{c_void, CString};
use std::os::raw::c_char;
use std::ptr::NonNull;

/// A command descriptor owned by the module that registered it. It stays valid while
/// registered: modules unregister before they unload.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct ForeignCommand(NonNull<sys::agi_command>);

// SAFETY: the descriptor is only read after registration (and its docs written once, at
// registration, before it is shared); Asterisk modules share these descriptors across
// threads the same way with stock res_agi.
unsafe impl Send for ForeignCommand {}
// SAFETY: as above.
unsafe impl Sync for ForeignCommand {}

impl ForeignCommand {
    /// # Safety
    /// `p` must be a descriptor from `ast_agi_register` (valid while registered).
    pub(crate) unsafe fn from_raw(p: *mut sys::agi_command) -> Option<ForeignCommand> {
        NonNull::new(p).map(ForeignCommand)
    }

    fn raw(&self) -> *mut sys::agi_command {
        self.0.as_ptr()
    }

    /// The command's words ("gosub"), as registered.
    pub fn words(&self) -> Vec<Vec<u8>> {
        // SAFETY: cmda is a NULL-terminated array of C strings in a live descriptor.
        unsafe { (*self.raw()).cmda.iter().take_while(|p| !p.is_null()).map(|&p| bytes(p)).collect() }
    }

    pub fn dead(&self) -> bool {
        // SAFETY: live descriptor.
        unsafe { (*self.raw()).dead != 0 }
    }

    /// Its documentation, as registered (or built from XML docs at registration).
    pub fn docs(&self) -> super::misc::Docs {
        // SAFETY: live descriptor; strings copied.
        unsafe {
            let c = &*self.raw();
            let get = |p: *const c_char| opt_bytes(p).filter(|v| !v.is_empty());
            super::misc::Docs {
                summary: get(c.summary),
                since: get(c.since),
                usage: get(c.usage),
                syntax: get(c.syntax),
                arguments: get(c.arguments),
                seealso: get(c.seealso),
            }
        }
    }

    pub fn xml_docs(&self) -> bool {
        // SAFETY: live descriptor.
        unsafe { (*self.raw()).docsrc == sys::AST_XML_DOC }
    }

    /// As stock at registration: when the module gave neither summary nor usage, fill the
    /// documentation from Asterisk's XML docs; record the module.
    pub fn prepare(&self, module: *mut sys::ast_module) {
        let name = cstring(self.words().join(&b' '));
        // SAFETY: called once at registration, before the descriptor is shared; the
        // strings written are ast_malloc'ed, freed by `release_docs` at unregistration.
        unsafe {
            let c = &mut *self.raw();
            c.docsrc = sys::AST_STATIC_DOC;
            let empty = |p: *const c_char| p.is_null() || *p == 0;
            if empty(c.summary) && empty(c.usage) {
                fill_xml_docs(c, &name);
            }
            c.mod_ = module;
        }
    }

    /// Frees the documentation `prepare` built (at unregistration).
    pub fn release_docs(&self) {
        // SAFETY: the descriptor is being unregistered; the strings were allocated by the
        // xmldoc builders in `prepare` and are freed once, then cleared.
        unsafe {
            let c = &mut *self.raw();
            if c.docsrc == sys::AST_XML_DOC {
                for field in [&mut c.summary, &mut c.since, &mut c.usage, &mut c.syntax, &mut c.arguments, &mut c.seealso] {
                    shim::rs_shim_free(*field as *mut c_void);
                    *field = std::ptr::null();
                }
            }
        }
    }

    /// Takes a running reference on the module that registered this command, so that it
    /// (and this descriptor) cannot go while the reference is held. None when that module
    /// is being unloaded. Call it while the command is known to be registered (under the
    /// registry's lock).
    pub fn hold(&self) -> Option<ModuleHold> {
        // SAFETY: live descriptor (registered).
        let module = unsafe { (*self.raw()).mod_ };
        if module.is_null() {
            return Some(ModuleHold(None));
        }
        // SAFETY: a registered module is loaded; the reference is released by ModuleHold.
        let held = unsafe { shim::rs_shim_module_running_ref(module) };
        NonNull::new(held).map(|m| ModuleHold(Some(m)))
    }

    /// Runs the handler on `chan` with an AGI state whose output goes to `out`. The caller
    /// holds the registering module (`hold`).
    pub fn run(&self, _held: &ModuleHold, chan: &Chan, argv: &[CString], out: &OutputPipe, speech: Option<*mut sys::ast_speech>) -> i32 {
        let mut ptrs: Vec<*const c_char> = argv.iter().map(|a| a.as_ptr()).collect();
        ptrs.push(std::ptr::null());
        let mut agi = sys::agi_state {
            fd: out.write,
            audio: -1,
            ctrl: out.write,
            speech: speech.unwrap_or(std::ptr::null_mut()),
            ..Default::default()
        };
        // SAFETY: channel thread; argv and agi live across the call; the handler is the
        // registering module's, which the held reference keeps loaded.
        unsafe {
            match (*self.raw()).handler {
                Some(h) => h(chan.raw(), &mut agi, argv.len() as i32, ptrs.as_ptr()),
                None => sys::RESULT_SHOWUSAGE as i32,
            }
        }
    }
}

/// A running reference on a module that registered AGI commands (none for a command
/// registered without a module), released on Drop.
pub struct ModuleHold(Option<NonNull<sys::ast_module>>);

impl Drop for ModuleHold {
    fn drop(&mut self) {
        if let Some(m) = self.0 {
            // SAFETY: releases the one reference taken in `hold`.
            unsafe { shim::rs_shim_module_unref(m.as_ptr()) };
        }
    }
}

/// The pipe a foreign command writes its answer to (through ast_agi_send).
pub struct OutputPipe {
    read: i32,
    write: i32,
}

impl OutputPipe {
    pub fn new() -> Option<OutputPipe> {
        let mut fds = [0i32; 2];
        // SAFETY: fds has room for two descriptors.
        if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC | libc::O_NONBLOCK) } != 0 {
            return None;
        }
        Some(OutputPipe { read: fds[0], write: fds[1] })
    }

    /// Everything written so far.
    pub fn drain(&self) -> Vec<u8> {
        let mut out = Vec::new();
        let mut buf = [0u8; 4096];
        loop {
            // SAFETY: reading into a local buffer from our own non-blocking descriptor.
            let n = unsafe { libc::read(self.read, buf.as_mut_ptr().cast(), buf.len()) };
            if n <= 0 {
                break;
            }
            out.extend_from_slice(&buf[..n as usize]);
        }
        out
    }
}

impl Drop for OutputPipe {
    fn drop(&mut self) {
        // SAFETY: our own descriptors, closed once.
        unsafe {
            libc::close(self.read);
            libc::close(self.write);
        }
    }
}

/// "agi set debug on|off".
pub fn set_debug(on: bool) {
    // SAFETY: sets an int in the shim.
    unsafe { shim::rs_shim_set_agi_debug(on as i32) }
}

pub fn debug() -> bool {
    // SAFETY: reads an int in the shim.
    unsafe { shim::rs_shim_agi_debug() != 0 }
}

/// Fills a command's documentation from Asterisk's XML docs (the strings ast_malloc'ed).
/// Only where this Asterisk has them: stock's ast_agi_register does it under
/// `#ifdef AST_XML_DOCS` (build.rs: cfg ast_xml_docs).
#[cfg(ast_xml_docs)]
fn fill_xml_docs(c: &mut sys::agi_command, name: &std::ffi::CStr) {
    let (k, n, none) = (c"agi".as_ptr(), name.as_ptr(), std::ptr::null());
    // SAFETY: valid C strings; each builder returns an ast_malloc'ed string (or NULL) that
    // the descriptor owns until `release_docs`.
    unsafe {
        c.summary = sys::ast_xmldoc_build_synopsis(k, n, none);
        c.since = sys::ast_xmldoc_build_since(k, n, none);
        c.usage = sys::ast_xmldoc_build_description(k, n, none);
        c.syntax = sys::ast_xmldoc_build_syntax(k, n, none);
        c.arguments = sys::ast_xmldoc_build_arguments(k, n, none);
        c.seealso = sys::ast_xmldoc_build_seealso(k, n, none);
    }
    c.docsrc = sys::AST_XML_DOC;
}

#[cfg(not(ast_xml_docs))]
fn fill_xml_docs(_c: &mut sys::agi_command, _name: &std::ffi::CStr) {}
