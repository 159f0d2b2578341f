//! SET CALLERID number: parses `"Name" <number>` and sets the caller ID; `200 result=1`
//! (stock answers so even without an argument).
use crate::context::{Ctx, Status};
use std::ffi::CString;

pub fn run(ctx: &mut Ctx, argv: &[CString]) -> Status {
    if let Some(cid) = argv.get(2) {
        ctx.chan.set_callerid(cid.to_bytes());
    }
    ctx.result(1);
    Status::Success
}
