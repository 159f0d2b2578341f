//! One AMI action call: the session and the message it came with.
use super::{bytes, cstring, sys};
use std::ffi::CStr;
use std::marker::PhantomData;

/// A response's `Message:` may quote what the client sent (a channel name, an owner token):
/// a CR or LF in it would start a forged header line, so each becomes a space.
fn one_line(text: &str) -> String {
    text.replace(['\r', '\n'], " ")
}

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
        let t = cstring(one_line(text));
        // SAFETY: live session/message; the text is a value, not a format.
        unsafe { sys::astman_send_error(self.s, self.m, t.as_ptr() as *mut _) }
    }

    pub fn send_ack(&self, text: &str) {
        let t = cstring(one_line(text));
        // SAFETY: live session/message; the text is a value, not a format.
        unsafe { sys::astman_send_ack(self.s, self.m, t.as_ptr() as *mut _) }
    }

    /// `astman_send_listack(s, m, text, "start")`: Response: Success, EventList: start.
    pub fn send_list_ack(&self, text: &str) {
        let t = cstring(text);
        // SAFETY: live session/message; plain strings.
        unsafe { sys::astman_send_listack(self.s, self.m, t.as_ptr() as *mut _, c"start".as_ptr() as *mut _) }
    }

    /// One event of a list: `Event: <name>`, the ActionID when the action had one, then
    /// `body` (complete header lines), then the blank line.
    pub fn send_list_item(&self, name: &str, body: &[u8]) {
        let mut text = format!("Event: {name}\r\n").into_bytes();
        let id = self.header(c"ActionID");
        if !id.is_empty() {
            text.extend_from_slice(b"ActionID: ");
            text.extend(id.iter().map(|&b| if b == b'\r' || b == b'\n' { b' ' } else { b }));
            text.extend_from_slice(b"\r\n");
        }
        text.extend_from_slice(body);
        text.extend_from_slice(b"\r\n");
        self.append(&text);
    }

    /// `astman_append(s, "%s", text)`.
    pub fn append(&self, text: &[u8]) {
        let t = cstring(text);
        // SAFETY: live session; the text is passed as a "%s" argument, never as a format.
        unsafe { sys::astman_append(self.s, c"%s".as_ptr(), t.as_ptr()) }
    }

    /// The list's closing event (`EventList: Complete`, `ListItems: count`).
    pub fn send_list_complete(&self, event: &CStr, count: usize) {
        // SAFETY: live session/message; static event name.
        unsafe {
            sys::astman_send_list_complete_start(self.s, self.m, event.as_ptr(), count as i32);
            sys::astman_send_list_complete_end(self.s);
        }
    }
}
