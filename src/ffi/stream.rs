//! File playback on a channel, as AGI's STREAM FILE does it.
use super::channel::{AgiFds, Chan};
use super::{bytes, sys};
use std::ffi::CStr;

/// How a playback ended.
pub enum Played {
    /// No such file in any format the channel can take.
    NotFound,
    /// `res` as `ast_waitstream_full` returned it (0, a DTMF digit, or -1 on hangup), and
    /// the sample position reached.
    Done { res: i32, endpos: i64 },
}

impl Chan {
    /// Opens `file` (in the channel's language), seeks to `offset`, plays it until the end,
    /// a digit of `escape`, or hangup. `before_play` gets the channel's write format name.
    /// `fds`: see AgiFds (`res` 1: a new command arrived).
    pub fn play_file(&self, file: &CStr, escape: &CStr, offset: i64, fds: AgiFds, before_play: impl FnOnce(&[u8])) -> Played {
        let c = self.raw();
        // SAFETY: channel thread. The streams opened here are attached to the channel by
        // ast_applystream and closed by ast_stopstream below; fs is only used before that.
        unsafe {
            let lang = sys::ast_channel_language(c);
            let fs = sys::ast_openstream(c, file.as_ptr(), lang);
            if fs.is_null() {
                return Played::NotFound;
            }
            let vfs = sys::ast_openvstream(c, file.as_ptr(), lang);
            before_play(&bytes(sys::ast_format_get_name(sys::ast_channel_writeformat(c))));
            sys::ast_seekstream(fs, 0, libc::SEEK_END);
            let max_length = sys::ast_tellstream(fs) as i64;
            sys::ast_seekstream(fs, offset as _, libc::SEEK_SET);
            sys::ast_applystream(c, fs);
            if !vfs.is_null() {
                sys::ast_applystream(c, vfs);
            }
            sys::ast_playstream(fs);
            if !vfs.is_null() {
                sys::ast_playstream(vfs);
            }
            let res = sys::ast_waitstream_full(c, escape.as_ptr(), fds.audio, fds.ctrl);
            // If ast_waitstream closed the stream we reached its end.
            let endpos = if sys::ast_channel_stream(c).is_null() { max_length } else { sys::ast_tellstream(fs) as i64 };
            sys::ast_stopstream(c);
            Played::Done { res, endpos }
        }
    }
}

impl Chan {
    /// `ast_stopstream`: closes whatever file is playing on the channel (an interrupted SAY
    /// leaves its current file attached, as it does on hangup).
    pub fn stop_stream(&self) {
        // SAFETY: live channel; ast_stopstream locks the channel itself.
        unsafe { sys::ast_stopstream(self.raw()) };
    }
}
