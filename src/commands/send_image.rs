//! SEND IMAGE image: sends an image to a channel that supports it; `200 result=0` unless
//! the channel hung up.
use crate::context::{Ctx, Status};
use std::ffi::CString;

pub fn run(ctx: &mut Ctx, argv: &[CString]) -> Status {
    if argv.len() != 3 {
        return Status::ShowUsage;
    }
    let mut res = ctx.chan.send_image(&argv[2]);
    if !ctx.chan.check_hangup() {
        res = 0;
    }
    ctx.result(res);
    if res >= 0 { Status::Success } else { Status::Failure }
}
