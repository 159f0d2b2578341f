//! Issue 27 ("The habit behind them"): `module unload res_agi_rs.so` while each kind of work
//! of ours is in flight, on a real Asterisk:
//!
//! 1. an Async AGI command running (`EXEC Wait 2` on a parked call, sent with Action: AGI);
//! 2. a FastAGI (agi://) session in progress (the server's `EXEC Wait 2` running);
//! 3. an agis:// session in progress (the same over TLS, through our relay thread);
//! 4. a relay thread finishing: agis:// sessions of one NOOP, the unload sent 0-5 ms after the
//!    NOOP's AGIExecStart, as the session ends and its relay thread is joined;
//! 5. a metrics scrape held open by a client that does not read (the HTTP server's thread
//!    stuck in ast_http_send, called from our callback);
//! 6. AMI actions in flight (AGIChannels and Action: AGI, in loops on other connections);
//! 7. CLI commands in flight (`agi show channels|commands|stats|memory`, in loops on other
//!    console connections and through Action: Command).
//!
//! Every attempt must end with Asterisk alive (the process running, AMI answering Ping, the
//! CLI answering `core show version`) and the module either unloaded (nothing of ours left
//! registered, nothing Asterisk kept; then `module load` brings it back and a parked call
//! answers NOOP) or refused with its reason in the log: ours ("res_agi_rs: cannot unload ..."),
//! or the loader's ("Soft unload failed, 'res_agi_rs.so' has use count N": Asterisk refuses by
//! itself, without calling our unload, while a channel is inside one of our applications or a
//! thread holds a running reference to the module). Where the work certainly lasts through the
//! attempt (1, 2, 3, 5) only a refusal is right, the work must then end as it would have, and
//! once it has, an unload must go through. Never a crash, never "Unloaded" while work of ours
//! still runs.
//!
//! Each scenario runs LIFETIME_RUNS times (default 3, as `make test` runs it; `make lifetime`
//! runs 20); each test writes what it saw (outcomes, refusal reasons, time) to stderr. The unloads go through Asterisk's console socket as `asterisk -rx`
//! sends them, on a connection opened ahead, so that the command leaves the moment the test
//! says. A loop of work that stops answering fails with every Asterisk thread's backtrace
//! (gdb in the chroot) in a file it names.
mod common;
use common::ami::{decode, Ami};
use common::*;
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// The sandbox's module file, held (shared) for the whole test: common::Asterisk holds it only
/// while booting, and these tests load it again and again (tests/deb_package.rs replaces and
/// removes it under the exclusive lock; seen: "cannot open shared object file" at a `module
/// load` while it ran beside this test).
fn hold_module_file() -> SandboxLock {
    sandbox_lock(false)
}

/// How many times each scenario runs (LIFETIME_RUNS, default 3).
fn runs() -> usize {
    std::env::var("LIFETIME_RUNS").ok().and_then(|v| v.trim().parse().ok()).filter(|&n| n > 0).unwrap_or(3)
}

/// A delay in [0, max) that differs from run to run and covers the range evenly (the golden
/// ratio's multiples modulo 1).
fn spread(i: usize, max: Duration) -> Duration {
    max.mul_f64((i as f64 * 0.618_033_988_75).fract())
}

// ---- The console: what `asterisk -rx` speaks --------------------------------------------

/// A connection to Asterisk's console socket, opened (greeting read) ahead of its command.
struct Console(UnixStream);

impl Console {
    fn open(ast: &Asterisk) -> Console {
        Console::open_at(&ctl_path(ast))
    }

    fn open_at(path: &Path) -> Console {
        Console::try_open(path).unwrap_or_else(|| panic!("the console socket {} does not answer", path.display()))
    }

    fn try_open(path: &Path) -> Option<Console> {
        let mut s = UnixStream::connect(path).ok()?;
        s.set_read_timeout(Some(Duration::from_secs(120))).ok()?;
        // The greeting, "host/pid/version\n", is one write.
        let mut greeting = [0u8; 512];
        let n = s.read(&mut greeting).ok()?;
        (n > 0).then_some(Console(s))
    }

    /// Runs `cmd` as `asterisk -rx` does (`cli quit after`: the server closes once it has run)
    /// and returns what it printed; None if the connection failed.
    fn run(mut self, cmd: &str) -> Option<String> {
        self.0.write_all(format!("cli quit after {cmd}\0").as_bytes()).ok()?;
        let mut out = Vec::new();
        self.0.read_to_end(&mut out).ok()?;
        Some(String::from_utf8_lossy(&out).into_owned())
    }
}

fn ctl_path(ast: &Asterisk) -> PathBuf {
    ast.instance_dir().join("run/asterisk.ctl")
}

// ---- Judging an attempt --------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Outcome {
    Unloaded,
    Refused,
}

/// What one scenario saw.
struct Tally {
    scenario: &'static str,
    started: Instant,
    attempts: usize,
    unloaded: usize,
    /// Refusal reasons (digits folded) and how often each came.
    refused: BTreeMap<String, usize>,
    /// Unloads refused once the work had ended, before one went through (channels being
    /// destroyed, the logger): not a failure while it goes through within the wait.
    idle_retries: usize,
    notes: Vec<String>,
}

impl Tally {
    fn new(scenario: &'static str) -> Tally {
        Tally { scenario, started: Instant::now(), attempts: 0, unloaded: 0, refused: BTreeMap::new(), idle_retries: 0, notes: Vec::new() }
    }

    /// Written straight to stderr (not through eprintln!, which the test harness captures):
    /// `make test` and `make lifetime` show what each scenario saw.
    fn report(&self) {
        let reasons: Vec<String> = self.refused.iter().map(|(r, n)| format!("{n} x {r:?}")).collect();
        let line = format!(
            "lifetime: {}: {} runs, {} attempts while the work was in flight: {} unloaded, {} refused [{}]; {} refusal(s) once idle before the unload went through; {:.1} s{}",
            self.scenario,
            runs(),
            self.attempts,
            self.unloaded,
            self.refused.values().sum::<usize>(),
            reasons.join("; "),
            self.idle_retries,
            self.started.elapsed().as_secs_f64(),
            self.notes.iter().map(|n| format!("\n  {n}")).collect::<String>()
        );
        let _ = writeln!(std::io::stderr(), "{line}");
    }
}

/// The last lines of the log, for a failure's message (the whole log is printed on panic).
fn tail(log: &str) -> String {
    let lines: Vec<&str> = log.lines().collect();
    lines[lines.len().saturating_sub(40)..].join("\n")
}

/// Asterisk is alive: the process runs, AMI answers a Ping, the CLI answers `core show version`.
fn alive(ast: &mut Asterisk, ami: &Ami, what: &str) {
    assert!(ast.is_running(), "{what}: Asterisk died; the log ends:\n{}", tail(&ast.log()));
    let id = ami.send(&[("Action", "Ping")]);
    let r = ami.wait(TIMEOUT, |m| m.get("Response").is_some() && m.get("Event").is_none() && m.get("ActionID") == Some(&id));
    if r.as_ref().is_none_or(|r| r.get("Response") != Some("Success")) {
        std::thread::sleep(Duration::from_millis(300));
        assert!(ast.is_running(), "{what}: Asterisk died (AMI Ping answered {r:?}); the log ends:\n{}", tail(&ast.log()));
        panic!("{what}: AMI Ping answered {r:?}; {}", backtraces(ast));
    }
    let v = ast.cli_raw("core show version");
    assert!(v.as_deref().is_some_and(|v| v.starts_with("Asterisk ")), "{what}: `core show version` said {v:?}");
    assert!(ast.is_running(), "{what}: Asterisk died; the log ends:\n{}", tail(&ast.log()));
}

/// Every thread's backtrace of the running Asterisk (gdb in the chroot), written to a file
/// beside the instance (kept: the instance's directory is removed when a test passes); the
/// file's path, for a failure's message.
fn backtraces(ast: &Asterisk) -> String {
    let out = Command::new("chroot")
        .arg(sandbox_root())
        .args(["gdb", "-p", &ast.pid().to_string(), "-batch", "-ex", "thread apply all bt"])
        .stdin(Stdio::null())
        .output();
    let text = match out {
        Ok(o) => format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr)),
        Err(e) => format!("gdb: {e}"),
    };
    let path = std::env::temp_dir().join(format!("lifetime-{}-backtraces.txt", ast.name));
    let _ = std::fs::write(&path, text);
    format!("every thread's backtrace: {}", path.display())
}

/// Whether `module show` lists res_agi_rs as running.
fn loaded(ast: &Asterisk) -> bool {
    ast.cli("module show like res_agi_rs").lines().any(|l| l.starts_with("res_agi_rs.so") && l.contains("Running"))
}

/// The log from byte `mark` on (a shorter log, rotated or cut, from its start).
fn log_since(ast: &Asterisk, mark: usize) -> String {
    let log = ast.log();
    if log.len() >= mark {
        log[mark..].to_string()
    } else {
        log
    }
}

/// The refusal's reason among the log lines written since `mark` (Asterisk's logger writes
/// asynchronously: waited for), digits folded to N.
fn refusal_reason(ast: &Asterisk, mark: usize, what: &str) -> String {
    let deadline = Instant::now() + TIMEOUT;
    loop {
        let log = log_since(ast, mark);
        let ours = log.lines().find_map(|l| l.find("res_agi_rs: cannot unload").map(|i| &l[i..]));
        let loader = log.lines().find_map(|l| l.find("unload failed, 'res_agi_rs.so' has use count").map(|i| &l[i..]));
        if let Some(line) = ours.or(loader) {
            return line.chars().map(|c| if c.is_ascii_digit() { 'N' } else { c }).collect::<String>().replace("NN", "N");
        }
        assert!(Instant::now() < deadline, "{what}: the unload was refused and no reason came in the log; since the attempt:\n{log}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// `module unload res_agi_rs.so` through `console` (opened before the work's moment), judged:
/// Asterisk alive; unloaded (and nothing of ours left: the CLI and AMI do not know our
/// commands, no registration was left behind) or refused (still running, with its reason in
/// the log).
fn unload(ast: &mut Asterisk, ami: &Ami, console: Console, mark: usize, what: &str, tally: &mut Tally) -> Outcome {
    let out = console.run("module unload res_agi_rs.so");
    if out.as_deref().is_some_and(|o| o.contains("Unloaded res_agi_rs.so")) {
        no_registration_kept(ast, mark, what);
    }
    alive(ast, ami, what);
    let out = out.unwrap_or_else(|| panic!("{what}: the console connection failed"));
    tally.attempts += 1;
    if out.contains("Unloaded res_agi_rs.so") {
        tally.unloaded += 1;
        gone(ast, ami, mark, what);
        return Outcome::Unloaded;
    }
    assert!(out.contains("Unable to unload resource res_agi_rs.so"), "{what}: `module unload` said {out:?}");
    let reason = refusal_reason(ast, mark, what);
    assert!(loaded(ast), "{what}: refused ({reason}) and not running: {}", ast.cli("module show like res_agi_rs"));
    *tally.refused.entry(reason).or_default() += 1;
    Outcome::Refused
}

/// After "Unloaded": nothing of ours is left registered (a CLI entry or manager action left
/// behind would point into unmapped code), and no registration was kept by Asterisk.
fn gone(ast: &mut Asterisk, ami: &Ami, mark: usize, what: &str) {
    assert!(!loaded(ast), "{what}: said Unloaded and is still running");
    let out = ast.cli_raw("agi show channels").unwrap_or_default();
    assert!(out.contains("No such command"), "{what}: `agi show channels` after the unload said {out:?}");
    alive(ast, ami, what);
    let r = ami.action(&[("Action", "AGIChannels")]);
    assert!(r.get("Message").unwrap_or("").contains("Invalid/unknown command"), "{what}: AGIChannels after the unload: {r:?}");
    let r = ami.action(&[("Action", "AGI"), ("Channel", "nosuch"), ("Command", "NOOP")]);
    assert!(r.get("Message").unwrap_or("").contains("Invalid/unknown command"), "{what}: Action: AGI after the unload: {r:?}");
    no_registration_kept(ast, mark, what);
    alive(ast, ami, what);
}

/// After "Unloaded": Asterisk did not keep a registration of ours (main/cli.c
/// ast_cli_unregister logs "Can't remove command that is in use" and still returns 0 when a
/// CLI command is running: the entry, static in our library, stays in the CLI's list of an
/// unmapped module). These lines are written before the unload answers; the logger writes
/// them a moment later.
fn no_registration_kept(ast: &mut Asterisk, mark: usize, what: &str) {
    std::thread::sleep(Duration::from_millis(150));
    let log = log_since(ast, mark);
    for kept in ["Can't remove command that is in use", "res_agi_rs: could not undo registration"] {
        if log.contains(kept) {
            std::thread::sleep(Duration::from_millis(500));
            let state = if ast.is_running() { "is still running" } else { "died" };
            panic!(
                "{what}: `module unload` said Unloaded although Asterisk kept a registration ({kept:?}): a CLI entry of the unmapped module stays in Asterisk's list; Asterisk {state}. Log since the attempt:\n{log}"
            );
        }
    }
}

/// A call parked, NOOP answered, the call hung up and gone: the module works.
fn works(ast: &Asterisk, ami: &Ami, what: &str) {
    let p = park(ami, "park", "lifetime");
    assert_eq!(agi_result(ami, &p, "NOOP"), "200 result=0\n", "{what}: NOOP on a parked call");
    assert_eq!(agi_result(ami, &p, "HANGUP"), "200 result=1\n", "{what}");
    ami.wait_event(TIMEOUT, |m| m.is_event("Hangup") && m.get("Uniqueid") == Some(&p.uniqueid));
    wait_no_channels(ast, TIMEOUT);
}

/// `module load res_agi_rs.so` brings it back, and it works.
fn load_back(ast: &mut Asterisk, ami: &Ami, what: &str) {
    let out = ast.cli("module load res_agi_rs.so");
    assert!(out.contains("Loaded res_agi_rs.so"), "{what}: `module load` said {out:?}");
    assert!(loaded(ast), "{what}: loaded and not running");
    works(ast, ami, what);
    alive(ast, ami, what);
}

/// Once the work has ended (no channel left): the unload goes through (retried for a moment),
/// then the module comes back and works.
fn unload_when_idle(ast: &mut Asterisk, ami: &Ami, what: &str, tally: &mut Tally) {
    wait_no_channels(ast, TIMEOUT);
    let deadline = Instant::now() + Duration::from_secs(15);
    let mut reasons = Vec::new();
    loop {
        let mark = ast.log().len();
        let out = Console::open(ast).run("module unload res_agi_rs.so");
        alive(ast, ami, what);
        let out = out.unwrap_or_else(|| panic!("{what}: the console connection failed"));
        if out.contains("Unloaded res_agi_rs.so") {
            gone(ast, ami, mark, what);
            break;
        }
        assert!(out.contains("Unable to unload resource res_agi_rs.so"), "{what}: `module unload` once idle said {out:?}");
        reasons.push(refusal_reason(ast, mark, what));
        tally.idle_retries += 1;
        assert!(Instant::now() < deadline, "{what}: the work has ended and the unload is still refused: {reasons:?}");
        std::thread::sleep(Duration::from_millis(200));
    }
    load_back(ast, ami, what);
}

// ---- FastAGI servers (tests/tls/tls_fastagi.py) ------------------------------------------

/// Test certificates (tests/tls/make_certs.py) in the instance's directory (removed with it):
/// the chroot path of that directory.
fn make_certs(ast: &Asterisk) -> String {
    let host = ast.instance_dir().join("tls");
    std::fs::create_dir_all(&host).unwrap();
    let out = Command::new("python3").arg(project_dir().join("tests/tls/make_certs.py")).arg(&host).output().expect("python3 tests/tls/make_certs.py");
    assert!(out.status.success(), "make_certs.py: {}", String::from_utf8_lossy(&out.stderr));
    format!("/srv/res_agi_rs/{}/tls", ast.name)
}

/// The Python FastAGI server (over TLS with make_certs's server.pem, or in plain text), sending
/// `commands` to every session; stopped on drop.
struct Server {
    child: Child,
    port: u16,
    log: PathBuf,
}

impl Server {
    fn start(ast: &Asterisk, tls: bool, commands: &[&str]) -> Server {
        static N: AtomicUsize = AtomicUsize::new(0);
        let log = ast.instance_dir().join(format!("fastagi-{}.log", N.fetch_add(1, Ordering::SeqCst)));
        let mut cmd = Command::new("python3");
        cmd.arg(project_dir().join("tests/tls/tls_fastagi.py")).args(["--port", "0", "--log"]).arg(&log);
        if tls {
            let certs = ast.instance_dir().join("tls");
            cmd.arg("--cert").arg(certs.join("server.pem")).arg("--key").arg(certs.join("server.key"));
        } else {
            cmd.arg("--plain");
        }
        for c in commands {
            cmd.args(["--commands", c]);
        }
        let mut child = cmd.stdout(Stdio::piped()).stderr(Stdio::null()).spawn().expect("python3 tests/tls/tls_fastagi.py");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        let port = line.trim().strip_prefix("LISTENING ").and_then(|p| p.parse().ok()).unwrap_or_else(|| panic!("tls_fastagi.py said {line:?}"));
        Server { child, port, log }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Waits until the server's log holds `n` lines containing `text`.
    fn wait_count(&self, text: &str, n: usize, what: &str) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while self.log().matches(text).count() < n {
            assert!(Instant::now() < deadline, "{what}: the server's log never had {n} x {text:?}:\n{}", self.log());
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// res_agi_rs.conf trusting the test CA for agis://, reloaded (a later load reads it too).
fn configure_tls(ast: &Asterisk, certs: &str) {
    std::fs::write(ast.instance_dir().join("etc/res_agi_rs.conf"), format!("[general]\nmaxqueue = 1000\n[tls]\ncafile = {certs}/ca.pem\n")).unwrap();
    ast.cli("module reload res_agi_rs.so");
    ast.wait_log("res_agi_rs.conf: [tls]: port 4573");
}

/// The AfterAGI event of the call whose AGI half is `id2`: its AGISTATUS.
fn after_agi(ami: &Ami, id2: &str, what: &str) -> String {
    let m = ami
        .wait(Duration::from_secs(30), |m| m.get("UserEvent") == Some("AfterAGI") && m.get("Uniqueid") == Some(id2))
        .unwrap_or_else(|| panic!("{what}: no AfterAGI for {id2}"));
    m.get("Status").unwrap_or("").to_string()
}

// ---- 1. An Async AGI command running -----------------------------------------------------

#[test]
fn unload_while_an_async_agi_command_runs() {
    let _module_file = hold_module_file();
    let mut ast = Asterisk::start(Flavour::Ours);
    let ami = test_ami(&ast);
    let mut tally = Tally::new("1. Async AGI command running (EXEC Wait 2 on a parked call)");
    for run in 0..runs() {
        let what = format!("scenario 1, run {run}");
        ami.clear();
        let p = park(&ami, "park", "lifetime");
        let id = format!("wait{run}");
        let r = ami.action(&[("Action", "AGI"), ("Channel", &p.channel), ("Command", "EXEC Wait 2"), ("CommandID", &id)]);
        assert_eq!(r.get("Response"), Some("Success"), "{what}: {r:?}");
        ami.wait_event(TIMEOUT, |m| m.is_event("AGIExecStart") && m.get("Uniqueid") == Some(&p.uniqueid) && m.get("Command") == Some("EXEC Wait 2"));
        let console = Console::open(&ast);
        std::thread::sleep(spread(run, Duration::from_millis(1500)));
        let mark = ast.log().len();
        let t = Instant::now();
        let outcome = unload(&mut ast, &ami, console, mark, &what, &mut tally);
        assert_eq!(outcome, Outcome::Refused, "{what}: unloaded while a channel was in Async AGI running EXEC Wait 2");
        // The command ends as it would have (its whole wait), the call stays parked and answers.
        let m = ami.wait_event(Duration::from_secs(5), |m| m.is_event("AsyncAGIExec") && m.get("CommandId") == Some(&id));
        assert_eq!(decode(m.get("Result").unwrap_or("")), "200 result=0\n", "{what}: {m:?}");
        assert!(m.get("Interrupted").is_none() && m.get("Cancelled").is_none(), "{what}: {m:?}");
        assert!(t.elapsed() < Duration::from_secs(3), "{what}: the refusal took {:?}", t.elapsed());
        assert_eq!(agi_result(&ami, &p, "NOOP"), "200 result=0\n", "{what}: the parked call after the refused unload");
        ami.action(&[("Action", "Hangup"), ("Channel", &p.channel)]);
        ami.wait_event(TIMEOUT, |m| m.is_event("Hangup") && m.get("Uniqueid") == Some(&p.uniqueid));
        unload_when_idle(&mut ast, &ami, &what, &mut tally);
    }
    tally.report();
}

// ---- 2 and 3. A FastAGI session in progress, plain and over TLS ---------------------------

/// A FastAGI session whose server's `EXEC Wait 2` is running when the unload comes: refused;
/// the session then ends as it would have (the server gets the wait's result, AGISTATUS
/// SUCCESS); once it has, the unload goes through.
fn session_in_progress(tls: bool) {
    let _module_file = hold_module_file();
    let mut ast = Asterisk::start(Flavour::Ours);
    let ami = test_ami(&ast);
    let (scheme, mut tally) = if tls {
        let certs = make_certs(&ast);
        configure_tls(&ast, &certs);
        ("agis", Tally::new("3. agis:// session in progress (EXEC Wait 2 sent by a TLS FastAGI server)"))
    } else {
        ("agi", Tally::new("2. agi:// session in progress (EXEC Wait 2 sent by a FastAGI server)"))
    };
    let server = Server::start(&ast, tls, &["EXEC Wait 2"]);
    let url = format!("{scheme}://localhost:{}/lifetime", server.port);
    for run in 0..runs() {
        let what = format!("scenario {}, run {run}", if tls { 3 } else { 2 });
        ami.clear();
        let (id1, id2) = (format!("s{run}-1"), format!("s{run}-2"));
        send_classic(&ami, &[&format!("AGISCRIPT={url}")], 30, Some((&id1, &id2)));
        server.wait_count("SENT EXEC Wait 2", run + 1, &what);
        let console = Console::open(&ast);
        std::thread::sleep(spread(run, Duration::from_millis(1200)));
        let mark = ast.log().len();
        let outcome = unload(&mut ast, &ami, console, mark, &what, &mut tally);
        assert_eq!(outcome, Outcome::Refused, "{what}: unloaded while a {scheme}:// session was running EXEC Wait 2");
        assert_eq!(after_agi(&ami, &id2, &what), "SUCCESS", "{what}: the session after the refused unload; server:\n{}", server.log());
        server.wait_count("GOT 200 result=0", run + 1, &what);
        server.wait_count("CLOSE", run + 1, &what);
        assert!(!server.log().contains("ERROR"), "{what}: the server saw an error:\n{}", server.log());
        unload_when_idle(&mut ast, &ami, &what, &mut tally);
    }
    tally.report();
}

#[test]
fn unload_while_a_fastagi_session_runs() {
    session_in_progress(false);
}

#[test]
fn unload_while_an_agis_session_runs() {
    session_in_progress(true);
}

// ---- 4. A relay thread finishing ---------------------------------------------------------

/// agis:// sessions of one NOOP: the unload goes out at varied delays (0-5 ms) after the
/// NOOP's AGIExecStart, while its answer goes through the relay, the server closes, and the
/// relay thread ends and is joined (measured: the session has ended 0.5-3.5 ms after the
/// AGIExecStart reached the test, so both outcomes come).
/// Either outcome is right; whichever comes, the session ended as it would have (SUCCESS,
/// the server got its answer and closed without an error) and Asterisk lives on.
#[test]
fn unload_while_an_agis_relay_thread_finishes() {
    let _module_file = hold_module_file();
    let mut ast = Asterisk::start(Flavour::Ours);
    let ami = test_ami(&ast);
    let certs = make_certs(&ast);
    configure_tls(&ast, &certs);
    let server = Server::start(&ast, true, &["NOOP"]);
    let url = format!("agis://localhost:{}/ending", server.port);
    let mut tally = Tally::new("4. agis:// relay thread finishing (unload 0-5 ms after the session's last command started)");
    const PER_RUN: usize = 5;
    // Outcomes by delay (in 0.5 ms steps): (unloaded, refused).
    let mut by_delay: BTreeMap<u64, (usize, usize)> = BTreeMap::new();
    let mut sessions = 0;
    for run in 0..runs() {
        for k in 0..PER_RUN {
            let i = run * PER_RUN + k;
            let what = format!("scenario 4, run {run}, session {k}");
            ami.clear();
            let (id1, id2) = (format!("e{i}-1"), format!("e{i}-2"));
            let console = Console::open(&ast);
            send_classic(&ami, &[&format!("AGISCRIPT={url}")], 30, Some((&id1, &id2)));
            ami.wait_event(Duration::from_secs(20), |m| m.is_event("AGIExecStart") && m.get("Uniqueid") == Some(&id2) && m.get("Command") == Some("NOOP"));
            let delay = spread(i, Duration::from_micros(5000));
            let t = Instant::now();
            while t.elapsed() < delay {
                std::hint::spin_loop();
            }
            let mark = ast.log().len();
            let outcome = unload(&mut ast, &ami, console, mark, &what, &mut tally);
            sessions += 1;
            let slot = by_delay.entry(delay.as_micros() as u64 / 500).or_default();
            if outcome == Outcome::Unloaded { slot.0 += 1 } else { slot.1 += 1 }
            assert_eq!(after_agi(&ami, &id2, &what), "SUCCESS", "{what} ({outcome:?} after {delay:?}); server:\n{}", server.log());
            server.wait_count("CLOSE", sessions, &what);
            assert!(!server.log().contains("ERROR"), "{what}: the server saw an error:\n{}", server.log());
            assert_eq!(server.log().matches("GOT 200 result=0").count(), sessions, "{what}: {}", server.log());
            wait_no_channels(&ast, TIMEOUT);
            alive(&mut ast, &ami, &what);
            if outcome == Outcome::Unloaded {
                load_back(&mut ast, &ami, &what);
            }
        }
        let what = format!("scenario 4, run {run}");
        unload_when_idle(&mut ast, &ami, &what, &mut tally);
    }
    tally.notes.push(format!(
        "by delay after the NOOP's AGIExecStart (ms: unloaded/refused): {}",
        by_delay.iter().map(|(d, (u, r))| format!("{:.1}: {u}/{r}", *d as f64 / 2.0)).collect::<Vec<_>>().join(", ")
    ));
    tally.report();
}

// ---- 5. A metrics scrape held open by a client that does not read ------------------------

/// One HTTP GET of 127.0.0.1:`port`: status and body.
fn http_get(port: u16, path: &str) -> (u16, String) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect to the HTTP server");
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(s, "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n").unwrap();
    let mut raw = Vec::new();
    let _ = s.read_to_end(&mut raw);
    let text = String::from_utf8_lossy(&raw).into_owned();
    let status = text.split_whitespace().nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
    let body = text.split_once("\r\n\r\n").map(|(_, b)| b.to_string()).unwrap_or_default();
    (status, body)
}

/// Makes the metrics text large (every builtin command once on a parked call: a counter and a
/// histogram each) and returns its length.
fn grow_the_metrics(ast: &Asterisk, ami: &Ami, what: &str) -> usize {
    let p = park(ami, "park", "metrics");
    for (i, c) in EVERY_COMMAND.iter().enumerate() {
        agi(ami, &p, c, &format!("big{i}"));
    }
    ami.action(&[("Action", "Hangup"), ("Channel", &p.channel)]);
    ami.wait_event(TIMEOUT, |m| m.is_event("Hangup") && m.get("Uniqueid") == Some(&p.uniqueid));
    let (status, body) = http_get(ast.http_port, "/metrics/agi");
    assert_eq!(status, 200, "{what}: {body}");
    assert!(body.contains("agi_commands_total{mode=\"async\",command=\"SPEECH RECOGNIZE\"} 1"), "{what}: {body}");
    body.len()
}

/// A scrape whose client does not read: the HTTP server's thread is inside our callback (in
/// ast_http_send) until the client goes. The unload must be refused (unloading would unmap
/// the code that thread returns into); the endpoint keeps answering others; once the client
/// has gone, the unload goes through.
#[test]
fn unload_while_a_metrics_scrape_is_held_open() {
    let _module_file = hold_module_file();
    let mut ast = Asterisk::start_http(Flavour::Ours);
    let ami = test_ami(&ast);
    std::fs::write(ast.instance_dir().join("etc/res_agi_rs.conf"), "[general]\nmaxqueue = 1000\nmetrics = yes\n").unwrap();
    ast.cli("module reload res_agi_rs.so");
    ast.wait_log("metrics served at /metrics/agi");
    let wmem_max: u64 = std::fs::read_to_string("/proc/sys/net/ipv4/tcp_wmem").unwrap().split_whitespace().nth(2).unwrap().parse().unwrap();
    let mut tally = Tally::new("5. metrics scrape held open by a client that does not read");
    for run in 0..runs() {
        let what = format!("scenario 5, run {run}");
        ami.clear();
        // The counters start again at every load: grown at every run.
        let body = grow_the_metrics(&ast, &ami, &what);
        wait_no_channels(&ast, TIMEOUT);
        // On loopback a socket's send buffer may grow to tcp_wmem's maximum: one answer fits
        // in it whole. Requests sent back to back on one connection (HTTP/1.1 keeps it open)
        // are answered one after the other, so enough of them overflow it.
        let requests = (wmem_max / body as u64 + 2) as usize;
        let client = stubborn_client(ast.http_port, &"GET /metrics/agi HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".repeat(requests));
        let client_port = client.local_addr().unwrap().port();
        // The premise: the server's thread is stuck in its write (what the kernel holds of the
        // answers stays still, under their total).
        let t = Instant::now();
        let (mut last, mut steady) = ((0, 0), Instant::now());
        loop {
            let q = tcp_queues(ast.http_port, client_port);
            if q != last {
                (last, steady) = (q, Instant::now());
            } else if q.0 + q.1 > 0 && steady.elapsed() > Duration::from_millis(300) {
                break;
            }
            assert!(t.elapsed() < Duration::from_secs(10), "{what}: the answers never stalled: {q:?}");
            std::thread::sleep(Duration::from_millis(20));
        }
        assert!(last.0 + last.1 < (requests * body) as u64, "{what}: the kernel took every answer ({last:?} of {requests} x {body} bytes): no writer is stuck");
        let mark = ast.log().len();
        let console = Console::open(&ast);
        let outcome = unload(&mut ast, &ami, console, mark, &what, &mut tally);
        if outcome == Outcome::Unloaded {
            // The thread in ast_http_send returns into our unmapped callback once the client goes.
            drop(client);
            std::thread::sleep(Duration::from_secs(1));
            let state = if ast.is_running() { "still running" } else { "died" };
            panic!("{what}: unloaded while a scrape of {body} bytes x {requests} was being sent to a client that does not read; once the client went, Asterisk {state}. Log since the attempt:\n{}", log_since(&ast, mark));
        }
        // Everyone else is still served.
        let (status, text) = http_get(ast.http_port, "/metrics/agi");
        assert!(status == 200 && text.contains("\nagi_async_calls "), "{what}: the endpoint after the refused unload: {status} {text}");
        drop(client);
        std::thread::sleep(Duration::from_millis(200));
        alive(&mut ast, &ami, &what);
        unload_when_idle(&mut ast, &ami, &what, &mut tally);
        let (status, text) = http_get(ast.http_port, "/metrics/agi");
        assert!(status == 200 && text.contains("\nagi_async_calls "), "{what}: the endpoint after the load: {status} {text}");
    }
    tally.report();
}

// ---- 6 and 7. AMI actions and CLI commands in flight -------------------------------------

/// Threads sending work of one kind in a loop until stopped; each counts what it did, and the
/// first thing that went wrong (work not answered, a broken connection) ends its loop and is
/// kept.
struct Hammer {
    stop: Arc<AtomicBool>,
    sent: Arc<AtomicUsize>,
    errors: Arc<std::sync::Mutex<Vec<String>>>,
    /// AMI actions answered "Permission denied" (see AmiLoop).
    denied: Arc<AtomicUsize>,
    threads: Vec<std::thread::JoinHandle<usize>>,
}

impl Hammer {
    fn new() -> Hammer {
        Hammer {
            stop: Arc::new(AtomicBool::new(false)),
            sent: Arc::new(AtomicUsize::new(0)),
            errors: Default::default(),
            denied: Default::default(),
            threads: Vec::new(),
        }
    }

    fn spawn(&mut self, body: impl Fn() -> Result<(), String> + Send + 'static) {
        let (stop, sent, errors) = (self.stop.clone(), self.sent.clone(), self.errors.clone());
        self.threads.push(std::thread::spawn(move || {
            let mut n = 0;
            while !stop.load(Ordering::SeqCst) {
                if let Err(e) = body() {
                    errors.lock().unwrap().push(e);
                    break;
                }
                n += 1;
                sent.fetch_add(1, Ordering::SeqCst);
            }
            n
        }));
    }

    /// Fails the test if a loop went wrong, with every thread's backtrace of Asterisk.
    fn check(&self, ast: &Asterisk, what: &str) {
        let errors = self.errors.lock().unwrap().clone();
        if !errors.is_empty() {
            panic!("{what}: the work in flight went wrong: {errors:?}; {}", backtraces(ast));
        }
    }

    /// Waits until `n` more pieces of work were done (the loops are running).
    fn wait_going(&self, ast: &Asterisk, n: usize, what: &str) {
        let (start, t) = (self.sent.load(Ordering::SeqCst), Instant::now());
        while self.sent.load(Ordering::SeqCst) < start + n {
            self.check(ast, what);
            assert!(t.elapsed() < Duration::from_secs(20), "{what}: the work in flight stalled; {}", backtraces(ast));
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    /// Stops the loops; how many pieces each did.
    fn stop(mut self, ast: &Asterisk, what: &str) -> Vec<usize> {
        self.stop.store(true, Ordering::SeqCst);
        let done = std::mem::take(&mut self.threads).into_iter().map(|t| t.join().expect("a hammer thread panicked")).collect();
        self.check(ast, what);
        done
    }
}

/// An AMI connection of a hammer thread: logged in with no events (a client that does not
/// read what Asterisk writes within the manager's writetimeout, 100 ms, is disconnected, and
/// thousands of actions a second after the unload bring as many security events,
/// RequestBadFormat, to every session that hears them). Asterisk itself closes the connection
/// after an action that raced the unload: main/manager.c process_message finds the action,
/// sees it unregistered before it could run, answers "Permission denied" and returns -1, which
/// ends the session (any module's actions, stock's too). Then the loop connects again; those
/// answers are counted in `denied`.
struct AmiLoop {
    port: u16,
    ami: std::sync::Mutex<Ami>,
    n: AtomicUsize,
    denied: Arc<AtomicUsize>,
}

impl AmiLoop {
    fn new(ast: &Asterisk, denied: &Arc<AtomicUsize>) -> AmiLoop {
        AmiLoop { port: ast.port, ami: std::sync::Mutex::new(quiet_ami(ast.port)), n: AtomicUsize::new(0), denied: denied.clone() }
    }

    /// Sends `action`, waits for its answer (any Response): its Response and Message.
    fn ask(&self, action: &[(&str, &str)]) -> Result<String, String> {
        let mut ami = self.ami.lock().unwrap();
        let r = answered(&ami, action, &self.n)?;
        if r == "Error Permission denied" {
            self.denied.fetch_add(1, Ordering::SeqCst);
            *ami = quiet_ami(self.port);
        }
        Ok(r)
    }
}

fn quiet_ami(port: u16) -> Ami {
    let a = Ami::connect(port);
    let r = a.action(&[("Action", "Login"), ("Username", "admin"), ("Secret", "admin"), ("Events", "off")]);
    assert_eq!(r.get("Response"), Some("Success"), "AMI login: {r:?}");
    a
}

/// The test's own AMI connection, hearing only what the tests wait for (calls, AGI, user
/// events, the system class): not the security events of the hammers' actions.
fn test_ami(ast: &Asterisk) -> Ami {
    let a = ast.ami();
    let r = a.action(&[("Action", "Events"), ("EventMask", "system,call,agi,user,dialplan")]);
    assert_eq!(r.get("Response"), Some("Success"), "Events mask: {r:?}");
    a
}

/// Sends `action` and waits for its answer (any Response); the answer's Response/Message.
fn answered(ami: &Ami, action: &[(&str, &str)], n: &AtomicUsize) -> Result<String, String> {
    let id = ami.send(action);
    let t = Instant::now();
    let r = ami
        .wait(Duration::from_secs(15), |m| m.get("Response").is_some() && m.get("Event").is_none() && m.get("ActionID") == Some(&id))
        .ok_or_else(|| format!("no answer to {action:?} (after {:?}: {})", t.elapsed(), if t.elapsed() < Duration::from_secs(14) { "the connection closed" } else { "timed out" }))?;
    if n.fetch_add(1, Ordering::Relaxed) % 200 == 199 {
        ami.clear();
    }
    Ok(format!("{} {}", r.get("Response").unwrap_or(""), r.get("Message").unwrap_or("")))
}

/// Runs one scenario of work that lasts an instant but never stops coming (6, 7): the unload
/// comes at a varied moment into it; either outcome is right, with Asterisk alive, every piece
/// of work answered, and the module back and working afterwards.
fn unload_under(scenario: &'static str, start: impl Fn(&Asterisk, &mut Hammer)) {
    let _module_file = hold_module_file();
    let mut ast = Asterisk::start(Flavour::Ours);
    let ami = test_ami(&ast);
    let mut tally = Tally::new(scenario);
    let (mut done, mut denied) = (0, 0);
    for run in 0..runs() {
        let what = format!("{scenario}, run {run}");
        ami.clear();
        let mut hammer = Hammer::new();
        start(&ast, &mut hammer);
        hammer.wait_going(&ast, 20, &what);
        let console = Console::open(&ast);
        std::thread::sleep(spread(run, Duration::from_millis(100)));
        let mark = ast.log().len();
        let outcome = unload(&mut ast, &ami, console, mark, &what, &mut tally);
        // More work against what the unload left, and (if it went) the load coming back under it.
        hammer.wait_going(&ast, 20, &what);
        if outcome == Outcome::Unloaded {
            let out = ast.cli("module load res_agi_rs.so");
            assert!(out.contains("Loaded res_agi_rs.so"), "{what}: `module load` said {out:?}");
            hammer.wait_going(&ast, 20, &what);
        }
        denied += hammer.denied.load(Ordering::SeqCst);
        done += hammer.stop(&ast, &what).iter().sum::<usize>();
        alive(&mut ast, &ami, &what);
        assert!(loaded(&ast), "{what}");
        works(&ast, &ami, &what);
        unload_when_idle(&mut ast, &ami, &what, &mut tally);
    }
    tally.notes.push(format!(
        "{done} actions/commands answered in all; {denied} AMI action(s) raced an unregistration: answered \"Permission denied\" and disconnected by Asterisk (main/manager.c process_message)"
    ));
    tally.report();
}

#[test]
fn unload_while_ami_actions_are_in_flight() {
    unload_under("6. AMI actions in flight (AGIChannels, Action: AGI)", |ast, hammer| {
        for _ in 0..2 {
            let a = AmiLoop::new(ast, &hammer.denied);
            hammer.spawn(move || {
                let r = a.ask(&[("Action", "AGIChannels")])?;
                if !(r.starts_with("Success") || r.contains("Invalid/unknown command") || r == "Error Permission denied") {
                    return Err(format!("AGIChannels answered {r:?}"));
                }
                let r = a.ask(&[("Action", "AGI"), ("Channel", "Local/nosuch@agi-00000000;2"), ("Command", "NOOP")])?;
                if !r.starts_with("Error") {
                    return Err(format!("Action: AGI on no channel answered {r:?}"));
                }
                Ok(())
            });
        }
    });
}

/// The CLI commands of ours the loops run (each an entry of its own in Asterisk's CLI list).
const CLI_COMMANDS: &[&str] = &["agi show channels", "agi show commands", "agi show stats", "agi show memory"];

#[test]
fn unload_while_cli_commands_are_in_flight() {
    unload_under("7. CLI commands in flight (agi show channels, commands, stats, memory)", |ast, hammer| {
        // Over AMI (Action: Command runs the CLI command on the manager's thread)...
        let a = AmiLoop::new(ast, &hammer.denied);
        let n = AtomicUsize::new(0);
        hammer.spawn(move || {
            let cmd = CLI_COMMANDS[n.fetch_add(1, Ordering::Relaxed) % CLI_COMMANDS.len()];
            let r = a.ask(&[("Action", "Command"), ("Command", cmd)])?;
            if !(r.starts_with("Success") || r.starts_with("Error")) {
                return Err(format!("Action: Command {cmd} answered {r:?}"));
            }
            Ok(())
        });
        // ...and through the console socket, as `asterisk -rx` runs them.
        for k in 0..2 {
            let path = ctl_path(ast);
            let n = AtomicUsize::new(k);
            hammer.spawn(move || {
                let cmd = CLI_COMMANDS[n.fetch_add(1, Ordering::Relaxed) % CLI_COMMANDS.len()];
                let out = Console::try_open(&path).and_then(|c| c.run(cmd)).ok_or("the console connection failed")?;
                // "No such command" once unloaded; "Command '...' failed." while loading (main/cli.c
                // ast_cli_command_full finds the entry, registered before the module runs).
                let failed = format!("Command '{cmd}' failed.");
                // `agi show commands` is the list's header and rows ("Not available" for each
                // summary on an Asterisk without XML docs: no "AGI" in it).
                let listed = out.starts_with(" Dead ") && out.contains("   noop   ");
                if !(out.contains("No such command") || out.contains(&failed) || out.contains("AGI") || out.contains("res_agi_rs") || listed) {
                    return Err(format!("`{cmd}` said {out:?}"));
                }
                Ok(())
            });
        }
    });
}

