//! SEND TEXT text: sends text to a channel that supports it; `200 result=0`, -1 on failure.
use crate::context::{Ctx, Status};
use std::ffi::CString;

pub fn run(ctx: &mut Ctx, argv: &[CString]) -> Status {
    if argv.len() != 3 {
        return Status::ShowUsage;
    }
    let res = ctx.chan.send_text(&argv[2]);
    ctx.result(res);
    if res >= 0 { Status::Success } else { Status::Failure }
}
