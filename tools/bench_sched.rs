//! `bench --sched`: where the round-trip tail comes from (issue 28, part 1).
//!
//! One command at a time (SET VARIABLE: ours `Action: AGI` → its `AsyncAGIExec`, ARI
//! `POST …/variable` → its `204`) while `perf sched record` traces every context switch and
//! wake-up of the machine (`-k CLOCK_MONOTONIC`, the clock each round trip's start is read
//! from, so the two line up). `perf sched timehist` then gives, for every time a thread ran,
//! how long it had waited on a run queue after its wake-up (the scheduling delay). For each
//! round trip the tool adds up, per kind of thread (channel threads, AMI/HTTP connection
//! threads, taskprocessors, the benchmark client, …), the part of the round trip that thread
//! kind spent woken but not running, and the part it spent running; and compares the slowest
//! 1 % of the round trips with all of them. That says which hop the tail waits on.
//!
//! `bench --sched [--smoke] [--sides ours,ours-other,ari] [--write]`: quiet and then
//! with a `sh -c 'while :; do :; done'` beside (one core busy); `ours-other` is ours
//! with `RS_PARKED_POLICY=other` (parked threads stay SCHED_OTHER, src/app.rs parked_batch).
use super::bench_ari::ari::Ari;
use super::bench_ari::{agi_setvar_rtt, ari_setvar_rtt, park_ari, role_name, thread_roles, Hog};
use super::{hangup_all, park, Client};
use crate::common::{Asterisk, Flavour};
use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

fn mono_ns() -> u64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: clock_gettime writes the timespec it is given.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

fn arg<T: std::str::FromStr>(name: &str) -> Option<T> {
    let args: Vec<String> = std::env::args().collect();
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).and_then(|v| v.parse().ok())
}

/// One slice of a thread's run, from `perf sched timehist`: woken at `wake`, ran from `start`
/// to `end` (ns, CLOCK_MONOTONIC).
struct Slice {
    tid: u32,
    wake: u64,
    start: u64,
    end: u64,
}

fn timehist(file: &str) -> Vec<Slice> {
    let out = std::process::Command::new("perf").args(["sched", "timehist", "-i", file]).output().expect("perf sched timehist");
    let text = String::from_utf8_lossy(&out.stdout);
    let ns = |s: &str| -> Option<u64> { s.parse::<f64>().ok().map(|v| (v * 1e6).round() as u64) };
    text.lines()
        .filter_map(|l| {
            // "   11966.350988 [0000]  migration/0[18]   0.000   0.010   0.029"
            let w: Vec<&str> = l.split_whitespace().collect();
            if w.len() < 6 || !w[1].starts_with('[') {
                return None;
            }
            let n = w.len();
            let (end, delay, run) = (ns(w[0]).map(|t| t * 1000)?, ns(w[n - 2])?, ns(w[n - 1])?);
            let task = w[2..n - 3].join(" ");
            let inner = task.rsplit_once('[')?.1.trim_end_matches(']');
            let tid: u32 = inner.split('/').next()?.parse().ok()?;
            let start = end.saturating_sub(run);
            Some(Slice { tid, wake: start.saturating_sub(delay), start, end })
        })
        .collect()
}

fn overlap(a: (u64, u64), b: (u64, u64)) -> u64 {
    a.1.min(b.1).saturating_sub(a.0.max(b.0))
}

fn pct(v: &mut [u64], p: f64) -> f64 {
    v.sort_unstable();
    if v.is_empty() {
        return 0.0;
    }
    v[((v.len() as f64 - 1.0) * p).round() as usize] as f64 / 1e6
}

#[derive(Clone, Copy, PartialEq)]
enum Side {
    Ours,
    OursOther,
    Ari,
}

impl Side {
    fn name(self) -> &'static str {
        match self {
            Side::Ours => "res_agi_rs (parked threads SCHED_BATCH)",
            Side::OursOther => "res_agi_rs, RS_PARKED_POLICY=other (parked threads SCHED_OTHER)",
            Side::Ari => "ARI",
        }
    }
}

/// The sizes of a `--sched` run.
pub struct SchedPlan {
    pub samples: usize,
    /// How long perf traces (s); the round trips stop 2 s before.
    pub secs: u64,
    pub parked: &'static [usize],
}

pub const FULL: SchedPlan = SchedPlan { samples: 5000, secs: 7, parked: &[1, 1000] };
pub const SMOKE: SchedPlan = SchedPlan { samples: 200, secs: 3, parked: &[1, 20] };

/// One side's figures for the summary table.
struct Summary {
    side: Side,
    parked: usize,
    busy: bool,
    p50: f64,
    p99: f64,
    p999: f64,
    /// The thread kind that waited longest (woken, not running) in the slowest 1 %, and how long (µs).
    worst: (String, f64),
}

/// perf sched needs the scheduler's tracepoints: tracefs mounted (a fresh VM may not have it).
fn tracefs() {
    if std::path::Path::new("/sys/kernel/tracing/events/sched").exists() {
        return;
    }
    let ok = std::process::Command::new("mount").args(["-t", "tracefs", "nodev", "/sys/kernel/tracing"]).status().map(|s| s.success()).unwrap_or(false);
    assert!(ok && std::path::Path::new("/sys/kernel/tracing/events/sched").exists(), "bench --sched: no scheduler tracepoints (tracefs could not be mounted on /sys/kernel/tracing; run as root)");
}

/// One side's run: round trips (start, duration in ns) and the slices of the trace.
fn run(side: Side, parked: usize, plan: &SchedPlan, busy: bool) -> (String, Summary) {
    let samples = plan.samples;
    if side == Side::OursOther {
        std::env::set_var("RS_PARKED_POLICY", "other");
    } else {
        std::env::remove_var("RS_PARKED_POLICY");
    }
    let ast = if side == Side::Ari { Asterisk::start_ari(Flavour::Stock) } else { Asterisk::start(Flavour::Ours) };
    std::env::remove_var("RS_PARKED_POLICY");
    let mut c = Client::connect(ast.port);
    let mut a = (side == Side::Ari).then(|| Ari::connect(ast.http_port, "bench", "bench", "benchapp", 1));
    let chans = match &mut a {
        Some(a) => park_ari(&mut c, a, parked, "sch").0,
        None => park(&mut c, parked, "sch").0,
    };
    let chan = chans[chans.len() / 2].clone();
    let one = |c: &mut Client, a: &mut Option<Ari>| -> Duration {
        match a {
            Some(a) => ari_setvar_rtt(a, &chan, 1).0[0],
            None => agi_setvar_rtt(c, &chan, 1)[0],
        }
    };
    for _ in 0..200 {
        one(&mut c, &mut a); // warm-up
    }
    let mut roles: HashMap<u32, String> = thread_roles(&ast).into_iter().map(|(t, r)| (t, role_name(&r))).collect();
    let hog = busy.then(Hog::start);
    let me = std::process::id();
    let hog_pid = hog.as_ref().map(|h| h.pid());
    std::thread::sleep(Duration::from_millis(300));
    let file = format!("/tmp/bench-sched-{me}.data");
    let secs = plan.secs;
    let mut perf = std::process::Command::new("perf")
        .args(["sched", "record", "-k", "CLOCK_MONOTONIC", "-o", &file, "--", "sleep", &secs.to_string()])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("perf sched record");
    std::thread::sleep(Duration::from_millis(800));
    let t = Instant::now();
    let mut rtts: Vec<(u64, u64)> = Vec::with_capacity(samples);
    while rtts.len() < samples && t.elapsed() < Duration::from_secs(secs - 2) {
        let s = mono_ns();
        let d = one(&mut c, &mut a);
        rtts.push((s, d.as_nanos() as u64));
    }
    let status = perf.wait().expect("perf sched record");
    assert!(status.success(), "perf sched record failed ({status}): is linux-perf installed (scripts/sandbox.sh provision)?");
    drop(hog);
    // Threads born since (none expected) and the machine's other tasks get coarse names.
    for e in std::fs::read_dir(format!("/proc/{me}/task")).into_iter().flatten().flatten() {
        if let Some(tid) = e.file_name().to_str().and_then(|t| t.parse::<u32>().ok()) {
            roles.insert(tid, "the benchmark client (its threads)".into());
        }
    }
    let ast_pid = ast.pid();
    let slices = timehist(&file);
    let _ = std::fs::remove_file(&file);
    hangup_all(&mut c, &ast);
    let role_of = |tid: u32| -> String {
        if let Some(r) = roles.get(&tid) {
            return r.clone();
        }
        if Some(tid) == hog_pid {
            return "the busy loop".into();
        }
        if std::path::Path::new(&format!("/proc/{ast_pid}/task/{tid}")).exists() {
            return "other Asterisk threads".into();
        }
        "other tasks of the machine".into()
    };
    // Per round trip: per role, delay (woken, not running) and run time inside the window.
    let mut starts: Vec<(u64, u32, u64, u64, u64)> = slices.iter().map(|s| (s.wake, s.tid, s.wake, s.start, s.end)).collect();
    starts.sort_unstable();
    let per_rtt: Vec<BTreeMap<String, (u64, u64)>> = rtts
        .iter()
        .map(|&(s, d)| {
            let w = (s, s + d);
            let mut m: BTreeMap<String, (u64, u64)> = BTreeMap::new();
            // Slices that could touch the window: woken before its end, ended after its start
            // (a slice lasts at most the whole trace; scan from 50 ms before).
            let from = starts.partition_point(|x| x.0 < s.saturating_sub(50_000_000));
            for &(_, tid, wake, start, end) in starts[from..].iter().take_while(|x| x.0 < w.1) {
                if end < w.0 {
                    continue;
                }
                let (dl, rn) = (overlap((wake, start), w), overlap((start, end), w));
                if dl + rn > 0 {
                    let e = m.entry(role_of(tid)).or_default();
                    e.0 += dl;
                    e.1 += rn;
                }
            }
            m
        })
        .collect();
    let mut durs: Vec<u64> = rtts.iter().map(|r| r.1).collect();
    let (p50, p99, p999) = (pct(&mut durs.clone(), 0.5), pct(&mut durs.clone(), 0.99), pct(&mut durs, 0.999));
    let cut = (p99 * 1e6) as u64;
    let slow: Vec<usize> = (0..rtts.len()).filter(|&i| rtts[i].1 >= cut).collect();
    let mut role_names: Vec<String> = per_rtt.iter().flat_map(|m| m.keys().cloned()).collect();
    role_names.sort();
    role_names.dedup();
    let mean = |idx: &mut dyn Iterator<Item = usize>, r: &str, f: fn(&(u64, u64)) -> u64| -> f64 {
        let (mut sum, mut n) = (0u64, 0u64);
        for i in idx {
            sum += per_rtt[i].get(r).map(f).unwrap_or(0);
            n += 1;
        }
        sum as f64 / n.max(1) as f64 / 1e3
    };
    let mean_rtt = |idx: &[usize]| idx.iter().map(|&i| rtts[i].1).sum::<u64>() as f64 / idx.len().max(1) as f64 / 1e3;
    let all: Vec<usize> = (0..rtts.len()).collect();
    let mut t = format!(
        "### {}, {parked} parked, {}\n\n{} round trips in {:.1} s: p50 {p50:.3} ms, p99 {p99:.3} ms, p99.9 {p999:.3} ms; mean {:.1} µs, the slowest 1 % ({} of them) {:.1} µs.\n\n\
         | thread kind | all: waited woken (µs) | all: ran (µs) | slowest 1 %: waited woken (µs) | slowest 1 %: ran (µs) |\n|---|---:|---:|---:|---:|\n",
        side.name(),
        if busy { "one core busy" } else { "quiet" },
        rtts.len(),
        t.elapsed().as_secs_f64(),
        mean_rtt(&all),
        slow.len(),
        mean_rtt(&slow),
    );
    let mut worst = (String::from("—"), 0.0);
    for r in &role_names {
        let (da, ra) = (mean(&mut all.iter().copied(), r, |x| x.0), mean(&mut all.iter().copied(), r, |x| x.1));
        let (ds, rs) = (mean(&mut slow.iter().copied(), r, |x| x.0), mean(&mut slow.iter().copied(), r, |x| x.1));
        if ds > worst.1 {
            worst = (r.clone(), ds);
        }
        if da.max(ra).max(ds).max(rs) >= 0.5 {
            t += &format!("| {r} | {da:.1} | {ra:.1} | {ds:.1} | {rs:.1} |\n");
        }
    }
    // Each Asterisk thread kind's own scheduling delays over the whole run.
    t += "\nScheduling delay of each wake-up over the run (ms), by thread kind: ";
    let mut delays: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    let (t0, t1) = (rtts.first().map(|r| r.0).unwrap_or(0), rtts.last().map(|r| r.0 + r.1).unwrap_or(0));
    for s in slices.iter().filter(|s| s.start > s.wake && s.start >= t0 && s.start <= t1) {
        let r = role_of(s.tid);
        if r.starts_with("other tasks") {
            continue;
        }
        delays.entry(r).or_default().push(s.start - s.wake);
    }
    let parts: Vec<String> = delays
        .iter_mut()
        .filter(|(_, v)| v.len() >= 20)
        .map(|(r, v)| {
            let n = v.len();
            format!("{r}: {n} wake-ups, p50 {:.3}, p99 {:.3}, max {:.3}", pct(v, 0.5), pct(v, 0.99), pct(v, 1.0))
        })
        .collect();
    t += &(parts.join("; ") + ".\n\n");
    eprintln!("{t}");
    (t, Summary { side, parked, busy, p50, p99, p999, worst })
}

/// Every side at every size, quiet and then with one core busy: the section of
/// docs/benchmarks.md between `<!-- sched:begin` and `<!-- sched:end -->`.
pub fn run_all(plan: &SchedPlan, sides: &[&str]) -> String {
    tracefs();
    let mut detail = String::new();
    let mut sums: Vec<Summary> = Vec::new();
    for busy in [false, true] {
        for &parked in plan.parked {
            for s in sides {
                let side = match *s {
                    "ours" => Side::Ours,
                    "ours-other" => Side::OursOther,
                    "ari" => Side::Ari,
                    other => panic!("--sides: unknown side {other:?} (ours, ours-other, ari)"),
                };
                eprintln!("[bench] sched: {}, {parked} parked, {}", side.name(), if busy { "busy" } else { "quiet" });
                let (t, sum) = run(side, parked, plan, busy);
                detail += &t;
                sums.push(sum);
            }
        }
    }
    let mut table = String::from("| condition | side | p50 (ms) | p99 (ms) | p99.9 (ms) | the slowest 1 % waited longest on (µs woken, not running) |\n|---|---|---:|---:|---:|---|\n");
    for m in &sums {
        table += &format!(
            "| {} parked, {} | {} | {:.3} | {:.3} | {:.3} | {} ({:.0}) |\n",
            m.parked,
            if m.busy { "one core busy" } else { "quiet" },
            m.side.name(),
            m.p50,
            m.p99,
            m.p999,
            m.worst.0,
            m.worst.1
        );
    }
    let section = format!(
        "<!-- sched:begin (bench --sched writes this section) -->\n## Where the tail comes from (issue 28, `bench --sched`)\n\n\
         SET VARIABLE round trips one at a time (ours `Action: AGI` → `AsyncAGIExec`; ARI `POST …/variable` → `204`) while `perf sched record` traces every \
         wake-up and context switch of the machine; each round trip is split, per kind of thread, into time spent woken but waiting for a CPU and time \
         running (tools/bench_sched.rs). `RS_PARKED_POLICY=other` is ours with parked channel threads left SCHED_OTHER instead of SCHED_BATCH. \
         {} round trips per side and condition, one run each; measured {} on {}.\n\n{table}\n<details><summary>Per thread kind, every side and condition</summary>\n\n{detail}</details>\n<!-- sched:end -->\n",
        plan.samples,
        std::process::Command::new("date").arg("-u").arg("+%Y-%m-%d %H:%M UTC").output().map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string()).unwrap_or_default(),
        super::machine(),
    );
    println!("{table}");
    section
}

/// `bench --sched [--smoke] [--sides ours,ours-other,ari] [--write]`.
pub fn main() {
    let smoke = std::env::args().any(|a| a == "--smoke");
    let sides: String = arg("--sides").unwrap_or_else(|| "ours,ours-other,ari".into());
    let sides: Vec<&str> = sides.split(',').collect();
    let section = run_all(if smoke { &SMOKE } else { &FULL }, &sides);
    if std::env::args().any(|a| a == "--write") {
        super::rewrite_section("sched", &section);
    }
}
