//! Module load and unload, with a registration ledger: load records each registration,
//! unload (and a failed load) undoes them in reverse order.
use crate::ffi::misc;
use crate::{app, engine, manager, relay};
use std::sync::Mutex;

#[derive(Clone, Copy, Debug)]
enum Registration {
    Relay,
    Cli,
    Manager,
    App,
}

static LEDGER: Mutex<Vec<Registration>> = Mutex::new(Vec::new());

fn undo(r: Registration) {
    let ok = match r {
        Registration::Relay => {
            relay::stop();
            true
        }
        Registration::Cli => misc::unregister_cli(),
        Registration::Manager => misc::unregister_manager(manager::ACTION),
        Registration::App => misc::unregister_app(app::APP),
    };
    if !ok {
        crate::ast_log!(Warning, "res_agi_rs: could not undo registration {r:?}");
    }
}

fn undo_all(ledger: &mut Vec<Registration>) {
    while let Some(r) = ledger.pop() {
        undo(r);
    }
}

pub fn load() -> bool {
    let mut ledger = LEDGER.lock().unwrap_or_else(|p| p.into_inner());
    undo_all(&mut ledger);
    engine::load_docs();
    engine::load_failpoints();
    let steps: [(Registration, fn() -> bool); 4] = [
        (Registration::Relay, relay::start),
        (Registration::Cli, misc::register_cli),
        (Registration::Manager, || misc::register_manager(manager::ACTION)),
        (Registration::App, || misc::register_app(app::APP)),
    ];
    for (reg, register) in steps {
        if !register() {
            crate::ast_log!(Error, "res_agi_rs: registration {reg:?} failed; declining to load");
            undo_all(&mut ledger);
            return false;
        }
        ledger.push(reg);
    }
    true
}

/// Refuses (false) while channels are in Async AGI: their threads run this module's code.
pub fn unload() -> bool {
    let active = app::active_sessions();
    if active > 0 {
        crate::ast_log!(
            Warning,
            "res_agi_rs: cannot unload while {active} channel(s) are in Async AGI; hang them up or break them out first"
        );
        return false;
    }
    let inside = crate::ffi::entry::threads_inside();
    if inside > 0 {
        crate::ast_log!(Warning, "res_agi_rs: cannot unload while {inside} thread(s) are running its code; try again");
        return false;
    }
    undo_all(&mut LEDGER.lock().unwrap_or_else(|p| p.into_inner()));
    true
}
