//! ASYNCAGI BREAK: `200 result=0`, then the channel leaves Async AGI and the dialplan
//! goes on at the next priority (AGISTATUS=SUCCESS).
use crate::context::{Ctx, Status};
use std::ffi::CString;

pub fn run(ctx: &mut Ctx, _argv: &[CString]) -> Status {
    ctx.result(0);
    Status::Break
}
