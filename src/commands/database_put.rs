//! DATABASE PUT family key value: `200 result=1` when stored, 0 otherwise.
use crate::context::{Ctx, Status};
use crate::ffi::db;
use std::ffi::CString;

pub fn run(ctx: &mut Ctx, argv: &[CString]) -> Status {
    if argv.len() != 5 {
        return Status::ShowUsage;
    }
    let ok = db::put(&argv[2], &argv[3], &argv[4]);
    ctx.result(if ok { 1 } else { 0 });
    Status::Success
}
