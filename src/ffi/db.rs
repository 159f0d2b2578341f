//! Asterisk's internal database (astdb).
use super::{sys, take_malloced};
use std::ffi::CStr;

pub fn get(family: &CStr, key: &CStr) -> Option<Vec<u8>> {
    let mut out: *mut std::os::raw::c_char = std::ptr::null_mut();
    // SAFETY: valid C strings; on success `out` is ast_malloc'ed for us to free.
    let res = unsafe { sys::ast_db_get_allocated(family.as_ptr(), key.as_ptr(), &mut out) };
    let value = take_malloced(out);
    if res == 0 { Some(value.unwrap_or_default()) } else { None }
}

pub fn put(family: &CStr, key: &CStr, value: &CStr) -> bool {
    // SAFETY: valid C strings.
    unsafe { sys::ast_db_put(family.as_ptr(), key.as_ptr(), value.as_ptr()) == 0 }
}

pub fn del(family: &CStr, key: &CStr) -> bool {
    // SAFETY: valid C strings.
    unsafe { sys::ast_db_del(family.as_ptr(), key.as_ptr()) == 0 }
}

/// Deletes a family (or a keytree in it); returns how many entries went.
pub fn deltree(family: &CStr, keytree: Option<&CStr>) -> i32 {
    // SAFETY: valid C strings or NULL.
    unsafe { sys::ast_db_deltree(family.as_ptr(), keytree.map_or(std::ptr::null(), |k| k.as_ptr())) }
}
