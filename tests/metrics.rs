//! The metrics endpoint (issue 21): with `metrics = yes` in res_agi_rs.conf, ours serves
//! Prometheus's text format on Asterisk's own HTTP server; the counters match what the test
//! did, promtool accepts the text, and a real Prometheus server (Debian's, in the chroot,
//! loopback only) scrapes it and answers queries with the same values. `agi show stats` shows
//! the same counters. Stock has no such thing (the path answers 404 there).
mod common;
use common::*;
use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// One HTTP GET on 127.0.0.1:`port`: status, headers (lowercase names), body.
fn http_get(port: u16, path: &str) -> (u16, HashMap<String, String>, String) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("connect to the HTTP server");
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(s, "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n").unwrap();
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
    // Off by default: nothing is served.
    assert_eq!(http_get(ast.http_port, "/metrics/agi").0, 404, "metrics are off by default");
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
    assert_eq!(http_get(ast.http_port, "/metrics/agi").0, 404, "the old path is gone");
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
    assert_eq!(http_get(stock.http_port, "/metrics/agi").0, 404);
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
