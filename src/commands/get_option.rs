//! GET OPTION file escape_digits [timeout]: plays a file, then waits for one of the escape
//! digits; `200 result=<digit code or 0> endpos=<sample>`.
use crate::parse::{atoi, c_strchr};
use crate::context::{Ctx, Status};
use crate::ffi::log;
use crate::ffi::stream::Played;
use std::ffi::CString;

pub fn run(ctx: &mut Ctx, argv: &[CString]) -> Status {
    if argv.len() < 4 || argv.len() > 5 {
        return Status::ShowUsage;
    }
    let chan = ctx.chan;
    let escape = &argv[3];
    let timeout = match argv.get(4) {
        Some(t) => atoi(t.to_bytes()),
        None => chan.pbx_digit_timeout_ms(),
    };
    let played = chan.play_file(&argv[2], escape, 0, ctx.fds, |_format| {
        let mut line = b"Playing '".to_vec();
        line.extend_from_slice(argv[2].to_bytes());
        line.extend_from_slice(b"' (escape_digits=");
        line.extend_from_slice(escape.to_bytes());
        line.extend_from_slice(format!(") (timeout {timeout})\n").as_bytes());
        log::verb(3, &line);
    });
    match played {
        Played::NotFound => {
            ctx.reply("200 result=-1 endpos=0\n");
            crate::ast_log!(Warning, "Unable to open {}", argv[2].to_string_lossy());
            Status::Failure
        }
        // Interrupted (AGIInterrupt) while playing: no digit, the position reached.
        Played::Done { res: 1, endpos } if ctx.interruptible => {
            ctx.reply(format!("200 result=0 endpos={endpos}\n"));
            Status::Success
        }
        // A new command arrived from the script: no result line (stock).
        Played::Done { res: 1, .. } => Status::Success,
        Played::Done { mut res, endpos } => {
            if res == 0 {
                res = chan.wait_for_digit(timeout, ctx.fds);
                if !c_strchr(escape.to_bytes(), res) {
                    res = 0;
                }
            }
            ctx.reply(format!("200 result={res} endpos={endpos}\n"));
            if res >= 0 { Status::Success } else { Status::Failure }
        }
    }
}
