//! CHANNEL STATUS [channelname]: the channel state number, or -1 for no such channel.
use crate::context::{Ctx, Status};
use crate::ffi::channel::snapshot_state_by_name;
use std::ffi::CString;

pub fn run(ctx: &mut Ctx, argv: &[CString]) -> Status {
    match argv.len() {
        2 => {
            let state = ctx.chan.state();
            ctx.result(state);
        }
        3 => match snapshot_state_by_name(&argv[2]) {
            Some(state) => ctx.result(state),
            None => ctx.result(-1),
        },
        _ => return Status::ShowUsage,
    }
    Status::Success
}
