//! SAY DATETIME seconds escape_digits [format [timezone]]: `200 result=<…>`.
use super::say_result;
use crate::context::{Ctx, Status};
use crate::ffi::media::parse_time;
use std::ffi::{CStr, CString};

pub fn run(ctx: &mut Ctx, argv: &[CString]) -> Status {
    if argv.len() < 4 {
        return Status::ShowUsage;
    }
    let default_format: &CStr = if ctx.chan.language().eq_ignore_ascii_case(b"de") { c"A dBY HMS" } else { c"ABdY 'digits/at' IMp" };
    let format = argv.get(4).map(|f| f.as_c_str()).unwrap_or(default_format);
    let zone = argv.get(5).filter(|z| !z.is_empty()).map(|z| z.as_c_str());
    let Some(t) = parse_time(&argv[2]) else {
        return Status::ShowUsage;
    };
    let res = ctx.chan.say_datetime(t, &argv[3], format, zone);
    say_result(ctx, res)
}
