//! RECEIVE CHAR timeout: one character of text; `200 result=<code>`, `0 (timeout)` or
//! `-1 (hangup)`.
use crate::parse::atoi;
use crate::context::{Ctx, Status};
use std::ffi::CString;

pub fn run(ctx: &mut Ctx, argv: &[CString]) -> Status {
    if argv.len() != 3 {
        return Status::ShowUsage;
    }
    let res = ctx.chan.receive_char(atoi(argv[2].to_bytes()));
    match res {
        0 => ctx.reply("200 result=0 (timeout)\n"),
        r if r > 0 => ctx.result(r),
        r => {
            ctx.reply(format!("200 result={r} (hangup)\n"));
            return Status::Failure;
        }
    }
    Status::Success
}
