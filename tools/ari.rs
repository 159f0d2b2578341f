//! A lean ARI client (issue 28: `bench --ari`): requests over HTTP/1.1 keep-alive
//! connections, pipelined (Asterisk's HTTP server reads a connection's next request once it
//! has answered the one before, from the same buffered stream, so requests written ahead wait
//! in the socket and are served in order), and the Stasis application's events over one
//! websocket. Basic authentication on both.
//!
//! One reader thread per connection (httparse on a buffer, the body read by Content-Length) and
//! one for the websocket (tungstenite; each event's JSON read by serde_json into borrowed
//! fields, only those the benchmark uses) forward what they read on one channel, as the AMI
//! client of tools/bench.rs does: a request's response and an event cost the client the same
//! one hop as an AMI message.
use serde::Deserialize;
use std::borrow::Cow;
use std::collections::VecDeque;
use std::io::{BufWriter, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{channel, Receiver, RecvTimeoutError, Sender};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Asterisk closes an idle HTTP connection after http.conf's session_keep_alive (15 s by
/// default); connections idle longer than this are replaced before they are used.
const IDLE_REOPEN: Duration = Duration::from_secs(8);
const WAIT: Duration = Duration::from_secs(120);

/// What the reader threads forward.
pub enum AriMsg {
    /// A response on connection `conn` (responses of one connection arrive in order), with the
    /// tag its request was sent with.
    Http { conn: usize, tag: u64, status: u16, body: Vec<u8> },
    Event(Event),
}

/// The events the benchmark reads (the others are counted as `Other`).
#[derive(Debug)]
pub enum Event {
    StasisStart { channel: String },
    ChannelVarset { channel: String, variable: String, value: String },
    PlaybackStarted { id: String },
    PlaybackFinished { id: String },
    Other,
}

#[derive(Deserialize)]
struct RawEvent<'a> {
    #[serde(rename = "type", borrow)]
    kind: Cow<'a, str>,
    #[serde(default, borrow)]
    channel: Option<RawId<'a>>,
    #[serde(default, borrow)]
    playback: Option<RawId<'a>>,
    #[serde(default, borrow)]
    variable: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    value: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct RawId<'a> {
    #[serde(borrow)]
    id: Cow<'a, str>,
}

/// An event's JSON text, as ARI sends it on the websocket.
pub fn parse_event(text: &[u8]) -> Event {
    let Ok(e) = serde_json::from_slice::<RawEvent>(text) else { return Event::Other };
    let chan = || e.channel.as_ref().map(|c| c.id.to_string()).unwrap_or_default();
    let pb = || e.playback.as_ref().map(|p| p.id.to_string()).unwrap_or_default();
    match e.kind.as_ref() {
        "StasisStart" => Event::StasisStart { channel: chan() },
        "ChannelVarset" => Event::ChannelVarset {
            channel: chan(),
            variable: e.variable.as_deref().unwrap_or_default().to_string(),
            value: e.value.as_deref().unwrap_or_default().to_string(),
        },
        "PlaybackStarted" => Event::PlaybackStarted { id: pb() },
        "PlaybackFinished" => Event::PlaybackFinished { id: pb() },
        _ => Event::Other,
    }
}

fn base64(input: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in input.chunks(3) {
        let b = [chunk[0], *chunk.get(1).unwrap_or(&0), *chunk.get(2).unwrap_or(&0)];
        let n = (b[0] as u32) << 16 | (b[1] as u32) << 8 | b[2] as u32;
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(T[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// One keep-alive HTTP connection: the writer here, its reader on a thread.
struct Conn {
    w: BufWriter<TcpStream>,
    /// Tags of the requests written and not yet answered, in order.
    pending: VecDeque<u64>,
    last_used: Instant,
    alive: Arc<AtomicBool>,
    /// Bytes written since the last flush (a flush writes only connections with some).
    dirty: bool,
}

/// An ARI client of one Asterisk: `conns` HTTP connections and the events' websocket.
pub struct Ari {
    port: u16,
    /// "Authorization: Basic …\r\n", ready to write.
    auth: String,
    conns: Vec<Conn>,
    tx: Sender<(usize, u64, AriMsg)>,
    rx: Receiver<(usize, u64, AriMsg)>,
    /// Each connection slot's generation: a reader of a replaced connection is ignored.
    gens: Vec<u64>,
    ws_alive: Arc<AtomicBool>,
    /// The websocket's stream (shut down on drop).
    ws_stream: TcpStream,
    /// Events received on the websocket so far.
    pub events: u64,
}

impl Ari {
    /// Connects the application `app`'s events websocket (`/ari/events?app=…`, Basic auth) and
    /// `conns` HTTP connections, on Asterisk's HTTP server at 127.0.0.1:`port`.
    pub fn connect(port: u16, user: &str, password: &str, app: &str, conns: usize) -> Ari {
        use tungstenite::client::IntoClientRequest;
        let token = base64(format!("{user}:{password}").as_bytes());
        let (tx, rx) = channel();
        // The websocket: a Stasis application exists while a websocket subscribes to it.
        let s = TcpStream::connect(("127.0.0.1", port)).expect("ARI websocket connect");
        s.set_nodelay(true).unwrap();
        let ws_stream = s.try_clone().unwrap();
        let mut req = format!("ws://127.0.0.1:{port}/ari/events?app={app}").into_client_request().unwrap();
        req.headers_mut().insert("Authorization", format!("Basic {token}").parse().unwrap());
        let (mut ws, resp) = tungstenite::client::client(req, s).unwrap_or_else(|e| panic!("ARI websocket handshake: {e}"));
        assert_eq!(resp.status().as_u16(), 101, "ARI websocket: {resp:?}");
        let ws_alive = Arc::new(AtomicBool::new(true));
        let alive = ws_alive.clone();
        let wtx = tx.clone();
        std::thread::Builder::new()
            .name("ari-ws".into())
            .spawn(move || {
                loop {
                    match ws.read() {
                        Ok(tungstenite::Message::Text(t)) => {
                            if wtx.send((usize::MAX, 0, AriMsg::Event(parse_event(t.as_bytes())))).is_err() {
                                break;
                            }
                        }
                        Ok(tungstenite::Message::Close(_)) | Err(_) => break,
                        Ok(_) => {}
                    }
                }
                alive.store(false, Ordering::SeqCst);
            })
            .unwrap();
        let mut ari = Ari {
            port,
            auth: format!("Authorization: Basic {token}\r\n"),
            conns: Vec::new(),
            tx,
            rx,
            gens: Vec::new(),
            ws_alive,
            ws_stream,
            events: 0,
        };
        ari.ensure_conns(conns);
        ari
    }

    fn open(&mut self, slot: usize) -> Conn {
        let s = TcpStream::connect(("127.0.0.1", self.port)).expect("ARI HTTP connect");
        s.set_nodelay(true).unwrap();
        let mut r = s.try_clone().unwrap();
        let alive = Arc::new(AtomicBool::new(true));
        let (a, tx, gen) = (alive.clone(), self.tx.clone(), self.gens[slot]);
        std::thread::Builder::new()
            .name(format!("ari-http-{slot}"))
            .spawn(move || {
                let mut buf: Vec<u8> = Vec::with_capacity(1 << 16);
                let mut start = 0;
                let mut chunk = vec![0u8; 1 << 16];
                'read: loop {
                    // Every whole response in the buffer.
                    loop {
                        let mut headers = [httparse::EMPTY_HEADER; 32];
                        let mut resp = httparse::Response::new(&mut headers);
                        let head = match resp.parse(&buf[start..]) {
                            Ok(httparse::Status::Complete(n)) => n,
                            Ok(httparse::Status::Partial) => break,
                            Err(e) => panic!("ARI: bad HTTP response on connection {slot}: {e}"),
                        };
                        let len = resp
                            .headers
                            .iter()
                            .find(|h| h.name.eq_ignore_ascii_case("content-length"))
                            .and_then(|h| std::str::from_utf8(h.value).ok()?.trim().parse::<usize>().ok())
                            .unwrap_or(0);
                        if buf.len() - start < head + len {
                            break;
                        }
                        let status = resp.code.unwrap_or(0);
                        let body = buf[start + head..start + head + len].to_vec();
                        start += head + len;
                        if tx.send((slot, gen, AriMsg::Http { conn: slot, tag: 0, status, body })).is_err() {
                            break 'read;
                        }
                    }
                    if start == buf.len() {
                        buf.clear();
                        start = 0;
                    } else if start > (1 << 20) {
                        buf.drain(..start);
                        start = 0;
                    }
                    match r.read(&mut chunk) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => buf.extend_from_slice(&chunk[..n]),
                    }
                }
                a.store(false, Ordering::SeqCst);
            })
            .unwrap();
        Conn { w: BufWriter::with_capacity(1 << 16, s), pending: VecDeque::new(), last_used: Instant::now(), alive, dirty: false }
    }

    /// At least `n` connections, and every idle connection that Asterisk may have closed
    /// (idle longer than its keep-alive) or has closed replaced by a fresh one.
    pub fn ensure_conns(&mut self, n: usize) {
        for slot in 0..self.conns.len().max(n) {
            let stale = match self.conns.get(slot) {
                None => true,
                Some(c) => c.pending.is_empty() && (c.last_used.elapsed() > IDLE_REOPEN || !c.alive.load(Ordering::SeqCst)),
            };
            if !stale {
                continue;
            }
            if slot >= self.gens.len() {
                self.gens.push(0);
            }
            self.gens[slot] += 1;
            let conn = self.open(slot);
            if slot < self.conns.len() {
                let old = std::mem::replace(&mut self.conns[slot], conn);
                let _ = old.w.get_ref().shutdown(Shutdown::Both);
            } else {
                self.conns.push(conn);
            }
        }
    }

    /// Writes (buffered; see `flush`) `method path` on connection `conn`, no body; its
    /// response comes back with `tag`.
    pub fn request(&mut self, conn: usize, method: &str, path: &str, tag: u64) {
        let c = &mut self.conns[conn];
        write!(c.w, "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n{}Content-Length: 0\r\n\r\n", self.auth)
            .unwrap_or_else(|e| panic!("ARI: write on connection {conn}: {e} (did Asterisk refuse it? http.conf's sessionlimit, 100 by default, counts every connection)"));
        c.pending.push_back(tag);
        c.dirty = true;
    }

    /// Sends what `request` buffered, on every connection that has some.
    pub fn flush(&mut self) {
        for c in self.conns.iter_mut().filter(|c| c.dirty) {
            c.w.flush().unwrap_or_else(|e| panic!("ARI: flush: {e} (did Asterisk refuse a connection? http.conf's sessionlimit)"));
            c.dirty = false;
            c.last_used = Instant::now();
        }
    }

    fn accept(&mut self, (slot, gen, msg): (usize, u64, AriMsg)) -> Option<AriMsg> {
        match msg {
            AriMsg::Http { conn, status, body, .. } => {
                if self.gens.get(slot) != Some(&gen) {
                    return None; // a replaced connection's
                }
                let c = &mut self.conns[conn];
                let tag = c.pending.pop_front().expect("ARI: a response to no request");
                c.last_used = Instant::now();
                Some(AriMsg::Http { conn, tag, status, body })
            }
            AriMsg::Event(e) => {
                self.events += 1;
                Some(AriMsg::Event(e))
            }
        }
    }

    /// The next response or event; panics after two minutes without one, saying which
    /// connection Asterisk closed if one was waited on.
    pub fn recv(&mut self) -> AriMsg {
        let deadline = Instant::now() + WAIT;
        loop {
            match self.rx.recv_timeout(Duration::from_millis(500)) {
                Ok(m) => {
                    if let Some(m) = self.accept(m) {
                        return m;
                    }
                }
                Err(RecvTimeoutError::Timeout) => {
                    if !self.ws_alive.load(Ordering::SeqCst) {
                        panic!("ARI: Asterisk closed the events websocket");
                    }
                    if let Some((i, c)) = self.conns.iter().enumerate().find(|(_, c)| !c.pending.is_empty() && !c.alive.load(Ordering::SeqCst)) {
                        panic!("ARI: Asterisk closed connection {i} with {} requests unanswered", c.pending.len());
                    }
                    assert!(Instant::now() < deadline, "ARI: nothing for {WAIT:?}");
                }
                Err(RecvTimeoutError::Disconnected) => panic!("ARI: readers gone"),
            }
        }
    }

    /// The next response or event within `d`, if one comes.
    pub fn recv_timeout(&mut self, d: Duration) -> Option<AriMsg> {
        let deadline = Instant::now() + d;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.rx.recv_timeout(left) {
                Ok(m) => {
                    if let Some(m) = self.accept(m) {
                        return Some(m);
                    }
                }
                Err(RecvTimeoutError::Timeout) => {
                    assert!(self.ws_alive.load(Ordering::SeqCst), "ARI: Asterisk closed the events websocket");
                    return None;
                }
                Err(RecvTimeoutError::Disconnected) => panic!("ARI: readers gone"),
            }
        }
    }

    /// The next message if one has arrived.
    pub fn try_recv(&mut self) -> Option<AriMsg> {
        loop {
            let m = self.rx.try_recv().ok()?;
            if let Some(m) = self.accept(m) {
                return Some(m);
            }
        }
    }

    /// Drops whatever has arrived (between phases).
    pub fn drain(&mut self) {
        while self.try_recv().is_some() {}
    }
}

impl Drop for Ari {
    fn drop(&mut self) {
        let _ = self.ws_stream.shutdown(Shutdown::Both);
        for c in &self.conns {
            let _ = c.w.get_ref().shutdown(Shutdown::Both);
        }
    }
}
