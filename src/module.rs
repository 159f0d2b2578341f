//! Module load and unload, with a registration ledger: load records each registration,
//! unload (and a load that fails half-way) undoes them in reverse order. A declined load
//! leaves nothing behind: Asterisk unmaps a declined module without calling its unload.
use crate::ffi::misc;
use crate::{app, manager, relay};
use std::sync::Mutex;

#[derive(Clone, Copy, Debug)]
enum Registration {
    /// The stasis message type our events travel in.
    Events,
    Relay,
    /// One CLI entry (the shim's index).
    Cli(usize),
    /// One Asterisk test under /res/agi_rs/ (the shim's index, src/selftest.rs).
    #[cfg(ast_test_framework)]
    SelfTest(usize),
    /// One manager action (index into manager::ACTIONS).
    Manager(usize),
    App(app::AppKind),
    /// ast_agi_register & co. in Asterisk's optional-API registry (app_stack's GOSUB).
    Api,
}

static LEDGER: Mutex<Vec<Registration>> = Mutex::new(Vec::new());

/// How long unload waits for the manager to format the events already published.
const EVENTS_DRAIN_MS: i32 = 5000;
/// How long unload waits for threads still inside one of our callbacks.
const THREADS_DRAIN: std::time::Duration = std::time::Duration::from_secs(5);
/// How long unload waits for requests still inside the metrics endpoint (issue 27), and for
/// how long none may have come in (one may be between main/http.c handle_uri's unlock and
/// our callback's first instruction, not counted yet).
const METRICS_DRAIN: std::time::Duration = std::time::Duration::from_secs(2);
const METRICS_GRACE: std::time::Duration = std::time::Duration::from_millis(100);

fn register(r: Registration) -> bool {
    match r {
        Registration::Events => misc::events_init(),
        Registration::Relay => relay::start(),
        Registration::Cli(i) => misc::register_cli(i),
        #[cfg(ast_test_framework)]
        Registration::SelfTest(i) => misc::register_selftest(i),
        Registration::Manager(i) => misc::register_manager(manager::ACTIONS[i].0, manager::ACTIONS[i].1),
        Registration::App(kind) => misc::register_app(kind.name(), kind as i32),
        Registration::Api => {
            misc::provide_api(true);
            true
        }
    }
}

/// Undoes one registration; false (logged) when Asterisk kept it.
fn undo(r: Registration) -> bool {
    let ok = match r {
        Registration::Events => misc::events_cleanup(EVENTS_DRAIN_MS),
        Registration::Relay => {
            relay::stop();
            true
        }
        Registration::Cli(i) => misc::unregister_cli(i),
        #[cfg(ast_test_framework)]
        Registration::SelfTest(i) => misc::unregister_selftest(i),
        Registration::Manager(i) => misc::unregister_manager(manager::ACTIONS[i].0),
        Registration::App(kind) => misc::unregister_app(kind.name()),
        Registration::Api => {
            misc::provide_api(false);
            true
        }
    };
    if !ok {
        crate::ast_log!(Warning, "res_agi_rs: could not undo registration {r:?}");
    }
    ok
}

fn undo_all(ledger: &mut Vec<Registration>) {
    while let Some(r) = ledger.pop() {
        undo(r);
    }
}

/// A refused unload puts back what it had undone (`undone`: newest registration first).
fn redo(ledger: &mut Vec<Registration>, undone: Vec<Registration>) {
    for r in undone.into_iter().rev() {
        if register(r) {
            ledger.push(r);
        } else {
            crate::ast_log!(Error, "res_agi_rs: could not put registration {r:?} back after a refused unload");
        }
    }
}

/// The registrations of a load, in order.
fn steps(host: &crate::host::Host) -> Vec<Registration> {
    let mut steps = vec![Registration::Events, Registration::Relay];
    steps.extend((0..misc::cli_count()).map(Registration::Cli));
    // Asterisk's test framework, where this Asterisk has one (src/selftest.rs).
    #[cfg(ast_test_framework)]
    steps.extend((0..misc::selftest_count().min(crate::selftest::TESTS.len())).map(Registration::SelfTest));
    steps.extend((0..manager::ACTIONS.len()).map(Registration::Manager));
    // Stock's applications on this version (23 has no DeadAGI: src/host.rs).
    steps.extend(app::AppKind::ALL.into_iter().filter(|k| *k != app::AppKind::DeadAgi || host.deadagi).map(Registration::App));
    steps.push(Registration::Api);
    steps
}

pub fn load() -> bool {
    let mut ledger = LEDGER.lock().unwrap_or_else(|p| p.into_inner());
    undo_all(&mut ledger);
    let host = crate::host::probe();
    if let Some(why) = crate::host::mismatch(crate::host::HEADERS_VERSION, &host) {
        crate::ast_log!(Error, "{why}; declining to load");
        release_statics(&mut ledger);
        return false;
    }
    crate::engine::load_docs();
    crate::failpoint::load();
    crate::config::load();
    crate::ffi::log::debug(1, &format!("res_agi_rs: Asterisk {}: major {}, certified {}, DeadAGI {}", host.version, host.major, host.certified, host.deadagi));
    for reg in steps(&host) {
        if !register(reg) {
            crate::ast_log!(Error, "res_agi_rs: registration {reg:?} failed; declining to load");
            undo_all(&mut ledger);
            release_statics(&mut ledger);
            let left = crate::ffi::alloc::module_heap();
            crate::ffi::log::verb(
                3,
                format!("res_agi_rs: declined; its heap left {} bytes in {} blocks\n", left.live_bytes, left.live_blocks).as_bytes(),
            );
            return false;
        }
        ledger.push(reg);
    }
    apply_metrics();
    true
}

/// Serves the metrics as res_agi_rs.conf says (issues 21, 27): on Asterisk's HTTP server at
/// `metrics_path`, with Basic authentication if set, and in res_prometheus's scrape where it
/// runs; or stops. A bad auth setting (logged by crate::config) serves nothing until it is
/// fixed; a path another URI of the HTTP server has is refused (logged) and not served. The
/// module loads all the same. Runs under the loader's module list lock (load, reload,
/// unload), which the res_prometheus calls need (crate::ffi::http::prometheus_sync).
fn apply_metrics() -> bool {
    use crate::ffi::http::{self, Prometheus};
    let m = crate::config::metrics();
    let want = m.enabled && m.refused.is_none();
    match http::prometheus_sync(want) {
        Prometheus::Registered => crate::ffi::log::verb(3, b"res_agi_rs: metrics also in res_prometheus's scrape\n"),
        // Loading after us at startup (or declined): once the loader is done.
        Prometheus::NotRunning if want && !http::prometheus_sync_later() => {
            crate::ast_log!(Warning, "res_agi_rs: could not start the thread that adds the metrics to res_prometheus's scrape; `module reload res_agi_rs.so` once res_prometheus runs")
        }
        _ => {}
    }
    if !want {
        http::unlink_metrics();
        http::set_auth(None);
        return m.refused.is_none();
    }
    let path = m.path.trim_start_matches('/');
    let served = http::linked_path();
    if served.as_deref() != Some(path) {
        // ast_http_uri_link never refuses (main/http.c: a newer URI of the same path hides the
        // older one): a clash is looked for in the URI list first.
        match http::http_status().and_then(|status| crate::metrics::uri_owner(&status, path, served.as_deref())) {
            Some(o) if o.exact => {
                crate::ast_log!(
                    Error,
                    "res_agi_rs: metrics_path {} is already served by '{}' ({}) on Asterisk's HTTP server; the metrics are not served (choose another metrics_path)",
                    m.path,
                    o.description,
                    o.listed
                );
                http::unlink_metrics();
                http::set_auth(None);
                return false;
            }
            Some(o) => crate::ffi::log::verb(
                3,
                format!("res_agi_rs: metrics_path {} lies in the subtree of '{}' ({}): requests for it now reach res_agi_rs\n", m.path, o.description, o.listed).as_bytes(),
            ),
            None => {}
        }
    }
    let a = m.auth.as_ref();
    http::set_auth(a.map(|a| (a.username.as_str(), a.password.as_str(), a.realm.as_str())));
    if !http::link_metrics(path) {
        crate::ast_log!(Error, "res_agi_rs: Asterisk's HTTP server refused the metrics path {}", m.path);
        return false;
    }
    let auth = a.map(|a| format!(", Basic auth, realm \"{}\"", a.realm)).unwrap_or_default();
    crate::ffi::log::verb(3, format!("res_agi_rs: metrics served at {} on Asterisk's HTTP server (http.conf){auth}\n", m.path).as_bytes());
    true
}

/// Takes the metrics away for an unload (issue 27): out of res_prometheus's scrape (which
/// waits for a scrape in progress), the URI unlinked, then waits for the requests already
/// inside: main/http.c handle_uri calls a URI's callback after unlocking its URI list, so
/// unlinking does not wait for them, and one whose client does not read stays inside
/// ast_http_send up to http.conf's session_inactivity. False (logged) if one is still
/// inside after METRICS_DRAIN: the caller puts the metrics back and refuses.
fn stop_metrics() -> bool {
    use crate::ffi::http;
    if !http::prometheus_sync_settled() {
        crate::ast_log!(Warning, "res_agi_rs: cannot unload before Asterisk has finished loading its modules (the metrics wait to join res_prometheus's scrape); try again");
        return false;
    }
    http::prometheus_sync(false);
    // The quiet moment is needed only if the URI was linked: only then can a thread be on its
    // way in from http.c (res_prometheus calls us under the lock its unregister took).
    let grace = if http::linked_path().is_some() { METRICS_GRACE } else { std::time::Duration::ZERO };
    http::unlink_metrics();
    let inside = http::drain(METRICS_DRAIN, grace);
    if inside > 0 {
        crate::ast_log!(
            Warning,
            "res_agi_rs: cannot unload while {inside} request(s) to the metrics endpoint are still being answered after {} s (a client that does not read?); try again",
            METRICS_DRAIN.as_secs()
        );
        return false;
    }
    http::set_auth(None);
    true
}

/// What statics hold goes, at unload and when a load declines: dlclose runs no Rust
/// destructor, and Asterisk unmaps a declined module without calling its unload (the
/// documentation, the panic hook and the ledger were left behind by a declined load: 36 KB of
/// Asterisk's RSS per declined load beside stock res_agi, issue 18).
fn release_statics(ledger: &mut Vec<Registration>) {
    crate::engine::unload_docs();
    crate::session::release_all();
    crate::config::release();
    crate::metrics::release();
    std::mem::take(ledger);
    crate::ffi::guard::release_all();
}

/// Refuses (false) while any of this module's code may still run: channels in Async AGI,
/// Async AGI queues (datastores) on any channel, threads inside a callback.
pub fn unload() -> bool {
    let active = app::active_sessions();
    if active > 0 {
        crate::ast_log!(
            Warning,
            "res_agi_rs: cannot unload while {active} channel(s) are in Async AGI; hang them up or break them out first"
        );
        return false;
    }
    let queues = crate::ffi::channel::datastores_alive();
    if queues > 0 {
        crate::ast_log!(
            Warning,
            "res_agi_rs: cannot unload while {queues} channel(s) keep an Async AGI queue; it goes when the channel hangs up"
        );
        return false;
    }
    let inside = crate::ffi::callback::threads_inside();
    if inside > 0 {
        crate::ast_log!(Warning, "res_agi_rs: cannot unload while {inside} thread(s) are running its code; try again");
        return false;
    }
    crate::failpoint::unload_pause();
    // The metrics go first, once no request is inside them (stop_metrics); they come back if
    // the unload is refused, here or below.
    let refused = || {
        apply_metrics();
        false
    };
    if !stop_metrics() {
        return refused();
    }
    let mut ledger = LEDGER.lock().unwrap_or_else(|p| p.into_inner());
    // Every registration but the event type goes, newest first: then nothing can enter any
    // more. The type goes last, once nothing of ours can publish an event.
    let mut undone = Vec::new();
    while let Some(&r) = ledger.last() {
        if matches!(r, Registration::Events) {
            break;
        }
        ledger.pop();
        if !undo(r) {
            // Asterisk kept it (a CLI entry in use) and would call into unmapped code.
            ledger.push(r);
            redo(&mut ledger, undone);
            crate::ast_log!(Warning, "res_agi_rs: cannot unload: registration {r:?} could not be undone; the others are back");
            return refused();
        }
        undone.push(r);
    }
    // A thread that came in while the registrations went (a manager action or CLI command
    // already dispatched) is waited for; if one is still inside after the wait, the unload
    // is refused and the registrations put back: dlclose would unmap the code it runs.
    // Our own threads too (crate::ffi::thread: counted from spawn until joined; the event
    // relay was joined as its registration went, a FastAGI-over-TLS relay is joined by its
    // session before the session's thread leaves our code).
    let deadline = std::time::Instant::now() + THREADS_DRAIN;
    // And CLI threads that found one of our entries before it went: they run its handler and
    // write its in-use count (our memory) after (main/cli.c ast_cli_command_full).
    let busy = || crate::ffi::callback::threads_inside() + crate::ffi::thread::live() + misc::cli_inuse();
    while busy() > 0 && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    let inside = busy();
    if inside > 0 {
        redo(&mut ledger, undone);
        crate::ast_log!(
            Warning,
            "res_agi_rs: cannot unload: {inside} thread(s) still running its code after {} s; registrations put back",
            THREADS_DRAIN.as_secs()
        );
        return refused();
    }
    // The manager's router formats our events in our code (to_ami): a barrier through its
    // topic proves it has formatted every one. If it has not within the wait, the type stays
    // and the unload is refused, registrations put back.
    if ledger.last().is_some_and(|r| matches!(r, Registration::Events)) {
        if !misc::events_cleanup(EVENTS_DRAIN_MS) {
            redo(&mut ledger, undone);
            crate::ast_log!(
                Warning,
                "res_agi_rs: cannot unload: the manager has not formatted this module's events after {} s; registrations put back",
                EVENTS_DRAIN_MS / 1000
            );
            return refused();
        }
        ledger.pop();
    }
    drop(ledger);
    // A thread counted out still has its return to run, a few instructions in this library:
    // it gets a moment before Asterisk unmaps the code (a forced unload does not wait for the
    // core's use count).
    std::thread::sleep(std::time::Duration::from_millis(10));
    release_statics(&mut LEDGER.lock().unwrap_or_else(|p| p.into_inner()));
    // What was freed stays with malloc. (Unload used to call malloc_trim(0), which walks every
    // arena under its lock, and so hands back what any module freed, not only ours: 258 ms on
    // the CLI thread, with the arenas' users held meanwhile, after 5,000 calls of another
    // module had come and gone; docs/reliability.md, issue 18.)
    true
}

/// `module reload res_agi_rs.so`: re-reads res_agi_rs.conf (parked calls are not touched).
pub fn reload() -> bool {
    let ok = crate::config::load();
    apply_metrics() && ok
}
