//! SAY ALPHA text escape_digits [a|l|n|u]: spells characters; `200 result=<…>`.
use super::say_result;
use crate::context::{Ctx, Status};
use crate::ffi::media::SayCase;
use std::ffi::CString;

pub fn run(ctx: &mut Ctx, argv: &[CString]) -> Status {
    if argv.len() < 4 || argv.len() > 5 {
        return Status::ShowUsage;
    }
    let case = match argv.get(4).map(|s| s.to_bytes().first().copied().unwrap_or(0)) {
        None | Some(0) | Some(b'n') | Some(b'N') => SayCase::None,
        Some(b'a') | Some(b'A') => SayCase::All,
        Some(b'l') | Some(b'L') => SayCase::Lower,
        Some(b'u') | Some(b'U') => SayCase::Upper,
        Some(_) => return Status::ShowUsage,
    };
    let res = ctx.chan.say_alpha(&argv[2], &argv[3], case, ctx.fds);
    say_result(ctx, res)
}
