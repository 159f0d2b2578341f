//! SET AUTOHANGUP seconds: hang up after that many seconds (0: cancel); `200 result=0`.
use crate::context::{Ctx, Status};
use crate::ffi::misc::scan_double;
use std::ffi::CString;

pub fn run(ctx: &mut Ctx, argv: &[CString]) -> Status {
    if argv.len() != 3 {
        return Status::ShowUsage;
    }
    let Some(seconds) = scan_double(&argv[2]) else {
        return Status::ShowUsage;
    };
    ctx.chan.set_autohangup(seconds.max(0.0));
    ctx.result(0);
    Status::Success
}
