//! GET FULL VARIABLE expression [channelname]: evaluates the expression as the dialplan
//! would, on this channel or the one named; `200 result=1 (value)` or `result=0`.
use crate::context::{Ctx, Status};
use crate::ffi::channel::ChannelRef;
use std::ffi::CString;

pub fn run(ctx: &mut Ctx, argv: &[CString]) -> Status {
    if argv.len() != 4 && argv.len() != 5 {
        return Status::ShowUsage;
    }
    let target = match argv.get(4) {
        Some(name) => ChannelRef::by_name(name.to_bytes()),
        None => Some(ChannelRef::from_chan(ctx.chan)),
    };
    match target.and_then(|c| c.substitute(&argv[3])) {
        Some(value) => {
            ctx.reply("200 result=1 (");
            ctx.reply(value);
            ctx.reply(")\n");
        }
        None => ctx.result(0),
    }
    Status::Success
}
