//! STREAM FILE filename escape_digits [sample_offset]: plays a sound file;
//! `200 result=<0, the digit pressed, or -1> endpos=<sample>`; sets PLAYBACKSTATUS. A line
//! from the script or FastAGI server during playback stops it with no result line (stock).
//! A missing file answers `200 result=-1 endpos=<offset>` and reports Failure (stock then
//! leaves Async AGI; we keep the channel parked: see docs/differences.md).
use crate::parse::scan_long;
use crate::context::{Ctx, Status};
use crate::ffi::log;
use crate::ffi::stream::Played;
use std::ffi::CString;

pub fn run(ctx: &mut Ctx, argv: &[CString]) -> Status {
    if argv.len() < 4 || argv.len() > 5 {
        return Status::ShowUsage;
    }
    let offset = match argv.get(4) {
        Some(o) => match scan_long(o.to_bytes()) {
            Some(v) => v,
            None => return Status::ShowUsage,
        },
        None => 0,
    };
    let chan = ctx.chan;
    let (file, escape) = (&argv[2], &argv[3]);
    let played = chan.play_file(file, escape, offset, ctx.fds, |format| {
        let lang = chan.language();
        let mut line = format!("<{}> Playing '", chan.name()).into_bytes();
        line.extend_from_slice(file.to_bytes());
        line.push(b'.');
        line.extend_from_slice(format);
        line.extend_from_slice(b"' (escape_digits=");
        line.extend_from_slice(escape.to_bytes());
        line.extend_from_slice(format!(") (sample_offset {offset}) (language '").as_bytes());
        line.extend_from_slice(if lang.is_empty() { b"default" } else { &lang });
        line.extend_from_slice(b"')\n");
        log::verb(3, &line);
    });
    match played {
        Played::NotFound => {
            ctx.reply(format!("200 result=-1 endpos={offset}\n"));
            Status::Failure
        }
        // Interrupted (AGIInterrupt): the result so far, as if it had played to here.
        Played::Done { res: 1, endpos } if ctx.interruptible => {
            ctx.reply(format!("200 result=0 endpos={endpos}\n"));
            chan.set_var(c"PLAYBACKSTATUS", c"SUCCESS");
            Status::Success
        }
        // A new command arrived from the script: no result line (stock).
        Played::Done { res: 1, .. } => Status::Success,
        Played::Done { res, endpos } => {
            ctx.reply(format!("200 result={res} endpos={endpos}\n"));
            let status: &std::ffi::CStr = if res != 0 { c"FAILED" } else { c"SUCCESS" };
            chan.set_var(c"PLAYBACKSTATUS", status);
            if res >= 0 { Status::Success } else { Status::Failure }
        }
    }
}
