//! ANSWER: answers the channel if it is not up; `200 result=0`, or -1 if answering failed.
use crate::context::{Ctx, Status};
use std::ffi::CString;

pub fn run(ctx: &mut Ctx, _argv: &[CString]) -> Status {
    let res = if ctx.chan.is_up() { 0 } else { ctx.chan.answer() };
    ctx.result(res);
    if res >= 0 { Status::Success } else { Status::Failure }
}
