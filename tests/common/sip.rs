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
    /// The extension in context agi (sippark, sipeagi).
    pub service: &'static str,
    /// Hang up (BYE) this long after the call is up.
    pub hold: Duration,
    /// One RFC 4733 digit ('0'-'9'), sent this long after the call is up.
    pub dtmf: Option<(char, Duration)>,
    /// Headers for sipeagi: X-Eagi-Out, X-Eagi-Format.
    pub eagi: Option<(String, &'static str)>,
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
        let (eagiout, eagiformat) = plan.eagi.clone().unwrap_or(("none".into(), "slin"));
        let log = dir.join(format!("sipp-{n}.log"));
        let child = Command::new("chroot")
            .arg(sandbox_root())
            .args(["sipp", &format!("127.0.0.1:{}", ast.sip_port), "-sf", &format!("{inside}/{sf}"), "-s", plan.service])
            .args(["-m", "1", "-l", "1", "-i", "127.0.0.1", "-mi", "127.0.0.1", "-p", &sip_port.to_string()])
            .args(["-min_rtp_port", &media.to_string(), "-max_rtp_port", &(media + 50).to_string()])
            .args(["-key", "rtpport", &sink.port.to_string(), "-key", "audio", &format!("{inside}/tone.ulaw")])
            .args(["-set", "hold", &plan.hold.as_millis().to_string()])
            .args(if plan.dtmf.is_some() { vec!["-set".to_string(), "dtmf_at".to_string(), at] } else { Vec::new() })
            .args(["-key", "eagiout", &eagiout, "-key", "eagiformat", eagiformat])
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
