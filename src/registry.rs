//! AGI commands other modules register through res_agi's public API (`ast_agi_register`,
//! provided through Asterisk's optional API by the shim). Builtins are looked up first,
//! without a lock; these only when no builtin matches, under a read lock.
use crate::commands::BUILTIN;
use crate::parse::{same_words, words_start};
use crate::ffi::agi::{ForeignCommand, ModuleHold};
use crate::ffi::misc::Docs;
use crate::ffi::{log, sys};
use std::sync::RwLock;

/// Each registered command with its slot in crate::metrics (taken at registration).
static FOREIGN: RwLock<Vec<(ForeignCommand, usize)>> = RwLock::new(Vec::new());

fn joined(words: &[Vec<u8>]) -> String {
    String::from_utf8_lossy(&words.join(&b' ')).into_owned()
}

/// Registers `cmd`; 1 on success, 0 if a command with the same words exists.
pub fn register(cmd: ForeignCommand, module: *mut sys::ast_module) -> i32 {
    let words = cmd.words();
    let mut foreign = FOREIGN.write().unwrap_or_else(|p| p.into_inner());
    let exists = BUILTIN.iter().any(|b| same_words(&words, b.words)) || foreign.iter().any(|(f, _)| same_words(&f.words(), &words));
    if exists {
        crate::ast_log!(Warning, "Command already registered!");
        return 0;
    }
    cmd.prepare(module);
    foreign.push((cmd, crate::metrics::foreign_slot(&joined(&words).to_ascii_uppercase())));
    log::verb(5, format!("AGI Command '{}' registered\n", joined(&words)).as_bytes());
    1
}

/// Unregisters `cmd`; 1 if it was registered, 0 otherwise.
pub fn unregister(cmd: ForeignCommand) -> i32 {
    let mut foreign = FOREIGN.write().unwrap_or_else(|p| p.into_inner());
    let Some(pos) = foreign.iter().position(|(f, _)| *f == cmd) else { return 0 };
    foreign.remove(pos);
    cmd.release_docs();
    log::verb(5, format!("AGI Command '{}' unregistered\n", joined(&cmd.words())).as_bytes());
    1
}

/// A registered command found for a line, with its module held (it cannot unload, nor the
/// descriptor go, until this is dropped).
pub struct Found {
    pub command: ForeignCommand,
    pub held: ModuleHold,
    pub slot: usize,
}

/// The first registered command whose words start the line (stock's find_command). None
/// also when its module is being unloaded.
pub fn find(argv: &[Vec<u8>]) -> Option<Found> {
    let foreign = FOREIGN.read().unwrap_or_else(|p| p.into_inner());
    let (command, slot) = foreign.iter().copied().find(|(f, _)| {
        let words = f.words();
        !words.is_empty() && words_start(argv, &words)
    })?;
    // Under the lock: the command is registered, so its module is loaded.
    let held = command.hold()?;
    Some(Found { command, held, slot })
}

/// A registered command as `agi show commands` and `agi dump html` list it.
pub struct Listed {
    pub words: Vec<Vec<u8>>,
    pub dead: bool,
    pub docs: Docs,
    pub xml: bool,
}

/// Every registered command, read under the lock (a module cannot unregister, and so free
/// its descriptor and docs, while they are read).
pub fn all() -> Vec<Listed> {
    let foreign = FOREIGN.read().unwrap_or_else(|p| p.into_inner());
    foreign.iter().map(|(f, _)| Listed { words: f.words(), dead: f.dead(), docs: f.docs(), xml: f.xml_docs() }).collect()
}
