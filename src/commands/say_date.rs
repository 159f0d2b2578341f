//! SAY DATE seconds escape_digits: a date (seconds since the epoch); `200 result=<…>`.
use super::say_result;
use crate::parse::scan_int;
use crate::context::{Ctx, Status};
use std::ffi::CString;

pub fn run(ctx: &mut Ctx, argv: &[CString]) -> Status {
    if argv.len() != 4 {
        return Status::ShowUsage;
    }
    let Some(t) = scan_int(argv[2].to_bytes()) else {
        return Status::ShowUsage;
    };
    let res = ctx.chan.say_date(t as i64, &argv[3]);
    say_result(ctx, res)
}
