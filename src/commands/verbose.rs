//! VERBOSE message [level]: logs the message at that verbosity; `200 result=1`.
use crate::parse::scan_int;
use crate::context::{Ctx, Status};
use crate::ffi::log;
use std::ffi::CString;

pub fn run(ctx: &mut Ctx, argv: &[CString]) -> Status {
    if argv.len() < 2 {
        return Status::ShowUsage;
    }
    let level = argv.get(2).and_then(|l| scan_int(l.to_bytes())).unwrap_or(0);
    let mut line = ctx.chan.app_data();
    line.extend_from_slice(b": ");
    line.extend_from_slice(argv[1].to_bytes());
    line.push(b'\n');
    log::verb(level, &line);
    ctx.result(1);
    Status::Success
}
