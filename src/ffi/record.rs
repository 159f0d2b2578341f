//! Recording from a channel to a file, as AGI's RECORD FILE does: the C sequence of stock's
//! handler, with its results handed back for the command to format.
use super::channel::Chan;
use super::{shim, sys};
use std::ffi::CStr;
use std::time::Instant;

/// What RECORD FILE asks for.
pub struct RecordRequest<'a> {
    pub file: &'a CStr,
    pub format: &'a CStr,
    pub escape: &'a CStr,
    /// -1: no limit.
    pub timeout_ms: i32,
    pub offset: i64,
    pub beep: bool,
    /// Silence (ms) that ends the recording; 0: none.
    pub silence_ms: i32,
}

/// How a recording ended, with the stock result line's parts.
pub enum Recorded {
    /// Could not switch to signed linear for silence detection (res).
    ReadFormat(i32),
    /// No silence detector could be made.
    NoDsp,
    /// The beep or the wait before recording returned non-zero.
    RandomError { res: i32, endpos: i64 },
    /// The file could not be created.
    WriteFile,
    WaitFor { res: i32, endpos: i64 },
    Hangup { endpos: i64 },
    Dtmf { digit: i32, endpos: i64 },
    Timeout { res: i32, endpos: i64 },
}

struct Dsp(*mut sys::ast_dsp);

impl Drop for Dsp {
    fn drop(&mut self) {
        // SAFETY: ours, freed once.
        unsafe { sys::ast_dsp_free(self.0) }
    }
}

impl Chan {
    pub fn record_file(&self, r: &RecordRequest) -> Recorded {
        let c = self.raw();
        let mut sample_offset = r.offset;
        let mut res: i32 = 0;
        // SAFETY: channel thread; every stream, DSP, format reference and silence
        // generator made here is released on every path below, as in stock's handler.
        unsafe {
            let mut saved_format: *mut sys::ast_format = std::ptr::null_mut();
            let mut dsp = None;
            if r.silence_ms > 0 {
                saved_format = sys::ast_channel_readformat(c);
                shim::rs_shim_ao2_bump(saved_format.cast());
                res = sys::ast_set_read_format(c, sys::ast_format_slin);
                if res < 0 {
                    crate::ast_log!(Warning, "Unable to set to linear mode, giving up");
                    shim::rs_shim_ao2_cleanup(saved_format.cast());
                    return Recorded::ReadFormat(res);
                }
                let d = sys::ast_dsp_new();
                if d.is_null() {
                    crate::ast_log!(Warning, "Unable to create silence detector :(");
                    shim::rs_shim_ao2_cleanup(saved_format.cast());
                    return Recorded::NoDsp;
                }
                sys::ast_dsp_set_threshold(d, sys::ast_dsp_get_threshold_from_settings(sys::THRESHOLD_SILENCE));
                dsp = Some(Dsp(d));
            }
            let restore = |saved: *mut sys::ast_format| {
                if !saved.is_null() {
                    if sys::ast_set_read_format(c, saved) != 0 {
                        crate::ast_log!(Warning, "Unable to restore read format on '{}'", self.name());
                    }
                    shim::rs_shim_ao2_cleanup(saved.cast());
                }
            };
            if r.beep {
                res = sys::ast_streamfile(c, c"beep".as_ptr(), sys::ast_channel_language(c));
            }
            if res == 0 {
                res = sys::ast_waitstream(c, r.escape.as_ptr());
            }
            if res != 0 {
                restore(saved_format);
                return Recorded::RandomError { res, endpos: sample_offset };
            }
            let flags = libc::O_CREAT | libc::O_WRONLY | if sample_offset != 0 { libc::O_APPEND } else { 0 };
            let fs = sys::ast_writefile(r.file.as_ptr(), r.format.as_ptr(), std::ptr::null(), flags, 0, sys::AST_FILE_MODE as _);
            if fs.is_null() {
                // Stock returns here without restoring the read format.
                shim::rs_shim_ao2_cleanup(saved_format.cast());
                return Recorded::WriteFile;
            }
            sys::ast_indicate(c, sys::AST_CONTROL_VIDUPDATE as i32);
            sys::ast_channel_stream_set(c, fs);
            sys::ast_applystream(c, fs);
            sys::ast_seekstream(fs, sample_offset as _, libc::SEEK_SET);
            sys::ast_truncstream(fs);
            let silgen = if shim::rs_shim_opt_transmit_silence() != 0 {
                sys::ast_channel_start_silence_generator(c)
            } else {
                std::ptr::null_mut()
            };
            let stop_silgen = || {
                if !silgen.is_null() {
                    sys::ast_channel_stop_silence_generator(c, silgen);
                }
            };
            let start = Instant::now();
            let mut got_silence = false;
            let elapsed = || start.elapsed().as_millis() as i64;
            while r.timeout_ms < 0 || elapsed() < r.timeout_ms as i64 {
                let wait = if r.timeout_ms < 0 { -1 } else { (r.timeout_ms as i64 - elapsed()).max(0) as i32 };
                res = sys::ast_waitfor(c, wait);
                // On these two paths stock leaves the read format as it is (the channel is
                // going away); the saved format's reference is released all the same. When
                // AGIInterrupt's bit ended the wait, the channel goes on: its read format is
                // restored as on every path that goes on (issue 18).
                let leave = |saved: *mut sys::ast_format| {
                    if self.interrupt_pending() {
                        restore(saved);
                    } else {
                        shim::rs_shim_ao2_cleanup(saved.cast());
                    }
                };
                if res < 0 {
                    sys::ast_closestream(fs);
                    stop_silgen();
                    leave(saved_format);
                    return Recorded::WaitFor { res, endpos: sample_offset };
                }
                let f = sys::ast_read(c);
                if f.is_null() {
                    sys::ast_closestream(fs);
                    stop_silgen();
                    leave(saved_format);
                    return Recorded::Hangup { endpos: sample_offset };
                }
                match (*f).frametype {
                    t if t == sys::AST_FRAME_DTMF_END => {
                        let digit = (*f).subclass.integer;
                        if r.escape.to_bytes().contains(&(digit as u8)) {
                            // Rewind to chop off the DTMF that may have been recorded.
                            sys::ast_stream_rewind(fs, 200);
                            sys::ast_truncstream(fs);
                            sample_offset = sys::ast_tellstream(fs) as i64;
                            sys::ast_closestream(fs);
                            shim::rs_shim_frfree(f);
                            stop_silgen();
                            // (Stock forgets to restore the read format here; we do.)
                            restore(saved_format);
                            return Recorded::Dtmf { digit, endpos: sample_offset };
                        }
                    }
                    t if t == sys::AST_FRAME_VOICE => {
                        sys::ast_writestream(fs, f);
                        sample_offset = sys::ast_tellstream(fs) as i64;
                        if let Some(d) = &dsp {
                            let mut dspsilence: libc::c_int = 0;
                            sys::ast_dsp_silence(d.0, f, &mut dspsilence);
                            if dspsilence > r.silence_ms {
                                got_silence = true;
                            }
                        }
                    }
                    t if t == sys::AST_FRAME_VIDEO => {
                        sys::ast_writestream(fs, f);
                    }
                    _ => {}
                }
                shim::rs_shim_frfree(f);
                if got_silence {
                    break;
                }
            }
            if got_silence {
                sys::ast_stream_rewind(fs, (r.silence_ms - 1000) as _);
                sys::ast_truncstream(fs);
                sample_offset = sys::ast_tellstream(fs) as i64;
            }
            sys::ast_closestream(fs);
            restore(saved_format);
            stop_silgen();
            Recorded::Timeout { res, endpos: sample_offset }
        }
    }
}
