//! SET CONTEXT context: where the dialplan goes on after Async AGI; `200 result=0`.
use crate::context::{Ctx, Status};
use std::ffi::CString;

pub fn run(ctx: &mut Ctx, argv: &[CString]) -> Status {
    if argv.len() != 3 {
        return Status::ShowUsage;
    }
    ctx.chan.set_context(&argv[2]);
    ctx.result(0);
    Status::Success
}
