//! SET PRIORITY priority: a number or a label of the current extension; `200 result=0`,
//! usage when the label does not exist.
use crate::parse::scan_int;
use crate::context::{Ctx, Status};
use std::ffi::CString;

pub fn run(ctx: &mut Ctx, argv: &[CString]) -> Status {
    if argv.len() != 3 {
        return Status::ShowUsage;
    }
    let priority = match scan_int(argv[2].to_bytes()) {
        Some(p) => p,
        None => {
            let p = ctx.chan.find_label(&argv[2]);
            if p < 1 {
                return Status::ShowUsage;
            }
            p
        }
    };
    ctx.chan.goto_priority(priority);
    ctx.result(0);
    Status::Success
}
