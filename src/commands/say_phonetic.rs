//! SAY PHONETIC text escape_digits: the NATO alphabet; `200 result=<…>`.
use super::say_result;
use crate::context::{Ctx, Status};
use std::ffi::CString;

pub fn run(ctx: &mut Ctx, argv: &[CString]) -> Status {
    if argv.len() != 4 {
        return Status::ShowUsage;
    }
    let res = ctx.chan.say_phonetic(&argv[2], &argv[3], ctx.fds);
    say_result(ctx, res)
}
