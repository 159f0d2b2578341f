//! CONTROL STREAM FILE file escape_digits [skipms [ffchar [rewchr [pausechr [offsetms]]]]]:
//! playback the caller can move through; `200 result=<…> endpos=<ms>`; sets
//! CPLAYBACKSTATUS, CPLAYBACKOFFSET and CPLAYBACKSTOPKEY.
use crate::parse::{scan_int, scan_long};
use crate::context::{Ctx, Status};
use crate::ffi::{cstring, sys};
use std::ffi::{CStr, CString};

pub fn run(ctx: &mut Ctx, argv: &[CString]) -> Status {
    if argv.len() < 5 || argv.len() > 10 {
        return Status::ShowUsage;
    }
    let nonempty = |i: usize| argv.get(i).filter(|a| !a.is_empty()).map(|a| a.as_c_str());
    let stop = nonempty(4);
    let skip_ms = match argv.get(5) {
        Some(s) => match scan_int(s.to_bytes()) {
            Some(v) => v,
            None => return Status::ShowUsage,
        },
        None => 3000,
    };
    let fwd = nonempty(6).unwrap_or(c"#");
    let rev = nonempty(7).unwrap_or(c"*");
    let suspend = nonempty(8);
    let offset = match argv.get(9) {
        Some(o) => match scan_long(o.to_bytes()) {
            Some(v) => v,
            None => return Status::ShowUsage,
        },
        None => 0,
    };
    let chan = ctx.chan;
    let (mut res, offset) = chan.control_stream_file(&argv[3], fwd, rev, stop, suspend, skip_ms, offset);
    let set = |name: &CStr, value: &CStr| chan.set_var(name, value);
    if res > 0 && stop.is_some_and(|s| s.to_bytes().contains(&(res as u8))) {
        set(c"CPLAYBACKSTATUS", c"USERSTOPPED");
        set(c"CPLAYBACKSTOPKEY", &cstring([res as u8]));
    } else if (res > 0 && res == sys::AST_CONTROL_STREAM_STOP as i32) || (res < 0 && ctx.was_interrupted()) {
        // Stopped from outside: AMI ControlPlayback (stock) or AGIInterrupt.
        set(c"CPLAYBACKSTATUS", c"REMOTESTOPPED");
        res = 0;
    } else if res < 0 {
        set(c"CPLAYBACKSTATUS", c"ERROR");
    } else {
        set(c"CPLAYBACKSTATUS", c"SUCCESS");
    }
    set(c"CPLAYBACKOFFSET", &cstring(offset.to_string()));
    ctx.reply(format!("200 result={res} endpos={offset}\n"));
    if res >= 0 { Status::Success } else { Status::Failure }
}
