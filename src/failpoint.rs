//! Test failpoints: named places that panic on purpose, to prove that every guard holds
//! (a panic never reaches Asterisk, and every command still ends in one result), or that
//! pause, to widen a race window a test must hit every time. They exist only when Asterisk's
//! environment had RES_AGI_RS_FAILPOINTS=1 when the module loaded.
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

static ENABLED: AtomicBool = AtomicBool::new(false);
/// RES_AGI_RS_FAILPOINT_UNLOAD_MS: how long unload pauses after its first checks.
static UNLOAD_PAUSE_MS: AtomicU64 = AtomicU64::new(0);

pub fn enabled() -> bool {
    ENABLED.load(Ordering::Relaxed)
}

/// Reads RES_AGI_RS_FAILPOINTS and RES_AGI_RS_FAILPOINT_UNLOAD_MS (module load).
pub fn load() {
    ENABLED.store(std::env::var("RES_AGI_RS_FAILPOINTS").is_ok_and(|v| v == "1"), Ordering::Relaxed);
    let ms = std::env::var("RES_AGI_RS_FAILPOINT_UNLOAD_MS").ok().and_then(|v| v.parse().ok()).unwrap_or(0);
    UNLOAD_PAUSE_MS.store(ms, Ordering::Relaxed);
}

/// Unload pauses here (between its first checks and its undoing) when failpoints are on and
/// RES_AGI_RS_FAILPOINT_UNLOAD_MS is set: a thread can then come in after the checks.
pub fn unload_pause() {
    let ms = UNLOAD_PAUSE_MS.load(Ordering::Relaxed);
    if enabled() && ms > 0 {
        std::thread::sleep(std::time::Duration::from_millis(ms));
    }
}

/// Panics when failpoints are on and `text` is the failpoint's trigger `name` (any case).
pub fn hit(text: &[u8], name: &str) {
    if enabled() && text.eq_ignore_ascii_case(name.as_bytes()) {
        panic!("failpoint {name}");
    }
}

/// Sleeps `ms` when failpoints are on and `text` ends with the failpoint's trigger `name`
/// (any case), e.g. a command line with ` _TEST SLOW FINISH` after its own words.
pub fn pause(text: &[u8], name: &str, ms: u64) {
    if pauses(text, name) {
        std::thread::sleep(std::time::Duration::from_millis(ms));
    }
}

/// Whether `pause(text, name, …)` would sleep.
pub fn pauses(text: &[u8], name: &str) -> bool {
    enabled() && text.len() >= name.len() && text[text.len() - name.len()..].eq_ignore_ascii_case(name.as_bytes())
}
