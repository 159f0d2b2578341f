//! One AMI action call: the session and the message it came with.
use super::{bytes, cstring, sys};
use std::ffi::CStr;
use std::marker::PhantomData;

pub struct Action<'a> {
    s: *mut sys::mansession,
    m: *const sys::message,
    _call: PhantomData<&'a ()>,
}

impl Action<'_> {
    /// # Safety
    /// Both pointers must be the live arguments of the current manager action callback.
    pub(crate) unsafe fn new(s: *mut sys::mansession, m: *const sys::message) -> Self {
        Action { s, m, _call: PhantomData }
    }

    /// A header's value ("" when absent), as `astman_get_header` gives it.
    pub fn header(&self, name: &CStr) -> Vec<u8> {
        // SAFETY: live message; the value is copied at once.
        bytes(unsafe { sys::astman_get_header(self.m, name.as_ptr() as *mut _) })
    }

    pub fn send_error(&self, text: &str) {
        let t = cstring(text);
        // SAFETY: live session/message; the text is a value, not a format.
        unsafe { sys::astman_send_error(self.s, self.m, t.as_ptr() as *mut _) }
    }

    pub fn send_ack(&self, text: &str) {
        let t = cstring(text);
        // SAFETY: live session/message; the text is a value, not a format.
        unsafe { sys::astman_send_ack(self.s, self.m, t.as_ptr() as *mut _) }
    }
}
