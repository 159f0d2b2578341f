//! DATABASE GET family key: `200 result=1 (value)` (any length), or `result=0`.
use crate::context::{Ctx, Status};
use crate::ffi::db;
use std::ffi::CString;

pub fn run(ctx: &mut Ctx, argv: &[CString]) -> Status {
    if argv.len() != 4 {
        return Status::ShowUsage;
    }
    match db::get(&argv[2], &argv[3]) {
        Some(value) => {
            ctx.reply("200 result=1 (");
            ctx.reply(value);
            ctx.reply(")\n");
        }
        None => ctx.result(0),
    }
    Status::Success
}
