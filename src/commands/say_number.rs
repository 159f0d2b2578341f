//! SAY NUMBER number escape_digits [gender]: `200 result=<0, digit pressed, -1>`.
use super::say_result;
use crate::parse::scan_int;
use crate::context::{Ctx, Status};
use std::ffi::CString;

pub fn run(ctx: &mut Ctx, argv: &[CString]) -> Status {
    if argv.len() < 4 || argv.len() > 5 {
        return Status::ShowUsage;
    }
    let Some(num) = scan_int(argv[2].to_bytes()) else {
        return Status::ShowUsage;
    };
    let res = ctx.chan.say_number(num, &argv[3], argv.get(4).map(|g| g.as_c_str()), ctx.fds);
    say_result(ctx, res)
}
