//! What a command handler works with and reports: the command context (`Ctx`) and
//! `Status`. It sits below both the engine and `commands/`, which each import it and
//! neither the other.
use crate::ffi::channel::{AgiFds, Chan};
use crate::ffi::speech::Speech;

/// What a command handler reports (stock's RESULT_* codes, plus ASYNCAGI BREAK's).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    Success,
    ShowUsage,
    Failure,
    Break,
    /// Any other code (EXEC passes the application's own return value through).
    Other(i32),
}

impl Status {
    /// Stock's numbering: RESULT_SUCCESS 0, RESULT_SHOWUSAGE 1, RESULT_FAILURE 2,
    /// ASYNC_AGI_BREAK 3.
    pub fn from_code(code: i32) -> Status {
        match code {
            0 => Status::Success,
            1 => Status::ShowUsage,
            2 => Status::Failure,
            3 => Status::Break,
            n => Status::Other(n),
        }
    }
}

/// What a command handler works with: the channel, and the output it writes (the AGI
/// response text, which stock writes to its pipe).
pub struct Ctx<'a> {
    pub chan: &'a Chan,
    /// What playbacks and waits also watch (the script's commands, EAGI's audio pipe).
    pub fds: AgiFds,
    /// The session's speech object (SPEECH commands).
    pub speech: &'a mut Option<Speech>,
    /// `fds.ctrl` is Async AGI's interrupt: a command it stops answers with its result so
    /// far, where a script's new line gets no answer (stock).
    pub interruptible: bool,
    /// Set when AGIInterrupt stopped this command (a command that returns as on hangup
    /// then says "interrupted" instead).
    pub interrupt: Option<&'a InterruptFlag>,
    out: Vec<u8>,
}

impl<'a> Ctx<'a> {
    pub fn new(chan: &'a Chan, speech: &'a mut Option<Speech>, fds: AgiFds) -> Ctx<'a> {
        Ctx { chan, fds, speech, interruptible: false, interrupt: None, out: Vec::with_capacity(64) }
    }
    pub fn reply(&mut self, text: impl AsRef<[u8]>) {
        self.out.extend_from_slice(text.as_ref());
    }
    /// The answer written so far.
    pub fn output(&self) -> &[u8] {
        &self.out
    }

    /// Whether AGIInterrupt stopped this command.
    pub fn was_interrupted(&self) -> bool {
        self.interrupt.is_some_and(InterruptFlag::get)
    }

    /// Takes the answer (the engine, when the command is done).
    pub fn into_output(self) -> Vec<u8> {
        self.out
    }

    /// "200 result=N\n", the most common answer.
    pub fn result(&mut self, n: impl std::fmt::Display) {
        self.reply(format!("200 result={n}\n"));
    }
}


/// Raised by AGIInterrupt for the command running now; lowered when the next one starts.
#[derive(Default, Debug)]
pub struct InterruptFlag(std::sync::atomic::AtomicBool);

impl InterruptFlag {
    pub fn get(&self) -> bool {
        self.0.load(std::sync::atomic::Ordering::SeqCst)
    }
    pub fn set(&self, v: bool) {
        self.0.store(v, std::sync::atomic::Ordering::SeqCst)
    }
}
