//! Real SIP calls for the tests (issue 20): SIPp (Debian's sip-tester, in the chroot) calls the
//! sandbox's chan_pjsip on loopback (`Asterisk::start_sip`), streams audio to Asterisk and can
//! send one RFC 4733 digit; what Asterisk sends back goes to the test's own RTP sink, which
//! counts and times every packet.
#![allow(dead_code)]
use super::{sandbox_root, Asterisk};
use std::net::UdpSocket;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// One RTP packet Asterisk sent to the caller.
#[derive(Clone, Copy, Debug)]
pub struct Packet {
    pub at: Instant,
    pub payload_type: u8,
    pub len: usize,
}

/// A UDP socket on 127.0.0.1 that records every RTP packet it gets, until dropped.
pub struct RtpSink {
    pub port: u16,
    packets: Arc<Mutex<Vec<Packet>>>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl RtpSink {
    pub fn new() -> RtpSink {
        // An even port (RTP's convention), with the odd one above it free for RTCP.
        let sock = loop {
            let s = UdpSocket::bind("127.0.0.1:0").expect("bind an RTP sink");
            let port = s.local_addr().unwrap().port();
            if port % 2 == 0 && UdpSocket::bind(("127.0.0.1", port + 1)).is_ok() {
                break s;
            }
        };
        let port = sock.local_addr().unwrap().port();
        sock.set_read_timeout(Some(Duration::from_millis(50))).unwrap();
        let packets = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (p, s) = (packets.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            let mut buf = [0u8; 2048];
            while !s.load(Ordering::SeqCst) {
                if let Ok(n) = sock.recv(&mut buf) {
                    if n >= 12 && buf[0] >> 6 == 2 {
                        p.lock().unwrap().push(Packet { at: Instant::now(), payload_type: buf[1] & 0x7f, len: n - 12 });
                    }
                }
            }
        });
        RtpSink { port, packets, stop, thread: Some(thread) }
    }

    /// Every packet so far.
    pub fn packets(&self) -> Vec<Packet> {
        self.packets.lock().unwrap().clone()
    }

    /// Packets of audio (PCMU) received between `from` and `to`.
    pub fn audio_between(&self, from: Instant, to: Instant) -> usize {
        self.packets().iter().filter(|p| p.payload_type == 0 && p.at >= from && p.at <= to).count()
    }
}

impl Drop for RtpSink {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// What one SIPp call does.
pub struct CallPlan {
    /// The extension in context agi (sippark, sipeagi, sipscript, sipfast).
    pub service: &'static str,
    /// Hang up (BYE) this long after the call is up.
    pub hold: Duration,
    /// One RFC 4733 digit ('0'-'9'), sent this long after the call is up.
    pub dtmf: Option<(char, Duration)>,
    /// The INVITE's X-Agi-Arg1 and X-Agi-Arg2 headers, which the dialplan passes on
    /// (sipeagi: output file, audio format; sipscript: command file, transcript file;
    /// sipfast: the FastAGI server's port).
    pub args: Option<(String, String)>,
}

/// A SIPp caller running one call; killed on drop if still running.
pub struct Sipp {
    child: Option<Child>,
    pub sink: RtpSink,
    pub log: PathBuf,
}

static CALLS: AtomicUsize = AtomicUsize::new(0);

/// 30 s of a 440 Hz tone in u-law, 8 kHz (what SIPp streams to Asterisk, looped).
fn tone_file(dir: &std::path::Path) -> PathBuf {
    let path = dir.join("tone.ulaw");
    if !path.exists() {
        let bytes: Vec<u8> = (0..8000 * 30)
            .map(|i| {
                let x = (i as f64 * 440.0 * 2.0 * std::f64::consts::PI / 8000.0).sin() * 8000.0;
                linear_to_ulaw(x as i16)
            })
            .collect();
        std::fs::write(&path, bytes).expect("write the tone");
    }
    path
}

/// G.711 u-law of one 16-bit sample.
fn linear_to_ulaw(sample: i16) -> u8 {
    const BIAS: i32 = 0x84;
    const CLIP: i32 = 32635;
    let mut s = sample as i32;
    let sign = if s < 0 { 0x80 } else { 0 };
    if s < 0 {
        s = -s;
    }
    s = s.min(CLIP) + BIAS;
    let mut exponent = 7;
    let mut mask = 0x4000;
    while exponent > 0 && s & mask == 0 {
        exponent -= 1;
        mask >>= 1;
    }
    let mantissa = (s >> (exponent + 3)) & 0x0f;
    !(sign | (exponent << 4) as i32 | mantissa) as u8
}

impl Sipp {
    /// Places one call to `ast` (started with `start_sip`) as `plan` says.
    pub fn call(ast: &Asterisk, plan: &CallPlan) -> Sipp {
        assert!(ast.sip_port != 0, "this Asterisk has no SIP: start it with Asterisk::start_sip");
        let n = CALLS.fetch_add(1, Ordering::SeqCst);
        let dir = ast.instance_dir().join("sip");
        std::fs::create_dir_all(&dir).unwrap();
        let inside = format!("/srv/res_agi_rs/{}/sip", ast.name);
        tone_file(&dir);
        let mut scenario = std::fs::read_to_string(super::project_dir().join("tests/sipp/uac.xml")).expect("tests/sipp/uac.xml");
        if plan.dtmf.is_none() {
            let (a, b) = (scenario.find("<!--DTMF").unwrap(), scenario.find("<!--/DTMF-->").unwrap());
            scenario.replace_range(a..b + "<!--/DTMF-->".len(), "");
            scenario = scenario.replace(r#"<Global variables="hold,dtmf_at" />"#, r#"<Global variables="hold" />"#);
        }
        if let Some((digit, _)) = plan.dtmf {
            scenario = scenario.replace("@DIGIT@", &digit.to_string());
        }
        let sf = format!("uac-{n}.xml");
        std::fs::write(dir.join(&sf), scenario).unwrap();
        let sink = RtpSink::new();
        let sip_port = super::free_udp_port();
        let media = super::free_udp_port();
        let at = plan.dtmf.map(|(_, at)| at.as_millis().to_string()).unwrap_or_default();
        let (arg1, arg2) = plan.args.clone().unwrap_or(("none".into(), "none".into()));
        let log = dir.join(format!("sipp-{n}.log"));
        let child = Command::new("chroot")
            .arg(sandbox_root())
            .args(["sipp", &format!("127.0.0.1:{}", ast.sip_port), "-sf", &format!("{inside}/{sf}"), "-s", plan.service])
            .args(["-m", "1", "-l", "1", "-i", "127.0.0.1", "-mi", "127.0.0.1", "-p", &sip_port.to_string()])
            .args(["-min_rtp_port", &media.to_string(), "-max_rtp_port", &(media + 50).to_string()])
            .args(["-key", "rtpport", &sink.port.to_string(), "-key", "audio", &format!("{inside}/tone.ulaw")])
            .args(["-set", "hold", &plan.hold.as_millis().to_string()])
            .args(if plan.dtmf.is_some() { vec!["-set".to_string(), "dtmf_at".to_string(), at] } else { Vec::new() })
            .args(["-key", "arg1", &arg1, "-key", "arg2", &arg2])
            .args(["-nostdin", "-timeout", "60", "-timeout_error", "-trace_err", "-error_file", &format!("{inside}/sipp-{n}.err")])
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&log).unwrap())
            .stderr(Stdio::null())
            .spawn()
            .expect("SIPp in the chroot (scripts/sandbox.sh provision installs sip-tester)");
        Sipp { child: Some(child), sink, log }
    }

    /// Waits for SIPp to end its call; true when it ended as its scenario says (false: the
    /// call failed, or Asterisk hung up first).
    pub fn wait(&mut self, timeout: Duration) -> bool {
        let t = Instant::now();
        let child = self.child.as_mut().expect("running");
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                self.child = None;
                return status.success();
            }
            assert!(t.elapsed() < timeout, "SIPp still running after {timeout:?}: {}", std::fs::read_to_string(&self.log).unwrap_or_default());
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Sipp {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Many SIPp calls at once (`tests/sipp/load.xml`): `calls` calls to `service`, placed at
/// `rate` a second, each streaming the tone to Asterisk, all hanging up (BYE) at the same
/// wall-clock moment `bye_at` (a BYE storm); Asterisk's RTP to them goes to one shared sink.
pub struct LoadPlan {
    pub service: &'static str,
    pub calls: usize,
    pub rate: usize,
    pub bye_at: std::time::SystemTime,
    /// SIPp's own RTP ports (first, last): two a call, apart from Asterisk's range.
    pub rtp_ports: (u16, u16),
}

/// A running SIPp load; killed on drop if still running.
pub struct SippLoad {
    child: Option<Child>,
    pub sink: RtpSink,
    pub log: PathBuf,
    stat: PathBuf,
    pid: u32,
}

impl SippLoad {
    pub fn start(ast: &Asterisk, plan: &LoadPlan) -> SippLoad {
        assert!(ast.sip_port != 0, "this Asterisk has no SIP: start it with Asterisk::start_sip_load");
        let n = CALLS.fetch_add(1, Ordering::SeqCst);
        let dir = ast.instance_dir().join("sip");
        std::fs::create_dir_all(&dir).unwrap();
        let inside = format!("/srv/res_agi_rs/{}/sip", ast.name);
        tone_file(&dir);
        let sf = format!("load-{n}.xml");
        std::fs::copy(super::project_dir().join("tests/sipp/load.xml"), dir.join(&sf)).expect("tests/sipp/load.xml");
        let sink = RtpSink::new();
        let sip_port = super::free_udp_port();
        let at = plan.bye_at.duration_since(std::time::UNIX_EPOCH).unwrap();
        let left = plan.bye_at.duration_since(std::time::SystemTime::now()).unwrap_or_default();
        let log = dir.join(format!("sipp-load-{n}.log"));
        let stat = dir.join(format!("sipp-load-{n}.csv"));
        let child = Command::new("chroot")
            .arg(sandbox_root())
            .args(["sipp", &format!("127.0.0.1:{}", ast.sip_port), "-sf", &format!("{inside}/{sf}"), "-s", plan.service])
            .args(["-m", &plan.calls.to_string(), "-l", &plan.calls.to_string(), "-r", &plan.rate.to_string(), "-rp", "1000"])
            .args(["-i", "127.0.0.1", "-mi", "127.0.0.1", "-p", &sip_port.to_string()])
            .args(["-min_rtp_port", &plan.rtp_ports.0.to_string(), "-max_rtp_port", &plan.rtp_ports.1.to_string()])
            .args(["-key", "rtpport", &sink.port.to_string(), "-key", "audio", &format!("{inside}/tone.ulaw")])
            .args(["-key", "deadline", &at.as_secs().to_string(), "-key", "deadline_ms", &at.subsec_millis().to_string()])
            .args(["-nostdin", "-timeout", &format!("{}s", left.as_secs() + 120), "-timeout_error"])
            .args(["-trace_stat", "-stf", &format!("{inside}/sipp-load-{n}.csv"), "-fd", "1"])
            .args(["-trace_err", "-error_file", &format!("{inside}/sipp-load-{n}.err")])
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&log).unwrap())
            .stderr(Stdio::null())
            .spawn()
            .expect("SIPp in the chroot (scripts/sandbox.sh provision installs sip-tester)");
        let pid = child.id();
        SippLoad { child: Some(child), sink, log, stat, pid }
    }

    /// SIPp's process (chroot execs it), for its CPU time.
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// Waits for SIPp to end; its exit code (0: every call as the scenario says; 1: some
    /// failed, e.g. hung up by Asterisk first or refused).
    pub fn wait(&mut self, timeout: Duration) -> i32 {
        let t = Instant::now();
        let child = self.child.as_mut().expect("running");
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                self.child = None;
                return status.code().unwrap_or(-1);
            }
            assert!(t.elapsed() < timeout, "SIPp load still running after {timeout:?}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The last row of SIPp's statistics file (-trace_stat), by column: SuccessfulCall(C),
    /// FailedCall(C), Retransmissions(C), FailedUnexpectedMessage(C)…
    pub fn stats(&self) -> std::collections::HashMap<String, String> {
        let text = std::fs::read_to_string(&self.stat).unwrap_or_default();
        let mut lines = text.lines().filter(|l| !l.trim().is_empty());
        let head: Vec<&str> = lines.next().unwrap_or("").split(';').collect();
        let last: Vec<&str> = lines.last().unwrap_or("").split(';').collect();
        head.iter().zip(last.iter()).map(|(k, v)| (k.trim().to_string(), v.trim().to_string())).collect()
    }

    /// One counter of `stats` (0 when absent).
    pub fn stat(&self, name: &str) -> u64 {
        self.stats().get(name).and_then(|v| v.parse().ok()).unwrap_or(0)
    }

    /// The unexpected messages SIPp logged (e.g. a 503), from its error file.
    pub fn errors(&self) -> String {
        std::fs::read_to_string(self.stat.with_extension("err")).unwrap_or_default()
    }
}

impl Drop for SippLoad {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// What a BYE storm (`bye_storm`) showed.
#[derive(Debug, Default)]
pub struct StormReport {
    pub calls: usize,
    pub commands: usize,
    /// Commands answered by exactly one AsyncAGIExec (a result or a cancellation).
    pub answered_once: usize,
    pub missing: usize,
    pub duplicated: usize,
    /// Cancellations among the answers (`Cancelled: hangup`).
    pub cancelled: usize,
    /// From the first BYE to the last AsyncAGIEnd of the storm's calls.
    pub settled: Duration,
    /// The highest depth the manager's stasis subscription queue reached from 1 s before the
    /// storm on (taskprocessor `stasis/m:manager:core-…`, Max Depth in `core show
    /// taskprocessors`, reset then), and the other taskprocessor with the deepest queue.
    pub manager_max_depth: u64,
    /// The messages that taskprocessor ran from then on (Processed).
    pub manager_processed: u64,
    pub deepest_other: (String, u64),
    /// Log lines of Asterisk's taskprocessor high-water alert ("queue reached").
    pub high_water_lines: Vec<String>,
    /// The calls placed during the storm: how many, succeeded, failed, and 503s SIPp saw.
    pub new_calls: usize,
    pub new_ok: u64,
    pub new_failed: u64,
    pub new_503: usize,
    /// The storm's own SIPp: calls that ended as the scenario says (BYE, 200).
    pub storm_ok: u64,
    pub alive: bool,
    pub channels_left: String,
}

/// A BYE storm on `flavour`: `calls` SIP calls parked in AGI(agi:async), each with a
/// WAIT FOR DIGIT running and `queued` NOOPs queued behind it, all hanging up (SIPp's BYE) at
/// the same moment; meanwhile another SIPp places `new_calls` calls (from 1 s before the storm
/// on, 20 a second). Counts every command's answers, the manager's queue depth, the alert's
/// log lines, the new calls' failures (503 from an overloaded PJSIP), what is left after.
/// Every message `ami` got within `wait`, after a Ping nudge (Asterisk 22.10's manager can leave a
/// session's events queued until the client sends something: see `Ami::wait_for`).
fn drain(ami: &super::ami::Ami, wait: Duration) -> Vec<super::ami::Message> {
    ami.send_raw(b"Action: Ping\r\nActionID: rs-nudge\r\n\r\n");
    ami.collect(wait, |_| true)
}

pub fn bye_storm(flavour: super::Flavour, calls: usize, queued: usize, new_calls: usize) -> StormReport {
    use super::ami::Ami;
    use std::collections::HashMap;
    let ports = (calls + new_calls) as u16 * 2 + 200;
    // Asterisk's RTP ports, SIPp's (storm) and SIPp's (new calls) apart from each other.
    let ast = Asterisk::start_sip_load(flavour, 10_000, ports);
    let ami = Ami::connect(ast.port);
    let r = ami.action(&[("Action", "Login"), ("Username", "admin"), ("Secret", "admin"), ("Events", "agi")]);
    assert_eq!(r.get("Response"), Some("Success"), "{r:?}");
    let rate = 50;
    let setup = Duration::from_millis((calls * 1000 / rate) as u64) + Duration::from_secs(6);
    let bye_at = std::time::SystemTime::now() + setup;
    let bye_instant = Instant::now() + setup;
    let mut storm = SippLoad::start(&ast, &LoadPlan { service: "sippark", calls, rate, bye_at, rtp_ports: (20_000, 20_000 + ports) });
    // Park: each call gets its commands as soon as it starts.
    let mut chans: HashMap<String, usize> = HashMap::new();
    let mut uniq: HashMap<String, usize> = HashMap::new();
    let mut answers: HashMap<String, usize> = HashMap::new();
    let mut cancelled = 0;
    let mut ended = 0;
    let mut last_end = bye_instant;
    let handle = |m: &super::ami::Message, answers: &mut HashMap<String, usize>, cancelled: &mut usize| {
        if m.is_event("AsyncAGIExec") {
            if let Some(id) = m.get("CommandId") {
                if id.starts_with("st") {
                    *answers.entry(id.to_string()).or_default() += 1;
                    if m.get("Cancelled").is_some() {
                        *cancelled += 1;
                    }
                }
            }
        }
    };
    let t = Instant::now();
    while chans.len() < calls {
        assert!(t.elapsed() < setup + Duration::from_secs(30), "{} of {calls} calls parked", chans.len());
        let got = drain(&ami, Duration::from_millis(50));
        for m in got {
            handle(&m, &mut answers, &mut cancelled);
            if m.is_event("AsyncAGIStart") {
                let chan = m.get("Channel").unwrap_or("").to_string();
                if chans.contains_key(&chan) || !chan.starts_with("PJSIP/") {
                    continue;
                }
                let i = chans.len();
                chans.insert(chan.clone(), i);
                uniq.insert(m.get("Uniqueid").unwrap_or("").to_string(), i);
                let mut cmds = vec!["WAIT FOR DIGIT 120000".to_string()];
                cmds.extend((0..queued).map(|_| "NOOP".to_string()));
                for (k, cmd) in cmds.iter().enumerate() {
                    let id = format!("st{i}.{k}");
                    ami.send(&[("Action", "AGI"), ("Channel", &chan), ("Command", cmd), ("CommandID", &id), ("ActionID", &id)]);
                }
            }
        }
    }
    assert!(Instant::now() + Duration::from_millis(500) < bye_instant, "the calls parked too late for the storm: raise the setup time");
    // New calls from 1 s before the storm: parked too (no command), hanging up 8 s after it.
    while Instant::now() + Duration::from_secs(1) < bye_instant {
        for m in drain(&ami, Duration::from_millis(50)) {
            handle(&m, &mut answers, &mut cancelled);
        }
    }
    // The queue depths from here on are the storm's own (and the new calls'), not the setup's.
    let _ = ast.cli("core reset taskprocessors");
    let new_bye = bye_at + Duration::from_secs(8) + Duration::from_millis((new_calls * 1000 / 20) as u64);
    let mut fresh = (new_calls > 0).then(|| SippLoad::start(&ast, &LoadPlan { service: "sippark", calls: new_calls, rate: 20, bye_at: new_bye, rtp_ports: (25_000, 25_000 + ports) }));
    // The storm, until every call of it has ended its Async AGI.
    let deadline = bye_instant + Duration::from_secs(60);
    while ended < calls && Instant::now() < deadline {
        for m in drain(&ami, Duration::from_millis(20)) {
            handle(&m, &mut answers, &mut cancelled);
            if m.is_event("AsyncAGIEnd") && m.get("Uniqueid").is_some_and(|u| uniq.contains_key(u)) {
                ended += 1;
                last_end = Instant::now();
            }
        }
    }
    // Late answers (ours sends a cancellation after a channel is gone through the manager topic).
    for m in drain(&ami, Duration::from_millis(1500)) {
        handle(&m, &mut answers, &mut cancelled);
    }
    let storm_exit = storm.wait(Duration::from_secs(60));
    let _ = storm_exit;
    let storm_ok = storm.stat("SuccessfulCall(C)");
    let (mut new_ok, mut new_failed, mut new_503) = (0, 0, 0);
    if let Some(f) = fresh.as_mut() {
        f.wait(Duration::from_secs(120));
        new_ok = f.stat("SuccessfulCall(C)");
        new_failed = f.stat("FailedCall(C)");
        new_503 = f.errors().matches("SIP/2.0 503").count();
    }
    let commands = calls * (queued + 1);
    let mut report = StormReport { calls, commands, cancelled, new_calls, new_ok, new_failed, new_503, storm_ok, ..Default::default() };
    for i in 0..calls {
        for k in 0..=queued {
            match answers.get(&format!("st{i}.{k}")).copied().unwrap_or(0) {
                0 => report.missing += 1,
                1 => report.answered_once += 1,
                _ => report.duplicated += 1,
            }
        }
    }
    report.settled = last_end.saturating_duration_since(bye_instant);
    let tps = ast.cli("core show taskprocessors");
    for line in tps.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        // Processor, Processed, In Queue, Max Depth, Low water, High water
        if f.len() >= 6 {
            if let Ok(depth) = f[3].parse::<u64>() {
                if f[0].starts_with("stasis/m:manager:core") {
                    report.manager_max_depth = report.manager_max_depth.max(depth);
                    report.manager_processed += f[1].parse::<u64>().unwrap_or(0);
                } else if depth > report.deepest_other.1 {
                    report.deepest_other = (f[0].to_string(), depth);
                }
            }
        }
    }
    report.high_water_lines = ast.log().lines().filter(|l| l.contains("queue reached")).map(str::to_string).collect();
    let mut ast = ast;
    report.alive = ast.is_running() && ami.action(&[("Action", "Ping")]).get("Response") == Some("Success");
    let t = Instant::now();
    loop {
        report.channels_left = ast.cli("core show channels count").lines().next().unwrap_or("").to_string();
        if report.channels_left.starts_with("0 active channels") || t.elapsed() > Duration::from_secs(30) {
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    report
}
