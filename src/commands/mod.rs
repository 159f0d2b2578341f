//! The AGI commands, one small unit each. A command is its words, its handler and whether
//! stock lets it run on a dead channel; its usage text comes from Asterisk's own XML
//! documentation (engine::load_docs). Add a command by adding a file and a table row.
use crate::context::{Ctx, Status};
use std::ffi::CString;

mod answer;
mod asyncagi_break;
mod channel_status;
mod control_stream_file;
mod database_del;
mod database_deltree;
mod database_get;
mod database_put;
mod exec;
mod get_data;
mod get_full_variable;
mod get_option;
mod get_variable;
mod hangup;
mod noop;
mod receive_char;
mod receive_text;
mod record_file;
mod say_alpha;
mod say_date;
mod say_datetime;
mod say_digits;
mod say_number;
mod say_phonetic;
mod say_time;
mod send_image;
mod send_text;
mod set_autohangup;
mod set_callerid;
mod set_context;
mod set_extension;
mod set_music;
mod set_priority;
mod set_variable;
mod speech;
mod stream_file;
mod tdd_mode;
mod test_panic;
mod verbose;
mod wait_for_digit;

pub type Handler = fn(&mut Ctx, &[CString]) -> Status;

pub struct Command {
    pub words: &'static [&'static str],
    pub handler: Handler,
    /// Allowed on a dead channel (stock's `dead` flag).
    pub dead: bool,
    /// Returns at once and publishes nothing on the channel's topic, whatever its arguments
    /// (no dialplan function, no application, no media, no channel change): nothing can
    /// come between its AGIExecStart and its AGIExecEnd, which go out as one message
    /// (engine::run). `Quiet::Plain`: only when its argument names no function.
    pub quiet: Quiet,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Quiet {
    No,
    Yes,
    /// Quiet unless an argument calls a dialplan function (`NAME(…)`), which may do anything.
    Plain,
}

const fn cmd(words: &'static [&'static str], handler: Handler, dead: bool) -> Command {
    Command { words, handler, dead, quiet: Quiet::No }
}

const fn quiet(words: &'static [&'static str], handler: Handler, dead: bool, quiet: Quiet) -> Command {
    Command { words, handler, dead, quiet }
}

/// Whether the command line `argv` of `c` is quiet (see `Command::quiet`).
pub fn is_quiet(c: &Command, argv: &[Vec<u8>]) -> bool {
    match c.quiet {
        Quiet::No => false,
        Quiet::Yes => true,
        Quiet::Plain => !argv.iter().any(|a| a.contains(&b'(')),
    }
}

/// In stock's registration order.
pub static BUILTIN: &[Command] = &[
    cmd(&["answer"], answer::run, false),
    cmd(&["asyncagi", "break"], asyncagi_break::run, true),
    quiet(&["channel", "status"], channel_status::run, false, Quiet::Yes),
    quiet(&["database", "del"], database_del::run, true, Quiet::Yes),
    quiet(&["database", "deltree"], database_deltree::run, true, Quiet::Yes),
    quiet(&["database", "get"], database_get::run, true, Quiet::Yes),
    quiet(&["database", "put"], database_put::run, true, Quiet::Yes),
    cmd(&["exec"], exec::run, true),
    cmd(&["get", "data"], get_data::run, false),
    cmd(&["get", "full", "variable"], get_full_variable::run, true),
    cmd(&["get", "option"], get_option::run, false),
    quiet(&["get", "variable"], get_variable::run, true, Quiet::Plain),
    cmd(&["hangup"], hangup::run, false),
    quiet(&["noop"], noop::run, true, Quiet::Yes),
    cmd(&["receive", "char"], receive_char::run, false),
    cmd(&["receive", "text"], receive_text::run, false),
    cmd(&["record", "file"], record_file::run, false),
    cmd(&["say", "alpha"], say_alpha::run, false),
    cmd(&["say", "digits"], say_digits::run, false),
    cmd(&["say", "number"], say_number::run, false),
    cmd(&["say", "phonetic"], say_phonetic::run, false),
    cmd(&["say", "date"], say_date::run, false),
    cmd(&["say", "time"], say_time::run, false),
    cmd(&["say", "datetime"], say_datetime::run, false),
    cmd(&["send", "image"], send_image::run, false),
    cmd(&["send", "text"], send_text::run, false),
    cmd(&["set", "autohangup"], set_autohangup::run, false),
    cmd(&["set", "callerid"], set_callerid::run, false),
    cmd(&["set", "context"], set_context::run, false),
    cmd(&["set", "extension"], set_extension::run, false),
    cmd(&["set", "music"], set_music::run, false),
    cmd(&["set", "priority"], set_priority::run, false),
    cmd(&["set", "variable"], set_variable::run, true),
    cmd(&["stream", "file"], stream_file::run, false),
    cmd(&["control", "stream", "file"], control_stream_file::run, false),
    cmd(&["tdd", "mode"], tdd_mode::run, false),
    quiet(&["verbose"], verbose::run, true, Quiet::Yes),
    cmd(&["wait", "for", "digit"], wait_for_digit::run, false),
    cmd(&["speech", "create"], speech::create, false),
    cmd(&["speech", "set"], speech::set, false),
    cmd(&["speech", "destroy"], speech::destroy, true),
    cmd(&["speech", "load", "grammar"], speech::load_grammar, false),
    cmd(&["speech", "unload", "grammar"], speech::unload_grammar, true),
    cmd(&["speech", "activate", "grammar"], speech::activate_grammar, false),
    cmd(&["speech", "deactivate", "grammar"], speech::deactivate_grammar, false),
    cmd(&["speech", "recognize"], speech::recognize, false),
    // Hidden (names starting with "_" are never listed) and only present with failpoints on.
    cmd(&["_test", "panic"], test_panic::run, true),
];

/// The answer of the SAY commands: nothing when `res` is 1 (stock: "a new command"
/// arrived), else `200 result=<res>`; Failure when negative.
fn say_result(ctx: &mut Ctx, res: i32) -> Status {
    if res < 0 && ctx.was_interrupted() {
        // Stopped by AGIInterrupt: no digit pressed.
        ctx.result(0);
        return Status::Success;
    }
    if res == 1 {
        return Status::Success;
    }
    ctx.result(res);
    if res >= 0 { Status::Success } else { Status::Failure }
}

/// Whether a command is available: the failpoint only when failpoints are enabled.
pub fn available(c: &Command) -> bool {
    !c.words[0].starts_with('_') || crate::failpoint::enabled()
}

/// The `command` label of builtin `i` in crate::metrics: its words, as `agi show commands`
/// lists them; None past the last.
pub fn metric_name(i: usize) -> Option<String> {
    BUILTIN.get(i).map(|c| c.words.join(" ").to_ascii_uppercase())
}
