//! A small AMI client for the tests: send actions, wait for a response by ActionID, wait for
//! an event by predicate with a timeout, decode url-encoded fields. A reader thread collects
//! every message; waiting consumes the first match (earlier ones are kept).
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// One AMI message: headers in order (a key may repeat, e.g. UserEvent's Uniqueid).
#[derive(Clone, Debug, Default)]
pub struct Message {
    pub headers: Vec<(String, String)>,
}

impl Message {
    pub fn get(&self, key: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k.eq_ignore_ascii_case(key)).map(|(_, v)| v.as_str())
    }
    pub fn get_all(&self, key: &str) -> Vec<&str> {
        self.headers.iter().filter(|(k, _)| k.eq_ignore_ascii_case(key)).map(|(_, v)| v.as_str()).collect()
    }
    pub fn is_event(&self, name: &str) -> bool {
        self.get("Event") == Some(name)
    }
    pub fn keys(&self) -> Vec<&str> {
        self.headers.iter().map(|(k, _)| k.as_str()).collect()
    }
}

struct Shared {
    queue: Mutex<(Vec<Message>, bool)>,
    cond: Condvar,
}

pub struct Ami {
    stream: Mutex<TcpStream>,
    shared: Arc<Shared>,
    ids: AtomicUsize,
}

/// How many times a wait had to nudge Asterisk's manager (see `Ami::wait_for`).
pub static NUDGES: AtomicUsize = AtomicUsize::new(0);

pub fn decode(s: &str) -> String {
    String::from_utf8_lossy(&decode_bytes(s)).into_owned()
}

pub fn decode_bytes(s: &str) -> Vec<u8> {
    percent_encoding::percent_decode_str(s).collect()
}

impl Ami {
    pub fn connect(port: u16) -> Ami {
        let stream = TcpStream::connect(("127.0.0.1", port)).expect("connect to AMI");
        stream.set_nodelay(true).unwrap();
        let reader = stream.try_clone().unwrap();
        let shared = Arc::new(Shared { queue: Mutex::new((Vec::new(), false)), cond: Condvar::new() });
        let sh = shared.clone();
        std::thread::spawn(move || {
            let mut r = BufReader::new(reader);
            let mut greeting = Vec::new();
            let _ = r.read_until(b'\n', &mut greeting);
            let mut cur = Message::default();
            loop {
                let mut line = Vec::new();
                match r.read_until(b'\n', &mut line) {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {}
                }
                let text = String::from_utf8_lossy(&line);
                let text = text.trim_end_matches(['\r', '\n']);
                if text.is_empty() {
                    let nudge = cur.headers.iter().any(|(k, v)| k == "ActionID" && v == "rs-nudge");
                    if nudge {
                        cur = Message::default();
                    } else if !cur.headers.is_empty() {
                        let mut q = sh.queue.lock().unwrap();
                        q.0.push(std::mem::take(&mut cur));
                        sh.cond.notify_all();
                    }
                    continue;
                }
                let (k, v) = text.split_once(':').unwrap_or((text, ""));
                cur.headers.push((k.to_string(), v.strip_prefix(' ').unwrap_or(v).to_string()));
            }
            sh.queue.lock().unwrap().1 = true;
            sh.cond.notify_all();
        });
        Ami { stream: Mutex::new(stream), shared, ids: AtomicUsize::new(0) }
    }

    /// Sends raw bytes as they are.
    pub fn send_raw(&self, bytes: &[u8]) {
        self.stream.lock().unwrap().write_all(bytes).expect("AMI write");
    }

    /// Sends an action with a fresh ActionID (unless one is given); returns the ActionID.
    pub fn send(&self, headers: &[(&str, &str)]) -> String {
        let id = headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("ActionID"))
            .map(|(_, v)| v.to_string())
            .unwrap_or_else(|| format!("t{}", self.ids.fetch_add(1, Ordering::SeqCst)));
        let mut msg = String::new();
        for (k, v) in headers {
            msg.push_str(&format!("{k}: {v}\r\n"));
        }
        if !headers.iter().any(|(k, _)| k.eq_ignore_ascii_case("ActionID")) {
            msg.push_str(&format!("ActionID: {id}\r\n"));
        }
        msg.push_str("\r\n");
        self.send_raw(msg.as_bytes());
        id
    }

    /// Sends an action and waits for its response.
    pub fn action(&self, headers: &[(&str, &str)]) -> Message {
        let id = self.send(headers);
        self.wait_response(&id)
    }

    pub fn wait_response(&self, action_id: &str) -> Message {
        self.wait(Duration::from_secs(10), |m| m.get("Response").is_some() && m.get("Event").is_none() && m.get("ActionID") == Some(action_id))
            .unwrap_or_else(|| panic!("no response to ActionID {action_id}"))
    }

    /// Waits until `f` finds what it wants in the messages received so far (it may take
    /// them out), or `timeout` passes. Every second of waiting it sends an `Action: Ping`
    /// (its response is dropped by the reader): Asterisk 22.10's manager can lose the wake-up
    /// of a session thread that is just going back to poll (asterisk/asterisk#2145, fixed
    /// upstream by a per-session alert pipe), leaving events queued in Asterisk until the
    /// client sends something. NUDGES counts how often a wait needed it.
    fn wait_for<T>(&self, timeout: Duration, mut f: impl FnMut(&mut Vec<Message>) -> Option<T>) -> Option<T> {
        let deadline = Instant::now() + timeout * super::slowdown();
        let mut q = self.shared.queue.lock().unwrap();
        loop {
            if let Some(found) = f(&mut q.0) {
                return Some(found);
            }
            let now = Instant::now();
            if now >= deadline || q.1 {
                return None;
            }
            let slice = (deadline - now).min(Duration::from_secs(1));
            let (guard, res) = self.shared.cond.wait_timeout(q, slice).unwrap();
            q = guard;
            if res.timed_out() && Instant::now() < deadline {
                drop(q);
                NUDGES.fetch_add(1, Ordering::SeqCst);
                self.send_raw(b"Action: Ping\r\nActionID: rs-nudge\r\n\r\n");
                q = self.shared.queue.lock().unwrap();
            }
        }
    }

    /// Waits for (and consumes) the first message matching `pred`.
    pub fn wait(&self, timeout: Duration, pred: impl Fn(&Message) -> bool) -> Option<Message> {
        self.wait_for(timeout, |q| q.iter().position(&pred).map(|pos| q.remove(pos)))
    }

    /// Waits until a message matching `pred` has arrived, leaving it (and all others) queued.
    pub fn wait_present(&self, timeout: Duration, pred: impl Fn(&Message) -> bool) -> bool {
        self.wait_for(timeout, |q| q.iter().any(&pred).then_some(())).is_some()
    }

    /// Like `wait`, panicking (with what did arrive) on timeout.
    pub fn wait_event(&self, timeout: Duration, pred: impl Fn(&Message) -> bool) -> Message {
        match self.wait(timeout, &pred) {
            Some(m) => m,
            None => {
                let seen: Vec<String> = self.snapshot().iter().map(|m| format!("{:?}", m.headers)).collect();
                panic!("expected message did not arrive in {timeout:?}; unconsumed messages:\n{}", seen.join("\n"))
            }
        }
    }

    /// Messages received and not consumed yet.
    pub fn snapshot(&self) -> Vec<Message> {
        self.shared.queue.lock().unwrap().0.clone()
    }

    /// Drops every message received so far.
    pub fn clear(&self) {
        self.shared.queue.lock().unwrap().0.clear();
    }

    /// Waits for a message matching `pred`, then removes and returns, in arrival order, every
    /// message up to and including it. Panics (with what did arrive) on timeout.
    pub fn take_until(&self, timeout: Duration, pred: impl Fn(&Message) -> bool) -> Vec<Message> {
        self.wait_for(timeout, |q| q.iter().position(&pred).map(|pos| q.drain(..=pos).collect())).unwrap_or_else(|| {
            let seen: Vec<String> = self.snapshot().iter().map(|m| format!("{:?}", m.headers)).collect();
            panic!("expected message did not arrive in {timeout:?}; unconsumed messages:\n{}", seen.join("\n"))
        })
    }

    /// Waits `quiet` and returns (consuming) every message matching `pred` that arrived.
    pub fn collect(&self, quiet: Duration, pred: impl Fn(&Message) -> bool) -> Vec<Message> {
        std::thread::sleep(quiet);
        let mut q = self.shared.queue.lock().unwrap();
        let (take, keep): (Vec<Message>, Vec<Message>) = q.0.drain(..).partition(|m| pred(m));
        q.0 = keep;
        take
    }
}

/// An AMI connection logged in with `Events: on` that keeps every byte Asterisk sends it, so
/// a test can check the framing of every message a client received (tests/hostile_input.rs).
pub struct Monitor {
    stream: Mutex<TcpStream>,
    bytes: Arc<Mutex<Vec<u8>>>,
    markers: AtomicUsize,
}

impl Monitor {
    pub fn connect(port: u16, user: &str, secret: &str) -> Monitor {
        use std::io::Read;
        let stream = TcpStream::connect(("127.0.0.1", port)).expect("connect to AMI");
        let mut reader = stream.try_clone().unwrap();
        let bytes = Arc::new(Mutex::new(Vec::new()));
        let kept = bytes.clone();
        std::thread::spawn(move || {
            let mut buf = vec![0u8; 65536];
            while let Ok(n @ 1..) = reader.read(&mut buf) {
                kept.lock().unwrap().extend_from_slice(&buf[..n]);
            }
        });
        let m = Monitor { stream: Mutex::new(stream), bytes, markers: AtomicUsize::new(0) };
        m.send(&format!("Action: Login\r\nUsername: {user}\r\nSecret: {secret}\r\nEvents: on\r\nActionID: monitor-login\r\n\r\n"));
        m.received_until(b"ActionID: monitor-login\r\n");
        m
    }

    fn send(&self, text: &str) {
        self.stream.lock().unwrap().write_all(text.as_bytes()).expect("AMI write");
    }

    /// Everything received up to the end of the first message that contains `needle`
    /// (a `Ping` each 500 ms meanwhile: asterisk/asterisk#2145, see `Ami::wait_for`).
    fn received_until(&self, needle: &[u8]) -> Vec<u8> {
        let deadline = Instant::now() + Duration::from_secs(20) * super::slowdown();
        let mut next_ping = Instant::now() + Duration::from_millis(500);
        loop {
            {
                let b = self.bytes.lock().unwrap();
                if let Some(at) = find(&b, needle) {
                    if let Some(end) = find(&b[at..], b"\r\n\r\n") {
                        return b[..at + end + 4].to_vec();
                    }
                }
            }
            assert!(Instant::now() < deadline, "the monitor never received {:?}", String::from_utf8_lossy(needle));
            if Instant::now() >= next_ping {
                self.send("Action: Ping\r\nActionID: monitor-nudge\r\n\r\n");
                next_ping = Instant::now() + Duration::from_millis(500);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Every message received so far (up to a `UserEvent` it asks for now, so nothing sent
    /// before this call is missing), each checked by `check_message`; the greeting line is
    /// left out. Panics, naming the message, at the first one that is not well formed.
    pub fn messages(&self) -> Vec<Vec<u8>> {
        let marker = format!("MonitorMark{}", self.markers.fetch_add(1, Ordering::SeqCst));
        self.send(&format!("Action: UserEvent\r\nUserEvent: {marker}\r\n\r\n"));
        let raw = self.received_until(format!("UserEvent: {marker}\r\n").as_bytes());
        let start = find(&raw, b"\r\n").expect("the greeting line") + 2;
        let mut out = Vec::new();
        for msg in raw[start..].split_inclusive_str(b"\r\n\r\n") {
            if let Err(why) = check_message(msg) {
                panic!("a malformed AMI message ({why}): {:?}", String::from_utf8_lossy(msg));
            }
            out.push(msg.to_vec());
        }
        out
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

trait SplitInclusive {
    fn split_inclusive_str<'a>(&'a self, sep: &'a [u8]) -> Vec<&'a [u8]>;
}

impl SplitInclusive for [u8] {
    /// The pieces of `self`, each ending with `sep` (the last one with whatever is left).
    fn split_inclusive_str<'a>(&'a self, sep: &'a [u8]) -> Vec<&'a [u8]> {
        let mut out = Vec::new();
        let mut rest = self;
        while !rest.is_empty() {
            let end = find(rest, sep).map_or(rest.len(), |i| i + sep.len());
            out.push(&rest[..end]);
            rest = &rest[end..];
        }
        out
    }
}

/// One AMI message as a client reads it: `Key: value` lines ending in CRLF, then an empty
/// line; the first line is its `Event:` or `Response:`, and no other line is an `Event:`
/// (two messages run together show that way); no NUL, no bare CR or LF, no line that is not
/// a header.
pub fn check_message(msg: &[u8]) -> Result<(), String> {
    let Some(body) = msg.strip_suffix(b"\r\n\r\n") else { return Err("no empty line at its end".into()) };
    if body.contains(&0) {
        return Err("a NUL byte".into());
    }
    let lines: Vec<&[u8]> = body.split_inclusive_str(b"\r\n").into_iter().map(|l| l.strip_suffix(b"\r\n").unwrap_or(l)).collect();
    let mut first = false;
    for (i, line) in lines.iter().enumerate() {
        if line.contains(&b'\r') || line.contains(&b'\n') {
            return Err(format!("a bare CR or LF in line {i}"));
        }
        let Some(colon) = line.iter().position(|&b| b == b':') else { return Err(format!("line {i} is not a header")) };
        let key = &line[..colon];
        if key.is_empty() || key.iter().any(|&b| b <= b' ' || b == 0x7f) || !matches!(line.get(colon + 1), None | Some(b' ')) {
            return Err(format!("line {i} is not a header"));
        }
        // (An event may have a Response field: OriginateResponse has.)
        if i == 0 && (key == b"Event" || key == b"Response") {
            first = true;
        } else if key == b"Event" {
            return Err(format!("a second message starts at line {i}"));
        }
    }
    if !first {
        return Err("no Event or Response first".into());
    }
    Ok(())
}
