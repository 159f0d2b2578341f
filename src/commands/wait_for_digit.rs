//! WAIT FOR DIGIT timeout: waits up to timeout ms (-1: forever) for a DTMF digit;
//! `200 result=<ASCII code of the digit, 0 on timeout, -1 on hangup>`.
use crate::parse::scan_int;
use crate::context::{Ctx, Status};
use std::ffi::CString;

pub fn run(ctx: &mut Ctx, argv: &[CString]) -> Status {
    if argv.len() != 4 {
        return Status::ShowUsage;
    }
    let Some(timeout) = scan_int(argv[3].to_bytes()) else {
        return Status::ShowUsage;
    };
    let mut res = ctx.chan.wait_for_digit(timeout, ctx.fds);
    if res == 1 && ctx.interruptible {
        // Interrupted (AGIInterrupt): no digit, as a timeout.
        res = 0;
    }
    ctx.result(res);
    if res >= 0 { Status::Success } else { Status::Failure }
}
