//! `make bench`: stock res_agi.so and res_agi_rs.so side by side on the same sandbox
//! Asterisk 22, same dialplan and load, in one run; prints one table with both and their
//! ratio and writes it, with the machine's description, to docs/benchmarks.md.
//! `bench --smoke` is a tiny run (used by `make test` so the benchmark never rots).
#[path = "../tests/common/mod.rs"]
mod common;
mod bench_ari;
mod bench_sched;
mod bench_sip;
mod bench_tls;

use common::{Asterisk, Flavour};
use std::collections::HashMap;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::net::TcpStream;
use std::sync::mpsc::{channel, Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

/// The benchmark's sizes; `smoke` shrinks everything.
struct Plan {
    pings: usize,
    ping_pipeline: usize,
    noops_ours: usize,
    noops_stock: usize,
    parked: usize,
    idle_secs: u64,
    pipeline_channels: usize,
    in_flight: usize,
    per_channel: usize,
    big_park: usize,
    /// Classic AGI: NOOPs on one FastAGI call, calls through agi:// and through a script,
    /// FastAGI calls held open for the memory row.
    fast_noops: usize,
    fast_calls: usize,
    script_calls: usize,
    held_calls: usize,
    /// Prompts stopped (AGIInterrupt, Redirect + re-park).
    interrupts: usize,
    /// Alternating rounds of the per-call rows (stock, ours, stock, ours…).
    rounds: usize,
    /// The Async AGI rows against the floors (alternating rounds): samples of each round trip
    /// (Ping, Setvar → VarSet, NOOP; stock's NOOPs are fewer, each costs its 100 ms poll),
    /// NOOPs per channel on 10 calls × 4 in flight, pipelined Setvars for the router's
    /// ceiling, and the 1,000-call row.
    floor_samples: usize,
    floor_noops_stock: usize,
    ten_per_channel_ours: usize,
    ten_per_channel_stock: usize,
    ceiling_setvars: usize,
    scale_channels: usize,
    scale_per_channel: usize,
}

const FULL: Plan = Plan {
    pings: 2000,
    ping_pipeline: 50_000,
    noops_ours: 2000,
    noops_stock: 50,
    parked: 1000,
    idle_secs: 10,
    pipeline_channels: 500,
    in_flight: 4,
    per_channel: 40,
    big_park: 10_000,
    fast_noops: 20_000,
    fast_calls: 300,
    script_calls: 200,
    held_calls: 300,
    interrupts: 200,
    rounds: 5,
    floor_samples: 1000,
    floor_noops_stock: 20,
    ten_per_channel_ours: 3000,
    ten_per_channel_stock: 40,
    ceiling_setvars: 30_000,
    scale_channels: 1000,
    scale_per_channel: 100,
};

const SMOKE: Plan = Plan {
    pings: 50,
    ping_pipeline: 500,
    noops_ours: 20,
    noops_stock: 3,
    parked: 20,
    idle_secs: 1,
    pipeline_channels: 10,
    in_flight: 4,
    per_channel: 8,
    big_park: 50,
    fast_noops: 200,
    fast_calls: 10,
    script_calls: 10,
    held_calls: 10,
    interrupts: 5,
    rounds: 1,
    floor_samples: 30,
    floor_noops_stock: 3,
    ten_per_channel_ours: 50,
    ten_per_channel_stock: 4,
    ceiling_setvars: 500,
    scale_channels: 20,
    scale_per_channel: 8,
};

const WAIT: Duration = Duration::from_secs(120);

/// Waits that needed a Ping to get Asterisk's manager to deliver queued events (see
/// `Client::recv`).
static NUDGES: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

enum Msg {
    Response { id: String, ok: bool, message: String },
    Start { uniqueid: String, channel: String },
    Exec { command_id: String, result: String },
    /// An AGIExecEnd (forwarded only while `Client::exec_ends` is on).
    ExecEnd,
    /// A VarSet (clients logged in with `dialplan` events: the Setvar floor).
    VarSet { value: String },
}

/// A lean AMI client: a reader thread parses and forwards only what the benchmark needs.
struct Client {
    w: BufWriter<TcpStream>,
    rx: Receiver<Msg>,
    /// Forward AGIExecEnd events (classic runs count them; off elsewhere, so the async
    /// phases' client does no extra work).
    exec_ends: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl Client {
    fn connect(port: u16) -> Client {
        Client::connect_with(port, "agi")
    }

    /// Logged in with `Events: <events>` (the floor rows need `agi,dialplan`).
    fn connect_with(port: u16, events: &str) -> Client {
        let s = TcpStream::connect(("127.0.0.1", port)).expect("AMI connect");
        s.set_nodelay(true).unwrap();
        let r = s.try_clone().unwrap();
        let (tx, rx) = channel();
        let exec_ends = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let forward_ends = exec_ends.clone();
        std::thread::spawn(move || {
            let mut r = BufReader::with_capacity(1 << 20, r);
            let mut line = String::new();
            let _ = r.read_line(&mut line);
            let mut h: HashMap<String, String> = HashMap::new();
            loop {
                line.clear();
                match r.read_line(&mut line) {
                    Ok(0) | Err(_) => return,
                    Ok(_) => {}
                }
                let t = line.trim_end();
                if !t.is_empty() {
                    if let Some((k, v)) = t.split_once(": ") {
                        h.entry(k.to_string()).or_insert_with(|| v.to_string());
                    }
                    continue;
                }
                let get = |h: &HashMap<String, String>, k: &str| h.get(k).cloned().unwrap_or_default();
                // The acks of `Action: AGI` and `Action: Setvar` are dropped here, as an
                // efficient client leaves an ack it does not wait for unread by its logic: the
                // round trips end at the event (AsyncAGIExec, VarSet), and forwarding the ack
                // would wake the waiting thread once more inside every round trip (ARI's ends at
                // its first message, the 204). Failures still come through.
                let ack = h.get("Response").is_some_and(|r| r == "Success")
                    && h.get("Message").is_some_and(|m| m == "Added AGI command to queue" || m == "Variable Set");
                let msg = if ack || h.get("ActionID").is_some_and(|id| id == "rs-nudge") {
                    None
                } else if let Some(resp) = h.get("Response") {
                    Some(Msg::Response { id: get(&h, "ActionID"), ok: resp == "Success", message: get(&h, "Message") })
                } else {
                    match h.get("Event").map(String::as_str) {
                        Some("AsyncAGIStart") => Some(Msg::Start { uniqueid: get(&h, "Uniqueid"), channel: get(&h, "Channel") }),
                        Some("AsyncAGIExec") => Some(Msg::Exec { command_id: get(&h, "CommandId"), result: get(&h, "Result") }),
                        Some("AGIExecEnd") if forward_ends.load(std::sync::atomic::Ordering::Relaxed) => Some(Msg::ExecEnd),
                        Some("VarSet") if h.get("Variable").is_some_and(|v| v == "RSFLOOR") => Some(Msg::VarSet { value: get(&h, "Value") }),
                        _ => None,
                    }
                };
                h.clear();
                if let Some(m) = msg {
                    if tx.send(m).is_err() {
                        return;
                    }
                }
            }
        });
        let mut c = Client { w: BufWriter::with_capacity(1 << 16, s), rx, exec_ends };
        c.send(&format!("Action: Login\r\nUsername: admin\r\nSecret: admin\r\nEvents: {events}\r\nActionID: login\r\n\r\n"));
        c.flush();
        c.wait_response("login");
        c
    }

    fn send(&mut self, s: &str) {
        self.w.write_all(s.as_bytes()).expect("AMI write");
    }

    fn flush(&mut self) {
        self.w.flush().expect("AMI flush");
    }

    /// The next message. After each second without one, an `Action: Ping` goes out (its
    /// response is not forwarded): Asterisk 22.10's manager can lose a session's wake-up and
    /// keep events queued until the client sends something (asterisk/asterisk#2145); each
    /// such nudge is counted in NUDGES and reported with the table.
    fn recv(&mut self) -> Msg {
        let deadline = Instant::now() + WAIT;
        loop {
            match self.rx.recv_timeout(Duration::from_secs(1)) {
                Ok(m) => return m,
                Err(RecvTimeoutError::Timeout) if Instant::now() < deadline => {
                    NUDGES.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    self.send("Action: Ping\r\nActionID: rs-nudge\r\n\r\n");
                    self.flush();
                }
                Err(RecvTimeoutError::Timeout) => panic!("no AMI message for {WAIT:?}"),
                Err(RecvTimeoutError::Disconnected) => panic!("AMI connection closed"),
            }
        }
    }

    fn wait_response(&mut self, id: &str) {
        loop {
            if let Msg::Response { id: got, ok, message } = self.recv() {
                if got == id {
                    assert!(ok, "action {id} failed: {message}");
                    return;
                }
            }
        }
    }

    fn agi(&mut self, channel: &str, command: &str, command_id: &str) {
        self.send(&format!("Action: AGI\r\nChannel: {channel}\r\nCommand: {command}\r\nCommandID: {command_id}\r\nActionID: {command_id}\r\n\r\n"));
    }
}

fn percentile(v: &mut [Duration], p: f64) -> Duration {
    v.sort();
    v[((v.len() as f64 - 1.0) * p).round() as usize]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn ping_rtt(c: &mut Client, n: usize) -> Vec<Duration> {
    (0..n)
        .map(|i| {
            let id = format!("p{i}");
            let t = Instant::now();
            c.send(&format!("Action: Ping\r\nActionID: {id}\r\n\r\n"));
            c.flush();
            c.wait_response(&id);
            t.elapsed()
        })
        .collect()
}

fn ping_rate(c: &mut Client, total: usize, window: usize) -> f64 {
    let t = Instant::now();
    let (mut sent, mut done) = (0, 0);
    while done < total {
        while sent < total && sent - done < window {
            c.send(&format!("Action: Ping\r\nActionID: q{sent}\r\n\r\n"));
            sent += 1;
        }
        c.flush();
        if let Msg::Response { .. } = c.recv() {
            done += 1;
        }
    }
    total as f64 / t.elapsed().as_secs_f64()
}

/// The floor for an event that takes our events' path (channel topic → manager router →
/// session): `Action: Setvar` on a parked channel, timed until its `VarSet` arrives on the
/// same connection (logged in with `dialplan` events).
fn setvar_rtt(c: &mut Client, channel: &str, n: usize) -> Vec<Duration> {
    (0..n)
        .map(|i| {
            let v = format!("v{i}");
            let t = Instant::now();
            c.send(&format!("Action: Setvar\r\nChannel: {channel}\r\nVariable: RSFLOOR\r\nValue: {v}\r\nActionID: s{i}\r\n\r\n"));
            c.flush();
            loop {
                match c.recv() {
                    Msg::VarSet { value } if value == v => break,
                    Msg::Response { ok: false, message, .. } => panic!("Action: Setvar failed: {message}"),
                    _ => {}
                }
            }
            t.elapsed()
        })
        .collect()
}

/// The manager router's ceiling on one connection: pipelined `Setvar`s (`window` in flight),
/// counted by their `VarSet` events; events per second.
fn setvar_rate(c: &mut Client, channel: &str, total: usize, window: usize) -> f64 {
    let t = Instant::now();
    let (mut sent, mut done) = (0, 0);
    while done < total {
        while sent < total && sent - done < window {
            c.send(&format!("Action: Setvar\r\nChannel: {channel}\r\nVariable: RSFLOOR\r\nValue: c{sent}\r\nActionID: c{sent}\r\n\r\n"));
            sent += 1;
        }
        c.flush();
        let mut next = Some(c.recv());
        while let Some(msg) = next {
            match msg {
                Msg::VarSet { .. } => done += 1,
                Msg::Response { ok: false, message, .. } => panic!("Action: Setvar failed: {message}"),
                _ => {}
            }
            next = c.rx.try_recv().ok();
        }
    }
    total as f64 / t.elapsed().as_secs_f64()
}

/// One round of the Async AGI rows on one Asterisk (issue 19).
#[derive(Default, Clone)]
struct FloorRound {
    ping_p50: f64,
    setvar1_p50: f64,
    noop1_p50: f64,
    noop1_p99: f64,
    rate10: f64,
    ceiling: f64,
    setvar_n_p50: f64,
    noop_n_p50: f64,
    noop_n_p99: f64,
    rate_n: f64,
    cpu_n: f64,
    /// The same round trips measured the second way (issue 28): a run of Setvar → VarSet,
    /// then a run of NOOPs, one at a time each, on the same channel at the same moments.
    setvar1_run_p50: f64,
    noop1_run_p50: f64,
    setvar_n_run_p50: f64,
    noop_n_run_p50: f64,
}

/// Setvar → VarSet and NOOP round trips on `channel`, interleaved (Setvar, NOOP, Setvar…) so
/// that both see the same moment of the machine; `setvars` and `noops` samples.
fn paired_rtt(c: &mut Client, channel: &str, setvars: usize, noops: usize) -> (Vec<Duration>, Vec<Duration>) {
    let (mut s, mut n) = (Vec::new(), Vec::new());
    for i in 0..setvars.max(noops) {
        if i < setvars {
            s.extend(setvar_rtt(c, channel, 1));
        }
        if i < noops {
            n.extend(noop_rtt(c, channel, 1));
        }
    }
    (s, n)
}

/// The same round trips the other way (issue 28): `setvars` Setvar → VarSet one at a time,
/// then `noops` NOOPs one at a time, on `channel`. Not the same moments as the interleaved
/// pairs, and not the same machine state either: see docs/benchmarks-notes.md, "The floor,
/// two ways".
fn run_rtt(c: &mut Client, channel: &str, setvars: usize, noops: usize) -> (Vec<Duration>, Vec<Duration>) {
    let s = setvar_rtt(c, channel, setvars);
    let n = noop_rtt(c, channel, noops);
    (s, n)
}

fn floor_round(flavour: Flavour, ast: &Asterisk, c: &mut Client, plan: &Plan, tag: &str) -> FloorRound {
    let stock = flavour == Flavour::Stock;
    let noops = if stock { plan.floor_noops_stock } else { plan.floor_samples };
    let mut r = FloorRound::default();
    // One call parked (and nine more for the 10-call row).
    let (ten, _) = park(c, 10, &format!("{tag}t"));
    r.ping_p50 = ms(percentile(&mut ping_rtt(c, plan.floor_samples), 0.5));
    let (mut setvars, mut rtt) = paired_rtt(c, &ten[0], plan.floor_samples, noops);
    r.setvar1_p50 = ms(percentile(&mut setvars, 0.5));
    r.noop1_p50 = ms(percentile(&mut rtt, 0.5));
    r.noop1_p99 = ms(percentile(&mut rtt, 0.99));
    let (mut setvars, mut rtt) = run_rtt(c, &ten[0], plan.floor_samples, noops);
    r.setvar1_run_p50 = ms(percentile(&mut setvars, 0.5));
    r.noop1_run_p50 = ms(percentile(&mut rtt, 0.5));
    r.ceiling = setvar_rate(c, &ten[0], plan.ceiling_setvars, 500);
    let per = if stock { plan.ten_per_channel_stock } else { plan.ten_per_channel_ours };
    r.rate10 = pipelined(c, &ten, 4, per).0;
    hangup_all(c, ast);
    // The 1,000-call row.
    let (chans, _) = park(c, plan.scale_channels, &format!("{tag}s"));
    std::thread::sleep(Duration::from_millis(300));
    let (mut setvars, mut rtt) = paired_rtt(c, &chans[chans.len() / 2], plan.floor_samples, noops);
    r.setvar_n_p50 = ms(percentile(&mut setvars, 0.5));
    r.noop_n_p50 = ms(percentile(&mut rtt, 0.5));
    r.noop_n_p99 = ms(percentile(&mut rtt, 0.99));
    let (mut setvars, mut rtt) = run_rtt(c, &chans[chans.len() / 2], plan.floor_samples, noops);
    r.setvar_n_run_p50 = ms(percentile(&mut setvars, 0.5));
    r.noop_n_run_p50 = ms(percentile(&mut rtt, 0.5));
    let ticks = cpu_ticks(ast.pid());
    let (rate, done) = pipelined(c, &chans, 4, plan.scale_per_channel);
    assert_eq!(done, plan.scale_channels * plan.scale_per_channel);
    r.rate_n = rate;
    r.cpu_n = (cpu_ticks(ast.pid()) - ticks) as f64 * 10.0 / (done as f64 / 1000.0);
    hangup_all(c, ast);
    r
}

/// The Async AGI rows against the floors: both Asterisks booted side by side, alternating
/// rounds (stock first in even rounds, ours first in odd ones); each row is the median of
/// its rounds.
fn floor_rounds(plan: &Plan) -> (Vec<FloorRound>, Vec<FloorRound>) {
    eprintln!("[bench] floor rows: booting stock and ours side by side");
    let asts = [Asterisk::start(Flavour::Stock), Asterisk::start(Flavour::Ours)];
    let mut clients: Vec<Client> = asts.iter().map(|a| Client::connect_with(a.port, "agi,dialplan")).collect();
    let mut out: [Vec<FloorRound>; 2] = [Vec::new(), Vec::new()];
    for round in 0..plan.rounds {
        let order = if round % 2 == 0 { [0, 1] } else { [1, 0] };
        for i in order {
            let flavour = if i == 0 { Flavour::Stock } else { Flavour::Ours };
            eprintln!("[bench] floor round {}/{}: {flavour:?}", round + 1, plan.rounds);
            let r = floor_round(flavour, &asts[i], &mut clients[i], plan, &format!("f{round}"));
            eprintln!(
                "[bench]   ping {:.3} setvar {:.3} noop {:.3} ms (runs: {:.3} {:.3}); 10x4 {:.0}/s; ceiling {:.0}/s; at {}: setvar {:.3} noop {:.3} ms (runs: {:.3} {:.3}), {:.0}/s, {:.1} ms CPU/1000",
                r.ping_p50, r.setvar1_p50, r.noop1_p50, r.setvar1_run_p50, r.noop1_run_p50, r.rate10, r.ceiling, plan.scale_channels, r.setvar_n_p50, r.noop_n_p50, r.setvar_n_run_p50, r.noop_n_run_p50, r.rate_n, r.cpu_n
            );
            out[i].push(r);
        }
    }
    let [s, o] = out;
    (s, o)
}

/// Parks `n` Local calls in AGI(agi:async); returns their channel names and the time taken.
fn park(c: &mut Client, n: usize, tag: &str) -> (Vec<String>, Duration) {
    let t = Instant::now();
    send_batched(c, n, |i| {
        format!(
            "Action: Originate\r\nChannel: Local/park@agi\r\nApplication: Wait\r\nData: 36000\r\nTimeout: 36000000\r\nAsync: true\r\nChannelId: {tag}{i}-1\r\nOtherChannelId: {tag}{i}-2\r\nActionID: o{tag}{i}\r\n\r\n"
        )
    });
    let mut chans = vec![String::new(); n];
    let mut got = 0;
    let mut shown = Instant::now();
    while got < n {
        if n >= 100 && shown.elapsed() >= Duration::from_secs(2) {
            eprintln!("[bench]   parked {got}/{n}");
            shown = Instant::now();
        }
        match c.recv() {
            Msg::Start { uniqueid, channel } => {
                if let Some(i) = uniqueid.strip_prefix(tag).and_then(|s| s.strip_suffix("-2")).and_then(|s| s.parse::<usize>().ok()) {
                    if i < n && chans[i].is_empty() {
                        chans[i] = channel;
                        got += 1;
                    }
                }
            }
            Msg::Response { ok: false, message, id } => panic!("Originate {id} failed: {message}"),
            _ => {}
        }
    }
    (chans, t.elapsed())
}

fn noop_rtt(c: &mut Client, channel: &str, n: usize) -> Vec<Duration> {
    (0..n)
        .map(|i| {
            let id = format!("n{i}");
            let t = Instant::now();
            c.agi(channel, "NOOP", &id);
            c.flush();
            loop {
                match c.recv() {
                    Msg::Exec { command_id, result } if command_id == id => {
                        assert_eq!(result, "200%20result%3D0%0A");
                        break;
                    }
                    Msg::Response { ok: false, message, .. } => panic!("Action: AGI failed: {message}"),
                    _ => {}
                }
            }
            t.elapsed()
        })
        .collect()
}

/// `in_flight` NOOPs outstanding on each channel until each has run `per_channel`;
/// returns commands per second and how many results came back.
fn pipelined(c: &mut Client, chans: &[String], in_flight: usize, per_channel: usize) -> (f64, usize) {
    let total = chans.len() * per_channel;
    let mut sent = vec![0usize; chans.len()];
    let t = Instant::now();
    for (i, ch) in chans.iter().enumerate() {
        for _ in 0..in_flight.min(per_channel) {
            c.agi(ch, "NOOP", &format!("{i}.{}", sent[i]));
            sent[i] += 1;
        }
    }
    c.flush();
    let mut done = 0;
    while done < total {
        // Handle everything that has arrived, then send the refills in one write.
        let mut next = Some(c.recv());
        while let Some(msg) = next {
            match msg {
                Msg::Exec { command_id, result } => {
                    assert_eq!(result, "200%20result%3D0%0A");
                    done += 1;
                    let i: usize = command_id.split('.').next().unwrap().parse().unwrap();
                    if sent[i] < per_channel {
                        c.agi(&chans[i], "NOOP", &format!("{i}.{}", sent[i]));
                        sent[i] += 1;
                    }
                }
                Msg::Response { ok: false, message, .. } => panic!("Action: AGI failed: {message}"),
                _ => {}
            }
            next = c.rx.try_recv().ok();
        }
        c.flush();
    }
    (total as f64 / t.elapsed().as_secs_f64(), done)
}

fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("read /proc/PID/stat");
    let rest = &stat[stat.rfind(')').unwrap() + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    // After the state field: utime is field 14 of the whole line, stime 15.
    f[11].parse::<u64>().unwrap() + f[12].parse::<u64>().unwrap()
}

fn rss_kb(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status.lines().find(|l| l.starts_with("VmRSS:")).and_then(|l| l.split_whitespace().nth(1)).unwrap().parse().unwrap()
}

fn idle_cores(pid: u32, secs: u64) -> f64 {
    let hz = 100.0; // USER_HZ, the unit of /proc/PID/stat times, is 100 on Linux

    let a = cpu_ticks(pid);
    for done in 0..secs {
        std::thread::sleep(Duration::from_secs(1));
        if done % 3 == 2 && done + 1 < secs {
            eprintln!("[bench]   idle: {}/{secs} s", done + 1);
        }
    }
    let b = cpu_ticks(pid);
    (b - a) as f64 / hz / secs as f64
}

fn hangup_all(c: &mut Client, ast: &Asterisk) {
    c.send("Action: Hangup\r\nChannel: /^Local\\//\r\nActionID: hupall\r\n\r\n");
    c.flush();
    c.wait_response("hupall");
    let deadline = Instant::now() + Duration::from_secs(120);
    while !ast.cli("core show channels count").starts_with("0 active channels") {
        assert!(Instant::now() < deadline, "channels did not hang up");
        std::thread::sleep(Duration::from_millis(100));
    }
    while c.rx.try_recv().is_ok() {}
}

#[derive(Default, Clone)]
struct Results {
    ping_p50: f64,
    ping_rate: f64,
    noop_p50: f64,
    noop_p99: f64,
    noop_samples: usize,
    /// Every NOOP round trip (ms), for the picture.
    noop_rtts: Vec<f64>,
    pipelined: f64,
    /// Asterisk CPU time (ms) per 1,000 pipelined commands.
    cpu_per_1000: f64,
    idle_cores: f64,
    rss_per_call_kb: f64,
    park_secs: f64,
    fast_rss_per_call_kb: f64,
}

fn measure(flavour: Flavour, plan: &Plan) -> Results {
    eprintln!("[bench] {flavour:?}: booting the sandbox");
    let ast = Asterisk::start(flavour);
    let pid = ast.pid();
    let mut c = Client::connect(ast.port);
    let mut r = Results::default();

    eprintln!("[bench] {flavour:?}: AMI floor (Ping)");
    r.ping_p50 = ms(percentile(&mut ping_rtt(&mut c, plan.pings), 0.5));
    r.ping_rate = ping_rate(&mut c, plan.ping_pipeline, 1000);

    eprintln!("[bench] {flavour:?}: NOOP round trip on one channel");
    let (one, _) = park(&mut c, 1, "one");
    let n = if flavour == Flavour::Stock { plan.noops_stock } else { plan.noops_ours };
    let mut rtt = noop_rtt(&mut c, &one[0], n);
    r.noop_p50 = ms(percentile(&mut rtt, 0.5));
    r.noop_p99 = ms(percentile(&mut rtt, 0.99));
    r.noop_samples = n;
    r.noop_rtts = rtt.iter().map(|d| ms(*d)).collect();
    hangup_all(&mut c, &ast);

    eprintln!("[bench] {flavour:?}: parking {} channels", plan.parked);
    std::thread::sleep(Duration::from_millis(500));
    let rss0 = rss_kb(pid);
    let (chans, took) = park(&mut c, plan.parked, "p");
    r.park_secs = took.as_secs_f64();
    std::thread::sleep(Duration::from_secs(1));
    r.rss_per_call_kb = (rss_kb(pid) as f64 - rss0 as f64) / plan.parked as f64;

    eprintln!("[bench] {flavour:?}: idle CPU over {} s", plan.idle_secs);
    r.idle_cores = idle_cores(pid, plan.idle_secs);

    eprintln!("[bench] {flavour:?}: pipelined {} x {} in flight", plan.pipeline_channels, plan.in_flight);
    let ticks = cpu_ticks(pid);
    let (rate, done) = pipelined(&mut c, &chans[..plan.pipeline_channels], plan.in_flight, plan.per_channel);
    assert_eq!(done, plan.pipeline_channels * plan.per_channel);
    r.pipelined = rate;
    r.cpu_per_1000 = (cpu_ticks(pid) - ticks) as f64 * 10.0 / (done as f64 / 1000.0);
    hangup_all(&mut c, &ast);
    classic(flavour, plan, &ast, &mut c, &mut r);
    r
}

/// What one FastAGI connection of the benchmark's server does.
#[derive(Clone, Copy)]
enum Serve {
    /// Send this many NOOPs one after the other, as fast as results come.
    Noops(usize),
    /// NOOP, GET VARIABLE, SET VARIABLE, then close.
    Three,
    /// Send nothing until released (memory per running call).
    Hold,
}

/// A FastAGI server on loopback: each connection is served by `serve` on its own thread;
/// each reports (time it took) when it closes. `release` ends the held ones.
fn fastagi_server(serve: Serve) -> (u16, Receiver<Duration>, std::sync::Arc<std::sync::atomic::AtomicBool>) {
    use std::sync::atomic::{AtomicBool, Ordering};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let (tx, rx) = channel();
    let release = std::sync::Arc::new(AtomicBool::new(false));
    let rel = release.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { return };
            let (tx, rel) = (tx.clone(), rel.clone());
            std::thread::spawn(move || {
                let _ = stream.set_nodelay(true);
                let mut r = BufReader::new(stream.try_clone().unwrap());
                let mut w = stream;
                let mut line = String::new();
                while r.read_line(&mut line).unwrap_or(0) > 0 && line != "\n" {
                    line.clear();
                }
                let t = Instant::now();
                let mut ask = |cmd: &str| {
                    if w.write_all(cmd.as_bytes()).is_err() {
                        return false;
                    }
                    line.clear();
                    r.read_line(&mut line).unwrap_or(0) > 0
                };
                match serve {
                    Serve::Noops(n) => {
                        for _ in 0..n {
                            if !ask("NOOP\n") {
                                break;
                            }
                        }
                    }
                    Serve::Three => {
                        let _ = ask("NOOP\n") && ask("GET VARIABLE AGISCRIPT\n") && ask("SET VARIABLE BENCH 1\n");
                    }
                    Serve::Hold => {
                        while !rel.load(Ordering::SeqCst) {
                            std::thread::sleep(Duration::from_millis(20));
                        }
                    }
                }
                let _ = tx.send(t.elapsed());
            });
        }
    });
    (port, rx, release)
}

fn originate_classic(c: &mut Client, n: usize, script: &str) {
    send_batched(c, n, |i| {
        format!("Action: Originate\r\nChannel: Local/classic@agi\r\nApplication: Wait\r\nData: 36000\r\nAsync: true\r\nVariable: AGISCRIPT={script}\r\nActionID: oc{i}\r\n\r\n")
    });
}

/// Sends `n` actions made by `action(i)`, flushing every 50.
fn send_batched(c: &mut Client, n: usize, action: impl Fn(usize) -> String) {
    for i in 0..n {
        c.send(&action(i));
        if i % 50 == 49 {
            c.flush();
        }
    }
    c.flush();
}

fn wait_no_channels(ast: &Asterisk) {
    common::wait_no_channels(ast, Duration::from_secs(300));
}

/// Classic AGI: RSS per running FastAGI call. (Calls/s and the NOOP rate: see `per_call`.)
fn classic(flavour: Flavour, plan: &Plan, ast: &Asterisk, c: &mut Client, r: &mut Results) {
    let pid = ast.pid();
    eprintln!("[bench] {flavour:?}: {} FastAGI calls held open", plan.held_calls);
    let (port, done, release) = fastagi_server(Serve::Hold);
    std::thread::sleep(Duration::from_millis(500));
    let rss0 = rss_kb(pid);
    originate_classic(c, plan.held_calls, &format!("agi://127.0.0.1:{port}/hold"));
    let deadline = Instant::now() + WAIT;
    while !ast.cli("core show channels count").starts_with(&format!("{} active channels", plan.held_calls * 2)) {
        assert!(Instant::now() < deadline, "held calls did not all start");
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(Duration::from_secs(1));
    r.fast_rss_per_call_kb = (rss_kb(pid) as f64 - rss0 as f64) / plan.held_calls as f64;
    release.store(true, std::sync::atomic::Ordering::SeqCst);
    for _ in 0..plan.held_calls {
        done.recv_timeout(WAIT).expect("held call");
    }
    wait_no_channels(ast);
    while c.rx.try_recv().is_ok() {}
}

/// One round of `n` calls through `AGI(agi://…)` running three commands: (calls/s, Asterisk
/// CPU ms per call).
fn fast_round(ast: &Asterisk, c: &mut Client, n: usize) -> (f64, f64) {
    let (port, done, _) = fastagi_server(Serve::Three);
    let ticks = cpu_ticks(ast.pid());
    let t = Instant::now();
    originate_classic(c, n, &format!("agi://127.0.0.1:{port}/three"));
    for _ in 0..n {
        done.recv_timeout(WAIT).expect("FastAGI call");
    }
    wait_no_channels(ast);
    let rate = n as f64 / t.elapsed().as_secs_f64();
    (rate, (cpu_ticks(ast.pid()) - ticks) as f64 * 10.0 / n as f64)
}

/// One FastAGI call running `n` NOOPs: (NOOPs/s, Asterisk CPU ms per 1,000 NOOPs).
fn noop_round(ast: &Asterisk, c: &mut Client, n: usize) -> (f64, f64) {
    let (port, done, _) = fastagi_server(Serve::Noops(n));
    let ticks = cpu_ticks(ast.pid());
    originate_classic(c, 1, &format!("agi://127.0.0.1:{port}/noops"));
    let took = done.recv_timeout(WAIT).expect("FastAGI NOOP run");
    let cpu = (cpu_ticks(ast.pid()) - ticks) as f64 * 10.0 / (n as f64 / 1000.0);
    wait_no_channels(ast);
    (n as f64 / took.as_secs_f64(), cpu)
}

/// One round of `n` calls through a trivial local script: (calls/s, Asterisk CPU ms per call,
/// the script's own time excluded: it is the child's).
fn script_round(ast: &Asterisk, c: &mut Client, n: usize) -> (f64, f64) {
    // Each call's one NOOP ends with an AGIExecEnd: count them (the channel count alone can
    // read 0 before the first call has started).
    while c.rx.try_recv().is_ok() {}
    c.exec_ends.store(true, std::sync::atomic::Ordering::Relaxed);
    let ticks = cpu_ticks(ast.pid());
    let t = Instant::now();
    originate_classic(c, n, "trivial.sh");
    let mut ended = 0;
    while ended < n {
        match c.recv() {
            Msg::ExecEnd => ended += 1,
            Msg::Response { ok: false, message, id } => panic!("Originate {id} failed: {message}"),
            _ => {}
        }
    }
    c.exec_ends.store(false, std::sync::atomic::Ordering::Relaxed);
    wait_no_channels(ast);
    let rate = n as f64 / t.elapsed().as_secs_f64();
    (rate, (cpu_ticks(ast.pid()) - ticks) as f64 * 10.0 / n as f64)
}

/// Per-call rows (calls/s through agi:// and through a local script, and Asterisk's CPU per
/// call). A single run of a few hundred calls moves by ±15 % on this VM, more than the
/// difference being measured, so both Asterisks run at once (the idle one costs nothing) and
/// the rounds alternate stock, ours, stock, ours…; each row is the median of its rounds.
#[derive(Default, Clone)]
struct PerCall {
    fast_rate: Vec<f64>,
    fast_cpu: Vec<f64>,
    script_rate: Vec<f64>,
    script_cpu: Vec<f64>,
    noop_rate: Vec<f64>,
    noop_cpu: Vec<f64>,
}

fn median(v: &[f64]) -> f64 {
    let mut v = v.to_vec();
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    if v.is_empty() { 0.0 } else { v[v.len() / 2] }
}

fn per_call(plan: &Plan) -> (PerCall, PerCall) {
    eprintln!("[bench] per-call rows: booting stock and ours side by side");
    let asts = [Asterisk::start(Flavour::Stock), Asterisk::start(Flavour::Ours)];
    let mut clients: Vec<Client> = asts.iter().map(|a| Client::connect(a.port)).collect();
    let mut out = [PerCall::default(), PerCall::default()];
    // One warm-up round each (first fork of /bin/sh, first connections), not counted.
    for i in 0..2 {
        fast_round(&asts[i], &mut clients[i], plan.fast_calls / 4 + 1);
        script_round(&asts[i], &mut clients[i], plan.script_calls / 4 + 1);
        noop_round(&asts[i], &mut clients[i], plan.fast_noops / 10 + 1);
    }
    for round in 0..plan.rounds {
        for i in 0..2 {
            let name = if i == 0 { "stock" } else { "ours" };
            eprintln!("[bench] per-call round {}/{}: {name}: {} calls through agi://, {} through a script", round + 1, plan.rounds, plan.fast_calls, plan.script_calls);
            let (rate, cpu) = fast_round(&asts[i], &mut clients[i], plan.fast_calls);
            out[i].fast_rate.push(rate);
            out[i].fast_cpu.push(cpu);
            let (rate, cpu) = script_round(&asts[i], &mut clients[i], plan.script_calls);
            out[i].script_rate.push(rate);
            out[i].script_cpu.push(cpu);
            eprintln!("[bench] per-call round {}/{}: {name}: one FastAGI call, {} NOOPs", round + 1, plan.rounds, plan.fast_noops);
            let (rate, cpu) = noop_round(&asts[i], &mut clients[i], plan.fast_noops);
            out[i].noop_rate.push(rate);
            out[i].noop_cpu.push(cpu);
        }
    }
    let [s, o] = out;
    (s, o)
}

/// Stopping a running prompt. Ours: `AGIInterrupt` sent → the prompt's `AsyncAGIExec`
/// received. Both: an AMI `Redirect` to an extension that parks the call again sent → its
/// new `AsyncAGIStart` received (stock's only way; it also ends the queue's run).
fn stop_prompt(flavour: Flavour, plan: &Plan) -> (Vec<Duration>, Vec<Duration>) {
    eprintln!("[bench] {flavour:?}: stopping a prompt, {} times each way", plan.interrupts);
    let ast = Asterisk::start(flavour);
    let mut c = Client::connect(ast.port);
    let (chans, _) = park(&mut c, 1, "stop");
    let chan = chans[0].clone();
    // Stock picks a queued command up on its 100 ms poll: give the prompt time to start.
    let settle = Duration::from_millis(if flavour == Flavour::Stock { 150 } else { 30 });
    let mut interrupts = Vec::new();
    if flavour == Flavour::Ours {
        let mut i = 0;
        while interrupts.len() < plan.interrupts {
            i += 1;
            let id = format!("p{i}");
            c.agi(&chan, "STREAM FILE tt-monkeys \"\"", &id);
            c.flush();
            std::thread::sleep(settle);
            let t = Instant::now();
            c.send(&format!("Action: AGIInterrupt\r\nChannel: {chan}\r\nActionID: i{i}\r\n\r\n"));
            c.flush();
            loop {
                match c.recv() {
                    Msg::Exec { command_id, .. } if command_id == id => break,
                    _ => {}
                }
            }
            interrupts.push(t.elapsed());
        }
    }
    let mut redirects = Vec::new();
    for i in 0..plan.interrupts {
        let id = format!("r{i}");
        c.agi(&chan, "STREAM FILE tt-monkeys \"\"", &id);
        c.flush();
        std::thread::sleep(settle);
        let t = Instant::now();
        c.send(&format!("Action: Redirect\r\nChannel: {chan}\r\nContext: agi\r\nExten: reparknow\r\nPriority: 1\r\nActionID: rd{i}\r\n\r\n"));
        c.flush();
        loop {
            match c.recv() {
                Msg::Start { uniqueid, .. } if uniqueid == "stop0-2" => break,
                _ => {}
            }
        }
        redirects.push(t.elapsed());
    }
    hangup_all(&mut c, &ast);
    (interrupts, redirects)
}

/// 10,000 channels parked at once (ours), each answering a NOOP; the CLI still answers.
/// Both halves of 5,000 Local pairs are parked (see docs/benchmarks-notes.md for why).
fn big_park(plan: &Plan) -> Vec<String> {
    let n = plan.big_park;
    for (k, v) in [("kernel/pid_max", 4_194_304u64), ("vm/max_map_count", 1_048_576)] {
        let path = format!("/proc/sys/{k}");
        let cur: u64 = std::fs::read_to_string(&path).ok().and_then(|s| s.trim().parse().ok()).unwrap_or(0);
        if cur < v && std::fs::write(&path, v.to_string()).is_err() {
            eprintln!("[bench] warning: could not raise {path} (now {cur}); {n} parked channels need about {n} threads");
        }
    }
    eprintln!("[bench] Ours: parking {n} channels at once");
    let ast = Asterisk::start_full(Flavour::Ours, &[], false);
    let mut c = Client::connect(ast.port);
    let t = Instant::now();
    for i in 0..n / 2 {
        c.send(&format!(
            "Action: Originate\r\nChannel: Local/both@agi\r\nContext: agi\r\nExten: both\r\nPriority: 1\r\nTimeout: 36000000\r\nAsync: true\r\nChannelId: b{i}-1\r\nOtherChannelId: b{i}-2\r\nActionID: ob{i}\r\n\r\n"
        ));
        if i % 50 == 49 {
            c.flush();
        }
    }
    c.flush();
    let mut chans = Vec::with_capacity(n);
    while chans.len() < n {
        match c.recv() {
            Msg::Start { channel, .. } => chans.push(channel),
            Msg::Response { ok: false, message, id } => panic!("Originate {id} failed: {message}"),
            _ => {}
        }
    }
    let took = t.elapsed();
    let rss = rss_kb(ast.pid());
    let t = Instant::now();
    let (rate, done) = pipelined(&mut c, &chans, 1, 1);
    let noop_all = t.elapsed();
    let t = Instant::now();
    let uptime = ast.cli("core show uptime");
    let cli_ms = ms(t.elapsed());
    assert!(uptime.contains("System uptime"), "CLI did not answer: {uptime}");
    let count = ast.cli("core show channels count");
    let idle = idle_cores(ast.pid(), plan.idle_secs.min(5));
    let out = vec![
        format!("parked at once: {n} channels in AGI(agi:async) (`{}`)", count.lines().next().unwrap_or("").trim()),
        format!("time to park them: {:.2} s", took.as_secs_f64()),
        format!("one NOOP on each: {done}/{n} results, no errors, {:.2} s ({rate:.0} commands/s)", noop_all.as_secs_f64()),
        format!("`core show uptime` answered in {cli_ms:.1} ms while they were parked"),
        format!("idle CPU with {n} parked: {idle:.4} cores; Asterisk RSS {:.0} MB", rss as f64 / 1024.0),
    ];
    hangup_all(&mut c, &ast);
    out
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpu.lines().find(|l| l.starts_with("model name")).and_then(|l| l.split_once(": ")).map(|x| x.1.to_string()).unwrap_or_default();
    let cores = cpu.lines().filter(|l| l.starts_with("processor")).count();
    let mem = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let total = mem.lines().next().and_then(|l| l.split_whitespace().nth(1)).and_then(|k| k.parse::<u64>().ok()).unwrap_or(0);
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let ast = std::process::Command::new("chroot").arg(common::sandbox_root()).args([common::asterisk_bin().as_str(), "-V"]).output().map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string()).unwrap_or_default();
    format!("{cores} cores ({model}), {:.0} GiB RAM, Linux {}, {ast} (Debian sid) in a chroot, AMI on 127.0.0.1", total as f64 / 1048576.0, kernel.trim())
}

fn ratio(better_when_lower: bool, stock: f64, ours: f64) -> String {
    let (a, b) = if better_when_lower { (stock, ours) } else { (ours, stock) };
    if b <= 0.0 {
        if a <= 0.0 { "=".into() } else { "∞ (ours: 0)".into() }
    } else {
        format!("{:.1}×", a / b)
    }
}

/// `bench --profile ours|stock`: parks 500 channels and keeps 4 NOOPs in flight on each for
/// a while, printing Asterisk's PID first, so that a profiler can attach (perf record -p).
fn profile(flavour: Flavour, channels: usize, per_channel: usize) {
    let ast = Asterisk::start(flavour);
    let mut c = Client::connect_with(ast.port, "agi,dialplan");
    let (chans, _) = park(&mut c, channels, "p");
    eprintln!("[bench] Asterisk PID {}: load starts in 2 s", ast.pid());
    std::thread::sleep(Duration::from_secs(2));
    let ticks = cpu_ticks(ast.pid());
    let before = threads(ast.pid());
    let tps_before = manager_router_processed(&ast);
    let (rate, done) = pipelined(&mut c, &chans, 4, per_channel);
    let after = threads(ast.pid());
    let tps_after = manager_router_processed(&ast);
    eprintln!("[bench] manager router: {:.2} stasis messages per command", (tps_after - tps_before) as f64 / done as f64);
    let cpu = (cpu_ticks(ast.pid()) - ticks) as f64 * 10.0 / (done as f64 / 1000.0);
    eprintln!("[bench] {done} commands, {rate:.0} commands/s, {cpu:.1} ms CPU per 1,000");
    println!("{}", per_thread(&before, &after, done));
}

/// Stock's and ours, each with `load(ast, n)` for both `sizes`, every run in its own Asterisk
/// under callgrind: per flavour, (instructions in all, calls to malloc/calloc/realloc) of each
/// run. `what` names a run in the progress lines (`{n}`: its size).
fn callgrind_runs(sizes: [usize; 2], what: &str, load: impl Fn(&Asterisk, usize)) -> Vec<(Flavour, [(u64, u64); 2])> {
    let dir = common::project_dir().join("target/callgrind");
    let _ = std::fs::remove_dir_all(&dir);
    std::env::set_var("RS_VALGRIND", &dir);
    std::env::set_var("RS_VALGRIND_TOOL", "callgrind");
    [Flavour::Stock, Flavour::Ours]
        .into_iter()
        .map(|flavour| {
            let run = |n: usize| {
                eprintln!("[bench] callgrind: {flavour:?}, {}", what.replace("{n}", &n.to_string()));
                let name = {
                    let ast = Asterisk::start(flavour);
                    load(&ast, n);
                    ast.name.clone()
                };
                let out = std::fs::read_to_string(dir.join(format!("{name}.callgrind"))).expect("callgrind output");
                let total: u64 = out.lines().find_map(|l| l.strip_prefix("summary: ").or_else(|| l.strip_prefix("totals: "))).and_then(|v| v.split_whitespace().next()?.parse().ok()).expect("callgrind total");
                (total, callgrind_calls(&out, &["malloc", "calloc", "realloc"]))
            };
            (flavour, [run(sizes[0]), run(sizes[1])])
        })
        .collect()
}

/// Calls to the functions `names` in a callgrind output file (the `calls=` lines under a
/// `cfn=` naming one of them).
fn callgrind_calls(out: &str, names: &[&str]) -> u64 {
    // callgrind compresses names: "cfn=(12) malloc" the first time, "cfn=(12)" after.
    let mut ids: HashMap<String, bool> = HashMap::new();
    let mut current = false;
    let mut total = 0;
    for l in out.lines() {
        if let Some(rest) = l.strip_prefix("cfn=") {
            let (id, name) = match rest.split_once(' ') {
                Some((id, name)) => (id.to_string(), Some(name)),
                None => (rest.to_string(), None),
            };
            current = match name {
                Some(name) => {
                    let hit = names.iter().any(|n| name == *n || name.starts_with(&format!("{n}'")));
                    ids.insert(id, hit);
                    hit
                }
                None => ids.get(&id).copied().unwrap_or(false),
            };
        } else if let Some(rest) = l.strip_prefix("calls=") {
            if current {
                total += rest.split_whitespace().next().and_then(|n| n.parse::<u64>().ok()).unwrap_or(0);
            }
            current = false;
        }
    }
    total
}

/// How many messages the manager's router taskprocessor has processed (`core show
/// taskprocessors`: the `stasis/m:manager:core-…` row).
fn manager_router_processed(ast: &Asterisk) -> u64 {
    ast.cli("core show taskprocessors")
        .lines()
        .filter(|l| l.trim_start().starts_with("stasis/m:manager:core"))
        .filter_map(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
        .sum()
}

/// Each thread of `pid`: (tid, CPU ns, voluntary and involuntary context switches).
fn threads(pid: u32) -> HashMap<u32, (u64, u64, u64)> {
    let mut out = HashMap::new();
    for e in std::fs::read_dir(format!("/proc/{pid}/task")).into_iter().flatten().flatten() {
        let Some(tid) = e.file_name().to_str().and_then(|t| t.parse::<u32>().ok()) else { continue };
        // Nanoseconds on a CPU (schedstat: exact, where stat's ticks miss short runs).
        let ticks = std::fs::read_to_string(e.path().join("schedstat")).ok().and_then(|s| s.split_whitespace().next()?.parse::<u64>().ok()).unwrap_or(0);
        let status = std::fs::read_to_string(e.path().join("status")).unwrap_or_default();
        let field = |k: &str| status.lines().find_map(|l| l.strip_prefix(k)).and_then(|v| v.trim().parse::<u64>().ok()).unwrap_or(0);
        out.insert(tid, (ticks, field("voluntary_ctxt_switches:"), field("nonvoluntary_ctxt_switches:")));
    }
    out
}

/// Per command, for the two busiest threads (the AMI session's and the manager router's)
/// and all the others together (the channel threads): CPU (µs) and context switches.
fn per_thread(before: &HashMap<u32, (u64, u64, u64)>, after: &HashMap<u32, (u64, u64, u64)>, commands: usize) -> String {
    let mut d: Vec<(u32, u64, u64, u64)> = after
        .iter()
        .map(|(tid, a)| {
            let b = before.get(tid).copied().unwrap_or((0, 0, 0));
            (*tid, a.0 - b.0.min(a.0), a.1 - b.1.min(a.1), a.2 - b.2.min(a.2))
        })
        .collect();
    d.sort_by(|x, y| y.1.cmp(&x.1));
    let n = commands as f64;
    let line = |name: &str, v: &[(u32, u64, u64, u64)]| {
        let (t, vol, inv) = v.iter().fold((0, 0, 0), |a, x| (a.0 + x.1, a.1 + x.2, a.2 + x.3));
        format!("{name}: {:.1} µs CPU, {:.2} voluntary + {:.2} involuntary switches per command", t as f64 / 1000.0 / n, vol as f64 / n, inv as f64 / n)
    };
    let k = d.len().min(2);
    format!("{}\n{}\n{}", line("busiest thread", &d[..k.min(1)]), line("second thread", &d[k.min(1)..k]), line("all others", &d[k..]))
}

/// `bench --profile-calls ours|stock`: FastAGI calls (three commands each) back to back for
/// ~20 s, printing Asterisk's PID first, so that a profiler can attach.
fn profile_calls(flavour: Flavour) {
    let ast = Asterisk::start(flavour);
    let mut c = Client::connect(ast.port);
    eprintln!("[bench] Asterisk PID {}: load starts in 2 s", ast.pid());
    std::thread::sleep(Duration::from_secs(2));
    let t = Instant::now();
    let mut n = 0;
    while t.elapsed() < Duration::from_secs(20) {
        let (rate, cpu) = fast_round(&ast, &mut c, 300);
        n += 300;
        eprintln!("[bench] {rate:.0} calls/s, {cpu:.2} ms CPU per call");
    }
    eprintln!("[bench] {n} calls");
}

/// `bench --memory N`: RSS growth per parked call for both flavours, parking N calls twice.
fn memory(n: usize) {
    for flavour in [Flavour::Stock, Flavour::Ours, Flavour::Stock, Flavour::Ours] {
        let ast = Asterisk::start(flavour);
        let mut c = Client::connect(ast.port);
        let (warm, _) = park(&mut c, 50, "w");
        drop(warm);
        hangup_all(&mut c, &ast);
        std::thread::sleep(Duration::from_millis(500));
        let before = rss_kb(ast.pid());
        park(&mut c, n, "m");
        std::thread::sleep(Duration::from_secs(1));
        let after = rss_kb(ast.pid());
        println!("{flavour:?}: {:.1} KB per parked call ({n} calls)", (after as f64 - before as f64) / n as f64);
        hangup_all(&mut c, &ast);
    }
}

fn med(v: &[FloorRound], f: fn(&FloorRound) -> f64) -> f64 {
    median(&v.iter().map(f).collect::<Vec<_>>())
}

/// The floor rows of the table, and issue 19's targets, each with its figure from this run.
fn floor_rows(plan: &Plan, s: &[FloorRound], o: &[FloorRound]) -> (Vec<(String, String, String, String)>, String) {
    let n = plan.scale_channels;
    let f3 = |x: f64| format!("{x:.3}");
    let f0 = |x: f64| format!("{x:.0}");
    let rounds = s.len();
    let rows = vec![
        (format!("AMI floor: Ping round trip p50 (ms), 1 parked (median of {rounds} rounds)"), f3(med(s, |r| r.ping_p50)), f3(med(o, |r| r.ping_p50)), "—".into()),
        ("floor: Setvar → VarSet p50 (ms), 1 parked".into(), f3(med(s, |r| r.setvar1_p50)), f3(med(o, |r| r.setvar1_p50)), "—".into()),
        ("NOOP round trip p50 (ms), 1 parked".into(), f3(med(s, |r| r.noop1_p50)), f3(med(o, |r| r.noop1_p50)), ratio(true, med(s, |r| r.noop1_p50), med(o, |r| r.noop1_p50))),
        ("NOOP p50 ÷ Setvar floor, 1 parked (interleaved)".into(), format!("{:.2}", med(s, |r| r.noop1_p50 / r.setvar1_p50)), format!("{:.2}", med(o, |r| r.noop1_p50 / r.setvar1_p50)), "—".into()),
        ("a run of each: Setvar → VarSet p50 (ms), 1 parked".into(), f3(med(s, |r| r.setvar1_run_p50)), f3(med(o, |r| r.setvar1_run_p50)), "—".into()),
        ("a run of each: NOOP round trip p50 (ms), 1 parked".into(), f3(med(s, |r| r.noop1_run_p50)), f3(med(o, |r| r.noop1_run_p50)), ratio(true, med(s, |r| r.noop1_run_p50), med(o, |r| r.noop1_run_p50))),
        ("a run of each: NOOP p50 ÷ Setvar floor, 1 parked".into(), format!("{:.2}", med(s, |r| r.noop1_run_p50 / r.setvar1_run_p50)), format!("{:.2}", med(o, |r| r.noop1_run_p50 / r.setvar1_run_p50)), "—".into()),
        (format!("floor: Setvar → VarSet p50 (ms), {n} parked"), f3(med(s, |r| r.setvar_n_p50)), f3(med(o, |r| r.setvar_n_p50)), "—".into()),
        (format!("NOOP round trip p50 (ms), {n} parked"), f3(med(s, |r| r.noop_n_p50)), f3(med(o, |r| r.noop_n_p50)), ratio(true, med(s, |r| r.noop_n_p50), med(o, |r| r.noop_n_p50))),
        (format!("NOOP round trip p99 (ms), {n} parked"), f3(med(s, |r| r.noop_n_p99)), f3(med(o, |r| r.noop_n_p99)), ratio(true, med(s, |r| r.noop_n_p99), med(o, |r| r.noop_n_p99))),
        (format!("NOOP p50 ÷ Setvar floor, {n} parked (interleaved)"), format!("{:.2}", med(s, |r| r.noop_n_p50 / r.setvar_n_p50)), format!("{:.2}", med(o, |r| r.noop_n_p50 / r.setvar_n_p50)), "—".into()),
        (format!("a run of each: Setvar → VarSet p50 (ms), {n} parked"), f3(med(s, |r| r.setvar_n_run_p50)), f3(med(o, |r| r.setvar_n_run_p50)), "—".into()),
        (format!("a run of each: NOOP round trip p50 (ms), {n} parked"), f3(med(s, |r| r.noop_n_run_p50)), f3(med(o, |r| r.noop_n_run_p50)), ratio(true, med(s, |r| r.noop_n_run_p50), med(o, |r| r.noop_n_run_p50))),
        (format!("a run of each: NOOP p50 ÷ Setvar floor, {n} parked"), format!("{:.2}", med(s, |r| r.noop_n_run_p50 / r.setvar_n_run_p50)), format!("{:.2}", med(o, |r| r.noop_n_run_p50 / r.setvar_n_run_p50)), "—".into()),
        ("NOOPs/s, 10 calls × 4 in flight".into(), f0(med(s, |r| r.rate10)), f0(med(o, |r| r.rate10)), ratio(false, med(s, |r| r.rate10), med(o, |r| r.rate10))),
        ("router ceiling: pipelined Setvar → VarSet events/s, one connection".into(), f0(med(s, |r| r.ceiling)), f0(med(o, |r| r.ceiling)), "—".into()),
        (format!("NOOPs/s, {n} calls × 4 in flight"), f0(med(s, |r| r.rate_n)), f0(med(o, |r| r.rate_n)), ratio(false, med(s, |r| r.rate_n), med(o, |r| r.rate_n))),
        (format!("Asterisk CPU per 1,000 NOOPs at {n} calls (ms)"), format!("{:.1}", med(s, |r| r.cpu_n)), format!("{:.1}", med(o, |r| r.cpu_n)), ratio(true, med(s, |r| r.cpu_n), med(o, |r| r.cpu_n))),
    ];
    // Issue 19's targets.
    let mark = |ok: bool| if ok { "met" } else { "NOT met" };
    // Issue 28: the NOOP against the floor measured both ways (interleaved pairs, and a run of
    // each); the target holds on the stricter (the larger ratio), named in its line.
    let stricter = |inter: f64, runs: f64| {
        let (worst, how) = if runs >= inter { (runs, "a run of each") } else { (inter, "interleaved") };
        (worst, format!("the stricter of interleaved {inter:.2} × and a run of each {runs:.2} ×: {how}"))
    };
    let (r1, r1_how) = stricter(med(o, |r| r.noop1_p50 / r.setvar1_p50), med(o, |r| r.noop1_run_p50 / r.setvar1_run_p50));
    let (rn, rn_how) = stricter(med(o, |r| r.noop_n_p50 / r.setvar_n_p50), med(o, |r| r.noop_n_run_p50 / r.setvar_n_run_p50));
    let x10 = med(o, |r| r.rate10) / med(s, |r| r.rate10);
    let ceil3 = med(o, |r| r.ceiling) / 3.0;
    let of_ceil = med(o, |r| r.rate10) / ceil3;
    let xn = med(o, |r| r.rate_n) / med(s, |r| r.rate_n);
    let cpu = med(o, |r| r.cpu_n) / med(s, |r| r.cpu_n);
    let targets = format!(
        "- NOOP p50 ≤ 1.25 × the Setvar → VarSet floor, 1 parked: {r1:.2} × ({}; {r1_how})\n\
         - NOOP p50 ≤ 1.25 × the Setvar → VarSet floor, {n} parked: {rn:.2} × ({}; {rn_how})\n\
         - 10 calls × 4 in flight ≥ 80 × stock: {x10:.1} × ({})\n\
         - 10 calls × 4 in flight ≥ 0.9 × router ceiling ÷ 3 ({ceil3:.0}/s): {of_ceil:.2} × ({})\n\
         - {n} calls × 4 in flight ≥ 1.0 × stock: {xn:.2} × ({})\n\
         - Asterisk CPU per command at {n} calls ≤ 0.7 × stock: {cpu:.2} × ({})\n",
        mark(r1 <= 1.25),
        mark(rn <= 1.25),
        mark(x10 >= 80.0),
        mark(of_ceil >= 0.9),
        mark(xn >= 1.0),
        mark(cpu <= 0.7),
    );
    (rows, targets)
}

fn floors_text(s: &[FloorRound], o: &[FloorRound]) -> String {
    let line = |v: &[FloorRound]| {
        v.iter()
            .map(|r| {
                format!(
                    "{:.3}/{:.3}/{:.3} ms (runs {:.3}/{:.3}), {:.0}/s, ceiling {:.0}/s, {:.3}/{:.3} ms (runs {:.3}/{:.3}), {:.0}/s, {:.1} ms",
                    r.ping_p50, r.setvar1_p50, r.noop1_p50, r.setvar1_run_p50, r.noop1_run_p50, r.rate10, r.ceiling, r.setvar_n_p50, r.noop_n_p50, r.setvar_n_run_p50, r.noop_n_run_p50, r.rate_n, r.cpu_n
                )
            })
            .collect::<Vec<_>>()
            .join("; ")
    };
    format!(
        "Floor rounds (Ping/Setvar/NOOP p50 at 1 parked, interleaved, then Setvar/NOOP p50 each in a run of its own; 10 × 4 rate, router ceiling, the same two ways at 1,000 parked, 1,000 × 4 rate, CPU per 1,000):\n\n- stock: {}\n- ours: {}\n",
        line(s),
        line(o)
    )
}

/// Per thread of `pid`: (CPU ns, run-queue wait ns, voluntary switches, migrations), from
/// schedstat, status and sched.
fn thread_sched(pid: u32) -> HashMap<u32, [u64; 4]> {
    let mut out = HashMap::new();
    for e in std::fs::read_dir(format!("/proc/{pid}/task")).into_iter().flatten().flatten() {
        let Some(tid) = e.file_name().to_str().and_then(|t| t.parse::<u32>().ok()) else { continue };
        let st = std::fs::read_to_string(e.path().join("schedstat")).unwrap_or_default();
        let mut st = st.split_whitespace().map(|x| x.parse::<u64>().unwrap_or(0));
        let (cpu, wait) = (st.next().unwrap_or(0), st.next().unwrap_or(0));
        let status = std::fs::read_to_string(e.path().join("status")).unwrap_or_default();
        let vol = status.lines().find_map(|l| l.strip_prefix("voluntary_ctxt_switches:")).and_then(|v| v.trim().parse().ok()).unwrap_or(0);
        let sched = std::fs::read_to_string(e.path().join("sched")).unwrap_or_default();
        let mig = sched.lines().find(|l| l.starts_with("se.nr_migrations")).and_then(|l| l.split(':').nth(1)?.trim().parse().ok()).unwrap_or(0);
        out.insert(tid, [cpu, wait, vol, mig]);
    }
    out
}

/// Times each CPU entered each idle state (cpuidle `usage`), per CPU, states in order.
fn idle_entries() -> Vec<Vec<u64>> {
    let mut cpus = Vec::new();
    for cpu in 0.. {
        let dir = format!("/sys/devices/system/cpu/cpu{cpu}/cpuidle");
        if !std::path::Path::new(&dir).exists() {
            break;
        }
        let mut states = Vec::new();
        for st in 0.. {
            match std::fs::read_to_string(format!("{dir}/state{st}/usage")) {
                Ok(u) => states.push(u.trim().parse().unwrap_or(0)),
                Err(_) => break,
            }
        }
        cpus.push(states);
    }
    cpus
}

/// One phase of `--floor-ways`: `f` does `trips` round trips; prints what Asterisk's threads
/// (named by `names`) and the client's did per round trip, and the CPUs' idle entries.
fn floor_way_phase(label: &str, pid: u32, names: &HashMap<u32, String>, trips: usize, perf: Option<&str>, f: impl FnOnce() -> String) {
    let rec = perf.map(|dir| {
        let file = format!("{dir}/{}.data", label.replace(' ', "_"));
        let child = std::process::Command::new("perf")
            .args(["sched", "record", "-a", "-o", &file])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("perf sched record");
        std::thread::sleep(Duration::from_millis(700));
        child
    });
    let me = std::process::id();
    // The whole machine's busy time (ns), to tell what other processes took meanwhile.
    let busy = || {
        let st = std::fs::read_to_string("/proc/stat").unwrap_or_default();
        let v: Vec<u64> = st.lines().next().unwrap_or("").split_whitespace().skip(1).filter_map(|x| x.parse().ok()).collect();
        (v.iter().sum::<u64>() - v.get(3).copied().unwrap_or(0) - v.get(4).copied().unwrap_or(0)) * 10_000_000
    };
    let b0 = busy();
    let (a0, c0, i0) = (thread_sched(pid), thread_sched(me), idle_entries());
    let t = Instant::now();
    let what = f();
    let secs = t.elapsed().as_secs_f64();
    let (a1, c1, i1) = (thread_sched(pid), thread_sched(me), idle_entries());
    let b1 = busy();
    let ours: u64 = [(&a0, &a1), (&c0, &c1)].iter().map(|(b, a)| a.iter().map(|(t, x)| x[0] - b.get(t).map(|y| y[0]).unwrap_or(0).min(x[0])).sum::<u64>()).sum();
    let others = (b1 - b0).saturating_sub(ours) as f64 / 1e9 / secs;
    if let Some(child) = rec {
        let _ = std::process::Command::new("kill").args(["-INT", &child.id().to_string()]).status();
        let _ = child.wait_with_output();
    }
    let n = trips as f64;
    // The CPU each busy thread last ran on (stat's field 39).
    let cpu_of = |p: u32, tid: u32| {
        let st = std::fs::read_to_string(format!("/proc/{p}/task/{tid}/stat")).unwrap_or_default();
        st.rsplit(')').next().and_then(|r| r.split_whitespace().nth(36)?.parse::<u32>().ok()).unwrap_or(99)
    };
    let idle_total: u64 = i1.iter().zip(&i0).map(|(a, b)| a.iter().zip(b).map(|(x, y)| x - y).sum::<u64>()).sum();
    let mut placement: Vec<String> = Vec::new();
    for (who, p, before, after) in [("ast", pid, &a0, &a1), ("client", me, &c0, &c1)] {
        for (tid, a) in after {
            let b = before.get(tid).copied().unwrap_or([0; 4]);
            if (a[2] - b[2].min(a[2])) as f64 >= n * 0.05 {
                let name = if who == "ast" { names.get(tid).cloned().unwrap_or_else(|| "?".into()) } else { format!("client{tid}") };
                placement.push(format!("{}@{}", name.split('_').next().unwrap_or(""), cpu_of(p, *tid)));
            }
        }
    }
    placement.sort();
    println!("# {label}: {what}; idle entries {:.2} per round trip; last CPUs {}; other processes ~{others:.2} cores", idle_total as f64 / n, placement.join(" "));
    if std::env::var("FLOOR_WAYS_DETAIL").is_err() {
        return;
    }
    println!("## {label}: {what} ({trips} round trips in {secs:.2} s)");
    let mut rows: Vec<(String, [u64; 4])> = Vec::new();
    for (who, before, after) in [("ast", &a0, &a1), ("client", &c0, &c1)] {
        for (tid, a) in after {
            let b = before.get(tid).copied().unwrap_or([0; 4]);
            let d = [a[0] - b[0].min(a[0]), a[1] - b[1].min(a[1]), a[2] - b[2].min(a[2]), a[3] - b[3].min(a[3])];
            if d[2] as f64 >= n * 0.05 || d[0] as f64 >= n * 1000.0 {
                let name = if who == "ast" { names.get(tid).cloned().unwrap_or_else(|| "?".into()) } else { "client".into() };
                rows.push((format!("{who} {tid} {name}"), d));
            }
        }
    }
    rows.sort_by(|x, y| y.1[0].cmp(&x.1[0]));
    for (name, d) in rows {
        println!(
            "  {name}: {:.1} µs CPU, {:.1} µs waiting for a CPU, {:.2} sleeps, {:.3} migrations per round trip",
            d[0] as f64 / 1000.0 / n,
            d[1] as f64 / 1000.0 / n,
            d[2] as f64 / n,
            d[3] as f64 / n
        );
    }
    let idle: Vec<String> = i1
        .iter()
        .zip(&i0)
        .enumerate()
        .map(|(cpu, (a, b))| format!("cpu{cpu} {}", a.iter().zip(b).map(|(x, y)| format!("{:.2}", (x - y) as f64 / n)).collect::<Vec<_>>().join("/")))
        .collect();
    println!("  idle-state entries per round trip (per state): {}", idle.join(", "));
}

/// `bench --floor-ways [N] [--perf DIR]` (issue 28): why a NOOP against the Setvar → VarSet
/// floor differs between interleaved pairs and a run of each. Ours, N calls parked (default
/// 1); on one of them, phases of 1,000 round trips: interleaved pairs, a run of Setvars, a run
/// of NOOPs, Setvars each followed by a Ping, NOOPs each followed by a Ping; twice. Per phase,
/// per thread and per round trip: CPU, time waiting for a CPU, sleeps, migrations; the CPUs'
/// idle entries. `--perf DIR`: a `perf sched record -a` of each phase, in DIR.
fn floor_ways() {
    let args: Vec<String> = std::env::args().collect();
    let pos = args.iter().position(|a| a == "--floor-ways").unwrap();
    let n: usize = args.get(pos + 1).and_then(|n| n.parse().ok()).unwrap_or(1);
    let perf = args.iter().position(|a| a == "--perf").and_then(|p| args.get(p + 1)).cloned();
    let trips: usize = std::env::var("FLOOR_WAYS_TRIPS").ok().and_then(|t| t.parse().ok()).unwrap_or(1000);
    // RS_PARKED_POLICY=other (passed on to Asterisk): parked threads wait as SCHED_OTHER.
    let policy = std::env::var("RS_PARKED_POLICY").unwrap_or_default();
    let ast = if policy.is_empty() { Asterisk::start(Flavour::Ours) } else { Asterisk::start_with_env(Flavour::Ours, &[("RS_PARKED_POLICY", &policy)]) };
    let pid = ast.pid();
    let mut c = Client::connect_with(ast.port, "agi,dialplan");
    let (chans, _) = park(&mut c, n, "w");
    let ch = chans[chans.len() / 2].clone();
    std::thread::sleep(Duration::from_millis(300));
    // Names of Asterisk's threads: `core show threads` lists each with its LWP and start function.
    let mut names = HashMap::new();
    for line in ast.cli("core show threads").lines() {
        let words: Vec<&str> = line.split_whitespace().collect();
        for (i, w) in words.iter().enumerate() {
            if let Ok(tid) = w.parse::<u32>() {
                if std::path::Path::new(&format!("/proc/{pid}/task/{tid}")).exists() {
                    names.insert(tid, words.get(i + 1).copied().unwrap_or("?").to_string());
                    break;
                }
            }
        }
    }
    // Channel threads are not in that list by name alone: the one running `ch` is what is left.
    let p50 = |v: &mut Vec<Duration>| ms(percentile(v, 0.5));
    let perf = perf.as_deref();
    // Warm-up.
    paired_rtt(&mut c, &ch, 200, 200);
    let rounds: usize = std::env::var("FLOOR_WAYS_ROUNDS").ok().and_then(|t| t.parse().ok()).unwrap_or(2);
    for round in 1..=rounds {
        floor_way_phase(&format!("r{round} interleaved"), pid, &names, trips * 2, perf, || {
            let (mut s, mut x) = paired_rtt(&mut c, &ch, trips, trips);
            format!("setvar p50 {:.3} ms, noop p50 {:.3} ms, ratio {:.2}", p50(&mut s), p50(&mut x), p50(&mut x) / p50(&mut s))
        });
        let mut s = Vec::new();
        floor_way_phase(&format!("r{round} run of setvars"), pid, &names, trips, perf, || {
            s = setvar_rtt(&mut c, &ch, trips);
            format!("setvar p50 {:.3} ms", p50(&mut s))
        });
        floor_way_phase(&format!("r{round} run of noops"), pid, &names, trips, perf, || {
            let mut x = noop_rtt(&mut c, &ch, trips);
            format!("noop p50 {:.3} ms, ratio to the run of setvars {:.2}", p50(&mut x), p50(&mut x) / p50(&mut s))
        });
        // Setvars and NOOPs in a random order at the same moments: each sample filed by the
        // round trip before it (a run's samples follow their own kind, the pairs' the other).
        floor_way_phase(&format!("r{round} random order"), pid, &names, trips * 2, perf, || {
            let mut by: HashMap<&str, Vec<Duration>> = HashMap::new();
            let mut seed: u64 = 0x9e37_79b9_7f4a_7c15 ^ round as u64;
            let mut prev = "";
            for _ in 0..trips * 2 {
                seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
                let noop = (seed >> 33) & 1 == 1;
                let d = if noop { noop_rtt(&mut c, &ch, 1) } else { setvar_rtt(&mut c, &ch, 1) };
                let key = match (prev, noop) {
                    ("S", false) => "setvar after setvar",
                    ("N", false) => "setvar after noop",
                    ("S", true) => "noop after setvar",
                    ("N", true) => "noop after noop",
                    _ => "first",
                };
                by.entry(key).or_default().extend(d);
                prev = if noop { "N" } else { "S" };
            }
            let mut keys: Vec<_> = by.keys().copied().filter(|k| *k != "first").collect();
            keys.sort();
            let mut line = keys.iter().map(|k| format!("{k} {:.3}", p50(by.get_mut(k).unwrap()))).collect::<Vec<_>>().join(", ");
            let (ss, nn) = (p50(by.get_mut("setvar after setvar").unwrap()), p50(by.get_mut("noop after noop").unwrap()));
            let (ns, sn) = (p50(by.get_mut("setvar after noop").unwrap()), p50(by.get_mut("noop after setvar").unwrap()));
            line += &format!("; p50 ratio like runs (noop after noop ÷ setvar after setvar) {:.2}, like pairs (noop after setvar ÷ setvar after noop) {:.2}", nn / ss, sn / ns);
            line
        });
        floor_way_phase(&format!("r{round} setvar+ping"), pid, &names, trips * 2, perf, || {
            let (mut sv, mut pg) = (Vec::new(), Vec::new());
            for _ in 0..trips {
                sv.extend(setvar_rtt(&mut c, &ch, 1));
                pg.extend(ping_rtt(&mut c, 1));
            }
            format!("setvar p50 {:.3} ms, ping p50 {:.3} ms", p50(&mut sv), p50(&mut pg))
        });
        floor_way_phase(&format!("r{round} noop+ping"), pid, &names, trips * 2, perf, || {
            let (mut x, mut pg) = (Vec::new(), Vec::new());
            for _ in 0..trips {
                x.extend(noop_rtt(&mut c, &ch, 1));
                pg.extend(ping_rtt(&mut c, 1));
            }
            format!("noop p50 {:.3} ms, ping p50 {:.3} ms", p50(&mut x), p50(&mut pg))
        });
    }
    hangup_all(&mut c, &ast);
}

fn main() {
    // `--sched [--busy] [--parked N] [--policy batch|other]`: where the round-trip tail comes
    // from (issue 28): perf sched's per-wake-up delays of Asterisk's threads, ours and ARI.
    if std::env::args().any(|a| a == "--sched") {
        return bench_sched::main();
    }
    // `--floor-ways [N] [--perf DIR]`: why the two ways of measuring the NOOP against the
    // Setvar floor differ (issue 28).
    if std::env::args().any(|a| a == "--floor-ways") {
        return floor_ways();
    }
    // `--floors`: only the Async AGI rows against the floors (alternating rounds), printed.
    if std::env::args().any(|a| a == "--floors") {
        let plan = if std::env::args().any(|a| a == "--smoke") { &SMOKE } else { &FULL };
        let (s, o) = floor_rounds(plan);
        let (rows, targets) = floor_rows(plan, &s, &o);
        for (m, a, b, r) in rows {
            println!("| {m} | {a} | {b} | {r} |");
        }
        println!("\n{targets}\n{}", floors_text(&s, &o));
        return;
    }
    if let Some(pos) = std::env::args().position(|a| a == "--memory") {
        return memory(std::env::args().nth(pos + 1).and_then(|n| n.parse().ok()).unwrap_or(1000));
    }
    if std::env::args().any(|a| a == "--per-call") {
        let (s, o) = per_call(&FULL);
        println!("agi:// calls/s stock {:?} ours {:?}\nCPU ms/call stock {:?} ours {:?}", s.fast_rate, o.fast_rate, s.fast_cpu, o.fast_cpu);
        println!("script calls/s stock {:?} ours {:?}\nCPU ms/call stock {:?} ours {:?}", s.script_rate, o.script_rate, s.script_cpu, o.script_cpu);
        println!("FastAGI NOOPs/s stock {:?} ours {:?}\nCPU ms/1000 stock {:?} ours {:?}", s.noop_rate, o.noop_rate, s.noop_cpu, o.noop_cpu);
        return;
    }
    // `--callgrind-noops`: Asterisk's instructions per FastAGI NOOP, stock and ours, counted
    // by callgrind (repeatable whatever else the machine does): one call of 500 NOOPs and one
    // of 2,500, each in its own Asterisk under callgrind; the difference over 2,000.
    if std::env::args().any(|a| a == "--callgrind-noops") {
        let runs = callgrind_runs([500, 2500], "one FastAGI call of {n} NOOPs", |ast, n| {
            let mut c = Client::connect(ast.port);
            noop_round(ast, &mut c, n);
        });
        let per: Vec<f64> = runs.iter().map(|(flavour, r)| {
            let per_noop = (r[1].0 as f64 - r[0].0 as f64) / 2000.0;
            println!("{flavour:?}: {} and {} instructions in all; {per_noop:.0} instructions per FastAGI NOOP", r[0].0, r[1].0);
            per_noop
        }).collect();
        println!("ours / stock: {:.2}", per[1] / per[0]);
        return;
    }
    // `--callgrind-async`: Asterisk's instructions per Async AGI NOOP, stock and ours, counted
    // by callgrind: 10 parked calls × 4 NOOPs in flight, 20 per call in one Asterisk and 120
    // per call in another, each under callgrind; the difference over the 1,000 NOOPs between.
    // Also the calls to malloc per NOOP (callgrind's call counts).
    if std::env::args().any(|a| a == "--callgrind-async") {
        let runs = callgrind_runs([20, 120], "10 parked calls × {n} NOOPs, 4 in flight", |ast, n| {
            let mut c = Client::connect_with(ast.port, "agi,dialplan");
            let (chans, _) = park(&mut c, 10, "cg");
            pipelined(&mut c, &chans, 4, n);
            hangup_all(&mut c, ast);
        });
        let per: Vec<f64> = runs.iter().map(|(flavour, r)| {
            let per_noop = (r[1].0 as f64 - r[0].0 as f64) / 1000.0;
            let mallocs = (r[1].1 as f64 - r[0].1 as f64) / 1000.0;
            println!("{flavour:?}: {} and {} instructions in all; {per_noop:.0} instructions and {mallocs:.1} calls to malloc/calloc/realloc per Async AGI NOOP", r[0].0, r[1].0);
            per_noop
        }).collect();
        println!("ours / stock: {:.2}", per[1] / per[0]);
        return;
    }
    // `--rtt-ours [N]`: Setvar → VarSet and NOOP p50, interleaved, on one of N parked calls
    // (ours only: quick checks of the latency rows).
    if let Some(pos) = std::env::args().position(|a| a == "--rtt-ours") {
        let n: usize = std::env::args().nth(pos + 1).and_then(|n| n.parse().ok()).unwrap_or(1);
        let ast = Asterisk::start(Flavour::Ours);
        let mut c = Client::connect_with(ast.port, "agi,dialplan");
        let (one, _) = park(&mut c, n, "r");
        std::thread::sleep(Duration::from_millis(300));
        for _ in 0..3 {
            let (mut s, mut n) = paired_rtt(&mut c, &one[one.len() / 2], 1000, 1000);
            println!("setvar p50 {:.3} noop p50 {:.3}", ms(percentile(&mut s, 0.5)), ms(percentile(&mut n, 0.5)));
        }
        return;
    }
    // `--profile-noops ours|stock N`: one FastAGI call running N NOOPs, after printing
    // Asterisk's PID and waiting 3 s (attach `strace -c -f -p` or `perf stat -p`).
    if let Some(pos) = std::env::args().position(|a| a == "--profile-noops") {
        let which = std::env::args().nth(pos + 1).unwrap_or_default();
        let n = std::env::args().nth(pos + 2).and_then(|n| n.parse().ok()).unwrap_or(100_000);
        let ast = Asterisk::start(if which == "stock" { Flavour::Stock } else { Flavour::Ours });
        let mut c = Client::connect(ast.port);
        noop_round(&ast, &mut c, 100);
        eprintln!("[bench] Asterisk PID {}: {n} FastAGI NOOPs in 3 s", ast.pid());
        std::thread::sleep(Duration::from_secs(3));
        let (rate, cpu) = noop_round(&ast, &mut c, n);
        println!("{which}: {rate:.0} NOOPs/s, {cpu:.1} ms CPU per 1,000");
        return;
    }
    if let Some(pos) = std::env::args().position(|a| a == "--profile-calls") {
        let which = std::env::args().nth(pos + 1).unwrap_or_default();
        return profile_calls(if which == "stock" { Flavour::Stock } else { Flavour::Ours });
    }
    if let Some(pos) = std::env::args().position(|a| a == "--profile") {
        // `--profile ours|stock [CHANNELS [PER_CHANNEL]]` (default 500 × 600).
        let which = std::env::args().nth(pos + 1).unwrap_or_default();
        let channels = std::env::args().nth(pos + 2).and_then(|n| n.parse().ok()).unwrap_or(500);
        let per = std::env::args().nth(pos + 3).and_then(|n| n.parse().ok()).unwrap_or(600);
        return profile(if which == "stock" { Flavour::Stock } else { Flavour::Ours }, channels, per);
    }
    let smoke = std::env::args().any(|a| a == "--smoke");
    let plan = if smoke { &SMOKE } else { &FULL };
    let sip_plan = if smoke { &bench_sip::SMOKE } else { &bench_sip::FULL };
    // `--tls`: only the FastAGI-over-TLS rows (issue 21); rewrites only their section.
    if std::env::args().any(|a| a == "--tls") {
        let section = bench_tls::run(if smoke { &bench_tls::SMOKE } else { &bench_tls::FULL });
        if !smoke {
            rewrite_section("tls", &section);
        }
        return;
    }
    // `--ari`: ARI beside stock and ours (issue 28); rewrites only its section.
    if std::env::args().any(|a| a == "--ari") {
        if std::env::args().any(|a| a == "--threads") {
            bench_ari::profile(&bench_ari::FULL);
            return;
        }
        if std::env::args().any(|a| a == "--pool") {
            return bench_ari::pool(&bench_ari::FULL, &[1, 4, 8, 10, 20, 40], &[1, 4, 8, 16, 32, 64]);
        }
        let section = bench_ari::run(if smoke { &bench_ari::SMOKE } else { &bench_ari::FULL });
        if !smoke {
            rewrite_section("ari", &section);
        }
        return;
    }
    // `--sip`: only the SIP rows (issue 20); rewrites only their section of docs/benchmarks.md.
    if std::env::args().any(|a| a == "--sip") {
        let section = bench_sip::run(sip_plan, plan);
        if !smoke {
            rewrite_section("sip", &section);
        }
        return;
    }
    let stock = measure(Flavour::Stock, plan);
    let ours = measure(Flavour::Ours, plan);
    let (pc_s, pc_o) = per_call(plan);
    let (fl_s, fl_o) = floor_rounds(plan);
    let (fl_rows, targets) = floor_rows(plan, &fl_s, &fl_o);
    let (_, mut redirect_s) = stop_prompt(Flavour::Stock, plan);
    let (mut interrupt_o, mut redirect_o) = stop_prompt(Flavour::Ours, plan);
    let rounds_text = format!(
        "Per-call rounds (stock / ours, calls/s): agi:// {}; script {}; FastAGI NOOPs/s {}\n",
        pc_s.fast_rate.iter().zip(&pc_o.fast_rate).map(|(s, o)| format!("{s:.0}/{o:.0}")).collect::<Vec<_>>().join(", "),
        pc_s.script_rate.iter().zip(&pc_o.script_rate).map(|(s, o)| format!("{s:.0}/{o:.0}")).collect::<Vec<_>>().join(", "),
        pc_s.noop_rate.iter().zip(&pc_o.noop_rate).map(|(s, o)| format!("{s:.0}/{o:.0}")).collect::<Vec<_>>().join(", ")
    );
    eprintln!("[bench] {rounds_text}");
    let nudges_text = format!(
        "AMI wake-ups Asterisk lost during the run (a wait of 1 s ended by a Ping, see \"Asterisk's manager\" below): {}\n",
        NUDGES.load(std::sync::atomic::Ordering::SeqCst)
    );
    let big = big_park(plan);
    let sip = bench_sip::run(sip_plan, plan);
    let tls = bench_tls::run(if smoke { &bench_tls::SMOKE } else { &bench_tls::FULL });
    // ARI side by side and where the tail comes from (issue 28): quiet and with one core busy.
    // ARI is measured on Debian's package, which has res_ari; a source build of the sandbox
    // (menuselect --disable-all, then only what AGI needs) has none.
    let (ari, sched) = if common::target() == "deb" {
        (
            bench_ari::run(if smoke { &bench_ari::SMOKE } else { &bench_ari::FULL }),
            bench_sched::run_all(if smoke { &bench_sched::SMOKE } else { &bench_sched::FULL }, &["ours", "ours-other", "ari"]),
        )
    } else {
        let why = format!("ARI rows: not on target {} (its Asterisk is a source build without res_ari; they run on Debian's package, RS_TARGET=deb)\n", common::target());
        (why.clone(), why)
    };

    let rows: Vec<(String, String, String, String)> = vec![
        ("NOOP round trip p50 (ms), one channel".into(), format!("{:.3}", stock.noop_p50), format!("{:.3}", ours.noop_p50), ratio(true, stock.noop_p50, ours.noop_p50)),
        (format!("NOOP round trip p99 (ms) [{} / {} samples]", stock.noop_samples, ours.noop_samples), format!("{:.3}", stock.noop_p99), format!("{:.3}", ours.noop_p99), ratio(true, stock.noop_p99, ours.noop_p99)),
        (format!("pipelined NOOPs/s, {} channels × {} in flight", plan.pipeline_channels, plan.in_flight), format!("{:.0}", stock.pipelined), format!("{:.0}", ours.pipelined), ratio(false, stock.pipelined, ours.pipelined)),
        ("Asterisk CPU per 1,000 pipelined commands (ms)".into(), format!("{:.0}", stock.cpu_per_1000), format!("{:.0}", ours.cpu_per_1000), ratio(true, stock.cpu_per_1000, ours.cpu_per_1000)),
        (format!("idle CPU (cores) over {} s, {} parked", plan.idle_secs, plan.parked), format!("{:.4}", stock.idle_cores), format!("{:.4}", ours.idle_cores), ratio(true, stock.idle_cores, ours.idle_cores)),
        ("RSS per parked call (KB, Local channel pair)".into(), format!("{:.1}", stock.rss_per_call_kb), format!("{:.1}", ours.rss_per_call_kb), ratio(true, stock.rss_per_call_kb, ours.rss_per_call_kb)),
        (format!("time to park {} calls (s)", plan.parked), format!("{:.2}", stock.park_secs), format!("{:.2}", ours.park_secs), ratio(true, stock.park_secs, ours.park_secs)),
        (format!("FastAGI NOOPs/s, one call (median of {} rounds of {} NOOPs)", plan.rounds, plan.fast_noops), format!("{:.0}", median(&pc_s.noop_rate)), format!("{:.0}", median(&pc_o.noop_rate)), ratio(false, median(&pc_s.noop_rate), median(&pc_o.noop_rate))),
        ("Asterisk CPU per 1,000 FastAGI NOOPs (ms)".into(), format!("{:.0}", median(&pc_s.noop_cpu)), format!("{:.0}", median(&pc_o.noop_cpu)), ratio(true, median(&pc_s.noop_cpu), median(&pc_o.noop_cpu))),
        (format!("calls/s through AGI(agi://…), 3 commands each (median of {} rounds of {} calls)", plan.rounds, plan.fast_calls), format!("{:.0}", median(&pc_s.fast_rate)), format!("{:.0}", median(&pc_o.fast_rate)), ratio(false, median(&pc_s.fast_rate), median(&pc_o.fast_rate))),
        ("Asterisk CPU per call through AGI(agi://…) (ms)".into(), format!("{:.2}", median(&pc_s.fast_cpu)), format!("{:.2}", median(&pc_o.fast_cpu)), ratio(true, median(&pc_s.fast_cpu), median(&pc_o.fast_cpu))),
        (format!("calls/s through a trivial local script (median of {} rounds of {} calls)", plan.rounds, plan.script_calls), format!("{:.0}", median(&pc_s.script_rate)), format!("{:.0}", median(&pc_o.script_rate)), ratio(false, median(&pc_s.script_rate), median(&pc_o.script_rate))),
        ("Asterisk CPU per call through a local script (ms, the script's own excluded)".into(), format!("{:.2}", median(&pc_s.script_cpu)), format!("{:.2}", median(&pc_o.script_cpu)), ratio(true, median(&pc_s.script_cpu), median(&pc_o.script_cpu))),
        (format!("RSS per running FastAGI call (KB, {} held)", plan.held_calls), format!("{:.1}", stock.fast_rss_per_call_kb), format!("{:.1}", ours.fast_rss_per_call_kb), ratio(true, stock.fast_rss_per_call_kb, ours.fast_rss_per_call_kb)),
        (
            format!("stop a running prompt, p50 (ms): stock Redirect + re-park, ours AGIInterrupt [{} each]", plan.interrupts),
            format!("{:.3}", ms(percentile(&mut redirect_s, 0.5))),
            format!("{:.3}", ms(percentile(&mut interrupt_o, 0.5))),
            ratio(true, ms(percentile(&mut redirect_s, 0.5)), ms(percentile(&mut interrupt_o, 0.5))),
        ),
        (
            "stop a running prompt, p99 (ms): same".into(),
            format!("{:.3}", ms(percentile(&mut redirect_s, 0.99))),
            format!("{:.3}", ms(percentile(&mut interrupt_o, 0.99))),
            ratio(true, ms(percentile(&mut redirect_s, 0.99)), ms(percentile(&mut interrupt_o, 0.99))),
        ),
        (
            "Redirect + re-park p50 (ms), both".into(),
            format!("{:.3}", ms(percentile(&mut redirect_s, 0.5))),
            format!("{:.3}", ms(percentile(&mut redirect_o, 0.5))),
            ratio(true, ms(percentile(&mut redirect_s, 0.5)), ms(percentile(&mut redirect_o, 0.5))),
        ),
        ("AMI floor: Ping round trip p50 (ms)".into(), format!("{:.3}", stock.ping_p50), format!("{:.3}", ours.ping_p50), "—".into()),
        ("AMI floor: pipelined Pings/s".into(), format!("{:.0}", stock.ping_rate), format!("{:.0}", ours.ping_rate), "—".into()),
    ];
    let mut table = String::from("| measure | stock res_agi | res_agi_rs | ours better by |\n|---|---:|---:|---:|\n");
    for (m, s, o, r) in fl_rows.iter().chain(&rows) {
        table += &format!("| {m} | {s} | {o} | {r} |\n");
    }
    let big_text: String = big.iter().map(|l| format!("- {l}\n")).collect();
    let floors = floors_text(&fl_s, &fl_o);
    println!("\n{table}\nIssue 19's targets:\n{targets}\n{floors}\nres_agi_rs at scale:\n{big_text}\n{ari}\n{sched}");

    if smoke {
        // The smoke run draws too (tests/bench_smoke.rs checks the picture is made).
        draw(&common::project_dir().join("target/benchmarks-smoke.svg"), &stock, &ours, &fl_s, &fl_o, plan.scale_channels).expect("draw the smoke picture");
    }
    if !smoke {
        let doc = format!(
            "# Benchmarks\n\nLatest `make bench` run ({}), on {}.\nBoth modules ran on the same sandbox Asterisk, same dialplan (`park@agi`: Local channels in \
             `AGI(agi:async)`), same client (tools/bench.rs, one AMI connection with `Events: agi`), one after the other in one run (the first eighteen rows: both booted side by side, alternating \
             rounds, on a connection with `Events: agi,dialplan`).\n\n{table}\n\
             Issue 19's targets, from this run:\n\n{targets}\n{floors}\n{rounds_text}\n{nudges_text}\n{ari}\n{sched}\n{sip}\n{tls}\n## res_agi_rs at scale\n\n{big_text}\n{}",
            std::process::Command::new("date").arg("-u").arg("+%Y-%m-%d %H:%M UTC").output().map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string()).unwrap_or_default(),
            machine(),
            std::fs::read_to_string(common::project_dir().join("docs/benchmarks-notes.md")).unwrap_or_default()
        );
        std::fs::write(common::project_dir().join("docs/benchmarks.md"), doc).expect("write docs/benchmarks.md");
        eprintln!("[bench] wrote docs/benchmarks.md");
        draw(&common::project_dir().join("docs/benchmarks.svg"), &stock, &ours, &fl_s, &fl_o, plan.scale_channels).expect("draw docs/benchmarks.svg");
        eprintln!("[bench] wrote docs/benchmarks.svg");
    }
}

/// Rewrites one section of docs/benchmarks.md (`bench --sip`, `bench --tls`: between
/// `<!-- tag:begin` and `<!-- tag:end -->`, or added at the end), the rest as it is.
fn rewrite_section(tag: &str, section: &str) {
    let path = common::project_dir().join("docs/benchmarks.md");
    let text = std::fs::read_to_string(&path).unwrap_or_default();
    let (begin, end) = (format!("<!-- {tag}:begin"), format!("<!-- {tag}:end -->"));
    let text = match (text.find(&begin), text.find(&end)) {
        (Some(a), Some(b)) => format!("{}{}\n{}", &text[..a], section, text[b + end.len()..].trim_start_matches('\n')),
        _ => format!("{}\n\n{}", text.trim_end(), section),
    };
    std::fs::write(&path, text).expect("write docs/benchmarks.md");
    eprintln!("[bench] wrote the {tag} section of docs/benchmarks.md");
}

/// docs/benchmarks.svg: the NOOP round-trip distribution of both modules (share of NOOPs
/// answered within x ms, log scale); ours against the floors Asterisk allows (Ping, Setvar →
/// VarSet) at 1 and 1,000 parked; and bars for the 1,000-call row (throughput, CPU per
/// command) and idle CPU. Floor figures are the medians of the alternating rounds.
fn draw(path: &std::path::Path, stock: &Results, ours: &Results, fs: &[FloorRound], fo: &[FloorRound], n: usize) -> Result<(), Box<dyn std::error::Error>> {
    use plotters::prelude::*;
    let root = SVGBackend::new(path, (1100, 640)).into_drawing_area();
    root.fill(&WHITE)?;
    let (upper, lower) = root.split_vertically(360);
    let (left, right) = upper.split_horizontally(560);
    let cdf = |v: &[f64]| {
        let mut v = v.to_vec();
        v.sort_by(|a, b| a.partial_cmp(b).unwrap());
        let n = v.len().max(1) as f64;
        v.into_iter().enumerate().map(|(i, x)| (x.max(0.01), (i + 1) as f64 / n)).collect::<Vec<_>>()
    };
    let (cs, co) = (cdf(&stock.noop_rtts), cdf(&ours.noop_rtts));
    let xmax = cs.iter().chain(&co).map(|p| p.0).fold(1.0, f64::max) * 1.5;
    let xmin = cs.iter().chain(&co).map(|p| p.0).fold(f64::MAX, f64::min).max(0.01) / 1.5;
    let mut c = ChartBuilder::on(&left)
        .caption("NOOP round trip (Action: AGI → AsyncAGIExec), one channel", ("sans-serif", 16))
        .margin(10)
        .x_label_area_size(35)
        .y_label_area_size(45)
        .build_cartesian_2d((xmin..xmax).log_scale(), 0.0..1.0)?;
    c.configure_mesh().x_desc("ms (log scale)").y_desc("share of NOOPs answered").draw()?;
    c.draw_series(LineSeries::new(cs, &RED))?.label("stock res_agi").legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], RED));
    c.draw_series(LineSeries::new(co, &BLUE))?.label("res_agi_rs").legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], BLUE));
    c.configure_series_labels().position(SeriesLabelPosition::LowerRight).border_style(BLACK).draw()?;

    // Ours against the floors, at 1 and at n parked (stock's NOOP: its 100 ms poll, off scale).
    let groups = [
        ("1 parked", med(fo, |r| r.ping_p50), med(fo, |r| r.setvar1_p50), med(fo, |r| r.noop1_p50)),
        (if n == 1000 { "1,000 parked" } else { "many parked" }, med(fo, |r| r.ping_p50), med(fo, |r| r.setvar_n_p50), med(fo, |r| r.noop_n_p50)),
    ];
    let ymax = groups.iter().map(|g| g.3.max(g.2)).fold(0.0, f64::max).max(1e-6) * 1.35;
    let mut c = ChartBuilder::on(&right)
        .caption(format!("ours vs the floors, p50 (stock's NOOP: {:.0} ms, its poll)", med(fs, |r| r.noop1_p50)), ("sans-serif", 15))
        .margin(10)
        .x_label_area_size(30)
        .y_label_area_size(55)
        .build_cartesian_2d(0.0..2.0, 0.0..ymax)?;
    c.configure_mesh().disable_x_mesh().x_labels(0).y_desc("ms").draw()?;
    let palette = [(RGBColor(150, 150, 150), "Ping"), (RGBColor(90, 160, 90), "Setvar → VarSet"), (BLUE, "NOOP (ours)")];
    for (gi, g) in groups.iter().enumerate() {
        let vals = [g.1, g.2, g.3];
        for (k, v) in vals.iter().enumerate() {
            let x0 = gi as f64 + 0.1 + k as f64 * 0.27;
            c.draw_series(std::iter::once(Rectangle::new([(x0, 0.0), (x0 + 0.24, *v)], palette[k].0.filled())))?;
            c.draw_series(std::iter::once(Text::new(format!("{v:.3}"), (x0, *v + ymax * 0.02), ("sans-serif", 12))))?;
        }
        c.draw_series(std::iter::once(Text::new(format!("{}: NOOP = {:.2} × Setvar", g.0, g.3 / g.2.max(1e-9)), (gi as f64 + 0.1, ymax * 0.95), ("sans-serif", 13))))?;
    }
    for (k, (col, name)) in palette.iter().enumerate() {
        let col = *col;
        c.draw_series(std::iter::once(Rectangle::new([(0.1 + k as f64 * 0.6, ymax * 0.84), (0.16 + k as f64 * 0.6, ymax * 0.88)], col.filled())))?;
        c.draw_series(std::iter::once(Text::new(name.to_string(), (0.18 + k as f64 * 0.6, ymax * 0.885), ("sans-serif", 12))))?;
    }

    let panels = lower.split_evenly((1, 3));
    let bars = |area: &DrawingArea<SVGBackend, plotters::coord::Shift>, title: &str, unit: &str, s: f64, o: f64| -> Result<(), Box<dyn std::error::Error>> {
        let ymax = s.max(o).max(1e-9) * 1.25;
        let mut c = ChartBuilder::on(area).caption(title, ("sans-serif", 15)).margin(8).x_label_area_size(25).y_label_area_size(60).build_cartesian_2d(0.0..2.0, 0.0..ymax)?;
        c.configure_mesh().disable_x_mesh().x_labels(0).y_desc(unit).draw()?;
        c.draw_series([(0.0, s, RED, "stock"), (1.0, o, BLUE, "ours")].into_iter().map(|(x, v, col, _)| Rectangle::new([(x + 0.2, 0.0), (x + 0.8, v)], col.filled())))?;
        c.draw_series([(0.5, s, "stock"), (1.5, o, "ours")].into_iter().map(|(x, v, name)| Text::new(format!("{name}: {}", if v >= 100.0 { format!("{v:.0}") } else if v >= 1.0 { format!("{v:.1}") } else { format!("{v:.4}") }), (x - 0.3, v * 1.02 + ymax * 0.02), ("sans-serif", 13))))?;
        Ok(())
    };
    bars(&panels[0], &format!("NOOPs/s, {n} calls × 4 in flight (higher is better)"), "NOOPs/s", med(fs, |r| r.rate_n), med(fo, |r| r.rate_n))?;
    bars(&panels[1], &format!("Asterisk CPU per 1,000 NOOPs at {n} calls (lower is better)"), "ms", med(fs, |r| r.cpu_n), med(fo, |r| r.cpu_n))?;
    bars(&panels[2], "idle CPU with calls parked (lower is better)", "cores", stock.idle_cores, ours.idle_cores)?;
    root.present()?;
    Ok(())
}
