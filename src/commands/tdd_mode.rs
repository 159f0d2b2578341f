//! TDD MODE on|off|mate|tdd: `200 result=1` when the channel took it, 0 otherwise.
use crate::parse::starts_with_ci;
use crate::context::{Ctx, Status};
use std::ffi::CString;

pub fn run(ctx: &mut Ctx, argv: &[CString]) -> Status {
    if argv.len() != 3 {
        return Status::ShowUsage;
    }
    let m = argv[2].to_bytes();
    let mut x = if starts_with_ci(m, b"on") { 1 } else { 0 };
    if starts_with_ci(m, b"mate") {
        x = 2;
    }
    if starts_with_ci(m, b"tdd") {
        x = 1;
    }
    let ok = ctx.chan.set_tdd(x);
    ctx.result(if ok { 1 } else { 0 });
    Status::Success
}
