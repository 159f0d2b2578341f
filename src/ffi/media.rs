//! What the media and dialplan-location AGI commands call: say, text, images, TDD, music
//! on hold, digit collection, controlled playback, dialplan location and caller ID.
use super::channel::{AgiFds, Chan};
use super::{cstring, sys, take_malloced};
use std::ffi::CStr;
use std::ptr;

fn opt_ptr(s: Option<&CStr>) -> *const libc::c_char {
    s.map_or(ptr::null(), |s| s.as_ptr())
}

/// How characters are spoken by SAY ALPHA.
#[derive(Clone, Copy)]
pub enum SayCase {
    None,
    Lower,
    Upper,
    All,
}

impl Chan {
    fn lang_ptr(&self) -> *const libc::c_char {
        // SAFETY: live channel; the language string stays valid while this thread runs the
        // channel (only this thread changes it).
        unsafe { sys::ast_channel_language(self.raw()) }
    }

    pub fn say_number(&self, num: i32, escape: &CStr, options: Option<&CStr>, fds: AgiFds) -> i32 {
        // SAFETY: channel thread; say.c installs these function pointers at startup.
        unsafe {
            match sys::ast_say_number_full {
                Some(f) => f(self.raw(), num, escape.as_ptr(), self.lang_ptr(), opt_ptr(options), fds.audio, fds.ctrl),
                None => -1,
            }
        }
    }

    pub fn say_digits(&self, digits: &CStr, escape: &CStr, fds: AgiFds) -> i32 {
        // SAFETY: as say_number.
        unsafe {
            match sys::ast_say_digit_str_full {
                Some(f) => f(self.raw(), digits.as_ptr(), escape.as_ptr(), self.lang_ptr(), fds.audio, fds.ctrl),
                None => -1,
            }
        }
    }

    pub fn say_alpha(&self, text: &CStr, escape: &CStr, case: SayCase, fds: AgiFds) -> i32 {
        let sensitivity = match case {
            SayCase::None => sys::AST_SAY_CASE_NONE,
            SayCase::Lower => sys::AST_SAY_CASE_LOWER,
            SayCase::Upper => sys::AST_SAY_CASE_UPPER,
            SayCase::All => sys::AST_SAY_CASE_ALL,
        };
        // SAFETY: as say_number.
        unsafe {
            match sys::ast_say_character_str_full {
                Some(f) => f(self.raw(), text.as_ptr(), escape.as_ptr(), self.lang_ptr(), sensitivity, fds.audio, fds.ctrl),
                None => -1,
            }
        }
    }

    pub fn say_phonetic(&self, text: &CStr, escape: &CStr, fds: AgiFds) -> i32 {
        // SAFETY: as say_number.
        unsafe {
            match sys::ast_say_phonetic_str_full {
                Some(f) => f(self.raw(), text.as_ptr(), escape.as_ptr(), self.lang_ptr(), fds.audio, fds.ctrl),
                None => -1,
            }
        }
    }

    pub fn say_date(&self, t: i64, escape: &CStr) -> i32 {
        // SAFETY: as say_number.
        unsafe {
            match sys::ast_say_date {
                Some(f) => f(self.raw(), t as _, escape.as_ptr(), self.lang_ptr()),
                None => -1,
            }
        }
    }

    pub fn say_time(&self, t: i64, escape: &CStr) -> i32 {
        // SAFETY: as say_number.
        unsafe {
            match sys::ast_say_time {
                Some(f) => f(self.raw(), t as _, escape.as_ptr(), self.lang_ptr()),
                None => -1,
            }
        }
    }

    pub fn say_datetime(&self, t: i64, escape: &CStr, format: &CStr, zone: Option<&CStr>) -> i32 {
        // SAFETY: as say_number.
        unsafe {
            match sys::ast_say_date_with_format {
                Some(f) => f(self.raw(), t as _, escape.as_ptr(), self.lang_ptr(), format.as_ptr(), opt_ptr(zone)),
                None => -1,
            }
        }
    }

    pub fn send_text(&self, text: &CStr) -> i32 {
        // SAFETY: channel thread, valid C string.
        unsafe { sys::ast_sendtext(self.raw(), text.as_ptr()) }
    }

    pub fn send_image(&self, file: &CStr) -> i32 {
        // SAFETY: channel thread, valid C string.
        unsafe { sys::ast_send_image(self.raw(), file.as_ptr()) }
    }

    pub fn receive_char(&self, timeout_ms: i32) -> i32 {
        // SAFETY: channel thread.
        unsafe { sys::ast_recvchar(self.raw(), timeout_ms) }
    }

    /// Text received within the timeout; None on timeout or hangup.
    pub fn receive_text(&self, timeout_ms: i32) -> Option<Vec<u8>> {
        // SAFETY: channel thread; the result is ast_malloc'ed for us to free.
        take_malloced(unsafe { sys::ast_recvtext(self.raw(), timeout_ms) })
    }

    /// Sets the TDD option as AGI's TDD MODE does; true when the channel accepted it.
    pub fn set_tdd(&self, mode: i32) -> bool {
        let mut x = mode;
        // SAFETY: channel thread; the option reads one byte from &x (as stock passes it).
        unsafe { sys::ast_channel_setoption(self.raw(), sys::AST_OPTION_TDD as i32, (&mut x as *mut i32).cast(), 1, 0) == 0 }
    }

    pub fn moh_start(&self, class: Option<&CStr>) {
        // SAFETY: channel thread, valid C strings or NULL.
        unsafe { sys::ast_moh_start(self.raw(), opt_ptr(class), ptr::null()) };
    }

    pub fn moh_stop(&self) {
        // SAFETY: channel thread.
        unsafe { sys::ast_moh_stop(self.raw()) }
    }

    /// `ast_app_getdata_full`: plays `prompt` and collects up to `max` digits.
    /// Returns Asterisk's result code and the digits.
    pub fn get_data(&self, prompt: &CStr, max: i32, timeout_ms: i32, fds: AgiFds) -> (i32, Vec<u8>) {
        // Stock collects into a 1,024-byte buffer.
        let mut buf = vec![0u8; 1024];
        let max = max.clamp(0, 1023);
        // SAFETY: channel thread; buf holds max+1 bytes, NUL-terminated by the callee.
        let res = unsafe {
            sys::ast_app_getdata_full(self.raw(), prompt.as_ptr(), buf.as_mut_ptr().cast(), max, timeout_ms, fds.audio, fds.ctrl)
        };
        let digits = buf.iter().position(|&b| b == 0).map(|n| buf[..n].to_vec()).unwrap_or_default();
        (res, digits)
    }

    /// The dialplan digit timeout of the running PBX (ms), 0 if none.
    pub fn pbx_digit_timeout_ms(&self) -> i32 {
        // SAFETY: channel thread; the pbx struct belongs to this thread's PBX.
        unsafe {
            let pbx = sys::ast_channel_pbx(self.raw());
            if pbx.is_null() { 0 } else { (*pbx).dtimeoutms }
        }
    }

    /// `ast_control_streamfile`; returns the result and the offset reached (ms).
    #[allow(clippy::too_many_arguments)]
    pub fn control_stream_file(
        &self,
        file: &CStr,
        fwd: &CStr,
        rev: &CStr,
        stop: Option<&CStr>,
        suspend: Option<&CStr>,
        skip_ms: i32,
        offset_ms: i64,
    ) -> (i32, i64) {
        let mut offset: libc::c_long = offset_ms as _;
        // SAFETY: channel thread; valid C strings or NULL; offset is ours.
        let res = unsafe {
            sys::ast_control_streamfile(
                self.raw(),
                file.as_ptr(),
                fwd.as_ptr(),
                rev.as_ptr(),
                opt_ptr(stop),
                opt_ptr(suspend),
                ptr::null(),
                skip_ms,
                &mut offset,
            )
        };
        (res, offset as i64)
    }

    pub fn set_context(&self, context: &CStr) {
        let _l = self.lock();
        // SAFETY: channel locked; the value is copied.
        unsafe { sys::ast_channel_context_set(self.raw(), context.as_ptr()) }
    }

    pub fn set_extension(&self, exten: &CStr) {
        let _l = self.lock();
        // SAFETY: channel locked; the value is copied.
        unsafe { sys::ast_channel_exten_set(self.raw(), exten.as_ptr()) }
    }

    /// The priority of `label` at the channel's context and extension (< 1: none).
    pub fn find_label(&self, label: &CStr) -> i32 {
        // SAFETY: channel thread; strings copied before use by the callee.
        unsafe {
            let caller = &*sys::ast_channel_caller(self.raw());
            let cid = if caller.id.number.valid != 0 && !caller.id.number.str_.is_null() && *caller.id.number.str_ != 0 {
                caller.id.number.str_ as *const libc::c_char
            } else {
                ptr::null()
            };
            let context = cstring(super::bytes(sys::ast_channel_context(self.raw())));
            let exten = cstring(super::bytes(sys::ast_channel_exten(self.raw())));
            sys::ast_findlabel_extension(self.raw(), context.as_ptr(), exten.as_ptr(), label.as_ptr(), cid)
        }
    }

    /// `ast_explicit_goto(chan, NULL, NULL, priority)`.
    pub fn goto_priority(&self, priority: i32) {
        // SAFETY: channel thread; the function locks the channel.
        unsafe { sys::ast_explicit_goto(self.raw(), ptr::null(), ptr::null(), priority) };
    }

    /// Hangs the channel up after `seconds` (0: never).
    pub fn set_autohangup(&self, seconds: f64) {
        let mut tv = sys::timeval { tv_sec: 0, tv_usec: 0 };
        if seconds != 0.0 {
            tv.tv_sec = seconds as _;
            tv.tv_usec = ((seconds - tv.tv_sec as f64) * 1_000_000.0) as _;
        }
        let _l = self.lock();
        // SAFETY: channel locked, as stock does.
        unsafe { sys::ast_channel_setwhentohangup_tv(self.raw(), tv) }
    }

    /// Parses `text` as a caller ID ("Name" <number>) and sets it, as SET CALLERID does.
    pub fn set_callerid(&self, text: &[u8]) {
        // Stock copies into a 256-byte buffer first.
        let mut buf = text[..text.len().min(255)].to_vec();
        buf.push(0);
        let (mut name, mut num): (*mut libc::c_char, *mut libc::c_char) = (ptr::null_mut(), ptr::null_mut());
        // SAFETY: buf is a mutable NUL-terminated buffer that outlives the pointers the
        // parser returns into it; ast_set_callerid copies the strings.
        unsafe {
            sys::ast_callerid_parse(buf.as_mut_ptr().cast(), &mut name, &mut num);
            if num.is_null() {
                num = c"".as_ptr() as *mut _;
            } else {
                sys::ast_shrink_phone_number(num);
            }
            if name.is_null() {
                name = c"".as_ptr() as *mut _;
            }
            sys::ast_set_callerid(self.raw(), num, name, ptr::null());
        }
    }
}

/// `ast_get_time_t`: a time as seconds since the epoch; None when it does not parse.
pub fn parse_time(text: &CStr) -> Option<i64> {
    let mut t: sys::time_t = 0;
    // SAFETY: valid C string; t is ours.
    let res = unsafe { sys::ast_get_time_t(text.as_ptr(), &mut t, 0, ptr::null_mut()) };
    (res == 0).then_some(t as i64)
}
