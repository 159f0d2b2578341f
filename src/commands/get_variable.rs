//! GET VARIABLE name: a channel variable, or a dialplan function when the name ends in
//! ")"; `200 result=1 (value)` of any length, or `result=0` when unset.
use crate::context::{Ctx, Status};
use std::ffi::CString;

pub fn run(ctx: &mut Ctx, argv: &[CString]) -> Status {
    if argv.len() != 3 {
        return Status::ShowUsage;
    }
    let name = &argv[2];
    let value = if name.to_bytes().last() == Some(&b')') {
        ctx.chan.func_read(name)
    } else {
        ctx.chan.retrieve_variable(name)
    };
    match value {
        Some(v) => {
            ctx.reply("200 result=1 (");
            ctx.reply(v);
            ctx.reply(")\n");
        }
        None => ctx.result(0),
    }
    Status::Success
}
