//! SET MUSIC on|off [class]: music on hold; `200 result=0`.
use crate::parse::starts_with_ci;
use crate::context::{Ctx, Status};
use std::ffi::CString;

pub fn run(ctx: &mut Ctx, argv: &[CString]) -> Status {
    if argv.len() < 3 {
        return Status::ShowUsage;
    }
    let what = argv[2].to_bytes();
    if starts_with_ci(what, b"on") {
        ctx.chan.moh_start(argv.get(3).map(|c| c.as_c_str()));
    } else if starts_with_ci(what, b"off") {
        ctx.chan.moh_stop();
    }
    ctx.result(0);
    Status::Success
}
