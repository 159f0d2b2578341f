//! HANGUP [channelname]: hangs up this channel (or the one named); `200 result=1`, or -1
//! when no channel has that name.
use crate::context::{Ctx, Status};
use crate::ffi::channel::ChannelRef;
use std::ffi::CString;

pub fn run(ctx: &mut Ctx, argv: &[CString]) -> Status {
    match argv.len() {
        1 => {
            ctx.chan.softhangup_explicit();
            ctx.result(1);
        }
        2 => match ChannelRef::by_name(argv[1].to_bytes()) {
            Some(other) => {
                other.softhangup_explicit();
                ctx.result(1);
            }
            None => ctx.result(-1),
        },
        _ => return Status::ShowUsage,
    }
    Status::Success
}
