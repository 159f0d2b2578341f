//! DATABASE DEL family key: `200 result=1` when deleted, 0 otherwise.
use crate::context::{Ctx, Status};
use crate::ffi::db;
use std::ffi::CString;

pub fn run(ctx: &mut Ctx, argv: &[CString]) -> Status {
    if argv.len() != 4 {
        return Status::ShowUsage;
    }
    let ok = db::del(&argv[2], &argv[3]);
    ctx.result(if ok { 1 } else { 0 });
    Status::Success
}
