//! The SIP rows of `make bench` (issue 20): real calls from SIPp (chan_pjsip on loopback, each
//! streaming a 440 Hz tone to Asterisk, 50 RTP packets a second) parked in `AGI(agi:async)`,
//! stock and ours side by side:
//! - Asterisk's CPU per parked call at 100, 300 and 500 calls (both read every frame; stock
//!   also polls every 100 ms), and SIPp's and the machine's CPU beside it;
//! - NOOP round trips at 300 SIP calls against the same on 300 Local channels, each beside
//!   the floor Asterisk allows on that path at that moment (Setvar → VarSet, interleaved);
//! - where this machine's two cores saturate: ours, more calls until Asterisk, SIPp and the
//!   client together take 1.9 of the 2 cores.
use super::{cpu_ticks, hangup_all, ms, paired_rtt, park, percentile, Client, Msg, Plan};
use crate::common::sip::{LoadPlan, SippLoad};
use crate::common::{Asterisk, Flavour};
use std::time::{Duration, Instant, SystemTime};

/// The sizes of the SIP rows.
pub struct SipPlan {
    /// Calls parked for the CPU rows (ascending).
    pub levels: &'static [usize],
    /// Seconds of CPU measured at each level.
    pub secs: u64,
    /// Calls for the NOOP rows (SIP and Local alike).
    pub rtt_calls: usize,
    pub rtt_samples: usize,
    pub rtt_samples_stock: usize,
    /// Beyond the levels, ours only: more calls, this many at a time, until the machine is
    /// busy or this many are up.
    pub ramp_step: usize,
    pub ramp_max: usize,
    pub rounds: usize,
}

pub const FULL: SipPlan = SipPlan { levels: &[100, 300, 500], secs: 10, rtt_calls: 300, rtt_samples: 2000, rtt_samples_stock: 100, ramp_step: 200, ramp_max: 1500, rounds: 2 };
pub const SMOKE: SipPlan = SipPlan { levels: &[10, 20], secs: 2, rtt_calls: 20, rtt_samples: 30, rtt_samples_stock: 5, ramp_step: 10, ramp_max: 30, rounds: 1 };

/// One level's CPU: Asterisk's ms of CPU per call per second, Asterisk's, SIPp's and the
/// load's cores (Asterisk + SIPp + this client: everything the run puts on the machine).
#[derive(Clone, Copy, Default, Debug)]
pub struct Level {
    pub calls: usize,
    pub per_call_ms: f64,
    pub ast_cores: f64,
    pub sipp_cores: f64,
    pub machine_cores: f64,
}

/// SIP calls being added to one Asterisk.
struct Calls {
    loads: Vec<SippLoad>,
    chans: Vec<String>,
    next_rtp: u16,
}

impl Calls {
    fn new(first_rtp: u16) -> Calls {
        Calls { loads: Vec::new(), chans: Vec::new(), next_rtp: first_rtp }
    }

    /// Places `n` more calls (100 a second) and waits until each is parked.
    fn add(&mut self, ast: &Asterisk, c: &mut Client, n: usize) -> Result<(), String> {
        let rtp = (self.next_rtp, self.next_rtp + n as u16 * 2 + 20);
        self.next_rtp = rtp.1 + 2;
        // Hang up by Asterisk at the end (Action: Hangup), not by a BYE of SIPp's.
        let bye_at = SystemTime::now() + Duration::from_secs(3 * 3600);
        self.loads.push(SippLoad::start(ast, &LoadPlan { service: "sippark", calls: n, rate: 100, bye_at, rtp_ports: rtp }));
        let want = self.chans.len() + n;
        let deadline = Instant::now() + Duration::from_secs(30) + Duration::from_millis(n as u64 * 20);
        while self.chans.len() < want {
            if Instant::now() > deadline {
                return Err(format!("{} of {want} SIP calls parked in time", self.chans.len()));
            }
            if let Ok(Msg::Start { channel, .. }) = c.rx.recv_timeout(Duration::from_millis(200)) {
                if channel.starts_with("PJSIP/") {
                    self.chans.push(channel);
                }
            }
        }
        Ok(())
    }

    fn sipp_ticks(&self) -> u64 {
        self.loads.iter().map(|l| cpu_ticks(l.pid())).sum()
    }

    /// Asterisk's, SIPp's and the machine's CPU over `secs`.
    fn measure(&self, ast: &Asterisk, secs: u64) -> Level {
        std::thread::sleep(Duration::from_secs(2));
        let me = std::process::id();
        let (a, s, m) = (cpu_ticks(ast.pid()), self.sipp_ticks(), cpu_ticks(me));
        let t = Instant::now();
        std::thread::sleep(Duration::from_secs(secs));
        let el = t.elapsed().as_secs_f64();
        let (a2, s2, m2) = (cpu_ticks(ast.pid()), self.sipp_ticks(), cpu_ticks(me));
        let cores = |ticks: u64| ticks as f64 / 100.0 / el;
        let n = self.chans.len();
        Level {
            calls: n,
            per_call_ms: cores(a2 - a) * 1000.0 / n as f64,
            ast_cores: cores(a2 - a),
            sipp_cores: cores(s2 - s),
            machine_cores: cores((a2 - a) + (s2 - s) + (m2 - m)),
        }
    }

    /// Asterisk hangs every SIP call up; SIPp answers each BYE and ends.
    fn end(mut self, ast: &Asterisk, c: &mut Client) {
        c.send("Action: Hangup\r\nChannel: /^PJSIP\\//\r\nActionID: siphup\r\n\r\n");
        c.flush();
        c.wait_response("siphup");
        let deadline = Instant::now() + Duration::from_secs(120);
        while !ast.cli("core show channels count").starts_with("0 active channels") {
            assert!(Instant::now() < deadline, "SIP calls did not hang up");
            std::thread::sleep(Duration::from_millis(100));
        }
        for l in &mut self.loads {
            l.wait(Duration::from_secs(60));
        }
        while c.rx.try_recv().is_ok() {}
    }
}

/// NOOP and Setvar → VarSet round trips (p50, p99 in ms) on the middle one of `chans`.
#[derive(Clone, Copy, Default, Debug)]
pub struct Rtt {
    pub noop_p50: f64,
    pub noop_p99: f64,
    pub setvar_p50: f64,
    pub setvar_p99: f64,
}

fn rtt(c: &mut Client, chans: &[String], samples: usize, noops: usize) -> Rtt {
    let (mut s, mut n) = paired_rtt(c, &chans[chans.len() / 2], samples, noops);
    Rtt { noop_p50: ms(percentile(&mut n, 0.5)), noop_p99: ms(percentile(&mut n, 0.99)), setvar_p50: ms(percentile(&mut s, 0.5)), setvar_p99: ms(percentile(&mut s, 0.99)) }
}

/// What one flavour's rounds measured.
#[derive(Default)]
pub struct SipResults {
    pub levels: Vec<Vec<Level>>,
    pub sip_rtt: Vec<Rtt>,
    pub local_rtt: Vec<Rtt>,
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    if v.is_empty() {
        0.0
    } else {
        v[v.len() / 2]
    }
}

/// One round on one Asterisk: the CPU levels (the NOOP rows at the level of `rtt_calls`),
/// then the NOOP rows on Local channels.
fn round(flavour: Flavour, ast: &Asterisk, c: &mut Client, plan: &SipPlan, first_rtp: u16, tag: &str, r: &mut SipResults) {
    let mut calls = Calls::new(first_rtp);
    let mut levels = Vec::new();
    let noops = if flavour == Flavour::Stock { plan.rtt_samples_stock } else { plan.rtt_samples };
    for &n in plan.levels {
        let more = n - calls.chans.len();
        calls.add(ast, c, more).unwrap_or_else(|e| panic!("{flavour:?}: {e}"));
        let l = calls.measure(ast, plan.secs);
        eprintln!("[bench] SIP {flavour:?}: {} calls: Asterisk {:.3} ms CPU per call per s ({:.2} cores), SIPp {:.2} cores, machine {:.2} cores", l.calls, l.per_call_ms, l.ast_cores, l.sipp_cores, l.machine_cores);
        levels.push(l);
        if n == plan.rtt_calls {
            let x = rtt(c, &calls.chans, plan.rtt_samples, noops);
            eprintln!("[bench] SIP {flavour:?}: at {n} SIP calls NOOP p50 {:.3} p99 {:.3} ms, Setvar→VarSet p50 {:.3} p99 {:.3} ms", x.noop_p50, x.noop_p99, x.setvar_p50, x.setvar_p99);
            r.sip_rtt.push(x);
        }
    }
    calls.end(ast, c);
    r.levels.push(levels);
    let (chans, _) = park(c, plan.rtt_calls, tag);
    std::thread::sleep(Duration::from_millis(300));
    let x = rtt(c, &chans, plan.rtt_samples, noops);
    eprintln!("[bench] SIP {flavour:?}: at {} Local calls NOOP p50 {:.3} p99 {:.3} ms, Setvar→VarSet p50 {:.3} p99 {:.3} ms", plan.rtt_calls, x.noop_p50, x.noop_p99, x.setvar_p50, x.setvar_p99);
    r.local_rtt.push(x);
    hangup_all(c, ast);
}

/// Ours alone: more calls, `ramp_step` at a time, until the machine is busy (1.9 of its 2
/// cores), calls no longer park in time, or `ramp_max`.
fn ramp(plan: &SipPlan) -> (Vec<Level>, Vec<(usize, Rtt)>, String) {
    let ast = Asterisk::start_sip_load(Flavour::Ours, 10_000, plan.ramp_max as u16 * 2 + 400);
    let mut c = Client::connect_with(ast.port, "agi,dialplan");
    let mut calls = Calls::new(20_000);
    let (mut levels, mut rtts) = (Vec::new(), Vec::new());
    let mut why = format!("{} calls reached (the ramp's end)", plan.ramp_max);
    while calls.chans.len() < plan.ramp_max {
        if let Err(e) = calls.add(&ast, &mut c, plan.ramp_step) {
            why = format!("calls no longer parked in time: {e}");
            break;
        }
        let l = calls.measure(&ast, plan.secs);
        let x = rtt(&mut c, &calls.chans, plan.rtt_samples / 4, plan.rtt_samples / 4);
        eprintln!("[bench] SIP ramp: {} calls: Asterisk {:.2} cores, SIPp {:.2}, machine {:.2}; NOOP p50 {:.3} p99 {:.3} ms", l.calls, l.ast_cores, l.sipp_cores, l.machine_cores, x.noop_p50, x.noop_p99);
        levels.push(l);
        rtts.push((l.calls, x));
        if l.machine_cores >= 1.9 {
            why = format!("the load took {:.2} of the 2 cores at {} calls", l.machine_cores, l.calls);
            break;
        }
    }
    calls.end(&ast, &mut c);
    (levels, rtts, why)
}

fn ratio(stock: f64, ours: f64) -> String {
    if ours > 0.0 {
        format!("{:.2}×", stock / ours)
    } else {
        "—".into()
    }
}

/// Runs the SIP rows, prints them, and returns the markdown section for docs/benchmarks.md.
pub fn run(plan: &SipPlan, _bench: &Plan) -> String {
    eprintln!("[bench] SIP rows: booting stock and ours side by side (chan_pjsip on loopback)");
    let max = *plan.levels.iter().max().unwrap();
    let ports = max.max(plan.rtt_calls) as u16 * 2 + 200;
    let asts = [Asterisk::start_sip_load(Flavour::Stock, 10_000, ports), Asterisk::start_sip_load(Flavour::Ours, 10_000 + ports + 100, ports)];
    let mut clients: Vec<Client> = asts.iter().map(|a| Client::connect_with(a.port, "agi,dialplan")).collect();
    let mut res = [SipResults::default(), SipResults::default()];
    for k in 0..plan.rounds {
        let order = if k % 2 == 0 { [0, 1] } else { [1, 0] };
        for i in order {
            let flavour = if i == 0 { Flavour::Stock } else { Flavour::Ours };
            eprintln!("[bench] SIP round {}/{}: {flavour:?}", k + 1, plan.rounds);
            round(flavour, &asts[i], &mut clients[i], plan, 20_000 + i as u16 * 4000, &format!("sip{k}l"), &mut res[i]);
        }
    }
    drop(clients);
    drop(asts);
    let (ramp_levels, ramp_rtts, why) = ramp(plan);

    let level_med = |r: &SipResults, j: usize, f: fn(&Level) -> f64| median(&mut r.levels.iter().map(|l| f(&l[j])).collect::<Vec<_>>());
    let rtt_med = |v: &[Rtt], f: fn(&Rtt) -> f64| median(&mut v.iter().map(f).collect::<Vec<_>>());
    let [s, o] = &res;
    let mut t = String::from("| measure | stock res_agi | res_agi_rs | ours better by |\n|---|---:|---:|---:|\n");
    for (j, &n) in plan.levels.iter().enumerate() {
        let (sv, ov) = (level_med(s, j, |l| l.per_call_ms), level_med(o, j, |l| l.per_call_ms));
        t += &format!("| Asterisk CPU per parked SIP call, {n} calls (ms of CPU per call per second) | {sv:.3} | {ov:.3} | {} |\n", ratio(sv, ov));
    }
    for (j, &n) in plan.levels.iter().enumerate() {
        t += &format!(
            "| at {n} SIP calls: Asterisk / SIPp / all three with the client (cores) | {:.2} / {:.2} / {:.2} | {:.2} / {:.2} / {:.2} | — |\n",
            level_med(s, j, |l| l.ast_cores), level_med(s, j, |l| l.sipp_cores), level_med(s, j, |l| l.machine_cores),
            level_med(o, j, |l| l.ast_cores), level_med(o, j, |l| l.sipp_cores), level_med(o, j, |l| l.machine_cores)
        );
    }
    let n = plan.rtt_calls;
    for (what, f) in [("p50", (|r: &Rtt| r.noop_p50) as fn(&Rtt) -> f64), ("p99", |r: &Rtt| r.noop_p99)] {
        let (sv, ov) = (rtt_med(&s.sip_rtt, f), rtt_med(&o.sip_rtt, f));
        t += &format!("| NOOP round trip {what} (ms), {n} SIP calls with media | {sv:.3} | {ov:.3} | {} |\n", ratio(sv, ov));
        let (sv, ov) = (rtt_med(&s.local_rtt, f), rtt_med(&o.local_rtt, f));
        t += &format!("| NOOP round trip {what} (ms), {n} Local calls, no media | {sv:.3} | {ov:.3} | {} |\n", ratio(sv, ov));
    }
    for (what, f) in [("p50", (|r: &Rtt| r.setvar_p50) as fn(&Rtt) -> f64), ("p99", |r: &Rtt| r.setvar_p99)] {
        t += &format!(
            "| floor: Setvar → VarSet {what} (ms), {n} SIP calls / {n} Local calls | {:.3} / {:.3} | {:.3} / {:.3} | — |\n",
            rtt_med(&s.sip_rtt, f), rtt_med(&s.local_rtt, f), rtt_med(&o.sip_rtt, f), rtt_med(&o.local_rtt, f)
        );
    }
    let (sip50, loc50, sip99, loc99) = (rtt_med(&o.sip_rtt, |r| r.noop_p50), rtt_med(&o.local_rtt, |r| r.noop_p50), rtt_med(&o.sip_rtt, |r| r.noop_p99), rtt_med(&o.local_rtt, |r| r.noop_p99));
    let (fsip99, floc99) = (rtt_med(&o.sip_rtt, |r| r.setvar_p99), rtt_med(&o.local_rtt, |r| r.setvar_p99));
    let mut targets = String::new();
    for (j, &n) in plan.levels.iter().enumerate() {
        let (sv, ov) = (level_med(s, j, |l| l.per_call_ms), level_med(o, j, |l| l.per_call_ms));
        targets += &format!("- CPU per parked SIP call at {n}: ours {ov:.3} vs stock {sv:.3} ms/s: {}\n", if ov <= sv { "met (ours ≤ stock)" } else { "**not met**" });
    }
    targets += &format!(
        "- NOOP at {n} SIP calls vs {n} Local calls (ours): p50 {sip50:.3} vs {loc50:.3} ms ({:.2}×), p99 {sip99:.3} vs {loc99:.3} ms ({:.2}×); goal within 1.25×: {}\n",
        sip50 / loc50,
        sip99 / loc99,
        if sip50 <= 1.25 * loc50 && sip99 <= 1.25 * loc99 { "met" } else { "**not met**" }
    );
    targets += &format!(
        "- the floor on the same path at the same moments (Setvar → VarSet p99, ours' Asterisk): {fsip99:.3} ms with SIP calls vs {floc99:.3} ms with Local calls ({:.2}×)\n",
        fsip99 / floc99
    );
    let mut ramp_t = String::from("| SIP calls (ours) | Asterisk (cores) | SIPp (cores) | Asterisk + SIPp + client (cores of 2) | Asterisk ms of CPU per call per second | NOOP p50 (ms) | NOOP p99 (ms) |\n|---:|---:|---:|---:|---:|---:|---:|\n");
    for (l, (_, x)) in ramp_levels.iter().zip(&ramp_rtts) {
        ramp_t += &format!("| {} | {:.2} | {:.2} | {:.2} | {:.3} | {:.3} | {:.3} |\n", l.calls, l.ast_cores, l.sipp_cores, l.machine_cores, l.per_call_ms, x.noop_p50, x.noop_p99);
    }
    let out = format!(
        "<!-- sip:begin (make bench writes this section; bench --sip alone rewrites only it) -->\n## Real SIP calls with media (issue 20)\n\n\
         SIPp (Debian's sip-tester) calls the sandbox's chan_pjsip on loopback; each call streams a 440 Hz tone to Asterisk (PCMU, 50 RTP packets a second) and is parked in \
         `AGI(agi:async)` (`sippark`); both Asterisks booted side by side, {} alternating rounds, medians. CPU is Asterisk's over {} s at each level (utime + stime), per call per \
         second; SIPp runs on the same 2 cores. The NOOP rows: one channel in the middle, NOOP and Setvar → VarSet interleaved, so the floor sees the same moments \
         ({} NOOPs on ours, {} on stock per round).\n\n{t}\nIssue 20's targets, from this run:\n\n{targets}\n\
         Where the two cores saturate (ours, {} more calls at a time; stops at {}): {why}.\n\n{ramp_t}\n<!-- sip:end -->\n",
        plan.rounds, plan.secs, plan.rtt_samples, plan.rtt_samples_stock, plan.ramp_step, plan.ramp_max
    );
    println!("\n{out}");
    out
}
