//! Speech recognition through res_speech, as AGI's SPEECH commands use it: one speech
//! object per Async AGI session (destroyed with it), and the recognition loop of stock's
//! SPEECH RECOGNIZE.
use super::channel::Chan;
use super::{bytes, shim, sys};
use std::ffi::CStr;
use std::ptr::NonNull;

/// A speech object we own; destroyed on Drop.
pub struct Speech(NonNull<sys::ast_speech>);

/// How a recognition ended, with what stock's answer reports.
pub enum Recognized {
    /// The channel could not read signed linear.
    NoSlin,
    Speech { endpos: i64, results: Vec<(i32, Vec<u8>, Vec<u8>)> },
    Dtmf { digit: u8, endpos: i64 },
    Hangup { endpos: i64 },
    Timeout { endpos: i64 },
}

impl Speech {
    /// `ast_speech_new(engine, slin)`; None when there is no such engine.
    pub fn new(engine: Option<&CStr>) -> Option<Speech> {
        // SAFETY: the capability reference is released once below; the engine name is a
        // valid C string or NULL (the default engine).
        unsafe {
            let cap = shim::rs_shim_cap_slin();
            if cap.is_null() {
                return None;
            }
            let s = sys::ast_speech_new(engine.map_or(std::ptr::null(), |e| e.as_ptr()), cap);
            shim::rs_shim_ao2_cleanup(cap.cast());
            NonNull::new(s).map(Speech)
        }
    }

    pub(crate) fn raw(&self) -> *mut sys::ast_speech {
        self.0.as_ptr()
    }

    pub fn change(&self, name: &CStr, value: &CStr) -> i32 {
        // SAFETY: live speech object we own; valid C strings.
        unsafe { sys::ast_speech_change(self.raw(), name.as_ptr(), value.as_ptr()) }
    }

    pub fn grammar_load(&self, name: &CStr, path: &CStr) -> i32 {
        // SAFETY: as change.
        unsafe { sys::ast_speech_grammar_load(self.raw(), name.as_ptr(), path.as_ptr()) }
    }

    pub fn grammar_unload(&self, name: &CStr) -> i32 {
        // SAFETY: as change.
        unsafe { sys::ast_speech_grammar_unload(self.raw(), name.as_ptr()) }
    }

    pub fn grammar_activate(&self, name: &CStr) -> i32 {
        // SAFETY: as change.
        unsafe { sys::ast_speech_grammar_activate(self.raw(), name.as_ptr()) }
    }

    pub fn grammar_deactivate(&self, name: &CStr) -> i32 {
        // SAFETY: as change.
        unsafe { sys::ast_speech_grammar_deactivate(self.raw(), name.as_ptr()) }
    }
}

impl Drop for Speech {
    fn drop(&mut self) {
        // SAFETY: we own the object; destroyed once.
        unsafe { sys::ast_speech_destroy(self.raw()) };
    }
}

impl Chan {
    /// Plays `file` from `offset` without waiting (stock's speech_streamfile).
    fn speech_streamfile(&self, file: &CStr, offset: i32) {
        let c = self.raw();
        // SAFETY: channel thread; the stream belongs to the channel once applied.
        unsafe {
            let fs = sys::ast_openstream(c, file.as_ptr(), sys::ast_channel_language(c));
            if fs.is_null() {
                return;
            }
            if offset != 0 {
                sys::ast_seekstream(fs, offset as _, libc::SEEK_SET);
            }
            if sys::ast_applystream(c, fs) != 0 {
                return;
            }
            sys::ast_playstream(fs);
        }
    }

    fn stream_idle(&self) -> bool {
        // SAFETY: channel thread.
        unsafe {
            let c = self.raw();
            sys::ast_channel_stream(c).is_null() || (sys::ast_channel_streamid(c) == -1 && sys::ast_channel_timingfunc(c).is_none())
        }
    }

    /// Stock's SPEECH RECOGNIZE loop: plays `prompt`, feeds audio to the engine until it
    /// has results, a digit is pressed, `timeout` seconds pass after the prompt, or hangup.
    pub fn speech_recognize(&self, speech: &Speech, prompt: &CStr, timeout: i32, offset: i32) -> Recognized {
        let c = self.raw();
        let s = speech.raw();
        // SAFETY: channel thread; the speech object is ours; its fields are read and
        // changed under its own lock, as res_speech requires; every frame read is freed.
        unsafe {
            if sys::ast_set_read_format(c, sys::ast_format_slin) != 0 {
                return Recognized::NoSlin;
            }
            let state = (*s).state as u32;
            if state == sys::AST_SPEECH_STATE_NOT_READY || state == sys::AST_SPEECH_STATE_DONE {
                sys::ast_speech_change_state(s, sys::AST_SPEECH_STATE_NOT_READY as i32);
                sys::ast_speech_start(s);
            }
            self.speech_streamfile(prompt, offset);
            let mut current_offset: i64 = 0;
            let mut start: i64 = 0;
            let mut dtmf: u8 = 0;
            let mut reason: Option<&str> = None;
            while reason.is_none() {
                sys::ast_sched_runq(sys::ast_channel_sched(c));
                let mut wait = sys::ast_sched_wait(sys::ast_channel_sched(c));
                if wait < 0 {
                    wait = 1000;
                }
                let mut fr: *mut sys::ast_frame = std::ptr::null_mut();
                if sys::ast_waitfor(c, wait) > 0 {
                    fr = sys::ast_read(c);
                    if fr.is_null() {
                        reason = Some("hangup");
                        break;
                    }
                }
                if timeout > 0 && start > 0 && libc::time(std::ptr::null_mut()) as i64 - start >= timeout as i64 {
                    reason = Some("timeout");
                    if !fr.is_null() {
                        shim::rs_shim_frfree(fr);
                    }
                    break;
                }
                shim::rs_shim_speech_lock(s);
                if (*s).flags & sys::AST_SPEECH_QUIET != 0 && !sys::ast_channel_stream(c).is_null() {
                    current_offset = sys::ast_tellstream(sys::ast_channel_stream(c)) as i64;
                    sys::ast_stopstream(c);
                    (*s).flags &= !sys::AST_SPEECH_QUIET;
                }
                match (*s).state as u32 {
                    sys::AST_SPEECH_STATE_READY => {
                        if timeout > 0 && start == 0 && self.stream_idle() {
                            sys::ast_stopstream(c);
                            start = libc::time(std::ptr::null_mut()) as i64;
                        }
                        if !fr.is_null() && (*fr).frametype == sys::AST_FRAME_VOICE {
                            sys::ast_speech_write(s, (*fr).data.ptr, (*fr).datalen);
                        }
                    }
                    sys::AST_SPEECH_STATE_WAIT => {
                        if self.stream_idle() {
                            sys::ast_stopstream(c);
                            let sound = bytes((*s).processing_sound);
                            if !sound.is_empty() && !sound.eq_ignore_ascii_case(b"none") {
                                self.speech_streamfile(&super::cstring(sound), 0);
                            }
                        }
                    }
                    sys::AST_SPEECH_STATE_DONE => {
                        (*s).results = sys::ast_speech_results_get(s);
                        sys::ast_speech_change_state(s, sys::AST_SPEECH_STATE_NOT_READY as i32);
                        reason = Some("speech");
                    }
                    _ => {}
                }
                shim::rs_shim_speech_unlock(s);
                if !fr.is_null() {
                    if (*fr).frametype == sys::AST_FRAME_DTMF_END {
                        reason = Some("dtmf");
                        dtmf = (*fr).subclass.integer as u8;
                    } else if (*fr).frametype == sys::AST_FRAME_CONTROL && (*fr).subclass.integer == sys::AST_CONTROL_HANGUP as i32 {
                        reason = Some("hangup");
                    }
                    shim::rs_shim_frfree(fr);
                }
            }
            match reason {
                Some("speech") => {
                    let mut results = Vec::new();
                    let mut r = (*s).results;
                    while !r.is_null() {
                        results.push(((*r).score, bytes((*r).text), bytes((*r).grammar)));
                        r = (*r).list.next;
                    }
                    Recognized::Speech { endpos: current_offset, results }
                }
                Some("dtmf") => Recognized::Dtmf { digit: dtmf, endpos: current_offset },
                Some("timeout") => Recognized::Timeout { endpos: current_offset },
                _ => Recognized::Hangup { endpos: current_offset },
            }
        }
    }
}
