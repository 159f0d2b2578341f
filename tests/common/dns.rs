//! A DNS server on a loopback address for the HAGI tests (tests/classic_agi.rs, hagi://, and
//! tests/fastagi_tls.rs, hagis://): SRV records for `_agi._tcp.hagi.test`, with the sandbox's
//! resolver pointed at it while it lives.
#![allow(dead_code)]
use super::sandbox_root;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::time::Duration;

/// A DNS server on a loopback address serving SRV records for `_agi._tcp.hagi.test`, with
/// the sandbox's resolver pointed at it for as long as it lives.
pub struct Dns {
    resolv: PathBuf,
    saved: Option<String>,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Dns {
    const ADDR: &'static str = "127.0.0.77";

    /// `targets`: (priority, weight, port) records, all with target `target` (a name or an
    /// IPv4 address written as one).
    pub fn start(targets: Vec<(u16, u16, u16)>, target: &'static str) -> Dns {
        let socket = std::net::UdpSocket::bind((Self::ADDR, 53)).expect("bind the test DNS server on 127.0.0.77:53");
        socket.set_read_timeout(Some(Duration::from_millis(100))).unwrap();
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            let mut buf = [0u8; 512];
            while !flag.load(Ordering::SeqCst) {
                let Ok((n, from)) = socket.recv_from(&mut buf) else { continue };
                if let Some(reply) = dns_reply(&buf[..n], &targets, target) {
                    let _ = socket.send_to(&reply, from);
                }
            }
        });
        let resolv = sandbox_root().join("etc/resolv.conf");
        let saved = std::fs::read_to_string(&resolv).ok();
        std::fs::write(&resolv, format!("nameserver {}\noptions timeout:1 attempts:1\n", Self::ADDR)).unwrap();
        Dns { resolv, saved, stop, thread: Some(thread) }
    }
}

impl Drop for Dns {
    fn drop(&mut self) {
        match &self.saved {
            Some(text) => {
                let _ = std::fs::write(&self.resolv, text);
            }
            None => {
                let _ = std::fs::remove_file(&self.resolv);
            }
        }
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The answer to one query: SRV records for _agi._tcp.hagi.test, NXDOMAIN for anything else.
fn dns_reply(query: &[u8], targets: &[(u16, u16, u16)], target: &str) -> Option<Vec<u8>> {
    if query.len() < 12 {
        return None;
    }
    // The question: labels, then type and class.
    let mut i = 12;
    let mut labels = Vec::new();
    while i < query.len() && query[i] != 0 {
        let len = query[i] as usize;
        labels.push(String::from_utf8_lossy(query.get(i + 1..i + 1 + len)?).to_lowercase());
        i += 1 + len;
    }
    let qend = i + 5;
    let question = query.get(12..qend)?;
    let qtype = u16::from_be_bytes([query[i + 1], query[i + 2]]);
    let name = labels.join(".");
    let hit = name == "_agi._tcp.hagi.test" && qtype == 33;
    let mut r = Vec::new();
    r.extend_from_slice(&query[0..2]);
    r.extend_from_slice(if hit { &[0x81, 0x80] } else { &[0x81, 0x83] });
    r.extend_from_slice(&[0, 1]);
    r.extend_from_slice(&(if hit { targets.len() as u16 } else { 0 }).to_be_bytes());
    r.extend_from_slice(&[0, 0, 0, 0]);
    r.extend_from_slice(question);
    if hit {
        for (priority, weight, port) in targets {
            let mut rdata = Vec::new();
            rdata.extend_from_slice(&priority.to_be_bytes());
            rdata.extend_from_slice(&weight.to_be_bytes());
            rdata.extend_from_slice(&port.to_be_bytes());
            for label in target.split('.') {
                rdata.push(label.len() as u8);
                rdata.extend_from_slice(label.as_bytes());
            }
            rdata.push(0);
            r.extend_from_slice(&[0xc0, 0x0c, 0, 33, 0, 1, 0, 0, 0, 60]);
            r.extend_from_slice(&(rdata.len() as u16).to_be_bytes());
            r.extend_from_slice(&rdata);
        }
    }
    Some(r)
}

