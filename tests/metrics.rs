//! The metrics endpoint (issue 21): with `metrics = yes` in res_agi_rs.conf, ours serves
//! Prometheus's text format on Asterisk's own HTTP server; the counters match what the test
//! did, promtool accepts the text, and a real Prometheus server (Debian's, in the chroot,
//! loopback only) scrapes it and answers queries with the same values. `agi show stats` shows
//! the same counters. Stock has no such thing (the path answers 404 there).
mod common;
use common::*;
// The pure part of src/metrics.rs (a leaf: it imports nothing of ours), with its own tests
// (the text format, the URI list of `http show status`): the library has no test binary.
#[path = "../src/metrics.rs"]
#[allow(dead_code)]
mod metrics_src;
use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// One HTTP GET on 127.0.0.1:`port`: status, headers (lowercase names), body.
fn http_get(port: u16, path: &str) -> (u16, HashMap<String, String>, String) {
    http_get_with(port, path, "")
}

/// The same with `extra` header lines (each ending in CRLF).
fn http_get_with(port: u16, path: &str, extra: &str) -> (u16, HashMap<String, String>, String) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect to the HTTP server");
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(s, "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{extra}Connection: close\r\n\r\n").unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).expect("read the HTTP answer");
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let mut lines = head.lines();
    let status = lines.next().and_then(|l| l.split_whitespace().nth(1)).and_then(|c| c.parse().ok()).unwrap_or(0);
    let headers = lines.filter_map(|l| l.split_once(':')).map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string())).collect();
    (status, headers, body.to_string())
}

/// The value of the series `series` (name with its labels, as written) in a scrape.
fn value(body: &str, series: &str) -> Option<f64> {
    body.lines().find_map(|l| l.strip_prefix(series).and_then(|rest| rest.strip_prefix(' ')).and_then(|v| v.trim().parse().ok()))
}

fn conf(ast: &Asterisk, text: &str) {
    std::fs::write(ast.instance_dir().join("etc/res_agi_rs.conf"), text).unwrap();
    ast.cli("module reload res_agi_rs.so");
}

/// Rewrites res_agi_rs.conf, reloads, and waits for a log line written after the reload
/// that contains `expect`.
fn conf_then(ast: &Asterisk, text: &str, expect: &str) {
    let before = ast.log().len();
    conf(ast, text);
    let t = Instant::now();
    while !ast.log()[before..].contains(expect) {
        assert!(t.elapsed() < Duration::from_secs(10), "no {expect:?} after the reload:\n{}", &ast.log()[before..]);
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Whether `path` answers with our metrics (a res_prometheus on a source build answers for
/// every path under its /metrics, ours not among them unless registered).
fn ours_at(port: u16, path: &str, extra: &str) -> bool {
    let (status, headers, body) = http_get_with(port, path, extra);
    // Ours says which version of the text format it is (res_prometheus: text/plain).
    status == 200 && body.contains("\nagi_async_calls ") && headers.get("content-type").is_some_and(|c| c.starts_with("text/plain; version=0.0.4"))
}

fn enable(ast: &Asterisk) {
    conf(ast, "[general]\nmaxqueue = 1000\nmetrics = yes\n");
    ast.wait_log("metrics served at /metrics/agi");
}

/// A FastAGI server for `calls` calls: reads each environment, sends `noops` NOOPs, closes.
fn fastagi(calls: usize, noops: usize) -> (u16, std::thread::JoinHandle<()>) {
    use std::io::{BufRead, BufReader};
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let t = std::thread::spawn(move || {
        for _ in 0..calls {
            let (s, _) = l.accept().unwrap();
            s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
            let mut r = BufReader::new(s.try_clone().unwrap());
            let mut w = s;
            let mut line = String::new();
            while r.read_line(&mut line).unwrap_or(0) > 0 && line.trim_end() != "" {
                line.clear();
            }
            for _ in 0..noops {
                w.write_all(b"NOOP\n").unwrap();
                line.clear();
                r.read_line(&mut line).unwrap();
            }
        }
    });
    (port, t)
}

fn after_agi(ami: &ami::Ami, id: &str) -> String {
    let m = ami.wait_event(Duration::from_secs(20), |m| m.get("UserEvent") == Some("AfterAGI") && m.get("Uniqueid") == Some(id));
    m.get("Status").unwrap_or("").to_string()
}

#[test]
fn the_endpoint_counts_what_ran_and_promtool_accepts_it() {
    let ast = Asterisk::start_http(Flavour::Ours);
    let ami = ast.ami();
    // Off by default: nothing of ours is served (a source build's res_prometheus answers
    // under its /metrics, without ours).
    assert!(!ours_at(ast.http_port, "/metrics/agi", ""), "metrics are off by default");
    enable(&ast);
    let p = park(&ami, "park", "");
    let (status, headers, body) = http_get(ast.http_port, "/metrics/agi");
    assert_eq!(status, 200, "{body}");
    assert!(headers.get("content-type").is_some_and(|c| c.starts_with("text/plain; version=0.0.4")), "{headers:?}");
    assert_eq!(value(&body, "agi_async_calls"), Some(1.0), "{body}");
    for i in 0..20 {
        agi(&ami, &p, "NOOP", &format!("n{i}"));
    }
    for i in 0..3 {
        agi(&ami, &p, "GET VARIABLE CHANNEL(name)", &format!("g{i}"));
    }
    agi(&ami, &p, "FROB NICATE", "u");
    // An interrupt, a flush of two queued, then a hangup with three queued.
    let started = |id: &'static str| move |m: &ami::Message| m.is_event("AGIExecStart") && m.get("Command") == Some(id);
    ami.action(&[("Action", "AGI"), ("Channel", &p.channel), ("Command", "EXEC Wait 10"), ("CommandID", "w1")]);
    ami.wait_event(TIMEOUT, started("EXEC Wait 10"));
    for q in ["f1", "f2"] {
        ami.action(&[("Action", "AGI"), ("Channel", &p.channel), ("Command", "NOOP"), ("CommandID", q)]);
    }
    let (_, _, mid) = http_get(ast.http_port, "/metrics/agi");
    assert_eq!(value(&mid, "agi_queued_commands"), Some(2.0), "{mid}");
    let r = ami.action(&[("Action", "AGIInterrupt"), ("Channel", &p.channel), ("Flush", "yes")]);
    assert_eq!(r.get("Response"), Some("Success"), "{r:?}");
    ami.wait_event(TIMEOUT, |m| m.is_event("AsyncAGIExec") && m.get("CommandId") == Some("f2"));
    ami.action(&[("Action", "AGI"), ("Channel", &p.channel), ("Command", "EXEC Wait 10"), ("CommandID", "w2")]);
    ami.wait_event(TIMEOUT, started("EXEC Wait 10"));
    for q in ["h1", "h2", "h3"] {
        ami.action(&[("Action", "AGI"), ("Channel", &p.channel), ("Command", "NOOP"), ("CommandID", q)]);
    }
    ami.action(&[("Action", "Hangup"), ("Channel", &p.channel)]);
    ami.wait_event(TIMEOUT, |m| m.is_event("AsyncAGIExec") && m.get("CommandId") == Some("h3"));
    // A local script (one NOOP), a FastAGI server (two NOOPs), a FastAGI server not there.
    send_classic(&ami, &["AGISCRIPT=trivial.sh"], 5, Some(("ms1-1", "ms1-2")));
    assert_eq!(after_agi(&ami, "ms1-2"), "SUCCESS");
    let (port, server) = fastagi(1, 2);
    send_classic(&ami, &[&format!("AGISCRIPT=agi://127.0.0.1:{port}/m")], 5, Some(("mf1-1", "mf1-2")));
    assert_eq!(after_agi(&ami, "mf1-2"), "SUCCESS");
    server.join().unwrap();
    let closed = free_port_closed();
    send_classic(&ami, &[&format!("AGISCRIPT=agi://127.0.0.1:{closed}/m")], 5, Some(("mx1-1", "mx1-2")));
    assert_eq!(after_agi(&ami, "mx1-2"), "FAILURE");
    std::thread::sleep(Duration::from_millis(300));

    let (_, _, body) = http_get(ast.http_port, "/metrics/agi");
    let want: &[(&str, f64)] = &[
        ("agi_commands_total{mode=\"async\",command=\"NOOP\"}", 20.0),
        ("agi_commands_total{mode=\"async\",command=\"GET VARIABLE\"}", 3.0),
        ("agi_commands_total{mode=\"async\",command=\"unknown\"}", 1.0),
        ("agi_commands_total{mode=\"async\",command=\"EXEC\"}", 2.0),
        ("agi_command_duration_seconds_count{mode=\"async\",command=\"NOOP\"}", 20.0),
        ("agi_commands_total{mode=\"script\",command=\"NOOP\"}", 1.0),
        ("agi_commands_total{mode=\"fastagi\",command=\"NOOP\"}", 2.0),
        ("agi_async_calls", 0.0),
        ("agi_queued_commands", 0.0),
        ("agi_queue_depth_count", 31.0),
        ("agi_cancellations_total{reason=\"flush\"}", 2.0),
        ("agi_cancellations_total{reason=\"hangup\"}", 3.0),
        ("agi_cancellations_total{reason=\"failure\"}", 0.0),
        ("agi_interrupts_total", 1.0),
        ("agi_flushes_total", 1.0),
        ("agi_sessions_total{mode=\"async\",status=\"HANGUP\"}", 1.0),
        ("agi_sessions_total{mode=\"script\",status=\"SUCCESS\"}", 1.0),
        ("agi_sessions_total{mode=\"fastagi\",status=\"SUCCESS\"}", 1.0),
        ("agi_sessions_total{mode=\"fastagi\",status=\"FAILURE\"}", 1.0),
        ("agi_fastagi_connect_seconds_count{scheme=\"agi\"}", 1.0),
        ("agi_fastagi_connect_failures_total{scheme=\"agi\"}", 1.0),
    ];
    for (series, v) in want {
        assert_eq!(value(&body, series), Some(*v), "{series} in:\n{body}");
    }
    // The NOOPs took under a second each: every one is in the 1 s bucket.
    assert_eq!(value(&body, "agi_command_duration_seconds_bucket{mode=\"async\",command=\"NOOP\",le=\"1\"}"), Some(20.0), "{body}");
    // promtool (Prometheus's own checker) accepts the text as it is.
    let file = ast.instance_dir().join("scrape.txt");
    std::fs::write(&file, &body).unwrap();
    let check = Command::new("chroot")
        .arg(sandbox_root())
        .args(["sh", "-c", &format!("promtool check metrics < /srv/res_agi_rs/{}/scrape.txt", ast.name)])
        .output()
        .expect("promtool in the chroot (scripts/sandbox.sh provision installs it)");
    assert!(check.status.success(), "promtool check metrics: {}{}", String::from_utf8_lossy(&check.stdout), String::from_utf8_lossy(&check.stderr));
    // The CLI shows the same counters.
    let cli = ast.cli("agi show stats");
    assert!(cli.contains("Metrics endpoint: /metrics/agi"), "{cli}");
    assert!(cli.lines().any(|l| l.starts_with("async") && l.contains("NOOP") && l.split_whitespace().any(|w| w == "20")), "{cli}");
    assert!(cli.contains("Cancelled: 3 (hangup), 2 (flush), 0 (failure); interrupts: 1; flushes: 1"), "{cli}");
}

/// A port with nothing listening on 127.0.0.1 (bound, then closed).
fn free_port_closed() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

#[test]
fn the_path_and_the_switch_follow_a_reload_and_bad_values_keep_the_last_good_ones() {
    let ast = Asterisk::start_http(Flavour::Ours);
    enable(&ast);
    assert_eq!(http_get(ast.http_port, "/metrics/agi").0, 200);
    conf(&ast, "[general]\nmetrics = yes\nmetrics_path = /ops/agi-metrics\n");
    ast.wait_log("metrics served at /ops/agi-metrics");
    assert_eq!(http_get(ast.http_port, "/ops/agi-metrics").0, 200);
    assert!(!ours_at(ast.http_port, "/metrics/agi", ""), "the old path is gone");
    conf(&ast, "[general]\nmetrics = perhaps\nmetrics_path = /a/../b\n");
    ast.wait_log("metrics = 'perhaps' is neither yes nor no; keeping yes");
    ast.wait_log("metrics_path = '/a/../b' is not a path the HTTP server can serve; keeping /ops/agi-metrics");
    assert_eq!(http_get(ast.http_port, "/ops/agi-metrics").0, 200);
    conf(&ast, "[general]\nmetrics = no\n");
    let t = Instant::now();
    while http_get(ast.http_port, "/ops/agi-metrics").0 != 404 {
        assert!(t.elapsed() < Duration::from_secs(5), "metrics = no still serves them");
        std::thread::sleep(Duration::from_millis(50));
    }
    // Stock serves nothing there.
    let stock = Asterisk::start_http(Flavour::Stock);
    assert!(!ours_at(stock.http_port, "/metrics/agi", ""));
}

/// Debian's Prometheus server in the chroot, on 127.0.0.1, scraping one target every second;
/// killed on drop.
struct Prometheus {
    child: Child,
    port: u16,
}

impl Prometheus {
    fn start(ast: &Asterisk, target_port: u16) -> Prometheus {
        let dir = ast.instance_dir().join("prometheus");
        std::fs::create_dir_all(dir.join("data")).unwrap();
        let inside = format!("/srv/res_agi_rs/{}/prometheus", ast.name);
        std::fs::write(
            dir.join("prometheus.yml"),
            format!(
                "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n  - job_name: asterisk\n    metrics_path: /metrics/agi\n    static_configs:\n      - targets: ['127.0.0.1:{target_port}']\n"
            ),
        )
        .unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let child = Command::new("chroot")
            .arg(sandbox_root())
            .args(["prometheus", &format!("--config.file={inside}/prometheus.yml"), &format!("--storage.tsdb.path={inside}/data")])
            .args([&format!("--web.listen-address=127.0.0.1:{port}"), "--log.level=warn"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.join("prometheus.log")).unwrap())
            .spawn()
            .expect("prometheus in the chroot (scripts/sandbox.sh provision installs it)");
        let p = Prometheus { child, port };
        let t = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(t.elapsed() < Duration::from_secs(30), "Prometheus did not start: {}", std::fs::read_to_string(dir.join("prometheus.log")).unwrap_or_default());
            std::thread::sleep(Duration::from_millis(100));
        }
        p
    }

    /// The one value of an instant query (None while it has no result).
    fn query(&self, q: &str) -> Option<f64> {
        let enc: String = q.bytes().map(|b| if b.is_ascii_alphanumeric() || b"_.-".contains(&b) { (b as char).to_string() } else { format!("%{b:02X}") }).collect();
        let (status, _, body) = http_get(self.port, &format!("/api/v1/query?query={enc}"));
        assert_eq!(status, 200, "{body}");
        // {"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1765.1,"123"]}]}}
        let v = body.split("\"value\":[").nth(1)?;
        v.split('"').nth(1)?.parse().ok()
    }
}

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn a_real_prometheus_server_scrapes_it_during_a_load() {
    let ast = Asterisk::start_http(Flavour::Ours);
    let ami = ast.ami();
    enable(&ast);
    let prom = Prometheus::start(&ast, ast.http_port);
    // A short load: 5 calls, 40 NOOPs each, while Prometheus scrapes every second.
    let chans = park_many(&ami, "prom", 5);
    let mut sent = 0;
    for round in 0..40 {
        for (i, c) in chans.iter().enumerate() {
            ami.send(&[("Action", "AGI"), ("Channel", c), ("Command", "NOOP"), ("CommandID", &format!("p{i}.{round}"))]);
            sent += 1;
        }
        std::thread::sleep(Duration::from_millis(25));
    }
    ami.wait_event(Duration::from_secs(30), |m| m.is_event("AsyncAGIExec") && m.get("CommandId") == Some("p4.39"));
    // Its query API answers what the test did, once it has scraped after the last command.
    let t = Instant::now();
    let mut last = None;
    while last != Some(sent as f64) {
        assert!(t.elapsed() < Duration::from_secs(20), "Prometheus says {last:?} NOOPs, the test sent {sent}");
        std::thread::sleep(Duration::from_millis(500));
        last = prom.query("sum(agi_commands_total{mode=\"async\"})");
    }
    let calls = prom.query("agi_async_calls").expect("agi_async_calls scraped");
    assert_eq!(calls, 5.0);
    assert_eq!(prom.query("up{job=\"asterisk\"}"), Some(1.0));
    // The histogram is usable as such: a quantile of the NOOPs' durations, under a second.
    let p99 = prom.query("histogram_quantile(0.99, sum by (le) (agi_command_duration_seconds_bucket{mode=\"async\",command=\"NOOP\"}))").expect("a quantile");
    assert!(p99 > 0.0 && p99 <= 1.0, "{p99}");
    ami.action(&[("Action", "Hangup"), ("Channel", "/^Local\\/park@agi/")]);
}

/// A FastAGI server for one call that sends `commands` (each answered before the next).
fn fastagi_sending(commands: &'static [&'static str]) -> (u16, std::thread::JoinHandle<()>) {
    use std::io::{BufRead, BufReader};
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let t = std::thread::spawn(move || {
        let (s, _) = l.accept().unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let mut r = BufReader::new(s.try_clone().unwrap());
        let mut w = s;
        let mut line = String::new();
        while r.read_line(&mut line).unwrap_or(0) > 0 && line.trim_end() != "" {
            line.clear();
        }
        for c in commands {
            w.write_all(format!("{c}\n").as_bytes()).unwrap();
            // The answer: one line, or a 520 usage block ending in "520 End of proper usage.".
            line.clear();
            r.read_line(&mut line).unwrap();
            if line.starts_with("520-") {
                while !line.starts_with("520 ") {
                    line.clear();
                    assert!(r.read_line(&mut line).unwrap() > 0, "{c}: the usage block ended early");
                }
            }
        }
    });
    (port, t)
}

/// Makes the metrics text large: every builtin command once on an Async AGI call and once in a
/// FastAGI session (two series families each, the histogram 19 lines). Returns its length.
fn grow_the_metrics(ast: &Asterisk, ami: &ami::Ami) -> usize {
    let p = park(ami, "park", "");
    for (i, c) in EVERY_COMMAND.iter().enumerate() {
        agi(ami, &p, c, &format!("big{i}"));
    }
    ami.action(&[("Action", "Hangup"), ("Channel", &p.channel)]);
    let (port, server) = fastagi_sending(EVERY_COMMAND);
    send_classic(ami, &[&format!("AGISCRIPT=agi://127.0.0.1:{port}/big")], 5, Some(("big-1", "big-2")));
    assert_eq!(after_agi(ami, "big-2"), "SUCCESS");
    server.join().unwrap();
    let (status, _, body) = http_get(ast.http_port, "/metrics/agi");
    assert_eq!(status, 200);
    for c in ["SPEECH RECOGNIZE", "TDD MODE"] {
        for m in ["async", "fastagi"] {
            assert!(body.contains(&format!("agi_commands_total{{mode=\"{m}\",command=\"{c}\"}} 1")), "{m} {c} in:\n{body}");
        }
    }
    body.len()
}

/// Issue 27: `module unload` while a scrape is still being sent to a client that does not
/// read. The HTTP server calls our callback after it has let go of its URI list's lock
/// (main/http.c handle_uri), so unlinking the URI does not wait for it: the thread is inside
/// ast_http_send, called from our callback. The unload was accepted and Asterisk died when
/// the thread came back into the unmapped code. Now the unload waits (bounded) and refuses.
#[test]
fn unload_is_refused_while_a_scrape_is_being_sent_and_asterisk_stays_up() {
    let mut ast = Asterisk::start_http(Flavour::Ours);
    let ami = ast.ami();
    enable(&ast);
    let body = grow_the_metrics(&ast, &ami);
    assert!(body > 128 * 1024, "the metrics text is only {body} bytes");
    // On loopback the kernel lets a socket's send buffer grow up to tcp_wmem's maximum (4 MB
    // here): one answer fits in it whole, and ast_http_send returns. Requests sent back to
    // back on one connection (HTTP/1.1 keeps it open) are answered one after the other, so
    // enough of them overflow it whatever the client's window.
    let wmem_max: u64 = std::fs::read_to_string("/proc/sys/net/ipv4/tcp_wmem").unwrap().split_whitespace().nth(2).unwrap().parse().unwrap();
    let requests = (wmem_max / body as u64 + 2) as usize;
    let client = stubborn_client(ast.http_port, &"GET /metrics/agi HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".repeat(requests));
    let client_port = client.local_addr().unwrap().port();
    // The server's thread is stuck in its write: what the kernel holds of the answer (the
    // server's send queue, the client's receive queue) stays under the body's length.
    let t = Instant::now();
    let mut last = (0, 0);
    let mut steady = Instant::now();
    loop {
        let q = tcp_queues(ast.http_port, client_port);
        if q != last {
            last = q;
            steady = Instant::now();
        } else if q.0 + q.1 > 0 && steady.elapsed() > Duration::from_millis(500) {
            break;
        }
        assert!(t.elapsed() < Duration::from_secs(10), "the answer never stalled: {q:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(
        last.0 + last.1 < (requests * body) as u64,
        "the kernel took every answer ({last:?} of {requests} x {body} bytes): the writer is not stuck"
    );

    let said = ast.cli("module unload res_agi_rs.so");
    assert!(!said.contains("Unloaded res_agi_rs.so"), "unloaded while a scrape was being sent: {said}");
    ast.wait_log("res_agi_rs: cannot unload while 1 request(s) to the metrics endpoint are still being answered");
    assert!(ast.is_running(), "Asterisk died");
    assert!(ast.cli("module show like res_agi_rs").contains("Running"));
    // The endpoint is back for everyone else.
    assert_eq!(http_get(ast.http_port, "/metrics/agi").0, 200);

    // Once the client is gone the thread leaves our code and the unload goes through.
    drop(client);
    let t = Instant::now();
    loop {
        let said = ast.cli("module unload res_agi_rs.so");
        if said.contains("Unloaded res_agi_rs.so") {
            break;
        }
        assert!(t.elapsed() < Duration::from_secs(10), "never unloaded: {said}");
        std::thread::sleep(Duration::from_millis(200));
    }
    std::thread::sleep(Duration::from_secs(1));
    assert!(ast.is_running(), "Asterisk died after the unload");
    assert!(ast.cli("module show like res_agi_rs").contains("0 modules loaded"));
    assert!(!ours_at(ast.http_port, "/metrics/agi", ""));
}

/// RFC 4648 base64 of `bytes`.
fn base64(bytes: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for c in bytes.chunks(3) {
        let n = (c[0] as u32) << 16 | (*c.get(1).unwrap_or(&0) as u32) << 8 | *c.get(2).unwrap_or(&0) as u32;
        for i in 0..4 {
            out.push(if i <= c.len() { A[(n >> (18 - 6 * i) & 63) as usize] as char } else { '=' });
        }
    }
    out
}

/// An Authorization header line for Basic authentication.
fn basic(user: &str, pass: &str) -> String {
    format!("Authorization: Basic {}\r\n", base64(format!("{user}:{pass}").as_bytes()))
}

/// Issue 27: Basic authentication with res_prometheus's three settings and rules
/// (res/res_prometheus.c: auth_username, auth_password, auth_realm, default realm "Asterisk
/// Prometheus Metrics"; a user name without a password refused). Without credentials or with
/// wrong ones: 401 and the challenge; with the right ones: the families.
#[test]
fn basic_auth_as_res_prometheus_has_it() {
    assert_eq!(base64(b"Aladdin:open sesame"), "QWxhZGRpbjpvcGVuIHNlc2FtZQ==");
    let ast = Asterisk::start_http(Flavour::Ours);
    let port = ast.http_port;
    let (user, pass) = ("scraper", "s3cret:with a colon");
    conf_then(
        &ast,
        &format!("[general]\nmetrics = yes\nauth_username = {user}\nauth_password = {pass}\nauth_realm = AGI metrics\n"),
        "metrics served at /metrics/agi on Asterisk's HTTP server (http.conf), Basic auth, realm \"AGI metrics\"",
    );
    let denied = [
        ("no credentials", String::new()),
        ("a wrong password", basic(user, "s3cret:with a colo")),
        ("a password one character longer", basic(user, "s3cret:with a colonn")),
        ("a wrong user", basic("scrapper", pass)),
        ("an empty user and password", basic("", "")),
        ("another scheme", "Authorization: Bearer c2NyYXBlcg==\r\n".to_string()),
    ];
    for (what, header) in &denied {
        let (status, headers, body) = http_get_with(port, "/metrics/agi", header);
        assert_eq!(status, 401, "{what}: {headers:?} {body}");
        assert_eq!(headers.get("www-authenticate").map(String::as_str), Some("Basic realm=\"AGI metrics\""), "{what}: {headers:?}");
        assert!(!body.contains("agi_"), "{what}: {body}");
    }
    let (status, _, body) = http_get_with(port, "/metrics/agi", &basic(user, pass));
    assert_eq!(status, 200, "{body}");
    for family in ["agi_commands_total counter", "agi_async_calls gauge", "agi_sessions_total counter", "agi_fastagi_connect_seconds histogram"] {
        assert!(body.contains(&format!("# TYPE {family}\n")), "{family} in:\n{body}");
    }
    // The realm defaults to res_prometheus's.
    conf_then(&ast, &format!("[general]\nmetrics = yes\nauth_username = {user}\nauth_password = {pass}\n"), "realm \"Asterisk Prometheus Metrics\"");
    let (status, headers, _) = http_get(port, "/metrics/agi");
    assert_eq!((status, headers.get("www-authenticate").map(String::as_str)), (401, Some("Basic realm=\"Asterisk Prometheus Metrics\"")));
    assert!(ours_at(port, "/metrics/agi", &basic(user, pass)));
    // One without the other: an error, and nothing served until it is fixed (not even with
    // the credentials that were good before).
    conf_then(&ast, "[general]\nmetrics = yes\nauth_username = scraper\n", "res_agi_rs.conf: auth_username is set without auth_password; the metrics are not served until it is fixed");
    assert!(!ours_at(port, "/metrics/agi", &basic(user, pass)) && !ours_at(port, "/metrics/agi", ""));
    conf_then(&ast, "[general]\nmetrics = yes\nauth_password = s3cret\n", "res_agi_rs.conf: auth_password is set without auth_username; the metrics are not served until it is fixed");
    assert!(!ours_at(port, "/metrics/agi", &basic(user, "s3cret")) && !ours_at(port, "/metrics/agi", ""));
    // A user name Basic authentication cannot carry.
    conf_then(&ast, "[general]\nmetrics = yes\nauth_username = a:b\nauth_password = c\n", "auth_username has a colon");
    assert!(!ours_at(port, "/metrics/agi", &basic("a:b", "c")) && !ours_at(port, "/metrics/agi", ""));
    // Fixed (no authentication at all): served to anyone again.
    conf_then(&ast, "[general]\nmetrics = yes\n", "metrics served at /metrics/agi on Asterisk's HTTP server (http.conf)\n");
    assert!(ours_at(port, "/metrics/agi", ""));
}

/// Issue 27: ast_http_uri_link never refuses a path (main/http.c: the newer of two equal paths
/// hides the older), so a metrics_path another URI has would silently take it over. It is
/// refused (with what serves it), matched without case as http.c matches, and the other URI
/// keeps answering.
#[test]
fn a_path_another_uri_serves_is_refused() {
    let ast = Asterisk::start_http(Flavour::Ours);
    let port = ast.http_port;
    let status = ast.cli("http show status");
    assert!(status.contains("/httpstatus => Asterisk HTTP General Status"), "the premise: http.c's status page at /httpstatus:\n{status}");
    let (code, _, theirs) = http_get(port, "/httpstatus");
    assert_eq!(code, 200, "{theirs}");
    for path in ["/httpstatus", "/HTTPStatus"] {
        conf_then(
            &ast,
            &format!("[general]\nmetrics = yes\nmetrics_path = {path}\n"),
            &format!("res_agi_rs: metrics_path {path} is already served by 'Asterisk HTTP General Status' (/httpstatus) on Asterisk's HTTP server; the metrics are not served (choose another metrics_path)"),
        );
        let (code, _, body) = http_get(port, "/httpstatus");
        assert_eq!(code, 200, "{body}");
        assert!(!body.contains("agi_") && body.contains("Asterisk"), "{path}: the status page was taken over:\n{body}");
        assert!(!ast.cli("http show status").contains("res_agi_rs metrics"));
    }
    // A free path is served (the refusal does not stick), and listed as ours.
    conf_then(&ast, "[general]\nmetrics = yes\nmetrics_path = /ops/agi\n", "metrics served at /ops/agi");
    assert!(ours_at(port, "/ops/agi", ""));
    assert!(ast.cli("http show status").contains("/ops/agi => res_agi_rs metrics (Prometheus text format)"));
    // Reloading with the same path keeps it served (it is not relinked: no moment without it).
    conf_then(&ast, "[general]\nmetrics = yes\nmetrics_path = /ops/agi\n", "metrics served at /ops/agi");
    assert!(ours_at(port, "/ops/agi", ""));
    // Moving onto a taken path: refused, and the old one is not served any more either.
    conf_then(&ast, "[general]\nmetrics = yes\nmetrics_path = /httpstatus\n", "res_agi_rs: metrics_path /httpstatus is already served by");
    assert!(!ours_at(port, "/ops/agi", "") && !ours_at(port, "/httpstatus", ""));
}

/// Issue 27: a load that declines (beside stock res_agi: `agi exec` is taken) frees the
/// metrics and TLS settings it had read (config.rs statics), as release_statics frees the
/// rest: dlclose runs no Rust destructor, and Asterisk unmaps a declined module without
/// calling its unload. What a declined load leaves in the module's heap is the same with
/// large settings as with none (before: the settings' bytes more, each time).
#[test]
fn a_declined_load_frees_the_metrics_and_tls_settings() {
    let ast = Asterisk::start(Flavour::StockPlusOurs);
    let path = format!("/{}", "m".repeat(150));
    let large = format!(
        "[general]\nmetrics = yes\nmetrics_path = {path}\nauth_username = {}\nauth_password = {}\nauth_realm = {}\n[tls]\nport = 4574\nciphers = HIGH:!aNULL:!MD5\nverify_server = no\n",
        "u".repeat(60),
        "p".repeat(60),
        "r".repeat(60)
    );
    // The heap a declined load leaves ("res_agi_rs: declined; its heap left N bytes in M
    // blocks"), with `conf` as res_agi_rs.conf.
    let declined = |conf: &str, what: &str| -> (i64, i64, String) {
        std::fs::write(ast.instance_dir().join("etc/res_agi_rs.conf"), conf).unwrap();
        let before = ast.log().len();
        ast.cli("module load res_agi_rs.so");
        let t = Instant::now();
        let line = loop {
            let log = ast.log();
            let log = log[before.min(log.len())..].to_string();
            if let Some(l) = log.lines().find(|l| l.contains("res_agi_rs: declined; its heap left")) {
                break (l.to_string(), log);
            }
            assert!(t.elapsed() < TIMEOUT, "{what}: no decline logged:\n{log}");
            std::thread::sleep(Duration::from_millis(50));
        };
        let (line, log) = line;
        ast.cli("module unload res_agi_rs.so");
        let words: Vec<&str> = line.split("left ").nth(1).unwrap_or("").split_whitespace().collect();
        let n = |i: usize| words.get(i).and_then(|w| w.parse().ok()).unwrap_or_else(|| panic!("{what}: {line}"));
        (n(0), n(3), log)
    };
    let (bytes, blocks, _) = declined("[general]\n", "no settings");
    for round in 0..2 {
        let (b, k, log) = declined(&large, "large settings");
        // They were read (so there was something to free).
        assert!(log.contains(&format!("metrics_path = {path}, Basic auth")) && log.contains("[tls]: port 4574, 2 option(s)"), "round {round}: the settings were not read:\n{log}");
        assert_eq!((b, k), (bytes, blocks), "round {round}: a declined load with large settings left {b} bytes in {k} blocks, with none {bytes} in {blocks}");
    }
}

/// Issue 27: where res_prometheus runs, our families join its scrape (its /metrics, under its
/// own authentication), also when it loads after us at startup; `metrics = no` takes them out,
/// and so does our unload (res_prometheus then scrapes on without calling into us).
/// res_prometheus unloaded under us forgets us without harm. Debian's package has no
/// res_prometheus: there ours loads and serves alone.
#[test]
fn the_metrics_join_res_prometheus_where_it_runs() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port().to_string();
    // metrics = yes from the start: at boot res_prometheus loads after res_agi_rs.
    let mut ast = Asterisk::start_with_env(Flavour::Ours, &[("SANDBOX_HTTP_PORT", &port), ("SANDBOX_METRICS", "yes")]);
    let port = ast.http_port;
    let shown = ast.cli("module show like res_prometheus");
    if target() == "deb" {
        assert!(shown.contains("0 modules loaded"), "Debian's package has no res_prometheus: {shown}");
        ast.wait_log("metrics served at /metrics/agi");
        assert!(ours_at(port, "/metrics/agi", ""));
        assert!(!ast.log().to_ascii_lowercase().contains("prometheus's scrape"), "{}", ast.log());
        return;
    }
    assert!(shown.lines().any(|l| l.starts_with("res_prometheus.so") && l.contains("Running")), "the sandbox loads res_prometheus on a source build: {shown}");
    ast.wait_log("res_agi_rs: metrics also in res_prometheus's scrape");
    let ami = ast.ami();
    let p = park(&ami, "park", "");
    agi(&ami, &p, "NOOP", "prom1");
    let (status, _, body) = http_get(port, "/metrics");
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("\nagi_async_calls 1\n") && body.contains("agi_commands_total{mode=\"async\",command=\"NOOP\"} 1\n"), "{body}");
    assert!(body.contains("# TYPE asterisk_"), "res_prometheus's own metrics: {body}");
    let families: Vec<&str> = body.lines().filter(|l| l.starts_with("# TYPE agi_")).collect();
    assert_eq!(families.len(), 11, "{families:?}");
    for f in &families {
        assert_eq!(body.matches(&format!("{f}\n")).count(), 1, "{f} twice:\n{body}");
    }
    // Our own endpoint stays, inside res_prometheus's /metrics/... subtree (said when linked
    // there while res_prometheus runs).
    assert!(ours_at(port, "/metrics/agi", ""));
    conf_then(&ast, "[general]\nmetrics = yes\nmetrics_path = /metrics/agi-moved\n", "res_agi_rs: metrics_path /metrics/agi-moved lies in the subtree of 'Prometheus Metrics URI' (/metrics/...)");
    assert!(ours_at(port, "/metrics/agi-moved", ""));
    // A reload keeps them there once.
    conf_then(&ast, "[general]\nmetrics = yes\n", "metrics also in res_prometheus's scrape");
    let (_, _, body) = http_get(port, "/metrics");
    assert_eq!(body.matches("# TYPE agi_commands_total counter\n").count(), 1, "{body}");
    // metrics = no: out of its scrape.
    conf_then(&ast, "[general]\nmetrics = no\n", "metrics = no");
    let (status, _, body) = http_get(port, "/metrics");
    assert!(status == 200 && body.contains("# TYPE asterisk_") && !body.contains("agi_"), "{body}");
    conf_then(&ast, "[general]\nmetrics = yes\n", "metrics also in res_prometheus's scrape");
    ami.action(&[("Action", "Hangup"), ("Channel", &p.channel)]);
    // res_prometheus unloaded under us: it forgets us; our reload finds it gone.
    assert!(ast.cli("module unload res_prometheus.so").contains("Unloaded res_prometheus.so"));
    conf_then(&ast, "[general]\nmetrics = yes\n", "metrics served at /metrics/agi");
    assert!(ast.is_running());
    // Back, and a reload of ours puts them in again.
    ast.cli("module load res_prometheus.so");
    conf_then(&ast, "[general]\nmetrics = yes\n", "metrics also in res_prometheus's scrape");
    assert!(http_get(port, "/metrics").2.contains("\nagi_async_calls 0\n"));
    // Our unload takes them out; res_prometheus scrapes on.
    let t = Instant::now();
    while !ast.cli("module unload res_agi_rs.so").contains("Unloaded res_agi_rs.so") {
        assert!(t.elapsed() < Duration::from_secs(10), "never unloaded:\n{}", ast.log());
        std::thread::sleep(Duration::from_millis(200));
    }
    for _ in 0..3 {
        let (status, _, body) = http_get(port, "/metrics");
        assert!(status == 200 && body.contains("# TYPE asterisk_") && !body.contains("agi_"), "{status}: {body}");
    }
    // res_prometheus, unloaded and loaded again under us, is whole (its CLI entries included:
    // a lookup that pinned its first mapping made this crash, shim_http.c).
    assert!(ast.cli("module show like res_prometheus").contains("Running"));
    assert!(ast.cli("prometheus show status").contains("Enabled: Yes"), "{}", ast.cli("prometheus show status"));
    assert!(ast.is_running());
}
