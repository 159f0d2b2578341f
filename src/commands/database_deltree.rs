//! DATABASE DELTREE family [keytree]. Stock answers `result=0` when entries were deleted
//! and `result=1` when none were (its comparison is inverted); kept as stock does.
use crate::context::{Ctx, Status};
use crate::ffi::db;
use std::ffi::CString;

pub fn run(ctx: &mut Ctx, argv: &[CString]) -> Status {
    if !(3..=4).contains(&argv.len()) {
        return Status::ShowUsage;
    }
    let deleted = db::deltree(&argv[2], argv.get(3).map(|k| k.as_c_str()));
    ctx.result(if deleted > 0 { 0 } else { 1 });
    Status::Success
}
