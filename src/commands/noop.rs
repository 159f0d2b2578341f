//! NOOP: does nothing; `200 result=0`.
use crate::context::{Ctx, Status};
use std::ffi::CString;

pub fn run(ctx: &mut Ctx, _argv: &[CString]) -> Status {
    ctx.result(0);
    Status::Success
}
