//! `_TEST PANIC`: a failpoint that panics, to prove the guard keeps Asterisk and the
//! session alive. It exists only when Asterisk was started with RES_AGI_RS_FAILPOINTS=1 in
//! its environment (read at load); otherwise the command is unknown (510), as in stock.
use crate::context::{Ctx, Status};
use std::ffi::CString;

pub fn run(_ctx: &mut Ctx, _argv: &[CString]) -> Status {
    panic!("failpoint _TEST PANIC");
}
