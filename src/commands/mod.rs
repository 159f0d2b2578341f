//! The AGI commands, one small unit each. A command is its words, its handler and whether
//! stock lets it run on a dead channel; its usage text comes from Asterisk's own XML
//! documentation (engine::load_docs). Add a command by adding a file and a table row.
use crate::engine::{Ctx, Status};
use std::ffi::CString;

mod answer;
mod asyncagi_break;
mod channel_status;
mod database_del;
mod database_deltree;
mod database_get;
mod database_put;
mod exec;
mod get_full_variable;
mod get_variable;
mod hangup;
mod noop;
mod set_variable;
mod stream_file;
mod test_panic;
mod verbose;
mod wait_for_digit;

pub type Handler = fn(&mut Ctx, &[CString]) -> Status;

pub struct Command {
    pub words: &'static [&'static str],
    pub handler: Handler,
    /// Allowed on a dead channel (stock's `dead` flag).
    pub dead: bool,
}

const fn cmd(words: &'static [&'static str], handler: Handler, dead: bool) -> Command {
    Command { words, handler, dead }
}

/// In stock's registration order.
pub static BUILTIN: &[Command] = &[
    cmd(&["answer"], answer::run, false),
    cmd(&["asyncagi", "break"], asyncagi_break::run, true),
    cmd(&["channel", "status"], channel_status::run, false),
    cmd(&["database", "del"], database_del::run, true),
    cmd(&["database", "deltree"], database_deltree::run, true),
    cmd(&["database", "get"], database_get::run, true),
    cmd(&["database", "put"], database_put::run, true),
    cmd(&["exec"], exec::run, true),
    cmd(&["get", "full", "variable"], get_full_variable::run, true),
    cmd(&["get", "variable"], get_variable::run, true),
    cmd(&["hangup"], hangup::run, false),
    cmd(&["noop"], noop::run, true),
    cmd(&["set", "variable"], set_variable::run, true),
    cmd(&["stream", "file"], stream_file::run, false),
    cmd(&["verbose"], verbose::run, true),
    cmd(&["wait", "for", "digit"], wait_for_digit::run, false),
    // Hidden (names starting with "_" are never listed) and only present with failpoints on.
    cmd(&["_test", "panic"], test_panic::run, true),
];

/// Whether a command is available: the failpoint only when failpoints are enabled.
pub fn available(c: &Command) -> bool {
    !c.words[0].starts_with('_') || crate::engine::failpoints_enabled()
}
