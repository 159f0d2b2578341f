//! SAY DIGITS number escape_digits: `200 result=<0, digit pressed, -1>`.
use super::say_result;
use crate::parse::scan_int;
use crate::context::{Ctx, Status};
use std::ffi::CString;

pub fn run(ctx: &mut Ctx, argv: &[CString]) -> Status {
    if argv.len() != 4 {
        return Status::ShowUsage;
    }
    if scan_int(argv[2].to_bytes()).is_none() {
        return Status::ShowUsage;
    }
    let res = ctx.chan.say_digits(&argv[2], &argv[3], ctx.fds);
    say_result(ctx, res)
}
