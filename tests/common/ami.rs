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
