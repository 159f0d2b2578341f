//! `make soak`: 30 minutes (`soak MINUTES` for another length; `make test` runs 2) at 500
//! parked calls with a steady mix: commands of every kind (EXEC Playback among them), DTMF
//! played into calls (AMI `PlayDTMF`), calls arriving and leaving, breaks and redirects.
//! Every 10 s Asterisk's RSS, open descriptors, threads and the command latency (p50, p99 of
//! that window) go to a CSV, drawn as docs/soak.svg (plotters). Pass: every command answered
//! exactly once, RSS flat after warm-up, p99 stable.
#[path = "../tests/common/mod.rs"]
mod common;

use common::{Asterisk, Flavour};
use plotters::prelude::*;
use std::collections::HashMap;
use std::time::{Duration, Instant};

const PARKED: usize = 500;
const MIX: &[&str] = &[
    "NOOP",
    "GET VARIABLE UNIQUEID",
    "SET VARIABLE SOAK 1",
    "CHANNEL STATUS",
    "DATABASE PUT soak key value",
    "DATABASE GET soak key",
    "STREAM FILE beep \"\"",
    "EXEC Playback beep",
    "SAY DIGITS 12 \"\"",
    "WAIT FOR DIGIT 300",
    "GET FULL VARIABLE ${CHANNEL}",
    "NO SUCH COMMAND",
];

struct Sample {
    secs: f64,
    rss_mb: f64,
    fds: usize,
    threads: usize,
    p50_ms: f64,
    p99_ms: f64,
    answered: usize,
    parked: usize,
    /// From /proc/PID/smaps: resident in malloc's arenas (the main heap and the 64 MB-aligned
    /// thread arenas) and in every other anonymous mapping (thread stacks, large mmaps).
    arenas_mb: f64,
    other_anon_mb: f64,
    /// From `agi show memory` (res_agi_rs only): the module's own live heap and glibc's
    /// process-wide bytes in use and free-but-kept.
    module_heap_kb: Option<f64>,
    malloc_in_use_mb: Option<f64>,
    malloc_free_mb: Option<f64>,
}

/// Resident KB of malloc's arenas and of the other anonymous mappings (see `Sample`).
fn smaps_split(pid: u32) -> (f64, f64) {
    let text = std::fs::read_to_string(format!("/proc/{pid}/smaps")).unwrap_or_default();
    let (mut arenas, mut other) = (0u64, 0u64);
    let mut kind = 0; // 0 file/special, 1 arena, 2 other anonymous
    for line in text.lines() {
        let mut w = line.split_whitespace();
        let first = w.next().unwrap_or("");
        if let Some((a, _)) = first.split_once('-').filter(|(a, b)| !a.is_empty() && a.bytes().all(|c| c.is_ascii_hexdigit()) && b.bytes().all(|c| c.is_ascii_hexdigit())) {
            let name = line.split_whitespace().nth(5);
            let start = u64::from_str_radix(a, 16).unwrap_or(1);
            kind = match name {
                Some("[heap]") => 1,
                None if start % (64 << 20) == 0 => 1,
                None => 2,
                _ => 0,
            };
        } else if first == "Rss:" {
            let kb: u64 = w.next().and_then(|v| v.parse().ok()).unwrap_or(0);
            match kind {
                1 => arenas += kb,
                2 => other += kb,
                _ => {}
            }
        }
    }
    (arenas as f64 / 1024.0, other as f64 / 1024.0)
}

/// `agi show memory`: (module heap KB, malloc in use MB, malloc free MB).
fn show_memory(ast: &Asterisk) -> Option<(f64, f64, f64)> {
    common::show_memory(ast).map(|m| (m.heap_bytes as f64 / 1024.0, m.malloc_in_use as f64 / 1048576.0, m.malloc_free as f64 / 1048576.0))
}

fn proc_status(pid: u32, key: &str) -> u64 {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    s.lines().find(|l| l.starts_with(key)).and_then(|l| l.split_whitespace().nth(1)).and_then(|v| v.parse().ok()).unwrap_or(0)
}

fn pct(v: &mut [f64], p: f64) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[((v.len() - 1) as f64 * p).round() as usize]
}

fn main() {
    let minutes: f64 = std::env::args().nth(1).and_then(|m| m.parse().ok()).unwrap_or(30.0);
    let short = minutes < 5.0;
    // `soak MINUTES stock`: the same load on stock res_agi, to tell Asterisk's own RSS growth
    // from ours (writes target/soak-stock.{csv,svg}; stock drops queued commands when a call
    // goes, so its "missing" count is not a failure).
    let stock = std::env::args().nth(2).as_deref() == Some("stock");
    let ast = Asterisk::start(if stock { Flavour::Stock } else { Flavour::Ours });
    let pid = ast.pid();
    let ami = ast.ami();
    ami.action(&[("Action", "Events"), ("EventMask", "agi,user")]);
    // channel name → uniqueid of the calls now parked
    let mut parked: HashMap<String, String> = HashMap::new();
    let mut sent: HashMap<String, Instant> = HashMap::new();
    let mut answers: HashMap<String, usize> = HashMap::new();
    let mut window: Vec<f64> = Vec::new();
    let mut samples: Vec<Sample> = Vec::new();
    let mut next_call = 0usize;
    let mut next_cmd = 0usize;
    let mut rng = 0x2545F4914F6CDD1Du64;
    let mut rand = move |n: usize| {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        (rng % n as u64) as usize
    };
    let start = Instant::now();
    let end = start + Duration::from_secs_f64(minutes * 60.0);
    let mut next_sample = start + Duration::from_secs(10);
    let mut originating = 0usize;
    eprintln!("[soak] {minutes} min at {PARKED} parked calls");
    while Instant::now() < end {
        // Keep PARKED calls up: originate what is missing.
        while parked.len() + originating < PARKED {
            common::send_park(&ami, &format!("soak{next_call}-1"), &format!("soak{next_call}-2"), 3600);
            next_call += 1;
            originating += 1;
        }
        for m in ami.collect(Duration::from_millis(20), |m| m.get("Event").is_some() || m.get("Response").is_some()) {
            match m.get("Event") {
                Some("AsyncAGIStart") => {
                    parked.insert(m.get("Channel").unwrap().to_string(), m.get("Uniqueid").unwrap().to_string());
                    originating = originating.saturating_sub(1);
                }
                Some("AsyncAGIEnd") => {
                    parked.remove(m.get("Channel").unwrap());
                }
                Some("AsyncAGIExec") => {
                    if let Some(id) = m.get("CommandId") {
                        *answers.entry(id.to_string()).or_default() += 1;
                        if let Some(t) = sent.get(id) {
                            window.push(t.elapsed().as_secs_f64() * 1000.0);
                        }
                    }
                }
                // A command sent to a call that had just gone is refused at once: not counted.
                None if m.get("Response") == Some("Error") => {
                    if let Some(id) = m.get("ActionID").filter(|id| id.starts_with('k')) {
                        sent.remove(id);
                    }
                }
                _ => {}
            }
        }
        // About 200 commands a second over the parked calls, plus DTMF, departures, breaks and
        // redirects now and then.
        let names: Vec<String> = parked.keys().cloned().collect();
        if names.is_empty() {
            continue;
        }
        for _ in 0..4 {
            let chan = &names[rand(names.len())];
            let id = format!("k{next_cmd}");
            next_cmd += 1;
            let cmd = MIX[rand(MIX.len())];
            ami.send(&[("Action", "AGI"), ("Channel", chan), ("Command", cmd), ("CommandID", &id), ("ActionID", &id)]);
            sent.insert(id, Instant::now());
        }
        match rand(40) {
            0 => {
                ami.send(&[("Action", "PlayDTMF"), ("Channel", &names[rand(names.len())]), ("Digit", "5"), ("Duration", "100")]);
            }
            1 => {
                let c = names[rand(names.len())].clone();
                ami.send(&[("Action", "Hangup"), ("Channel", &c)]);
                parked.remove(&c);
            }
            2 => {
                let c = &names[rand(names.len())];
                let id = format!("k{next_cmd}");
                next_cmd += 1;
                ami.send(&[("Action", "AGI"), ("Channel", c), ("Command", "ASYNCAGI BREAK"), ("CommandID", &id), ("ActionID", &id)]);
                sent.insert(id, Instant::now());
            }
            3 => {
                let c = names[rand(names.len())].clone();
                ami.send(&[("Action", "Redirect"), ("Channel", &c), ("Context", "agi"), ("Exten", "reparknow"), ("Priority", "1")]);
            }
            _ => {}
        }
        if Instant::now() >= next_sample {
            next_sample += Duration::from_secs(10);
            let split = smaps_split(pid);
            let mem = if stock { None } else { show_memory(&ast) };
            let s = Sample {
                secs: start.elapsed().as_secs_f64(),
                rss_mb: proc_status(pid, "VmRSS:") as f64 / 1024.0,
                fds: std::fs::read_dir(format!("/proc/{pid}/fd")).map(|d| d.count()).unwrap_or(0),
                threads: proc_status(pid, "Threads:") as usize,
                p50_ms: pct(&mut window.clone(), 0.5),
                p99_ms: pct(&mut window, 0.99),
                answered: answers.len(),
                parked: parked.len(),
                arenas_mb: split.0,
                other_anon_mb: split.1,
                module_heap_kb: mem.map(|m| m.0),
                malloc_in_use_mb: mem.map(|m| m.1),
                malloc_free_mb: mem.map(|m| m.2),
            };
            eprintln!(
                "[soak] {:>5.0} s: RSS {:.1} MB (malloc arenas {:.1}, other anonymous {:.1}{}), {} fds, {} threads, p50 {:.2} ms, p99 {:.2} ms, {} parked, {} commands answered",
                s.secs,
                s.rss_mb,
                s.arenas_mb,
                s.other_anon_mb,
                mem.map(|m| format!("; malloc in use {:.1}, free {:.1}; res_agi_rs heap {:.0} KB", m.1, m.2, m.0)).unwrap_or_default(),
                s.fds,
                s.threads,
                s.p50_ms,
                s.p99_ms,
                s.parked,
                s.answered
            );
            samples.push(s);
            window.clear();
        }
    }
    // The end: hang everything up; every command sent must have exactly one answer.
    ami.send(&[("Action", "Hangup"), ("Channel", "/^Local\\//")]);
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        for m in ami.collect(Duration::from_millis(200), |m| m.is_event("AsyncAGIExec") || m.get("Response") == Some("Error")) {
            if let Some(id) = m.get("CommandId") {
                *answers.entry(id.to_string()).or_default() += 1;
            } else if let Some(id) = m.get("ActionID").filter(|id| id.starts_with('k')) {
                sent.remove(id);
            }
        }
        // (Stock drops queued commands without a word: only its channels are waited for.)
        let done = stock || sent.keys().all(|id| answers.contains_key(id));
        if (done && ast.cli("core show channels count").starts_with("0 active channels")) || Instant::now() > deadline {
            break;
        }
    }
    // SOAK_HOLD=<seconds>: keep Asterisk up that long once every call is gone (for a heap
    // profile taken then, e.g. under RS_WRAP=heaptrack).
    if let Some(secs) = std::env::var("SOAK_HOLD").ok().and_then(|s| s.parse::<u64>().ok()) {
        eprintln!("[soak] every call gone; holding Asterisk (pid {pid}) for {secs} s");
        std::thread::sleep(Duration::from_secs(secs));
    }
    let missing = sent.keys().filter(|id| !answers.contains_key(*id)).count();
    let duplicated = sent.keys().filter(|id| answers.get(*id).is_some_and(|&c| c > 1)).count();
    // Flat RSS: the last third's mean within 10 % of the middle third's; stable p99: no window's
    // p99 above 5 times the median window's (and above 50 ms).
    let third = samples.len() / 3;
    let mean = |s: &[Sample]| s.iter().map(|x| x.rss_mb).sum::<f64>() / s.len().max(1) as f64;
    let (mid, last) = (mean(&samples[third..2 * third.max(1)]), mean(&samples[2 * third..]));
    let rss_flat = samples.len() < 3 || last <= mid * 1.10;
    let mut p99s: Vec<f64> = samples.iter().map(|s| s.p99_ms).collect();
    let p99_median = pct(&mut p99s.clone(), 0.5);
    let p99_max = p99s.iter().cloned().fold(0.0, f64::max);
    p99s.clear();
    let p99_stable = p99_max <= (p99_median * 5.0).max(50.0);
    let pass = missing == 0 && duplicated == 0 && rss_flat && p99_stable;
    // RSS slope after warm-up (the first third left out), least squares, MB per minute.
    let tail = &samples[third..];
    let n = tail.len().max(1) as f64;
    let (mx, my) = (tail.iter().map(|s| s.secs).sum::<f64>() / n, tail.iter().map(|s| s.rss_mb).sum::<f64>() / n);
    let sxy: f64 = tail.iter().map(|s| (s.secs - mx) * (s.rss_mb - my)).sum();
    let sxx: f64 = tail.iter().map(|s| (s.secs - mx).powi(2)).sum();
    let slope = if sxx > 0.0 { sxy / sxx * 60.0 } else { 0.0 };
    println!(
        "soak {minutes} min{}: {} commands, {missing} missing, {duplicated} duplicated; RSS middle third {mid:.1} MB, last third {last:.1} MB (flat: {rss_flat}), slope after warm-up {slope:.2} MB/min; p99 median {p99_median:.2} ms, worst {p99_max:.2} ms (stable: {p99_stable})",
        if stock { " (stock)" } else { "" },
        sent.len()
    );
    let dir = common::project_dir();
    let csv_path = if stock { dir.join("target/soak-stock.csv") } else if short { dir.join("target/soak.csv") } else { dir.join("docs/soak.csv") };
    let mut csv = String::from("seconds,rss_mb,fds,threads,p50_ms,p99_ms,parked,answered,arenas_mb,other_anon_mb,module_heap_kb,malloc_in_use_mb,malloc_free_mb\n");
    let opt = |v: Option<f64>| v.map(|v| format!("{v:.2}")).unwrap_or_default();
    for s in &samples {
        csv += &format!(
            "{:.0},{:.2},{},{},{:.3},{:.3},{},{},{:.2},{:.2},{},{},{}\n",
            s.secs,
            s.rss_mb,
            s.fds,
            s.threads,
            s.p50_ms,
            s.p99_ms,
            s.parked,
            s.answered,
            s.arenas_mb,
            s.other_anon_mb,
            opt(s.module_heap_kb),
            opt(s.malloc_in_use_mb),
            opt(s.malloc_free_mb)
        );
    }
    std::fs::write(&csv_path, csv).expect("write the soak CSV");
    let svg_path = if stock { dir.join("target/soak-stock.svg") } else if short { dir.join("target/soak.svg") } else { dir.join("docs/soak.svg") };
    draw(&svg_path, &samples, minutes, if stock { "stock res_agi" } else { "res_agi_rs" }).expect("draw the soak plot");
    eprintln!("[soak] wrote {} and {}", csv_path.display(), svg_path.display());
    if stock {
        return;
    }
    println!("{}", if pass { "PASS" } else { "FAIL" });
    if !pass {
        std::process::exit(1);
    }
}

/// Two panels over time: Asterisk's RSS (MB) and the commands' p50/p99 latency (ms).
fn draw(path: &std::path::Path, samples: &[Sample], minutes: f64, who: &str) -> Result<(), Box<dyn std::error::Error>> {
    let root = SVGBackend::new(path, (900, 600)).into_drawing_area();
    root.fill(&WHITE)?;
    let (top, bottom) = root.split_vertically(300);
    let xmax = samples.last().map_or(60.0, |s| s.secs).max(10.0);
    let rss_max = samples.iter().map(|s| s.rss_mb).fold(1.0, f64::max) * 1.2;
    let mut c = ChartBuilder::on(&top)
        .caption(format!("{who} soak, {minutes} min, {PARKED} parked calls: Asterisk memory (MB)"), ("sans-serif", 18))
        .margin(10)
        .x_label_area_size(30)
        .y_label_area_size(50)
        .build_cartesian_2d(0.0..xmax, 0.0..rss_max)?;
    c.configure_mesh().x_desc("seconds").y_desc("MB").draw()?;
    c.draw_series(LineSeries::new(samples.iter().map(|s| (s.secs, s.rss_mb)), &BLUE))?.label("RSS").legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], BLUE));
    c.draw_series(LineSeries::new(samples.iter().map(|s| (s.secs, s.arenas_mb)), &MAGENTA))?.label("in malloc arenas").legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], MAGENTA));
    if samples.iter().all(|s| s.malloc_in_use_mb.is_some()) {
        c.draw_series(LineSeries::new(samples.iter().map(|s| (s.secs, s.malloc_in_use_mb.unwrap_or(0.0))), &BLACK))?
            .label("malloc in use")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], BLACK));
        c.draw_series(LineSeries::new(samples.iter().map(|s| (s.secs, s.module_heap_kb.unwrap_or(0.0) / 1024.0)), &CYAN))?
            .label("res_agi_rs heap")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], CYAN));
    }
    c.configure_series_labels().position(SeriesLabelPosition::LowerRight).border_style(BLACK).draw()?;
    let lat_max = samples.iter().map(|s| s.p99_ms).fold(1.0, f64::max) * 1.2;
    let mut c = ChartBuilder::on(&bottom)
        .caption("command latency per 10 s window (Action: AGI → AsyncAGIExec)", ("sans-serif", 18))
        .margin(10)
        .x_label_area_size(30)
        .y_label_area_size(50)
        .build_cartesian_2d(0.0..xmax, 0.0..lat_max)?;
    c.configure_mesh().x_desc("seconds").y_desc("ms").draw()?;
    c.draw_series(LineSeries::new(samples.iter().map(|s| (s.secs, s.p99_ms)), &RED))?.label("p99").legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], RED));
    c.draw_series(LineSeries::new(samples.iter().map(|s| (s.secs, s.p50_ms)), &GREEN))?.label("p50").legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], GREEN));
    c.configure_series_labels().border_style(BLACK).draw()?;
    root.present()?;
    Ok(())
}
