//! The FastAGI-over-TLS rows of `make bench` (issue 21): calls/s and Asterisk's CPU per call
//! through `agis://` beside `agi://`, on res_agi_rs (stock has no agis://). Both go to the
//! same server, tests/tls/tls_fastagi.py (Python asyncio; `--plain` for agi://), which runs
//! three NOOPs per call; rounds alternate agi://, agis://, and each row is their median. The
//! server's own CPU (Python's TLS) shares the machine's 2 cores: calls/s is the machine's,
//! Asterisk's CPU per call is Asterisk's alone.
use super::{cpu_ticks, originate_classic, Client};
use crate::common::{project_dir, sandbox_root, wait_no_channels, Asterisk, Flavour};
use std::io::BufRead;
use std::time::{Duration, Instant};

pub struct TlsPlan {
    pub calls: usize,
    pub rounds: usize,
}

pub const FULL: TlsPlan = TlsPlan { calls: 300, rounds: 5 };
pub const SMOKE: TlsPlan = TlsPlan { calls: 10, rounds: 1 };

struct Server {
    child: std::process::Child,
    port: u16,
    log: std::path::PathBuf,
}

impl Server {
    fn start(dir: &std::path::Path, tls: bool, tag: &str) -> Server {
        let log = dir.join(format!("bench-{tag}.log"));
        let _ = std::fs::remove_file(&log);
        let mut cmd = std::process::Command::new("python3");
        cmd.arg(project_dir().join("tests/tls/tls_fastagi.py")).args(["--port", "0", "--log"]).arg(&log);
        cmd.args(["--commands", "NOOP", "--commands", "NOOP", "--commands", "NOOP"]);
        if tls {
            cmd.arg("--cert").arg(dir.join("server.pem")).arg("--key").arg(dir.join("server.key"));
        } else {
            cmd.arg("--plain");
        }
        let mut child = cmd.stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::null()).spawn().expect("python3 tests/tls/tls_fastagi.py");
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        let port = line.trim().strip_prefix("LISTENING ").and_then(|p| p.parse().ok()).expect("LISTENING <port>");
        Server { child, port, log }
    }

    fn closed(&self) -> usize {
        std::fs::read_to_string(&self.log).unwrap_or_default().lines().filter(|l| *l == "CLOSE").count()
    }

    fn errors(&self) -> usize {
        std::fs::read_to_string(&self.log).unwrap_or_default().lines().filter(|l| l.starts_with("ERROR")).count()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `n` calls through `url`: (calls/s, Asterisk CPU ms per call).
fn round(ast: &Asterisk, c: &mut Client, server: &Server, url: &str, n: usize) -> (f64, f64) {
    let before = server.closed();
    let ticks = cpu_ticks(ast.pid());
    let t = Instant::now();
    originate_classic(c, n, url);
    while server.closed() < before + n {
        assert!(t.elapsed() < Duration::from_secs(300), "{} of {n} calls through {url} done", server.closed() - before);
        std::thread::sleep(Duration::from_millis(20));
    }
    wait_no_channels(ast, Duration::from_secs(300));
    let rate = n as f64 / t.elapsed().as_secs_f64();
    while c.rx.try_recv().is_ok() {}
    (rate, (cpu_ticks(ast.pid()) - ticks) as f64 * 10.0 / n as f64)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

/// Runs the rows; returns the markdown section for docs/benchmarks.md.
pub fn run(plan: &TlsPlan) -> String {
    eprintln!("[bench] FastAGI over TLS: agis:// beside agi:// on res_agi_rs");
    let ast = Asterisk::start(Flavour::Ours);
    let inside = format!("/srv/res_agi_rs/{}/tls", ast.name);
    let dir = sandbox_root().join(inside.trim_start_matches('/'));
    std::fs::create_dir_all(&dir).unwrap();
    let made = std::process::Command::new("python3").arg(project_dir().join("tests/tls/make_certs.py")).arg(&dir).output().expect("make_certs.py");
    assert!(made.status.success(), "make_certs.py: {}", String::from_utf8_lossy(&made.stderr));
    std::fs::write(ast.instance_dir().join("etc/res_agi_rs.conf"), format!("[general]\n[tls]\ncafile = {inside}/ca.pem\n")).unwrap();
    ast.cli("module reload res_agi_rs.so");
    ast.wait_log("res_agi_rs.conf: [tls]: port");
    let mut c = Client::connect(ast.port);
    let (plain, tls) = (Server::start(&dir, false, "plain"), Server::start(&dir, true, "tls"));
    let (mut pr, mut pc, mut tr, mut tc) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for k in 0..plan.rounds {
        let (r, cpu) = round(&ast, &mut c, &plain, &format!("agi://127.0.0.1:{}/bench", plain.port), plan.calls);
        pr.push(r);
        pc.push(cpu);
        let (r2, cpu2) = round(&ast, &mut c, &tls, &format!("agis://localhost:{}/bench", tls.port), plan.calls);
        tr.push(r2);
        tc.push(cpu2);
        eprintln!("[bench]   round {}/{}: agi:// {r:.0} calls/s, {cpu:.2} ms CPU/call; agis:// {r2:.0} calls/s, {cpu2:.2} ms CPU/call", k + 1, plan.rounds);
    }
    assert_eq!(tls.errors(), 0, "TLS errors in the server's log");
    let (pr, pc, tr, tc) = (median(pr), median(pc), median(tr), median(tc));
    let out = format!(
        "<!-- tls:begin (make bench writes this section; bench --tls alone rewrites only it) -->\n## FastAGI over TLS (issue 21)\n\n\
         res_agi_rs alone (stock has no `agis://`): {} rounds of {} calls through `AGI(agi://127.0.0.1:port/bench)` and through \
         `AGI(agis://localhost:port/bench)` (Local channels, originated at once), alternating; each call runs three NOOPs. Both go to the same \
         server (tests/tls/tls_fastagi.py, Python asyncio; `--plain` for agi://), on the same 2 cores as Asterisk. Medians of the rounds.\n\n\
         | measure | agi:// | agis:// | agis:// costs |\n|---|---:|---:|---:|\n\
         | calls/s | {pr:.0} | {tr:.0} | {:.2}× the time |\n\
         | Asterisk CPU per call (ms) | {pc:.2} | {tc:.2} | +{:.2} ms |\n\n\
         What the extra time is spent on (not yet profiled part by part): the TLS handshake (an ECDSA P-256 certificate verified against the CA, the name checked), a \
         fresh SSL_CTX per connection (Asterisk's tcptls client makes one in the configuration it is given, so each connection has its own), \
         and a relay thread per call between the session's socket pair and the TLS stream.\n<!-- tls:end -->\n",
        plan.rounds,
        plan.calls,
        pr / tr,
        tc - pc
    );
    println!("\n{out}");
    out
}
