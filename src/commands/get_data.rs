//! GET DATA file [timeout [maxdigits]]: plays a prompt and collects digits;
//! `200 result=<digits>`, `<digits> (timeout)`, or -1.
use crate::parse::atoi;
use crate::context::{Ctx, Status};
use std::ffi::CString;

pub fn run(ctx: &mut Ctx, argv: &[CString]) -> Status {
    if argv.len() < 3 {
        return Status::ShowUsage;
    }
    let timeout = argv.get(3).map_or(0, |t| atoi(t.to_bytes()));
    let max = argv.get(4).map_or(1024, |m| atoi(m.to_bytes()));
    let (res, digits) = ctx.chan.get_data(&argv[2], max, timeout, ctx.fds);
    match res {
        // Interrupted (AGIInterrupt): the digits collected so far.
        2 if ctx.interruptible => {
            ctx.reply("200 result=");
            ctx.reply(digits);
            ctx.reply(" (interrupted)\n");
        }
        2 => {}
        1 => {
            ctx.reply("200 result=");
            ctx.reply(digits);
            ctx.reply(" (timeout)\n");
        }
        r if r < 0 => ctx.result(-1),
        _ => {
            ctx.reply("200 result=");
            ctx.reply(digits);
            ctx.reply("\n");
        }
    }
    Status::Success
}
