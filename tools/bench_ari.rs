//! ARI beside Async AGI (issue 28, `bench --ari`): the competitor users pick instead of Async
//! AGI is ARI, a Stasis application driven over HTTP with its events on a websocket. Three
//! Asterisks of the same build are booted side by side: stock res_agi, res_agi_rs, and one with
//! ARI (sandbox SANDBOX_ARI=yes; stock res_agi loaded there too, idle), each with the same
//! dialplan of Local calls (`park@agi` into `AGI(agi:async)`, `stasis@ari` into
//! `Stasis(benchapp)`), and measured in rounds that alternate stock / ours / ARI, quiet and
//! then with one busy-looping process on the machine.
//!
//! The same command on each side: set a channel variable. Async AGI: `Action: AGI` with
//! `SET VARIABLE RSVAR v` on one AMI connection (`Events: agi`), done when its `AsyncAGIExec`
//! arrives. ARI: `POST /ari/channels/{id}/variable?variable=RSVAR&value=v`, done when its
//! `204` arrives (Asterisk answers once the channel's thread has set it); its `ChannelVarset`
//! event on the websocket is timed too. The ARI client is tools/ari.rs (keep-alive,
//! pipelined HTTP/1.1 connections, one websocket).
//!
//! `bench --ari` (writes its section of docs/benchmarks.md), `--ari --smoke` (small, prints
//! only), `--ari --threads` (where Asterisk's CPU goes, ours and ARI), `--ari --pool` (ARI's
//! rates with each size of its connection pool).
#[path = "ari.rs"]
pub(crate) mod ari;

use super::{cpu_ticks, hangup_all, idle_cores, machine, median, ms, park, percentile, rss_kb, send_batched, Client, Msg};
use crate::common::{Asterisk, Flavour};
use ari::{Ari, AriMsg, Event};
use std::time::{Duration, Instant};

/// The sizes of the ARI rows.
pub struct AriPlan {
    pub rounds: usize,
    /// Round trips per round at each point (ours and ARI; stock's each cost its 100 ms poll).
    pub rtt_samples: usize,
    pub rtt_samples_stock: usize,
    /// Commands per call on 10 calls × 4 in flight (ours and ARI; stock).
    pub ten_per_channel: usize,
    pub ten_per_channel_stock: usize,
    /// Calls parked for the many-calls rows, and commands per call there (4 in flight).
    pub parked: usize,
    pub per_channel: usize,
    pub idle_secs: u64,
    /// Prompts stopped per round (ours and ARI).
    pub stops: usize,
    /// ARI's HTTP connections at most (Asterisk's http.conf sessionlimit is 100 by default,
    /// the websocket included; each connection is a thread in Asterisk).
    pub max_conns: usize,
}

pub const FULL: AriPlan = AriPlan {
    rounds: 3,
    rtt_samples: 3000,
    rtt_samples_stock: 20,
    ten_per_channel: 2000,
    ten_per_channel_stock: 40,
    parked: 1000,
    per_channel: 100,
    idle_secs: 5,
    stops: 100,
    max_conns: 64,
};

pub const SMOKE: AriPlan = AriPlan {
    rounds: 1,
    rtt_samples: 30,
    rtt_samples_stock: 3,
    ten_per_channel: 20,
    ten_per_channel_stock: 4,
    parked: 20,
    per_channel: 8,
    idle_secs: 1,
    stops: 5,
    max_conns: 64,
};

const IN_FLIGHT: usize = 4;
/// ms of CPU per USER_HZ tick of /proc/PID/stat.
const TICK_MS: f64 = 10.0;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Side {
    Stock,
    Ours,
    Ari,
}

const SIDES: [Side; 3] = [Side::Stock, Side::Ours, Side::Ari];

impl Side {
    fn name(self) -> &'static str {
        match self {
            Side::Stock => "stock",
            Side::Ours => "ours",
            Side::Ari => "ARI",
        }
    }
}

/// One round of one side.
#[derive(Default, Clone)]
struct Round {
    /// SET VARIABLE round trips with one call parked: AGI's `AsyncAGIExec`, ARI's `204`.
    rtt1: Vec<Duration>,
    /// ARI's `ChannelVarset` of the same requests (AGI: none, its AsyncAGIExec is its event).
    rtt1_ev: Vec<Duration>,
    rttn: Vec<Duration>,
    rttn_ev: Vec<Duration>,
    rate10: f64,
    cpu10: f64,
    /// ARI: every ChannelVarset of the 10-call phase delivered, per second.
    events_rate10: f64,
    raten: f64,
    cpun: f64,
    /// This client's own CPU per 1,000 commands at `parked` calls (ms).
    clientn: f64,
    /// ARI: every ChannelVarset of the many-calls phase delivered, per second.
    events_raten: f64,
    idle: f64,
    rss: f64,
    park_secs: f64,
    /// Ours: AGIInterrupt → the prompt's AsyncAGIExec. ARI: DELETE /ari/playbacks/{id} →
    /// PlaybackFinished.
    stop: Vec<Duration>,
    /// ARI: DELETE → its 204.
    stop_ack: Vec<Duration>,
}

/// A process that keeps one core busy (`sh -c 'while :; do :; done'`), killed on drop.
pub(crate) struct Hog(std::process::Child);

impl Hog {
    pub(crate) fn start() -> Hog {
        let child = std::process::Command::new("sh").args(["-c", "while :; do :; done"]).spawn().expect("spawn the busy loop");
        Hog(child)
    }

    pub(crate) fn pid(&self) -> u32 {
        self.0.id()
    }
}

impl Drop for Hog {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The machine's busy time (all CPUs, USER_HZ ticks) from /proc/stat.
fn machine_busy_ticks() -> u64 {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let f: Vec<u64> = stat.lines().next().unwrap_or("").split_whitespace().skip(1).filter_map(|x| x.parse().ok()).collect();
    // user nice system idle iowait irq softirq steal (guest time is inside user).
    f.iter().take(8).enumerate().filter(|(i, _)| *i != 3 && *i != 4).map(|(_, v)| v).sum()
}

/// Waits until no taskprocessor of Asterisk has a task queued (`core show taskprocessors`, In
/// Queue), at most 30 s: a phase's CPU is counted until Asterisk has done all the work the
/// commands caused, including what no client waits for (the manager's router turning each
/// VarSet into an AMI event, in every instance).
fn settle(ast: &Asterisk) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        let queued: u64 = ast
            .cli("core show taskprocessors")
            .lines()
            .filter_map(|l| {
                let w: Vec<&str> = l.split_whitespace().collect();
                (w.len() >= 4).then_some(())?;
                w[2].parse::<u64>().ok()
            })
            .sum();
        if queued == 0 {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

// ---------------------------------------------------------------- Async AGI (stock, ours)

const SET_OK: &str = "200%20result%3D1%0A";

/// `SET VARIABLE RSVAR v<i>` round trips on `channel`, one at a time: `Action: AGI` written →
/// its `AsyncAGIExec` read.
pub(crate) fn agi_setvar_rtt(c: &mut Client, channel: &str, n: usize) -> Vec<Duration> {
    (0..n)
        .map(|i| {
            let id = format!("sv{i}");
            let t = Instant::now();
            c.agi(channel, &format!("SET VARIABLE RSVAR v{i}"), &id);
            c.flush();
            loop {
                match c.recv() {
                    Msg::Exec { command_id, result } if command_id == id => {
                        assert_eq!(result, SET_OK, "SET VARIABLE");
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

/// `in_flight` SET VARIABLEs outstanding on each channel until each has run `per_channel`
/// (a result triggers the next command on its channel), on the one AMI connection: (commands
/// per second, Asterisk's CPU per 1,000 commands in ms until it has settled, this client's).
fn agi_setvar_pipelined(c: &mut Client, ast: &Asterisk, chans: &[String], in_flight: usize, per_channel: usize) -> (f64, f64, f64) {
    let pid = ast.pid();
    let total = chans.len() * per_channel;
    let mut sent = vec![0usize; chans.len()];
    let (a0, me0) = (cpu_ticks(pid), cpu_ticks(std::process::id()));
    let t = Instant::now();
    for (i, ch) in chans.iter().enumerate() {
        for _ in 0..in_flight.min(per_channel) {
            c.agi(ch, &format!("SET VARIABLE RSVAR {}", sent[i]), &format!("{i}.{}", sent[i]));
            sent[i] += 1;
        }
    }
    c.flush();
    let mut done = 0;
    while done < total {
        let mut next = Some(c.recv());
        while let Some(msg) = next {
            match msg {
                Msg::Exec { command_id, result } => {
                    assert_eq!(result, SET_OK, "SET VARIABLE");
                    done += 1;
                    let i: usize = command_id.split('.').next().unwrap().parse().unwrap();
                    if sent[i] < per_channel {
                        c.agi(&chans[i], &format!("SET VARIABLE RSVAR {}", sent[i]), &format!("{i}.{}", sent[i]));
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
    let took = t.elapsed().as_secs_f64();
    let me1 = cpu_ticks(std::process::id());
    settle(ast);
    let per_k = |ticks: u64| ticks as f64 * TICK_MS / (total as f64 / 1000.0);
    (total as f64 / took, per_k(cpu_ticks(pid) - a0), per_k(me1 - me0))
}

/// Ours: a prompt (`STREAM FILE tt-monkeys`) started, then `Action: AGIInterrupt` → the
/// prompt's `AsyncAGIExec`; as tools/bench.rs's stop_prompt.
fn agi_stop(c: &mut Client, chan: &str, n: usize, tag: &str) -> Vec<Duration> {
    (0..n)
        .map(|i| {
            let id = format!("{tag}p{i}");
            c.agi(chan, "STREAM FILE tt-monkeys \"\"", &id);
            c.flush();
            std::thread::sleep(Duration::from_millis(30));
            let t = Instant::now();
            c.send(&format!("Action: AGIInterrupt\r\nChannel: {chan}\r\nActionID: {tag}i{i}\r\n\r\n"));
            c.flush();
            loop {
                match c.recv() {
                    Msg::Exec { command_id, .. } if command_id == id => break,
                    Msg::Response { ok: false, message, .. } => panic!("AGIInterrupt failed: {message}"),
                    _ => {}
                }
            }
            t.elapsed()
        })
        .collect()
}

fn agi_round(side: Side, plan: &AriPlan, ast: &Asterisk, c: &mut Client, tag: &str) -> Round {
    let stock = side == Side::Stock;
    let pid = ast.pid();
    let mut r = Round::default();
    let samples = if stock { plan.rtt_samples_stock } else { plan.rtt_samples };
    // One call parked.
    let (one, _) = park(c, 1, &format!("{tag}a"));
    r.rtt1 = agi_setvar_rtt(c, &one[0], samples);
    // Nine more: 10 calls × 4 in flight.
    let (mut ten, _) = park(c, 9, &format!("{tag}b"));
    ten.insert(0, one[0].clone());
    let per = if stock { plan.ten_per_channel_stock } else { plan.ten_per_channel };
    (r.rate10, r.cpu10, _) = agi_setvar_pipelined(c, ast, &ten, IN_FLIGHT, per);
    if side == Side::Ours {
        r.stop = agi_stop(c, &one[0], plan.stops, tag);
    }
    hangup_all(c, ast);
    // Many calls: memory, idle CPU, round trips among them, 4 in flight on each.
    std::thread::sleep(Duration::from_millis(500));
    let rss0 = rss_kb(pid);
    let (chans, took) = park(c, plan.parked, &format!("{tag}n"));
    r.park_secs = took.as_secs_f64();
    std::thread::sleep(Duration::from_secs(1));
    r.rss = (rss_kb(pid) as f64 - rss0 as f64) / plan.parked as f64;
    r.idle = idle_cores(pid, plan.idle_secs);
    r.rttn = agi_setvar_rtt(c, &chans[chans.len() / 2], samples);
    (r.raten, r.cpun, r.clientn) = agi_setvar_pipelined(c, ast, &chans, IN_FLIGHT, plan.per_channel);
    hangup_all(c, ast);
    r
}

// ---------------------------------------------------------------- ARI

/// Parks `n` Local calls in `Stasis(benchapp)` (originated over AMI as `park` does, into
/// `stasis@ari`): their ";2" halves' channel ids (`<tag><i>-2`), once each one's StasisStart
/// has arrived, and the time taken.
pub(crate) fn park_ari(c: &mut Client, a: &mut Ari, n: usize, tag: &str) -> (Vec<String>, Duration) {
    let t = Instant::now();
    send_batched(c, n, |i| {
        format!(
            "Action: Originate\r\nChannel: Local/stasis@ari\r\nApplication: Wait\r\nData: 36000\r\nTimeout: 36000000\r\nAsync: true\r\nChannelId: {tag}{i}-1\r\nOtherChannelId: {tag}{i}-2\r\nActionID: o{tag}{i}\r\n\r\n"
        )
    });
    let mut seen = vec![false; n];
    let mut got = 0;
    let mut shown = Instant::now();
    let deadline = Instant::now() + Duration::from_secs(120);
    while got < n {
        assert!(Instant::now() < deadline, "{got} of {n} calls entered Stasis in 120 s");
        while let Ok(m) = c.rx.try_recv() {
            if let Msg::Response { ok: false, message, id } = m {
                panic!("Originate {id} failed: {message}");
            }
        }
        if n >= 100 && shown.elapsed() >= Duration::from_secs(2) {
            eprintln!("[bench]   in Stasis {got}/{n}");
            shown = Instant::now();
        }
        if let Some(AriMsg::Event(Event::StasisStart { channel })) = a.recv_timeout(Duration::from_millis(200)) {
            if let Some(i) = channel.strip_prefix(tag).and_then(|s| s.strip_suffix("-2")).and_then(|s| s.parse::<usize>().ok()) {
                if i < n && !seen[i] {
                    seen[i] = true;
                    got += 1;
                }
            }
        }
    }
    ((0..n).map(|i| format!("{tag}{i}-2")).collect(), t.elapsed())
}

fn setvar_path(chan: &str, value: &str) -> String {
    format!("/ari/channels/{chan}/variable?variable=RSVAR&value={value}")
}

/// ARI round trips on `chan`, one at a time on one connection: `POST …/variable` written →
/// its `204` read, and → its `ChannelVarset` read from the websocket (the next request
/// waits for both).
pub(crate) fn ari_setvar_rtt(a: &mut Ari, chan: &str, n: usize) -> (Vec<Duration>, Vec<Duration>) {
    a.ensure_conns(1);
    a.drain();
    let (mut resp, mut ev) = (Vec::with_capacity(n), Vec::with_capacity(n));
    for i in 0..n {
        let v = format!("v{i}");
        let t = Instant::now();
        a.request(0, "POST", &setvar_path(chan, &v), i as u64);
        a.flush();
        let (mut r, mut e) = (None, None);
        while r.is_none() || e.is_none() {
            match a.recv() {
                AriMsg::Http { tag, status, body, .. } if tag == i as u64 => {
                    assert_eq!(status, 204, "POST variable: {}", String::from_utf8_lossy(&body));
                    r = Some(t.elapsed());
                }
                AriMsg::Event(Event::ChannelVarset { channel, variable, value }) if variable == "RSVAR" && value == v && channel == chan => {
                    e = Some(t.elapsed());
                }
                _ => {}
            }
        }
        resp.push(r.unwrap());
        ev.push(e.unwrap());
    }
    (resp, ev)
}

/// ARI with `in_flight` requests outstanding per channel until each has run `per_channel`:
/// request slot (channel i, k) goes on connection (i × in_flight + k) mod K, K = min(slots,
/// `max_conns`), and a 204 triggers that slot's next request on the same connection (so with
/// K ≥ slots each slot has a connection of its own, otherwise the slots of a connection are
/// pipelined on it). Done when every 204 and every ChannelVarset has arrived: (204s per
/// second, ChannelVarsets per second, Asterisk's CPU per 1,000 commands in ms until it has
/// settled, this client's, connections used).
fn ari_setvar_pipelined(a: &mut Ari, ast: &Asterisk, chans: &[String], in_flight: usize, per_channel: usize, max_conns: usize) -> (f64, f64, f64, f64, usize) {
    let pid = ast.pid();
    let k = (chans.len() * in_flight).min(max_conns);
    a.ensure_conns(k);
    a.drain();
    let total = chans.len() * per_channel;
    let mut sent = vec![0usize; chans.len()];
    let send = |a: &mut Ari, sent: &mut [usize], slot: usize| {
        let i = slot / in_flight;
        a.request(slot % k, "POST", &setvar_path(&chans[i], &sent[i].to_string()), slot as u64);
        sent[i] += 1;
    };
    let (a0, me0) = (cpu_ticks(pid), cpu_ticks(std::process::id()));
    let t = Instant::now();
    for slot in 0..chans.len() * in_flight {
        if sent[slot / in_flight] < per_channel {
            send(a, &mut sent, slot);
        }
    }
    a.flush();
    let (mut done, mut varsets) = (0, 0);
    let mut t_resp = None;
    while done < total || varsets < total {
        let mut next = Some(a.recv());
        while let Some(m) = next {
            match m {
                AriMsg::Http { tag, status, body, .. } => {
                    assert_eq!(status, 204, "POST variable: {}", String::from_utf8_lossy(&body));
                    done += 1;
                    if done == total {
                        t_resp = Some(t.elapsed());
                    }
                    let slot = tag as usize;
                    if sent[slot / in_flight] < per_channel {
                        send(a, &mut sent, slot);
                    }
                }
                AriMsg::Event(Event::ChannelVarset { variable, .. }) if variable == "RSVAR" => varsets += 1,
                _ => {}
            }
            next = a.try_recv();
        }
        a.flush();
    }
    let all = t.elapsed().as_secs_f64();
    let me1 = cpu_ticks(std::process::id());
    settle(ast);
    let per_k = |ticks: u64| ticks as f64 * TICK_MS / (total as f64 / 1000.0);
    (total as f64 / t_resp.unwrap().as_secs_f64(), total as f64 / all, per_k(cpu_ticks(pid) - a0), per_k(me1 - me0), k)
}

/// ARI: `POST /ari/channels/{id}/play/{playbackId}?media=sound:tt-monkeys` (201), its
/// PlaybackStarted awaited and 30 ms more (as ours' prompt is given), then `DELETE
/// /ari/playbacks/{playbackId}` → its 204 and → PlaybackFinished.
fn ari_stop(a: &mut Ari, chan: &str, n: usize, tag: &str) -> (Vec<Duration>, Vec<Duration>) {
    a.ensure_conns(1);
    a.drain();
    let (mut fin, mut ack) = (Vec::new(), Vec::new());
    for i in 0..n {
        let pb = format!("{tag}pb{i}");
        a.request(0, "POST", &format!("/ari/channels/{chan}/play/{pb}?media=sound:tt-monkeys"), 1);
        a.flush();
        let (mut created, mut started) = (false, false);
        while !(created && started) {
            match a.recv() {
                AriMsg::Http { status, body, .. } => {
                    assert_eq!(status, 201, "POST play: {}", String::from_utf8_lossy(&body));
                    created = true;
                }
                AriMsg::Event(Event::PlaybackStarted { id }) if id == pb => started = true,
                AriMsg::Event(Event::PlaybackFinished { id }) if id == pb => panic!("playback {pb} finished before it was stopped"),
                _ => {}
            }
        }
        std::thread::sleep(Duration::from_millis(30));
        let t = Instant::now();
        a.request(0, "DELETE", &format!("/ari/playbacks/{pb}"), 2);
        a.flush();
        let (mut r, mut f) = (None, None);
        while r.is_none() || f.is_none() {
            match a.recv() {
                AriMsg::Http { status, body, .. } => {
                    assert_eq!(status, 204, "DELETE playback: {}", String::from_utf8_lossy(&body));
                    r = Some(t.elapsed());
                }
                AriMsg::Event(Event::PlaybackFinished { id }) if id == pb => f = Some(t.elapsed()),
                _ => {}
            }
        }
        ack.push(r.unwrap());
        fin.push(f.unwrap());
    }
    (fin, ack)
}

fn ari_round(plan: &AriPlan, ast: &Asterisk, c: &mut Client, a: &mut Ari, tag: &str) -> Round {
    let pid = ast.pid();
    let mut r = Round::default();
    let (one, _) = park_ari(c, a, 1, &format!("{tag}a"));
    (r.rtt1, r.rtt1_ev) = ari_setvar_rtt(a, &one[0], plan.rtt_samples);
    let (mut ten, _) = park_ari(c, a, 9, &format!("{tag}b"));
    ten.insert(0, one[0].clone());
    (r.rate10, r.events_rate10, r.cpu10, _, _) = ari_setvar_pipelined(a, ast, &ten, IN_FLIGHT, plan.ten_per_channel, plan.max_conns);
    (r.stop, r.stop_ack) = ari_stop(a, &one[0], plan.stops, tag);
    hangup_all(c, ast);
    a.drain();
    std::thread::sleep(Duration::from_millis(500));
    let rss0 = rss_kb(pid);
    let (chans, took) = park_ari(c, a, plan.parked, &format!("{tag}n"));
    r.park_secs = took.as_secs_f64();
    std::thread::sleep(Duration::from_secs(1));
    r.rss = (rss_kb(pid) as f64 - rss0 as f64) / plan.parked as f64;
    r.idle = idle_cores(pid, plan.idle_secs);
    (r.rttn, r.rttn_ev) = ari_setvar_rtt(a, &chans[chans.len() / 2], plan.rtt_samples);
    (r.raten, r.events_raten, r.cpun, r.clientn, _) = ari_setvar_pipelined(a, ast, &chans, IN_FLIGHT, plan.per_channel, plan.max_conns);
    hangup_all(c, ast);
    a.drain();
    r
}

/// `bench --ari --pool`: ARI alone, with each size of the pool of HTTP connections (how
/// FULL.max_conns was chosen): 10 calls × 4 in flight, then `parked` calls × 4, two rounds;
/// 204s per second, ChannelVarsets per second (all delivered) and Asterisk's CPU per 1,000.
pub fn pool(plan: &AriPlan, sizes10: &[usize], sizes: &[usize]) {
    let ast = Asterisk::start_ari(Flavour::Stock);
    let mut c = Client::connect(ast.port);
    let mut a = Ari::connect(ast.http_port, "bench", "bench", "benchapp", 1);
    for (calls, per, sizes) in [(10, plan.ten_per_channel, sizes10), (plan.parked, plan.per_channel, sizes)] {
        let (chans, _) = park_ari(&mut c, &mut a, calls, &format!("pool{calls}"));
        for round in 0..2 {
            for &k in sizes {
                let (rate, ev_rate, cpu, client, used) = ari_setvar_pipelined(&mut a, &ast, &chans, IN_FLIGHT, per, k);
                println!("{calls} calls x 4, round {round}: {used} connections: {rate:.0} 204s/s, {ev_rate:.0} ChannelVarsets/s, Asterisk {cpu:.1} ms CPU per 1,000, client {client:.1}");
            }
        }
        hangup_all(&mut c, &ast);
        a.drain();
    }
}

/// Asterisk's threads by what started them (`core show threads`: LWP → "function (file
/// caller)"), e.g. channel threads are "pbx_thread (pbx.c ast_pbx_start())".
pub(crate) fn thread_roles(ast: &Asterisk) -> std::collections::HashMap<u32, String> {
    ast.cli("core show threads")
        .lines()
        .filter_map(|l| {
            let mut w = l.split_whitespace();
            let (_, lwp, func) = (w.next()?, w.next()?.parse::<u32>().ok()?, w.next()?);
            let rest: Vec<&str> = w.collect();
            // "started at [ 889] tcptls.c ast_tcptls_server_start()"
            let tail = rest.iter().rev().take(2).rev().copied().collect::<Vec<_>>().join(" ");
            Some((lwp, format!("{func} ({tail})")))
        })
        .collect()
}

/// `core show taskprocessors`: name → (processed, max depth).
fn taskprocessors(ast: &Asterisk) -> std::collections::HashMap<String, (u64, u64)> {
    ast.cli("core show taskprocessors")
        .lines()
        .filter_map(|l| {
            let w: Vec<&str> = l.split_whitespace().collect();
            (w.len() >= 4).then_some(())?;
            Some((w[0].to_string(), (w[1].parse().ok()?, w[3].parse().ok()?)))
        })
        .collect()
}

/// A kind of Asterisk thread, by the function that started it.
pub(crate) fn role_name(role: &str) -> String {
    let func = role.split_whitespace().next().unwrap_or("");
    match func {
        "pbx_thread" => "channel threads (`pbx_thread`: one per channel)".into(),
        "handle_tcptls_connection" => "connection threads (`handle_tcptls_connection`: the AMI session; ARI's HTTP connections)".into(),
        "default_tps_processing_function" => "taskprocessor threads (stasis routers: the manager's, the ARI application's, …)".into(),
        "desc->accept_fn" => "listener threads (`desc->accept_fn`: AMI's, HTTP's; the manager's also purges its old events there)".into(),
        _ => format!("`{role}`"),
    }
}

/// `bench --ari --threads` (and the end of `bench --ari`): where Asterisk's CPU goes at
/// `parked` calls × 4 SET VARIABLEs in flight, ours and ARI, each in an Asterisk of its own
/// booted for it: per command, the CPU of each kind of thread (by what started it, from
/// `core show threads`; schedstat's nanoseconds) and the taskprocessors that ran more than
/// 0.1 task per command. Returns it as markdown (printed too).
pub fn profile(plan: &AriPlan) -> String {
    let mut per_side: Vec<(Side, f64, f64, std::collections::BTreeMap<String, (f64, usize)>, Vec<(String, f64, u64)>)> = Vec::new();
    for side in [Side::Ours, Side::Ari] {
        eprintln!("[bench] ARI: where the CPU goes, {}", side.name());
        let ast = if side == Side::Ari { Asterisk::start_ari(Flavour::Stock) } else { Asterisk::start(Flavour::Ours) };
        let pid = ast.pid();
        let mut c = Client::connect(ast.port);
        let mut a = (side == Side::Ari).then(|| Ari::connect(ast.http_port, "bench", "bench", "benchapp", 1));
        let run = |c: &mut Client, a: &mut Option<Ari>, chans: &[String]| -> f64 {
            match a {
                Some(a) => ari_setvar_pipelined(a, &ast, chans, IN_FLIGHT, plan.per_channel, plan.max_conns).0,
                None => agi_setvar_pipelined(c, &ast, chans, IN_FLIGHT, plan.per_channel).0,
            }
        };
        let chans = match &mut a {
            Some(a) => park_ari(&mut c, a, plan.parked, "prof").0,
            None => park(&mut c, plan.parked, "prof").0,
        };
        run(&mut c, &mut a, &chans); // warm-up: every connection open
        let roles = thread_roles(&ast);
        let (before, tps0, ticks0) = (super::threads(pid), taskprocessors(&ast), cpu_ticks(pid));
        let rate = run(&mut c, &mut a, &chans);
        let (after, tps1, ticks1) = (super::threads(pid), taskprocessors(&ast), cpu_ticks(pid));
        let n = (plan.parked * plan.per_channel) as f64;
        let mut groups: std::collections::BTreeMap<String, (f64, usize)> = Default::default();
        for (tid, a1) in &after {
            let b = before.get(tid).map(|x| x.0).unwrap_or(0);
            let g = groups.entry(role_name(roles.get(tid).map(String::as_str).unwrap_or("(started during the run)"))).or_default();
            g.0 += (a1.0 - b.min(a1.0)) as f64 / 1000.0 / n;
            g.1 += 1;
        }
        groups.retain(|_, g| g.0 >= 0.05);
        let mut tps: Vec<(String, f64, u64)> = tps1
            .iter()
            .filter_map(|(k, v)| {
                let d = v.0 - tps0.get(k).map(|x| x.0).unwrap_or(0).min(v.0);
                (d as f64 / n >= 0.1).then(|| (k.clone(), d as f64 / n, v.1))
            })
            .collect();
        tps.sort_by(|x, y| y.1.partial_cmp(&x.1).unwrap());
        per_side.push((side, rate, (ticks1 - ticks0) as f64 * TICK_MS * 1000.0 / n, groups, tps));
        hangup_all(&mut c, &ast);
    }
    let mut roles: Vec<String> = per_side.iter().flat_map(|p| p.3.keys().cloned()).collect();
    roles.sort();
    roles.dedup();
    let mut t = format!(
        "Where Asterisk's CPU goes at {} calls × 4 SET VARIABLEs in flight (`bench --ari --threads`: each alone in an Asterisk booted for it, one run of {} commands after a warm-up one; µs of CPU per command, from each thread's schedstat, by what started the thread):\n\n| | res_agi_rs | ARI |\n|---|---:|---:|\n",
        plan.parked,
        plan.parked * plan.per_channel
    );
    let cell = |p: &(Side, f64, f64, std::collections::BTreeMap<String, (f64, usize)>, Vec<(String, f64, u64)>), r: &str| p.3.get(r).map(|g| format!("{:.1} ({} thread{})", g.0, g.1, if g.1 == 1 { "" } else { "s" })).unwrap_or_else(|| "—".into());
    for r in &roles {
        t += &format!("| {r} | {} | {} |\n", cell(&per_side[0], r), cell(&per_side[1], r));
    }
    t += &format!("| all of Asterisk (utime + stime) | {:.1} | {:.1} |\n", per_side[0].2, per_side[1].2);
    t += &format!("| SET VARIABLEs/s in that run | {:.0} | {:.0} |\n\n", per_side[0].1, per_side[1].1);
    for p in &per_side {
        let list: Vec<String> = p.4.iter().map(|(k, per, depth)| format!("`{k}` {per:.2} per command (deepest queue {depth})")).collect();
        t += &format!("- taskprocessors, {}: {}\n", p.0.name(), list.join("; "));
    }
    println!("{t}");
    t
}

// ---------------------------------------------------------------- the run and its table

/// One condition's rounds: per side, its rounds; and the CPU other processes took meanwhile.
struct Condition {
    name: &'static str,
    rounds: [Vec<Round>; 3],
    other_cores: f64,
    secs: f64,
}

/// Runs every round and returns the section of docs/benchmarks.md (printed too).
pub fn run(plan: &AriPlan) -> String {
    eprintln!("[bench] ARI: booting stock, ours and ARI side by side");
    let asts = [Asterisk::start(Flavour::Stock), Asterisk::start(Flavour::Ours), Asterisk::start_ari(Flavour::Stock)];
    let mut clients: Vec<Client> = asts.iter().map(|a| Client::connect(a.port)).collect();
    let mut ari = Ari::connect(asts[2].http_port, "bench", "bench", "benchapp", 1);
    let ast_pids: Vec<u32> = asts.iter().map(|a| a.pid()).collect();
    let mut conds = Vec::new();
    for (ci, busy) in [false, true].into_iter().enumerate() {
        let name = if busy { "one core busy (a busy loop beside)" } else { "quiet" };
        let hog = busy.then(Hog::start);
        let me = std::process::id();
        let own = |hog: &Option<Hog>| ast_pids.iter().map(|p| cpu_ticks(*p)).sum::<u64>() + cpu_ticks(me) + hog.as_ref().map(|h| cpu_ticks(h.0.id())).unwrap_or(0);
        let (m0, o0, t0) = (machine_busy_ticks(), own(&hog), Instant::now());
        let mut rounds: [Vec<Round>; 3] = Default::default();
        for round in 0..plan.rounds {
            for k in 0..3 {
                let s = (round + k) % 3;
                let side = SIDES[s];
                eprintln!("[bench] ARI rows, {name}, round {}/{}: {}", round + 1, plan.rounds, side.name());
                let tag = format!("c{ci}r{round}");
                let r = match side {
                    Side::Ari => ari_round(plan, &asts[s], &mut clients[s], &mut ari, &tag),
                    _ => agi_round(side, plan, &asts[s], &mut clients[s], &tag),
                };
                eprintln!(
                    "[bench]   set p50 {:.3} ms (1) {:.3} ms ({}); 10x4 {:.0}/s {:.1} ms CPU/1000; {}x4 {:.0}/s {:.1} ms CPU/1000; idle {:.4} cores; {:.1} KB/call",
                    p50(&r.rtt1),
                    p50(&r.rttn),
                    plan.parked,
                    r.rate10,
                    r.cpu10,
                    plan.parked,
                    r.raten,
                    r.cpun,
                    r.idle,
                    r.rss
                );
                rounds[s].push(r);
            }
        }
        let secs = t0.elapsed().as_secs_f64();
        let other = (machine_busy_ticks() - m0).saturating_sub(own(&hog) - o0) as f64 / 100.0 / secs;
        drop(hog);
        conds.push(Condition { name, rounds, other_cores: other, secs });
    }
    drop(ari);
    drop(clients);
    drop(asts);
    let threads = profile(plan);
    let section = section(plan, &conds, &threads);
    println!("{section}");
    section
}

fn p50(v: &[Duration]) -> f64 {
    if v.is_empty() { 0.0 } else { ms(percentile(&mut v.to_vec(), 0.5)) }
}

/// A row: three values (None: the side has no such thing), how to print them, and whether
/// lower is better (None: a figure shown for information, no winner).
struct Row {
    what: String,
    v: [Option<f64>; 3],
    decimals: usize,
    lower_better: Option<bool>,
}

fn cell(v: Option<f64>, decimals: usize) -> String {
    v.map(|x| format!("{x:.decimals$}")).unwrap_or_else(|| "—".into())
}

fn ratio(a: Option<f64>, b: Option<f64>) -> String {
    match (a, b) {
        (Some(a), Some(b)) if a == 0.0 && b > 0.0 => "0× (ours: 0)".into(),
        (Some(a), Some(b)) if b > 0.0 => {
            let r = a / b;
            if r >= 0.095 { format!("{r:.2}×") } else { format!("{r:.4}×") }
        }
        (Some(a), Some(_)) if a == 0.0 => "= (both 0)".into(),
        (Some(_), Some(_)) => "∞ (÷ 0)".into(),
        _ => "—".into(),
    }
}

fn best(r: &Row) -> String {
    let Some(lower) = r.lower_better else { return "—".into() };
    let vals: Vec<(usize, f64)> = r.v.iter().enumerate().filter_map(|(i, v)| v.map(|x| (i, x))).collect();
    if vals.len() < 2 {
        return "—".into();
    }
    let pick = vals.iter().copied().fold(vals[0], |b, x| if (lower && x.1 < b.1) || (!lower && x.1 > b.1) { x } else { b });
    let ties: Vec<&str> = vals.iter().filter(|x| (x.1 - pick.1).abs() <= 1e-12).map(|x| SIDES[x.0].name()).collect();
    let dir = if lower { "lower" } else { "higher" };
    if ties.len() > 1 {
        format!("{} tie ({dir} is better)", ties.join(" = "))
    } else {
        format!("{} ({dir} is better)", SIDES[pick.0].name())
    }
}

fn rows(plan: &AriPlan, c: &Condition) -> Vec<Row> {
    let n = plan.parked;
    let pooled = |s: usize, f: fn(&Round) -> &Vec<Duration>| -> Vec<Duration> { c.rounds[s].iter().flat_map(|r| f(r).iter().copied()).collect() };
    let pct = |s: usize, f: fn(&Round) -> &Vec<Duration>, p: f64| -> Option<f64> {
        let mut v = pooled(s, f);
        (!v.is_empty()).then(|| ms(percentile(&mut v, p)))
    };
    let med = |s: usize, f: fn(&Round) -> f64| -> Option<f64> { Some(median(&c.rounds[s].iter().map(f).collect::<Vec<_>>())) };
    let count = |s: usize, f: fn(&Round) -> &Vec<Duration>| pooled(s, f).len();
    let all3 = |f: &dyn Fn(usize) -> Option<f64>| [f(0), f(1), f(2)];
    let mut out = Vec::new();
    type Samples = fn(&Round) -> &Vec<Duration>;
    let points: [(String, Samples, Samples); 2] = [("1 parked".into(), |r| &r.rtt1, |r| &r.rtt1_ev), (format!("{n} parked"), |r| &r.rttn, |r| &r.rttn_ev)];
    for (at, cmd, ev) in points
    {
        for (p, pname) in [(0.5, "p50"), (0.99, "p99"), (0.999, "p99.9")] {
            let samples = if p == 0.999 { format!(" [samples: stock {}, ours {}, ARI {}]", count(0, cmd), count(1, cmd), count(2, cmd)) } else { String::new() };
            out.push(Row {
                what: format!("SET VARIABLE round trip {pname} (ms), {at}: AGI → AsyncAGIExec, ARI → 204{samples}"),
                v: all3(&|s| pct(s, cmd, p)),
                decimals: 3,
                lower_better: Some(true),
            });
        }
        out.push(Row {
            what: format!("ARI: the same POST → its ChannelVarset on the websocket, p50 (ms), {at} (AGI: its AsyncAGIExec is the event, as above)"),
            v: [pct(0, cmd, 0.5), pct(1, cmd, 0.5), pct(2, ev, 0.5)],
            decimals: 3,
            lower_better: Some(true),
        });
        out.push(Row { what: format!("… p99.9 (ms), {at}"), v: [pct(0, cmd, 0.999), pct(1, cmd, 0.999), pct(2, ev, 0.999)], decimals: 3, lower_better: Some(true) });
    }
    let k10 = (10 * IN_FLIGHT).min(plan.max_conns);
    let kn = (n * IN_FLIGHT).min(plan.max_conns);
    out.push(Row { what: format!("SET VARIABLEs/s, 10 calls × 4 in flight (ARI: {k10} HTTP connections)"), v: all3(&|s| med(s, |r| r.rate10)), decimals: 0, lower_better: Some(false) });
    out.push(Row {
        what: "ARI: its ChannelVarsets all delivered, per second, 10 calls × 4 (AGI: as above)".into(),
        v: [med(0, |r| r.rate10), med(1, |r| r.rate10), med(2, |r| r.events_rate10)],
        decimals: 0,
        lower_better: Some(false),
    });
    out.push(Row { what: "Asterisk CPU per 1,000 SET VARIABLEs there (ms; ARI until its last event)".into(), v: all3(&|s| med(s, |r| r.cpu10)), decimals: 1, lower_better: Some(true) });
    out.push(Row { what: format!("SET VARIABLEs/s, {n} calls × 4 in flight (ARI: {kn} HTTP connections, pipelined; its 204s)"), v: all3(&|s| med(s, |r| r.raten)), decimals: 0, lower_better: Some(false) });
    out.push(Row {
        what: format!("ARI: its ChannelVarsets all delivered, per second, {n} calls × 4 (AGI: as above)"),
        v: [med(0, |r| r.raten), med(1, |r| r.raten), med(2, |r| r.events_raten)],
        decimals: 0,
        lower_better: Some(false),
    });
    out.push(Row { what: format!("Asterisk CPU per 1,000 SET VARIABLEs at {n} calls (ms; ARI until its last event)"), v: all3(&|s| med(s, |r| r.cpun)), decimals: 1, lower_better: Some(true) });
    out.push(Row { what: "the benchmark client's own CPU per 1,000 there (ms)".into(), v: all3(&|s| med(s, |r| r.clientn)), decimals: 1, lower_better: None });
    out.push(Row { what: format!("idle CPU (cores) over {} s, {n} parked", plan.idle_secs), v: all3(&|s| med(s, |r| r.idle)), decimals: 4, lower_better: Some(true) });
    let stop = |s: usize, p: f64| if s == 0 { None } else { pct(s, |r| &r.stop, p) };
    out.push(Row {
        what: format!("stop a playing prompt p50 (ms): ours AGIInterrupt → AsyncAGIExec, ARI DELETE /playbacks/{{id}} → PlaybackFinished, stock cannot [{} each]", count(1, |r| &r.stop)),
        v: all3(&|s| stop(s, 0.5)),
        decimals: 3,
        lower_better: Some(true),
    });
    out.push(Row { what: "… p99 (ms)".into(), v: all3(&|s| stop(s, 0.99)), decimals: 3, lower_better: Some(true) });
    out.push(Row { what: "ARI: the DELETE → its 204, p50 (ms)".into(), v: [None, None, pct(2, |r| &r.stop_ack, 0.5)], decimals: 3, lower_better: None });
    out.push(Row { what: format!("RSS per parked call (KB, Local channel pair, {n} parked)"), v: all3(&|s| med(s, |r| r.rss)), decimals: 1, lower_better: Some(true) });
    out.push(Row { what: format!("time to park {n} calls (s; ARI: until each StasisStart)"), v: all3(&|s| med(s, |r| r.park_secs)), decimals: 2, lower_better: Some(true) });
    out
}

fn section(plan: &AriPlan, conds: &[Condition], threads: &str) -> String {
    let date = std::process::Command::new("date").arg("-u").arg("+%Y-%m-%d %H:%M UTC").output().map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string()).unwrap_or_default();
    let mut t = String::from("| measure | stock res_agi | res_agi_rs | ARI | ours/ARI | ours/stock | best |\n|---|---:|---:|---:|---:|---:|---|\n");
    for c in conds {
        t += &format!("| **{}** | | | | | | |\n", c.name);
        for r in rows(plan, c) {
            t += &format!("| {} | {} | {} | {} | {} | {} | {} |\n", r.what, cell(r.v[0], r.decimals), cell(r.v[1], r.decimals), cell(r.v[2], r.decimals), ratio(r.v[1], r.v[2]), ratio(r.v[1], r.v[0]), best(&r));
        }
    }
    let mut detail = String::new();
    for c in conds {
        detail += &format!(
            "- {}: {:.0} s; other processes on the machine took {:.2} cores meanwhile (besides the three Asterisks, this client{}).\n",
            c.name,
            c.secs,
            c.other_cores,
            if c.name == "quiet" { "" } else { " and the busy loop" }
        );
        for (s, side) in SIDES.iter().enumerate() {
            let line: Vec<String> = c.rounds[s].iter().map(|r| format!("{:.0}/{:.0}/s, {:.1}/{:.1} ms", r.rate10, r.raten, r.cpu10, r.cpun)).collect();
            detail += &format!("  - {} rounds (10 × 4 / {} × 4 rates, CPU per 1,000 at each): {}\n", side.name(), plan.parked, line.join("; "));
        }
    }
    format!(
        "<!-- ari:begin (bench --ari writes this section) -->\n## ARI side by side (issue 28)\n\n\
         `cargo run --release -p res_agi_rs_tools --bin bench -- --ari` writes this section (`--ari --smoke`: a short run, under a minute, prints only; \
         `--ari --threads`: only the last table; `--ari --pool`: ARI's rates with 1 to 64 HTTP connections, how its pool was chosen). \
         Three Asterisks of the same build ({}) booted side by side: stock res_agi, res_agi_rs, and ARI (`SANDBOX_ARI=yes`: res_ari, res_stasis and \
         their modules, Asterisk's HTTP server on 127.0.0.1); Local calls parked in `AGI(agi:async)` (`park@agi`) and in `Stasis(benchapp)` (`stasis@ari`), \
         originated over AMI alike. The command: set a channel variable. Async AGI: `Action: AGI` `SET VARIABLE RSVAR v` on one AMI connection, done at its \
         `AsyncAGIExec`. ARI: `POST /ari/channels/{{id}}/variable?variable=RSVAR&value=v` (tools/ari.rs: keep-alive HTTP/1.1, requests pipelined, Basic auth), \
         done at its `204` (Asterisk answers once the channel's thread has set it); its `ChannelVarset` on the events websocket is timed too. \
         {} alternating rounds per condition (stock / ours / ARI, rotated), quiet and then with a `sh -c 'while :; do :; done'` beside; round trips are pooled \
         over the rounds, the other rows are medians of rounds. Measured {date} on {}.\n\n{t}\n{detail}\n{threads}<!-- ari:end -->\n",
        crate::common::target_version(),
        plan.rounds,
        machine()
    )
}
