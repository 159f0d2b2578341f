//! SET VARIABLE name value: `200 result=1`.
use crate::context::{Ctx, Status};
use std::ffi::CString;

pub fn run(ctx: &mut Ctx, argv: &[CString]) -> Status {
    if argv.len() != 4 {
        return Status::ShowUsage;
    }
    ctx.chan.set_var(&argv[2], &argv[3]);
    ctx.result(1);
    Status::Success
}
