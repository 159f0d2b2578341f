//! The command engine: parses one AGI command line, finds its command, runs it on the
//! channel's thread, and turns its status into the result line and the AGIExecStart /
//! AGIExecEnd events exactly as stock res_agi's agi_handle_command does.

use crate::commands::{self, Command};
use crate::parse;
pub use crate::context::{Ctx, Status};
use crate::events::Emitter;
use crate::ffi::channel::{AgiFds, Chan};
use crate::ffi::cstring;
use crate::ffi::agi::OutputPipe;
use crate::ffi::misc::{self, Docs};
use crate::ffi::speech::Speech;
use crate::registry;
use std::ffi::CString;
use std::sync::{Arc, RwLock};

/// What running one command produced.
pub struct Outcome {
    /// The whole AGI response (AsyncAGIExec's Result before url-encoding).
    pub text: Vec<u8>,
    pub status: Status,
    /// The command's slot in crate::metrics (builtin index, another module's, or unknown).
    pub slot: usize,
}

/// The documentation of the builtin commands, from the XML documentation Asterisk ships.
/// Dropped at unload (`unload_docs`): Rust never runs a static's destructor, and dlclose
/// would leave it on Asterisk's heap (about 47 KB per unload/load cycle, measured).
static DOCS: RwLock<Option<Arc<Vec<Docs>>>> = RwLock::new(None);

fn docs() -> Option<Arc<Vec<Docs>>> {
    DOCS.read().unwrap_or_else(|p| p.into_inner()).clone()
}

/// The answer of a command whose handler panicked (the panic is logged by the guard).
pub const PANIC_RESULT: &str = "500 Internal error in res_agi_rs: the command failed (see the Asterisk log)\n";

/// Reads every builtin command's documentation from Asterisk's XML docs (once).
pub fn load_docs() {
    let mut slot = DOCS.write().unwrap_or_else(|p| p.into_inner());
    if slot.is_none() {
        *slot = Some(Arc::new(
            commands::BUILTIN
                .iter()
                .map(|c| {
                    // Hidden commands ("_…") have no documentation to look up.
                    if c.words[0].starts_with('_') { Docs::default() } else { misc::xmldoc(c"agi", &cstring(c.words.join(" "))) }
                })
                .collect(),
        ));
    }
}

/// Frees the documentation (module unload).
pub fn unload_docs() {
    DOCS.write().unwrap_or_else(|p| p.into_inner()).take();
}

fn usage_of(index: usize) -> Option<Vec<u8>> {
    docs().and_then(|d| d.get(index).and_then(|d| d.usage.clone())).filter(|u| !u.is_empty())
}

/// A command as `agi show commands` and `agi dump html` list it.
pub struct CommandInfo {
    pub words: Vec<Vec<u8>>,
    pub dead: bool,
    pub docs: Docs,
    /// The docs are XML documentation (printed through ast_xmldoc_printable).
    pub xml: bool,
}

impl CommandInfo {
    pub fn full_name(&self) -> String {
        String::from_utf8_lossy(&self.words.join(&b' ')).into_owned()
    }
}

/// Every command in registration order (builtins, then other modules'), hidden ones left out.
pub fn all_commands() -> Vec<CommandInfo> {
    let docs = docs();
    let mut out: Vec<CommandInfo> = commands::BUILTIN
        .iter()
        .enumerate()
        .filter(|(_, c)| !c.words[0].starts_with('_'))
        .map(|(i, c)| CommandInfo {
            words: c.words.iter().map(|w| w.as_bytes().to_vec()).collect(),
            dead: c.dead,
            docs: docs.as_ref().and_then(|d| d.get(i)).cloned().unwrap_or_default(),
            // res_agi.c ast_agi_register: AST_XML_DOC only under #ifdef AST_XML_DOCS.
            xml: misc::HAS_XML_DOCS,
        })
        .collect();
    out.extend(registry::all().into_iter().filter(|f| f.words.first().is_some_and(|w| !w.starts_with(b"_"))).map(|f| {
        CommandInfo { words: f.words, dead: f.dead, docs: f.docs, xml: f.xml }
    }));
    out
}

/// stock find_command(argv, 0): the first command whose words all match the first words of
/// the line, case-insensitively.
pub fn find(argv: &[Vec<u8>]) -> Option<(usize, &'static Command)> {
    commands::BUILTIN.iter().enumerate().find(|(_, c)| {
        commands::available(c)
            && parse::words_start(argv, c.words)
    })
}

/// What a session keeps between commands: the pipe foreign commands write their answer
/// to, made the first time one runs, and the speech object of the SPEECH commands
/// (destroyed with the session).
#[derive(Default)]
pub struct SessionIo {
    pipe: Option<OutputPipe>,
    speech: Option<Speech>,
}

/// With "agi set debug on", each piece of a response goes to the log as stock's
/// ast_agi_send prints it (foreign commands' pieces are logged by ast_agi_send itself).
fn tx(chan: &Chan, text: &[u8]) {
    if !text.is_empty() && crate::ffi::agi::debug() {
        let mut line = format!("<{}>AGI Tx >> ", chan.name()).into_bytes();
        line.extend_from_slice(text);
        crate::ffi::log::verbose(&line);
    }
}

/// Appends a piece of the response and logs it as stock's ast_agi_send would.
fn send(ctx: &mut Ctx, text: &[u8]) {
    tx(ctx.chan, text);
    ctx.reply(text);
}

/// The answer to a command not marked dead-safe, on a dead channel (stock's text).
pub const DEAD_RESULT: &str = "Command Not Permitted on a dead channel or intercept routine";

/// Runs one command line on the channel (in the channel's own thread). Its AGIExecEnd is left
/// held in `events`: the transport releases it (`Emitter::release`), Async AGI after adding
/// the AsyncAGIExec. `dead`: the channel
/// has hung up (or this is an interception routine): only dead-safe commands run.
/// `interruptible`: `fds.ctrl` is Async AGI's interrupt (AGIInterrupt), not a script's
/// next line: a command it stops still reports its result so far.
pub fn run(chan: &Chan, events: &mut Emitter, io: &mut SessionIo, line: &[u8], dead: bool, fds: AgiFds, interrupt: Option<&crate::context::InterruptFlag>) -> Outcome {
    // Whatever the transport, a command line is a C string (AMI and the CLI hand over C
    // strings already; a script's or FastAGI server's line is cut by its transport too).
    let line = crate::lines::until_nul(line);
    let command_id = command_id();
    // AGIExecStart is held until the command is known to publish something on the channel's
    // topic (then it goes out first, before the command runs); a quiet command's, an unknown
    // one's and a refused one's go out with its AGIExecEnd as one message. The transport
    // releases AGIExecEnd (Async AGI with the AsyncAGIExec after it).
    events.hold();
    events.exec_start(command_id, line);
    let words = parse::parse_args(line);
    let unknown = |events: &mut Emitter| {
        let res = "Invalid or unknown command";
        events.exec_end(command_id, line, 510, res);
        let text = format!("510 {res}\n").into_bytes();
        tx(chan, &text);
        Outcome { text, status: Status::Success, slot: crate::metrics::UNKNOWN }
    };
    let builtin = find(&words);
    let foreign = if builtin.is_none() { registry::find(&words) } else { None };
    if builtin.is_none() && foreign.is_none() {
        return unknown(events);
    }
    let slot = builtin.map(|(i, _)| i.min(crate::metrics::BUILTIN_SLOTS - 1)).or_else(|| foreign.as_ref().map(|f| f.slot)).unwrap_or(crate::metrics::UNKNOWN);
    let runs_dead = builtin.map(|(_, c)| c.dead).or_else(|| foreign.as_ref().map(|f| f.command.dead())).unwrap_or(false);
    let refused = dead && !runs_dead;
    let quiet = builtin.is_some_and(|(_, c)| commands::is_quiet(c, &words[c.words.len()..]));
    if !refused && !quiet {
        events.release();
    }
    if refused {
        events.exec_end(command_id, line, 511, DEAD_RESULT);
        let text = format!("511 {DEAD_RESULT}\n").into_bytes();
        tx(chan, &text);
        return Outcome { text, status: Status::Success, slot };
    }
    let argv: Vec<CString> = words.into_iter().map(cstring).collect();
    let SessionIo { pipe, speech } = io;
    let mut ctx = Ctx::new(chan, speech, fds);
    ctx.interruptible = interrupt.is_some();
    ctx.interrupt = interrupt;
    // A panicking command is caught here: it ends with an explicit error result and the
    // session (and Asterisk) go on.
    let what = Quoted(line);
    let (status, usage) = if let Some((index, command)) = builtin {
        let status = crate::ffi::guard::guard(&what, None, || Some((command.handler)(&mut ctx, &argv)));
        tx(chan, ctx.output());
        // The usage text is read only when it is shown.
        let usage = if status == Some(Status::ShowUsage) { usage_of(index) } else { None };
        (status, usage)
    } else {
        let foreign = foreign.expect("checked above");
        if pipe.is_none() {
            *pipe = OutputPipe::new();
        }
        let Some(pipe) = pipe.as_ref() else {
            crate::ast_log!(Error, "Failed to create Async AGI pipe on channel {}", chan.name());
            return unknown(events);
        };
        let speech_ptr = ctx.speech.as_ref().map(|s| s.raw());
        let ran = crate::ffi::guard::guard(&what, None, || Some(foreign.command.run(&foreign.held, chan, &argv, pipe, speech_ptr)));
        ctx.reply(pipe.drain());
        // The docs are read while the module is still held.
        match ran {
            Some(code) => {
                let status = Status::from_code(code);
                let usage = if status == Status::ShowUsage { foreign.command.docs().usage } else { None };
                (Some(status), usage)
            }
            None => (None, None),
        }
    };
    events.hold();
    let Some(status) = status else {
        events.exec_end(command_id, line, -1, "Failure");
        tx(chan, PANIC_RESULT.as_bytes());
        return Outcome { text: PANIC_RESULT.as_bytes().to_vec(), status: Status::Failure, slot };
    };
    let (code, res) = match status {
        Status::ShowUsage => {
            match usage {
                None => send(&mut ctx, b"520 Invalid command syntax.  Proper usage not available.\n"),
                Some(mut usage) => {
                    send(&mut ctx, b"520-Invalid command syntax.  Proper usage follows:\n");
                    usage.push(b'\n');
                    send(&mut ctx, &usage);
                    send(&mut ctx, b"520 End of proper usage.\n");
                }
            }
            (520, "Usage")
        }
        Status::Failure => (-1, "Failure"),
        Status::Break | Status::Success => (200, "Success"),
        Status::Other(_) => (200, "Unknown Result"),
    };
    events.exec_end(command_id, line, code, res);
    Outcome { text: ctx.into_output(), status, slot }
}

/// The CommandId of AGIExecStart/AGIExecEnd: a random number naming this execution, in
/// ast_random()'s range (0..=RAND_MAX) as stock's. Stock calls ast_random() per command,
/// which here is a read(2) of /dev/urandom (a system call on every command); this draws from
/// splitmix64 over a counter seeded once by ast_random(): as unpredictable to a client, and
/// no system call.
fn command_id() -> i32 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static STATE: AtomicU64 = AtomicU64::new(0);
    const GAMMA: u64 = 0x9e37_79b9_7f4a_7c15;
    if STATE.load(Ordering::Relaxed) == 0 {
        // The first command seeds it (a racing second one keeps the first seed).
        let seed = ((misc::random() as u64) << 32 | misc::random() as u64) | 1;
        let _ = STATE.compare_exchange(0, seed, Ordering::Relaxed, Ordering::Relaxed);
    }
    let mut x = STATE.fetch_add(GAMMA, Ordering::Relaxed).wrapping_add(GAMMA);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^= x >> 31;
    (x & 0x7fff_ffff) as i32
}

/// "AGI command '<line>'", formatted only when a panic is logged.
struct Quoted<'a>(&'a [u8]);

impl std::fmt::Display for Quoted<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "AGI command '{}'", String::from_utf8_lossy(self.0))
    }
}
