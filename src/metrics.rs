//! Counters for operators (issue 21): commands run by mode and command word with their
//! durations, calls in Async AGI, queued commands, cancellations, interrupts and flushes,
//! classic sessions by outcome, FastAGI connections. Served in Prometheus's text format on
//! Asterisk's HTTP server (`metrics = yes` in res_agi_rs.conf; crate::exports hands the text
//! to the shim) and shown by `agi show stats`.
//!
//! Every update is a relaxed atomic add on a static: no lock, no allocation on the per-command
//! path. Only the registration of another module's AGI command takes a lock here (its name
//! gets a slot). A leaf: it imports nothing of ours (the builtin commands' names come with
//! the call that renders).
use std::fmt::Write as _;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering::Relaxed};
use std::sync::Mutex;

/// How a command or session came: the `mode` label.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Async = 0,
    Script = 1,
    FastAgi = 2,
}

pub const MODES: [Mode; 3] = [Mode::Async, Mode::Script, Mode::FastAgi];

impl Mode {
    pub fn label(self) -> &'static str {
        match self {
            Mode::Async => "async",
            Mode::Script => "script",
            Mode::FastAgi => "fastagi",
        }
    }

    /// The classic mode of `AGI(script)`: FastAGI for agi:// and hagi:// (and their TLS
    /// schemes), a local script otherwise.
    pub fn of_script(script: &[u8]) -> Mode {
        let lower = script.to_ascii_lowercase();
        if [&b"agi://"[..], b"hagi://", b"agis://", b"hagis://"].iter().any(|p| lower.starts_with(p)) {
            Mode::FastAgi
        } else {
            Mode::Script
        }
    }
}

/// Command slots: the builtins (by their index in the command table), then other modules'
/// commands (a slot per name, the last one for every name past them), then unknown lines.
pub const BUILTIN_SLOTS: usize = 64;
pub const FOREIGN_SLOTS: usize = 32;
pub const UNKNOWN: usize = BUILTIN_SLOTS + FOREIGN_SLOTS;
const SLOTS: usize = UNKNOWN + 1;

/// Upper bounds (seconds) of the command duration buckets, +Inf after them.
pub const DURATION_BUCKETS: [f64; 16] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0];
/// Upper bounds of the queue depth buckets (commands, counting the one just queued).
pub const DEPTH_BUCKETS: [f64; 10] = [1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0, 500.0, 1000.0];
/// Upper bounds (seconds) of the FastAGI connect time buckets.
pub const CONNECT_BUCKETS: [f64; 10] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 2.0];

/// A histogram: counts per bucket (not cumulative; +Inf last), the sum in microseconds.
struct Histogram<const N: usize> {
    buckets: [AtomicU64; N],
    sum_us: AtomicU64,
}

impl<const N: usize> Histogram<N> {
    const fn new() -> Self {
        Histogram { buckets: [const { AtomicU64::new(0) }; N], sum_us: AtomicU64::new(0) }
    }

    fn observe(&self, bounds: &[f64], value: f64, sum_unit: f64) {
        let i = bounds.iter().position(|&b| value <= b).unwrap_or(bounds.len());
        self.buckets[i].fetch_add(1, Relaxed);
        self.sum_us.fetch_add((value * sum_unit).round() as u64, Relaxed);
    }

    fn count(&self) -> u64 {
        self.buckets.iter().map(|b| b.load(Relaxed)).sum()
    }
}

static COMMANDS: [[Histogram<17>; SLOTS]; 3] = [const { [const { Histogram::new() }; SLOTS] }; 3];
static ASYNC_CALLS: AtomicI64 = AtomicI64::new(0);
static QUEUED: AtomicI64 = AtomicI64::new(0);
static QUEUE_DEPTH: Histogram<11> = Histogram::new();
/// hangup, flush, failure
static CANCELLED: [AtomicU64; 3] = [const { AtomicU64::new(0) }; 3];
const CANCEL_REASONS: [&str; 3] = ["hangup", "flush", "failure"];
static INTERRUPTS: AtomicU64 = AtomicU64::new(0);
static FLUSHES: AtomicU64 = AtomicU64::new(0);
/// [mode][SUCCESS, FAILURE, NOTFOUND, HANGUP]
static SESSIONS: [[AtomicU64; 4]; 3] = [const { [const { AtomicU64::new(0) }; 4] }; 3];
pub const OUTCOMES: [&str; 4] = ["SUCCESS", "FAILURE", "NOTFOUND", "HANGUP"];
/// [scheme]: agi, hagi, agis, hagis
const SCHEMES: [&str; 4] = ["agi", "hagi", "agis", "hagis"];
static CONNECTS: [Histogram<11>; 4] = [const { Histogram::new() }; 4];
static CONNECT_FAILURES: [AtomicU64; 4] = [const { AtomicU64::new(0) }; 4];
/// The names of other modules' commands, by slot (taken at their registration).
static FOREIGN_NAMES: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// A command ran: its slot, how long it took.
pub fn command(mode: Mode, slot: usize, seconds: f64) {
    COMMANDS[mode as usize][slot.min(UNKNOWN)].observe(&DURATION_BUCKETS, seconds, 1e6);
}

/// The slot of another module's command named `name` (at its registration).
pub fn foreign_slot(name: &str) -> usize {
    let mut names = FOREIGN_NAMES.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(i) = names.iter().position(|n| n == name) {
        return BUILTIN_SLOTS + i;
    }
    if names.len() + 1 < FOREIGN_SLOTS {
        names.push(name.to_string());
        return BUILTIN_SLOTS + names.len() - 1;
    }
    BUILTIN_SLOTS + FOREIGN_SLOTS - 1
}

/// A call entered Async AGI; the guard counts it out when dropped.
pub fn async_call() -> AsyncCall {
    ASYNC_CALLS.fetch_add(1, Relaxed);
    AsyncCall(())
}

pub struct AsyncCall(());

impl Drop for AsyncCall {
    fn drop(&mut self) {
        ASYNC_CALLS.fetch_sub(1, Relaxed);
    }
}

/// A command was queued; `depth` is the queue's length with it.
pub fn queued(depth: usize) {
    QUEUED.fetch_add(1, Relaxed);
    QUEUE_DEPTH.observe(&DEPTH_BUCKETS, depth as f64, 1.0);
}

/// `n` commands left a queue (to run, or cancelled).
pub fn dequeued(n: usize) {
    if n > 0 {
        QUEUED.fetch_sub(n as i64, Relaxed);
    }
}

/// A command was cancelled (`reason`: hangup, flush or failure).
pub fn cancelled(reason: &str) {
    if let Some(i) = CANCEL_REASONS.iter().position(|r| *r == reason) {
        CANCELLED[i].fetch_add(1, Relaxed);
    }
}

pub fn interrupted() {
    INTERRUPTS.fetch_add(1, Relaxed);
}

pub fn flushed() {
    FLUSHES.fetch_add(1, Relaxed);
}

/// An AGI() session ended with `outcome` (one of OUTCOMES).
pub fn session(mode: Mode, outcome: &str) {
    if let Some(i) = OUTCOMES.iter().position(|o| *o == outcome) {
        SESSIONS[mode as usize][i].fetch_add(1, Relaxed);
    }
}

fn scheme_index(scheme: &str) -> usize {
    SCHEMES.iter().position(|s| *s == scheme).unwrap_or(0)
}

/// A FastAGI connection (`scheme`: agi, hagi…) was made in `seconds`, or failed.
pub fn connected(scheme: &str, seconds: f64) {
    CONNECTS[scheme_index(scheme)].observe(&CONNECT_BUCKETS, seconds, 1e6);
}

pub fn connect_failed(scheme: &str) {
    CONNECT_FAILURES[scheme_index(scheme)].fetch_add(1, Relaxed);
}

/// Forgets other modules' command names (unload, a declined load): the counters are statics
/// that go with the library, the names are on the heap.
pub fn release() {
    std::mem::take(&mut *FOREIGN_NAMES.lock().unwrap_or_else(|p| p.into_inner()));
}

/// Another URI of Asterisk's HTTP server that a metrics path would take requests from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UriOwner {
    /// The URI as `http show status` lists it (http.conf's prefix, "/..." for a subtree).
    pub listed: String,
    pub description: String,
    /// The same path; else the path lies inside its subtree.
    pub exact: bool,
}

/// Who else serves `path` (no leading '/', below http.conf's prefix) on Asterisk's HTTP
/// server, read from what `http show status` prints (main/http.c handle_show_http, the same
/// in 20.20.1, 22.10.1, 23.4.1, certified-20.7-cert11 and certified-22.8-cert4: "Prefix:
/// <prefix>", then under "Enabled URI's:" one "<prefix>/<uri>[/...] => <description>" line per
/// URI), leaving out `ours` (the path we serve now). A URI of the same path (matched without
/// case: main/http.c handle_uri compares with strncasecmp) would be hidden by ours, since
/// ast_http_uri_link puts the newer of two equal paths first and never refuses one; a URI
/// with a subtree above `path` loses that part of its subtree to ours. An exact owner comes
/// first.
pub fn uri_owner(status: &str, path: &str, ours: Option<&str>) -> Option<UriOwner> {
    let prefix = status.lines().find_map(|l| l.strip_prefix("Prefix:")).map(str::trim).unwrap_or("");
    let mut lines = status.lines().skip_while(|l| l.trim() != "Enabled URI's:").skip(1);
    let mut inside = None;
    while let Some(l) = lines.next().filter(|l| !l.trim().is_empty()) {
        let Some((listed, description)) = l.split_once(" => ") else { continue };
        let Some(uri) = listed.strip_prefix(prefix).and_then(|u| u.strip_prefix('/')) else { continue };
        let (uri, subtree) = match uri.strip_suffix("/...") {
            Some(u) => (u, true),
            None => (uri, false),
        };
        if ours == Some(uri) {
            continue;
        }
        let owner = |exact| UriOwner { listed: listed.to_string(), description: description.to_string(), exact };
        if uri.eq_ignore_ascii_case(path) {
            return Some(owner(true));
        }
        let above = path.len() > uri.len() && path.as_bytes()[uri.len()] == b'/' && path[..uri.len()].eq_ignore_ascii_case(uri);
        if subtree && above && inside.is_none() {
            inside = Some(owner(false));
        }
    }
    inside
}

/// A slot's `command` label: a builtin's words (from `builtin`), another module's
/// command's, or "unknown".
fn slot_name(slot: usize, builtin: &dyn Fn(usize) -> Option<String>, foreign: &[String]) -> Option<String> {
    if slot < BUILTIN_SLOTS {
        builtin(slot)
    } else if slot < UNKNOWN {
        let i = slot - BUILTIN_SLOTS;
        Some(if i == FOREIGN_SLOTS - 1 { "other".to_string() } else { foreign.get(i)?.clone() })
    } else {
        Some("unknown".to_string())
    }
}

/// A label value as the text format wants it (backslash, double quote and newline escaped).
fn esc(v: &str) -> String {
    v.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

fn le(b: f64) -> String {
    format!("{b}")
}

fn histogram<const N: usize>(out: &mut String, name: &str, labels: &str, h: &Histogram<N>, bounds: &[f64], sum_unit: f64) {
    let mut cum = 0;
    let sep = if labels.is_empty() { "" } else { "," };
    for (i, b) in bounds.iter().enumerate() {
        cum += h.buckets[i].load(Relaxed);
        let _ = writeln!(out, "{name}_bucket{{{labels}{sep}le=\"{}\"}} {cum}", le(*b));
    }
    cum += h.buckets[bounds.len()].load(Relaxed);
    let _ = writeln!(out, "{name}_bucket{{{labels}{sep}le=\"+Inf\"}} {cum}");
    let braces = if labels.is_empty() { String::new() } else { format!("{{{labels}}}") };
    let _ = writeln!(out, "{name}_sum{braces} {}", h.sum_us.load(Relaxed) as f64 / sum_unit);
    let _ = writeln!(out, "{name}_count{braces} {cum}");
}

/// Every metric in Prometheus's text exposition format (version 0.0.4). `builtin(i)`: the
/// words of builtin command `i`, None past the last.
pub fn render(builtin: &dyn Fn(usize) -> Option<String>) -> String {
    let foreign = FOREIGN_NAMES.lock().unwrap_or_else(|p| p.into_inner()).clone();
    let mut out = String::with_capacity(16 * 1024);
    // Commands: a counter and a histogram per mode and command that ran at least once.
    let ran: Vec<(Mode, usize, String, u64)> = MODES
        .iter()
        .flat_map(|&m| (0..SLOTS).map(move |s| (m, s)))
        .filter_map(|(m, s)| {
            let n = COMMANDS[m as usize][s].count();
            if n == 0 {
                return None;
            }
            Some((m, s, slot_name(s, builtin, &foreign)?, n))
        })
        .collect();
    out += "# HELP agi_commands_total AGI commands run, by mode (async, script, fastagi) and command.\n# TYPE agi_commands_total counter\n";
    for (m, _, name, n) in &ran {
        let _ = writeln!(out, "agi_commands_total{{mode=\"{}\",command=\"{}\"}} {n}", m.label(), esc(name));
    }
    out += "# HELP agi_command_duration_seconds How long AGI commands ran, by mode and command.\n# TYPE agi_command_duration_seconds histogram\n";
    for (m, s, name, _) in &ran {
        let labels = format!("mode=\"{}\",command=\"{}\"", m.label(), esc(name));
        histogram(&mut out, "agi_command_duration_seconds", &labels, &COMMANDS[*m as usize][*s], &DURATION_BUCKETS, 1e6);
    }
    out += "# HELP agi_async_calls Calls in Async AGI now.\n# TYPE agi_async_calls gauge\n";
    let _ = writeln!(out, "agi_async_calls {}", ASYNC_CALLS.load(Relaxed).max(0));
    out += "# HELP agi_queued_commands Commands queued on Async AGI calls now, not running yet.\n# TYPE agi_queued_commands gauge\n";
    let _ = writeln!(out, "agi_queued_commands {}", QUEUED.load(Relaxed).max(0));
    out += "# HELP agi_queue_depth Async AGI queue depth when a command was queued (counting it).\n# TYPE agi_queue_depth histogram\n";
    histogram(&mut out, "agi_queue_depth", "", &QUEUE_DEPTH, &DEPTH_BUCKETS, 1.0);
    out += "# HELP agi_cancellations_total Async AGI commands cancelled, by reason.\n# TYPE agi_cancellations_total counter\n";
    for (i, r) in CANCEL_REASONS.iter().enumerate() {
        let _ = writeln!(out, "agi_cancellations_total{{reason=\"{r}\"}} {}", CANCELLED[i].load(Relaxed));
    }
    out += "# HELP agi_interrupts_total Commands stopped by AGIInterrupt (AMI or CLI).\n# TYPE agi_interrupts_total counter\n";
    let _ = writeln!(out, "agi_interrupts_total {}", INTERRUPTS.load(Relaxed));
    out += "# HELP agi_flushes_total Async AGI queues flushed (AGIFlush, AGIInterrupt with Flush, CLI).\n# TYPE agi_flushes_total counter\n";
    let _ = writeln!(out, "agi_flushes_total {}", FLUSHES.load(Relaxed));
    out += "# HELP agi_sessions_total AGI() sessions ended, by mode and AGISTATUS.\n# TYPE agi_sessions_total counter\n";
    for m in MODES {
        for (i, o) in OUTCOMES.iter().enumerate() {
            let _ = writeln!(out, "agi_sessions_total{{mode=\"{}\",status=\"{o}\"}} {}", m.label(), SESSIONS[m as usize][i].load(Relaxed));
        }
    }
    out += "# HELP agi_fastagi_connect_seconds Time to connect to a FastAGI server, by scheme.\n# TYPE agi_fastagi_connect_seconds histogram\n";
    for (i, s) in SCHEMES.iter().enumerate() {
        histogram(&mut out, "agi_fastagi_connect_seconds", &format!("scheme=\"{s}\""), &CONNECTS[i], &CONNECT_BUCKETS, 1e6);
    }
    out += "# HELP agi_fastagi_connect_failures_total FastAGI connections that failed, by scheme.\n# TYPE agi_fastagi_connect_failures_total counter\n";
    for (i, s) in SCHEMES.iter().enumerate() {
        let _ = writeln!(out, "agi_fastagi_connect_failures_total{{scheme=\"{s}\"}} {}", CONNECT_FAILURES[i].load(Relaxed));
    }
    out
}

/// The same counters for `agi show stats`.
pub fn summary(builtin: &dyn Fn(usize) -> Option<String>) -> String {
    let foreign = FOREIGN_NAMES.lock().unwrap_or_else(|p| p.into_inner()).clone();
    let mut out = String::new();
    let _ = writeln!(out, "Calls in Async AGI now: {}", ASYNC_CALLS.load(Relaxed).max(0));
    let _ = writeln!(out, "Commands queued now: {}", QUEUED.load(Relaxed).max(0));
    let _ = writeln!(
        out,
        "Cancelled: {} (hangup), {} (flush), {} (failure); interrupts: {}; flushes: {}",
        CANCELLED[0].load(Relaxed),
        CANCELLED[1].load(Relaxed),
        CANCELLED[2].load(Relaxed),
        INTERRUPTS.load(Relaxed),
        FLUSHES.load(Relaxed)
    );
    for m in MODES {
        let s: Vec<String> = OUTCOMES.iter().enumerate().map(|(i, o)| format!("{o} {}", SESSIONS[m as usize][i].load(Relaxed))).collect();
        let _ = writeln!(out, "Sessions ({}): {}", m.label(), s.join(", "));
    }
    for (i, s) in SCHEMES.iter().enumerate() {
        let (n, f) = (CONNECTS[i].count(), CONNECT_FAILURES[i].load(Relaxed));
        if n + f > 0 {
            let avg = if n > 0 { CONNECTS[i].sum_us.load(Relaxed) as f64 / 1000.0 / n as f64 } else { 0.0 };
            let _ = writeln!(out, "FastAGI {s}://: {n} connected (mean {avg:.3} ms), {f} failed");
        }
    }
    let _ = writeln!(out, "{:<8} {:<36} {:>12} {:>12}", "Mode", "Command", "Run", "Mean (ms)");
    for m in MODES {
        for s in 0..SLOTS {
            let h = &COMMANDS[m as usize][s];
            let n = h.count();
            if n == 0 {
                continue;
            }
            let name = slot_name(s, builtin, &foreign).unwrap_or_default();
            let mean = h.sum_us.load(Relaxed) as f64 / 1000.0 / n as f64;
            let _ = writeln!(out, "{:<8} {:<36} {:>12} {:>12.3}", m.label(), name, n, mean);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_cumulative_and_end_in_the_count() {
        let h: Histogram<17> = Histogram::new();
        for v in [0.0001, 0.0007, 0.002, 100.0] {
            h.observe(&DURATION_BUCKETS, v, 1e6);
        }
        let mut out = String::new();
        histogram(&mut out, "x", "a=\"b\"", &h, &DURATION_BUCKETS, 1e6);
        assert!(out.contains("x_bucket{a=\"b\",le=\"0.0005\"} 1\n"), "{out}");
        assert!(out.contains("x_bucket{a=\"b\",le=\"0.001\"} 2\n"), "{out}");
        assert!(out.contains("x_bucket{a=\"b\",le=\"60\"} 3\n"), "{out}");
        assert!(out.contains("x_bucket{a=\"b\",le=\"+Inf\"} 4\n"), "{out}");
        assert!(out.contains("x_count{a=\"b\"} 4\n"), "{out}");
        assert!(out.contains("x_sum{a=\"b\"} 100.0028\n"), "{out}");
    }

    const STATUS: &str = "HTTP Server Status:\nPrefix: /asterisk\nServer: Asterisk\nServer Enabled and Bound to 127.0.0.1:8088\n\nEnabled URI's:\n/asterisk/metrics/... => Prometheus Metrics URI\n/asterisk/httpstatus => Asterisk HTTP General Status\n/asterisk/static/... => Asterisk HTTP Static Delivery\n\nEnabled Redirects:\n  None.\n";

    #[test]
    fn a_path_another_uri_serves_is_found() {
        let o = uri_owner(STATUS, "httpstatus", None).unwrap();
        assert_eq!((o.listed.as_str(), o.description.as_str(), o.exact), ("/asterisk/httpstatus", "Asterisk HTTP General Status", true));
        assert!(uri_owner(STATUS, "HTTPStatus", None).unwrap().exact, "http.c matches without case");
        assert!(uri_owner(STATUS, "metrics", None).unwrap().exact);
        let sub = uri_owner(STATUS, "metrics/agi", None).unwrap();
        assert_eq!((sub.description.as_str(), sub.exact), ("Prometheus Metrics URI", false));
        assert_eq!(uri_owner(STATUS, "metricsx", None), None);
        assert_eq!(uri_owner(STATUS, "httpstatus/x", None), None, "no subtree");
        assert_eq!(uri_owner(STATUS, "ops/agi", None), None);
        assert_eq!(uri_owner(STATUS, "httpstatus", Some("httpstatus")), None, "ours is left out");
        let bare = "Prefix: \nEnabled URI's:\n/metrics/agi => res_agi_rs metrics (Prometheus text format)\n\n";
        assert!(uri_owner(bare, "metrics/agi", None).unwrap().exact);
        assert_eq!(uri_owner("Prefix: \nEnabled URI's:\nNone.\n", "metrics/agi", None), None);
    }

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(esc("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}
