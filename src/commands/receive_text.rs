//! RECEIVE TEXT timeout: a text message; `200 result=1 (text)` or `200 result=-1`.
use crate::parse::atoi;
use crate::context::{Ctx, Status};
use std::ffi::CString;

pub fn run(ctx: &mut Ctx, argv: &[CString]) -> Status {
    if argv.len() != 3 {
        return Status::ShowUsage;
    }
    match ctx.chan.receive_text(atoi(argv[2].to_bytes())) {
        Some(text) => {
            ctx.reply("200 result=1 (");
            ctx.reply(text);
            ctx.reply(")\n");
        }
        None => ctx.result(-1),
    }
    Status::Success
}
