//! The only unsafe code of the module: the bindings, the shim's declarations and thin safe
//! wrappers over them. Every `unsafe` block says what makes it sound.
//!
//! Rules kept here: a wrapper holding a host pointer is `!Send` unless documented; every
//! channel reference taken is released on `Drop`; every channel lock is released on `Drop`;
//! text from users never becomes a C format string (the shim passes "%s").

#[allow(
    non_upper_case_globals,
    non_camel_case_types,
    non_snake_case,
    dead_code,
    improper_ctypes,
    unnecessary_transmutes,
    clippy::all
)]
pub mod sys {
    include!(concat!(env!("OUT_DIR"), "/bindings.rs"));
}

mod shim;

pub mod agi;
pub mod alloc;
pub mod channel;
pub mod cli;
pub mod db;
pub mod facts;
pub mod callback;
pub mod guard;
pub mod http;
pub mod log;
pub mod manager;
pub mod media;
pub mod process;
pub mod misc;
pub mod record;
pub mod speech;
pub mod stream;
pub mod thread;
pub mod tls;

use std::ffi::{CStr, CString};
use std::os::raw::c_char;

/// Copies a C string owned by Asterisk into Rust; NULL becomes `None`.
pub(crate) fn opt_bytes(p: *const c_char) -> Option<Vec<u8>> {
    if p.is_null() {
        None
    } else {
        // SAFETY: Asterisk hands out NUL-terminated strings; we copy before it can change.
        Some(unsafe { CStr::from_ptr(p) }.to_bytes().to_vec())
    }
}

/// Like [`opt_bytes`], with NULL read as the empty string.
pub(crate) fn bytes(p: *const c_char) -> Vec<u8> {
    opt_bytes(p).unwrap_or_default()
}

/// Builds a C string from arbitrary bytes: an interior NUL ends the text, as it would in C.
pub fn cstring(b: impl Into<Vec<u8>>) -> CString {
    let mut v: Vec<u8> = b.into();
    if let Some(pos) = v.iter().position(|&c| c == 0) {
        v.truncate(pos);
    }
    CString::new(v).expect("NUL removed above")
}

/// An `ast_str` we own, freed on `Drop`.
pub(crate) struct AstStr(*mut sys::ast_str);

impl AstStr {
    pub(crate) fn new(len: usize) -> Option<AstStr> {
        // SAFETY: plain allocation; NULL is checked.
        let p = unsafe { shim::rs_shim_str_create(len) };
        (!p.is_null()).then_some(AstStr(p))
    }
    /// Takes ownership of an `ast_str` Asterisk allocated for us.
    pub(crate) fn from_raw(p: *mut sys::ast_str) -> Option<AstStr> {
        (!p.is_null()).then_some(AstStr(p))
    }
    pub(crate) fn as_mut_ptr(&mut self) -> *mut *mut sys::ast_str {
        &mut self.0
    }
    pub(crate) fn to_bytes(&self) -> Vec<u8> {
        // SAFETY: self.0 is a live ast_str (Asterisk may have reallocated it through
        // as_mut_ptr, which updates self.0); buffer and length describe initialised bytes.
        unsafe {
            let buf = shim::rs_shim_str_buffer(self.0) as *const u8;
            let len = shim::rs_shim_str_strlen(self.0);
            std::slice::from_raw_parts(buf, len).to_vec()
        }
    }
}

impl Drop for AstStr {
    fn drop(&mut self) {
        // SAFETY: we own the ast_str; ast_free releases it exactly once.
        unsafe { shim::rs_shim_free(self.0.cast()) }
    }
}

/// Frees a string Asterisk allocated with ast_malloc and handed to us, after copying it.
pub(crate) fn take_malloced(p: *mut c_char) -> Option<Vec<u8>> {
    let v = opt_bytes(p);
    if !p.is_null() {
        // SAFETY: the caller passes a pointer Asterisk allocated for us to free.
        unsafe { shim::rs_shim_free(p.cast()) }
    }
    v
}
