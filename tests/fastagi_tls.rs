//! FastAGI over TLS (issue 21): `AGI(agis://host[:port]/script)` and `hagis://service` through
//! Asterisk's own tcptls client, against a Python asyncio FastAGI server with `ssl` on loopback
//! (tests/tls/tls_fastagi.py) and certificates this test makes (tests/tls/make_certs.py): a
//! good certificate; a wrong CA, a name mismatch and an expired certificate, each refused with
//! its log line and AGISTATUS=FAILURE; mutual TLS with and without a client certificate; a
//! plain-text server (never a fallback); hagis:// with SRV failover through the loopback DNS
//! server; a server that stalls mid-handshake; 1,000 calls in a row with no descriptor or
//! memory growth.
mod common;
use common::ami::Ami;
use common::dns::Dns;
use common::*;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The certificates, made once per test run, where Asterisk (in the chroot) reads them too:
/// (host path, chroot path).
fn certs() -> &'static (PathBuf, String) {
    static CERTS: OnceLock<(PathBuf, String)> = OnceLock::new();
    CERTS.get_or_init(|| {
        let inside = format!("/srv/res_agi_rs/tls-{}", std::process::id());
        let host = sandbox_root().join(inside.trim_start_matches('/'));
        std::fs::create_dir_all(&host).unwrap();
        let out = Command::new("python3").arg(project_dir().join("tests/tls/make_certs.py")).arg(&host).output().expect("python3 tests/tls/make_certs.py");
        assert!(out.status.success(), "make_certs.py: {}", String::from_utf8_lossy(&out.stderr));
        (host, inside)
    })
}

/// The chroot path of certificate file `name` (for res_agi_rs.conf).
fn inside(name: &str) -> String {
    format!("{}/{name}", certs().1)
}

/// The Python FastAGI-over-TLS server; stopped on drop.
struct Server {
    child: Child,
    port: u16,
    log: PathBuf,
}

impl Server {
    fn start(cert: &str, extra: &[&str]) -> Server {
        static N: AtomicUsize = AtomicUsize::new(0);
        let (host, _) = certs();
        let log = host.join(format!("server-{}.log", N.fetch_add(1, Ordering::SeqCst)));
        let mut cmd = Command::new("python3");
        cmd.arg(project_dir().join("tests/tls/tls_fastagi.py")).args(["--port", "0", "--log"]).arg(&log);
        if !cert.is_empty() {
            cmd.arg("--cert").arg(host.join(format!("{cert}.pem"))).arg("--key").arg(host.join(format!("{cert}.key")));
        }
        for a in extra {
            cmd.arg(if a.ends_with(".pem") { host.join(a).to_string_lossy().into_owned() } else { a.to_string() });
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
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Ours with `[tls]` trusting the test CA (and `extra` lines), reloaded.
fn configure(ast: &Asterisk, extra: &str) {
    std::fs::write(ast.instance_dir().join("etc/res_agi_rs.conf"), format!("[general]\nmaxqueue = 1000\n[tls]\ncafile = {}\n{extra}", inside("ca.pem"))).unwrap();
    ast.cli("module reload res_agi_rs.so");
}

static CALLS: AtomicUsize = AtomicUsize::new(0);

/// Runs `AGI(url)` on a Local channel; its AGISTATUS.
fn agistatus(ami: &Ami, url: &str) -> String {
    let n = CALLS.fetch_add(1, Ordering::SeqCst);
    let (id1, id2) = (format!("tls{n}-1"), format!("tls{n}-2"));
    send_classic(ami, &[&format!("AGISCRIPT={url}")], 10, Some((&id1, &id2)));
    let m = ami.wait_event(Duration::from_secs(30), |m| m.get("UserEvent") == Some("AfterAGI") && m.get("Uniqueid") == Some(&id2));
    m.get("Status").unwrap_or("").to_string()
}

fn start() -> (Asterisk, Ami) {
    let ast = Asterisk::start(Flavour::Ours);
    let ami = ast.ami();
    configure(&ast, "");
    ast.wait_log("res_agi_rs.conf: [tls]: port 4573");
    (ast, ami)
}

#[test]
fn a_good_certificate_runs_the_session_as_fastagi() {
    let (_ast, ami) = start();
    let server = Server::start("server", &["--commands", "NOOP", "--commands", "GET VARIABLE AGISCRIPT"]);
    let url = format!("agis://localhost:{}/tls/path?x=1", server.port);
    ami.clear();
    assert_eq!(agistatus(&ami, &url), "SUCCESS", "{}", server.log());
    let log = server.log();
    for want in ["ENV agi_network: yes", "ENV agi_network_script: tls/path?x=1", "ENV agi_request: agis://localhost", "GOT 200 result=0", &format!("GOT 200 result=1 ({url})")] {
        assert!(log.contains(want), "no {want:?} in the server's log:\n{log}");
    }
    // The same events as FastAGI.
    let execs: Vec<_> = ami.snapshot().into_iter().filter(|m| m.is_event("AGIExecEnd")).collect();
    assert_eq!(execs.len(), 2, "{execs:?}");
    assert_eq!(execs[0].get("Command"), Some("NOOP"));
    // EAGI over the network is refused, as for agi://.
    let n = CALLS.fetch_add(1, Ordering::SeqCst);
    let (id1, id2) = (format!("tlse{n}-1"), format!("tlse{n}-2"));
    ami.send(&[("Action", "Originate"), ("Channel", "Local/eagi@agi"), ("Application", "Wait"), ("Data", "10"), ("Async", "true"), ("ChannelId", &id1), ("OtherChannelId", &id2), ("Variable", &format!("AGISCRIPT={url}"))]);
    let m = ami.wait_event(Duration::from_secs(30), |m| m.get("UserEvent") == Some("AfterAGI") && m.get("Uniqueid") == Some(id2.as_str()));
    assert_eq!(m.get("Status"), Some("FAILURE"));
}

#[test]
fn a_certificate_that_does_not_verify_fails_with_its_reason_and_sends_nothing() {
    let (ast, ami) = start();
    for (cert, why) in [
        ("other-server", "did not verify: unable to get local issuer certificate"),
        ("wrongname", "did not match (localhost)"),
        ("expired", "did not verify: certificate has expired"),
    ] {
        let server = Server::start(cert, &[]);
        assert_eq!(agistatus(&ami, &format!("agis://localhost:{}/x", server.port)), "FAILURE", "{cert}");
        ast.wait_log(why);
        std::thread::sleep(Duration::from_millis(200));
        assert!(!server.log().contains("ENV "), "{cert}: the server got the environment:\n{}", server.log());
    }
}

#[test]
fn a_plain_text_server_gets_no_plain_text() {
    let (ast, ami) = start();
    // A plain FastAGI server on the port: the handshake fails, nothing is sent in the clear.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let reader = std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        s.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
        let mut got = Vec::new();
        let _ = std::io::Read::read_to_end(&mut s, &mut got);
        got
    });
    let t = Instant::now();
    assert_eq!(agistatus(&ami, &format!("agis://localhost:{port}/x")), "FAILURE");
    let got = reader.join().unwrap();
    assert!(!got.is_empty() && got[0] == 0x16, "a TLS ClientHello, nothing else: {got:?}");
    assert!(!String::from_utf8_lossy(&got).contains("agi_network"), "plain text reached the server");
    assert!(t.elapsed() < Duration::from_secs(10));
    drop(ast);
}

#[test]
fn mutual_tls_with_and_without_a_client_certificate() {
    let (ast, ami) = start();
    let server = Server::start("server", &["--client-ca", "ca.pem"]);
    let url = format!("agis://localhost:{}/m", server.port);
    // Without one: the server refuses after the handshake; FAILURE, and one line says why.
    assert_eq!(agistatus(&ami, &url), "FAILURE", "{}", server.log());
    ast.wait_log("before the server sent anything (a client certificate it wanted?)");
    assert!(server.log().contains("ERROR"), "{}", server.log());
    // With one ([tls] certfile and privatekey).
    configure(&ast, &format!("certfile = {}\nprivatekey = {}\n", inside("client.pem"), inside("client.key")));
    ast.wait_log("option(s), server verified: yes");
    assert_eq!(agistatus(&ami, &url), "SUCCESS", "{}", server.log());
    assert!(server.log().contains("GOT 200 result=0"), "{}", server.log());
}

#[test]
fn hagis_follows_srv_records_over_tls_and_verifies_the_service_name() {
    let (ast, ami) = start();
    // A certificate for the service name the dialplan wrote (hagi.test).
    let server = Server::start("service", &[]);
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    // The first target (priority 10) refuses the connection; the second answers, and its
    // certificate is checked against the service's name, not the SRV target's (localhost):
    // the SRV answer is unauthenticated DNS (RFC 6125 section 6, RFC 7673 without DNSSEC).
    let dns = Dns::start(vec![(20, 0, server.port), (10, 0, closed)], "localhost");
    assert_eq!(agistatus(&ami, "hagis://hagi.test/srv"), "SUCCESS", "{}", server.log());
    ast.wait_log(&format!("AGI request failed for host 'hagi.test' (localhost:{closed})"));
    assert!(server.log().contains("ENV agi_network_script: srv"), "{}", server.log());
    assert_eq!(agistatus(&ami, "hagis://nosuch.test/x"), "FAILURE");
    ast.wait_log("SRV lookup failed for hagis://nosuch.test/x");
    drop(dns);
    // A server whose certificate names the SRV target the DNS answer chose (localhost), not
    // the service: whoever forges the answer chooses that name, so it does not pass.
    let forged = Server::start("server", &[]);
    let dns = Dns::start(vec![(10, 0, forged.port)], "localhost");
    assert_eq!(agistatus(&ami, "hagis://hagi.test/forged"), "FAILURE", "{}", forged.log());
    ast.wait_log("did not match (hagi.test)");
    std::thread::sleep(Duration::from_millis(200));
    assert!(!forged.log().contains("ENV "), "the forged target got the environment:\n{}", forged.log());
    drop(dns);
}

#[test]
fn a_server_that_stalls_mid_handshake_is_given_up_after_the_connect_timeout() {
    let (ast, ami) = start();
    let server = Server::start("", &["--stall"]);
    let t = Instant::now();
    assert_eq!(agistatus(&ami, &format!("agis://localhost:{}/x", server.port)), "FAILURE");
    let took = t.elapsed();
    assert!(took < Duration::from_secs(5), "gave up after {took:?}");
    ast.wait_log("within the connect timeout (2000 ms)");
    assert!(server.log().contains("STALL"), "{}", server.log());
}

#[test]
fn a_thousand_calls_in_a_row_leave_no_descriptor_and_no_memory() {
    let (mut ast, ami) = start();
    let server = Server::start("server", &[]);
    let url = format!("agis://localhost:{}/many", server.port);
    let fds = |pid: u32| std::fs::read_dir(format!("/proc/{pid}/fd")).map(|d| d.count()).unwrap_or(0);
    // Warm-up, then 1,000 in a row.
    for _ in 0..20 {
        assert_eq!(agistatus(&ami, &url), "SUCCESS");
    }
    std::thread::sleep(Duration::from_millis(300));
    let (fd0, heap0, proc0) = (fds(ast.pid()), module_heap(&ast), process_status(ast.pid()));
    // Two halves of 500: a per-call leak grows both alike, while the allocator's warm-up
    // (arenas, caches of a process that had served 20 calls) shows in the first only.
    let mut halves = Vec::new();
    for half in 0..2 {
        for i in 0..500 {
            assert_eq!(agistatus(&ami, &url), "SUCCESS", "call {}", half * 500 + i);
            if i % 100 == 99 {
                ami.clear();
            }
        }
        std::thread::sleep(Duration::from_millis(500));
        halves.push(process_status(ast.pid()));
    }
    let (fd1, heap1) = (fds(ast.pid()), module_heap(&ast));
    let (proc1, proc2) = (halves[0], halves[1]);
    eprintln!("1,000 agis:// calls: descriptors {fd0} -> {fd1}, module heap {heap0:?} -> {heap1:?}, process {proc0:?} -> {proc1:?} -> {proc2:?}");
    assert!(fd1 <= fd0 + 2, "Asterisk's descriptors: {fd0} -> {fd1}");
    assert!(heap1.0 - heap0.0 < 8192 && heap1.1 - heap0.1 < 32, "res_agi_rs heap: {heap0:?} -> {heap1:?}");
    // The process as a user measures it: a relay thread left behind per call held its stack
    // (about 500 kB of address space and 29 kB resident each, issue 27: 250 MB and 14 MB
    // over 500 calls).
    assert!(proc2.threads <= proc0.threads, "Asterisk's threads: {} -> {} -> {}", proc0.threads, proc1.threads, proc2.threads);
    assert!(proc2.vm_kb - proc1.vm_kb < 8 * 1024, "Asterisk's VmSize over the second 500 calls: {} -> {} kB", proc1.vm_kb, proc2.vm_kb);
    // RSS moves with the allocator's arenas (seen: +0.6 to +2.9 MB over the second 500, the
    // machine busy with other tests): the bound is above that noise and well below the 14 MB
    // the leaked stacks held.
    assert!(proc2.rss_kb - proc1.rss_kb < 8 * 1024, "Asterisk's RSS over the second 500 calls: {} -> {} kB", proc1.rss_kb, proc2.rss_kb);
    assert!(ast.is_running());
}

#[test]
fn a_hangup_reaches_the_server_as_hangup_over_tls() {
    let (_ast, ami) = start();
    let server = Server::start("server", &["--commands", "ANSWER", "--commands", "EXEC Wait 10", "--commands", "NOOP"]);
    send_classic(&ami, &[&format!("AGISCRIPT=agis://localhost:{}/h", server.port)], 30, None);
    // Hung up in the middle of the wait: the wait answers -1, and the next line the server
    // reads is HANGUP, as over agi://.
    let t = Instant::now();
    while !server.log().contains("SENT EXEC Wait 10") {
        assert!(t.elapsed() < Duration::from_secs(20), "{}", server.log());
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_millis(300));
    ami.action(&[("Action", "Hangup"), ("Channel", "/^Local\\/classic@agi-.*;2$/")]);
    while !server.log().contains("GOT HANGUP") {
        assert!(t.elapsed() < Duration::from_secs(20), "no HANGUP reached the server:\n{}", server.log());
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn agis_leaves_the_channel_thread_as_it_came_dangerous_functions_still_run() {
    let (ast, ami) = start();
    // The server reads DB() and SHELL() through the AGI; the dialplan reads them after it.
    let server = Server::start("server", &["--commands", "GET FULL VARIABLE ${DB(rs_tls/after)}", "--commands", "GET FULL VARIABLE \"${SHELL(printf agi-shell)}\""]);
    let n = CALLS.fetch_add(1, Ordering::SeqCst);
    let (id1, id2) = (format!("tlsdb{n}-1"), format!("tlsdb{n}-2"));
    ami.send(&[
        ("Action", "Originate"),
        ("Channel", "Local/classicdb@agi"),
        ("Application", "Wait"),
        ("Data", "10"),
        ("Async", "true"),
        ("ChannelId", &id1),
        ("OtherChannelId", &id2),
        ("Variable", &format!("AGISCRIPT=agis://localhost:{}/db", server.port)),
    ]);
    let m = ami.wait_event(Duration::from_secs(30), |m| m.get("UserEvent") == Some("AfterAGI") && m.get("Uniqueid") == Some(id2.as_str()));
    assert_eq!(m.get("Status"), Some("SUCCESS"), "{m:?}\n{}", server.log());
    let log = server.log();
    assert!(log.contains("GOT 200 result=1 (dialplan)"), "DB() in the AGI:\n{log}");
    assert!(log.contains("GOT 200 result=1 (agi-shell)"), "SHELL() in the AGI:\n{log}");
    // And in the dialplan after it, on the same thread.
    assert_eq!(m.get("Db"), Some("dialplan"), "DB() after the AGI: {m:?}");
    assert_eq!(m.get("Shell"), Some("shell-ok"), "SHELL() after the AGI: {m:?}");
    assert!(!ast.log().contains("Dangerous function"), "{}", ast.log());
}

#[test]
fn a_server_that_closes_without_close_notify_ends_as_over_agi() {
    let (ast, ami) = start();
    // The common simple server: it answers, then drops the connection without a close_notify.
    let server = Server::start("server", &["--commands", "NOOP", "--commands", "GET VARIABLE AGISCRIPT", "--no-close-notify"]);
    let url = format!("agis://localhost:{}/simple", server.port);
    for _ in 0..3 {
        assert_eq!(agistatus(&ami, &url), "SUCCESS", "{}", server.log());
    }
    assert_eq!(server.log().matches(&format!("GOT 200 result=1 ({url})")).count(), 3, "{}", server.log());
    std::thread::sleep(Duration::from_millis(300));
    let log = ast.log();
    for never in ["SSL_shutdown() failed", "unexpected eof", "the connection failed"] {
        assert!(!log.contains(never), "{never:?} in the log:\n{log}");
    }
    // The same server over agi:// (no TLS) ends the same way.
    let plain = Server::start("", &["--plain", "--commands", "NOOP"]);
    assert_eq!(agistatus(&ami, &format!("agi://localhost:{}/simple", plain.port)), "SUCCESS");
}

#[test]
fn a_host_name_too_long_for_asterisk_tls_is_refused_with_a_clear_line() {
    let (ast, ami) = start();
    // 64 bytes and more: Asterisk's tcptls client would cut it to its field and then fail
    // "did not match"; refused before any connect, saying why.
    let host = format!("{}.test", "a".repeat(60));
    assert_eq!(host.len(), 65);
    assert_eq!(agistatus(&ami, &format!("agis://{host}/x")), "FAILURE");
    ast.wait_log("the host name is 65 bytes long; Asterisk's TLS client checks certificates against names of at most 63");
}
