//! The metrics endpoint on Asterisk's HTTP server (issues 21, 27): the shim holds the one URI
//! descriptor; these link it at a path and unlink it, set its Basic authentication, tell
//! whether a request is inside it, list the URIs Asterisk serves (to find a clash), and
//! register the same text with res_prometheus where it runs (asterisk-headers/shim_http.c).
use super::shim;
use std::ffi::CString;
use std::os::raw::{c_char, c_int, c_uint};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

// The rest of shim_http.c (rs_shim_metrics_link/unlink are declared in shim.rs).
unsafe extern "C" {
    fn rs_shim_metrics_inside() -> c_int;
    fn rs_shim_metrics_entries() -> c_uint;
    fn rs_shim_metrics_auth(user: *const c_char, pass: *const c_char, realm: *const c_char);
    fn rs_shim_metrics_linked_path() -> *const c_char;
    fn rs_shim_metrics_is_linked() -> c_int;
    fn rs_shim_prometheus_sync(want: c_int) -> c_int;
}

/// Serves the metrics at `path` (with or without its leading '/'), moving them if they were
/// served elsewhere (nothing changes if they are served there already); false if Asterisk
/// refused the URI.
pub fn link_metrics(path: &str) -> bool {
    let Ok(c) = CString::new(path.trim_start_matches('/')) else { return false };
    // SAFETY: the shim copies the path into its own buffer before linking.
    unsafe { shim::rs_shim_metrics_link(c.as_ptr()) == 0 }
}

/// Stops serving them (nothing if they were not served). A request may still be inside our
/// callback when it returns: main/http.c handle_uri calls a URI's callback after unlocking
/// its URI list (all supported versions), so unlinking does not wait for it; see
/// [`drain`].
pub fn unlink_metrics() {
    // SAFETY: no arguments; the shim knows whether it is linked.
    unsafe { shim::rs_shim_metrics_unlink() }
}

/// Where the metrics are served now (without the leading '/'), if they are.
/// Whether the metrics are served now; from any thread (`agi show stats`).
pub fn is_linked() -> bool {
    // SAFETY: no arguments; an atomic read of the shim's flag.
    unsafe { rs_shim_metrics_is_linked() != 0 }
}

pub fn linked_path() -> Option<String> {
    // SAFETY: the shim returns NULL or its own NUL-terminated path buffer, which only
    // load, reload and unload change (serialized by the loader, as this call is).
    super::opt_bytes(unsafe { rs_shim_metrics_linked_path() }).map(|b| String::from_utf8_lossy(&b).into_owned())
}

/// Basic authentication for the endpoint: (user, password, realm), or none.
pub fn set_auth(auth: Option<(&str, &str, &str)>) {
    let c = auth.and_then(|(u, p, r)| Some((CString::new(u).ok()?, CString::new(p).ok()?, CString::new(r).ok()?)));
    match c {
        // SAFETY: three NUL-terminated strings the shim copies before returning.
        Some((u, p, r)) => unsafe { rs_shim_metrics_auth(u.as_ptr(), p.as_ptr(), r.as_ptr()) },
        // SAFETY: NULLs: the shim forgets (and zeroes) the credentials.
        None => unsafe { rs_shim_metrics_auth(std::ptr::null(), std::ptr::null(), std::ptr::null()) },
    }
}

/// Requests inside the metrics callbacks now (the HTTP endpoint's and res_prometheus's),
/// counted from their first act to their last, ast_http_send included.
pub fn requests_inside() -> usize {
    // SAFETY: reads an atomic counter of the shim.
    unsafe { rs_shim_metrics_inside() }.max(0) as usize
}

fn entries() -> u32 {
    // SAFETY: reads an atomic counter of the shim.
    unsafe { rs_shim_metrics_entries() }
}

/// After [`unlink_metrics`] (and [`prometheus_sync`] with false): waits, up to `wait`, until
/// no request is inside the callbacks and none has come in for `grace` (a thread that found
/// the URI before it was unlinked may still be on its way in: main/http.c handle_uri unlocks
/// the URI list, decodes the path, and only then calls the callback; it is counted from the
/// callback's first instruction). Returns how many are still inside (0: drained).
pub fn drain(wait: Duration, grace: Duration) -> usize {
    let start = Instant::now();
    let mut seen = entries();
    let mut quiet_since = start;
    loop {
        let now = Instant::now();
        let e = entries();
        if e != seen {
            seen = e;
            quiet_since = now;
        }
        let inside = requests_inside();
        if inside == 0 && now.duration_since(quiet_since) >= grace {
            return 0;
        }
        if now.duration_since(start) >= wait {
            return inside.max(1);
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// What `http show status` prints (main/http.c handle_show_http: the prefix and every URI
/// the HTTP server serves, with its description), or None if it could not be run.
pub fn http_status() -> Option<String> {
    use std::io::{Read, Seek, SeekFrom};
    use std::os::fd::FromRawFd;
    // SAFETY: memfd_create with a NUL-terminated name; the descriptor is new and ours.
    let fd = unsafe { libc::memfd_create(c"res_agi_rs-http-status".as_ptr(), libc::MFD_CLOEXEC) };
    if fd < 0 {
        return None;
    }
    // SAFETY: `fd` is ours alone; the File closes it.
    let mut file = unsafe { std::fs::File::from_raw_fd(fd) };
    // SAFETY: the CLI writes the command's output to `fd` (a memory file: ast_cli's
    // ast_carefulwrite never waits on it), which stays open for the call; uid and gid -1:
    // no permission check (main/cli.c cli_has_permissions).
    unsafe { super::sys::ast_cli_command_full(-1, -1, fd, c"http show status".as_ptr()) };
    file.seek(SeekFrom::Start(0)).ok()?;
    let mut raw = Vec::new();
    file.read_to_end(&mut raw).ok()?;
    let text = String::from_utf8_lossy(&raw).into_owned();
    text.contains("Enabled URI's:").then_some(text)
}

/// res_prometheus as seen from here ([`prometheus_sync`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Prometheus {
    /// Not loaded (Debian's package has none), or these headers have no res_prometheus.h.
    Absent,
    /// Loaded, not running: being loaded later at startup (it loads after us), or declined.
    NotRunning,
    /// Running; our text is not in its scrape (not wanted).
    Running,
    /// Running, our text in its scrape.
    Registered,
}

/// Whether these headers had res_prometheus.h (build.rs Facts).
pub const PROMETHEUS_HEADERS: bool = cfg!(ast_prometheus);

/// Puts our text into res_prometheus's scrape (`want`) or takes it out, if res_prometheus
/// runs. Only from load, reload and unload: the loader holds its module list's lock there,
/// which res_prometheus's unload needs, so the res_prometheus we call stays loaded (the
/// shim also takes that lock itself). Taking it out waits for a scrape in progress.
pub fn prometheus_sync(want: bool) -> Prometheus {
    // SAFETY: no pointers; the shim checks res_prometheus runs before calling into it.
    state(unsafe { rs_shim_prometheus_sync(want as c_int) })
}

fn state(s: c_int) -> Prometheus {
    match s {
        1 => Prometheus::NotRunning,
        2 => Prometheus::Running,
        3 => Prometheus::Registered,
        _ => Prometheus::Absent,
    }
}

/// The sync [`prometheus_sync_later`] runs, and whether it has run.
type Later = (super::thread::Thread, Arc<AtomicBool>);
static LATER: Mutex<Option<Later>> = Mutex::new(None);

/// At startup res_prometheus loads after us (its priority is AST_MODPRI_DEFAULT, ours
/// AST_MODPRI_APP_DEPEND): this syncs again, as last wanted, on a thread of ours that gets
/// the loader's module list lock once the loader lets go of it (main/loader.c load_modules
/// holds it while it loads every module). False if the thread could not be made.
pub fn prometheus_sync_later() -> bool {
    let mut later = LATER.lock().unwrap_or_else(|p| p.into_inner());
    if later.is_some() {
        return true;
    }
    let done = Arc::new(AtomicBool::new(false));
    let flag = done.clone();
    let Some(t) = super::thread::spawn(move || {
        // SAFETY: no pointers; -1: as last wanted. The shim takes the module list lock.
        let s = state(unsafe { rs_shim_prometheus_sync(-1) });
        if s == Prometheus::Registered {
            super::log::verb(3, b"res_agi_rs: metrics also in res_prometheus's scrape\n");
        }
        flag.store(true, Ordering::SeqCst);
    }) else {
        return false;
    };
    *later = Some((t, done));
    true
}

/// Joins the thread of [`prometheus_sync_later`] once it has synced; false while it still
/// waits for the module list lock (an unload holds that lock: it must not wait for it).
pub fn prometheus_sync_settled() -> bool {
    let mut later = LATER.lock().unwrap_or_else(|p| p.into_inner());
    match later.take() {
        None => true,
        Some((t, done)) if done.load(Ordering::SeqCst) => {
            t.join();
            true
        }
        Some(pending) => {
            *later = Some(pending);
            false
        }
    }
}
