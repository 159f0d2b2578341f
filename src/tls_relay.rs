//! FastAGI over TLS (issues 21, 27): the thread between a session and its TLS connection.
//! The session reads and writes a socket pair exactly as it does a FastAGI socket; this thread
//! connects (the TCP connect, the handshake and the verification, through Asterisk's tcptls
//! client), then moves the bytes to and from the TLS stream, and ends when either side closes.
//!
//! The connect runs here and not on the channel's thread: Asterisk's tcptls client marks the
//! thread it connects on as one that may not run "dangerous" functions (DB(), SHELL()…) and as
//! a user interface, for good (asterisk-headers/shim_tls.c cites where). A channel thread
//! leaves our code exactly as it came.
//!
//! The thread's one owner is the `Relay` its session holds: dropped after the session's end of
//! the socket pair, it joins the thread (crate::ffi::thread counts it until then), so no
//! relay outlives its session, and unload, which refuses while a session runs, never meets one.
//!
//! A connection that fails (an alert from the server, say it wanted a client certificate) is
//! logged once, with OpenSSL's reason, and flagged: the session then ends in FAILURE. A server
//! that closes without a close_notify at the end of a line ends the session as over agi://.
use crate::ffi::log::CallId;
use crate::ffi::thread::Thread;
use crate::ffi::tls::{Conn, Read};
use std::io::{Read as _, Write as _};
use std::net::SocketAddr;
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// A running relay: its thread (joined on drop) and whether its connection failed.
pub struct Relay {
    failed: Arc<AtomicBool>,
    _thread: Thread,
}

impl Relay {
    /// Whether the TLS connection failed after the handshake (the session ends in FAILURE).
    pub fn failed(&self) -> bool {
        self.failed.load(Ordering::SeqCst)
    }
}

/// What the connect needs: the addresses in turn, the name the certificate must carry, the
/// `[tls]` settings, the URL (for log lines) and the bound on each connect and handshake.
pub struct Target {
    pub addrs: Vec<SocketAddr>,
    pub name: String,
    pub options: Vec<(String, String)>,
    pub url: String,
    pub timeout_ms: i32,
}

/// Starts the relay thread and waits until it has connected to one of the addresses (the
/// session's end of the socket pair and the relay), or has given up on all of them (None,
/// logged; the thread is joined before this returns).
pub fn connect(target: Target) -> Option<(UnixStream, Relay)> {
    let (ours, relays) = match UnixStream::pair() {
        Ok(pair) => pair,
        Err(e) => {
            crate::ast_log!(Warning, "FastAGI over TLS: no socket pair: {e}");
            return None;
        }
    };
    // The connect's outcome, one byte: b'1' connected, nothing (the pipe closed) failed.
    let (mut outcome, mut tell) = match std::io::pipe() {
        Ok(pipe) => pipe,
        Err(e) => {
            crate::ast_log!(Warning, "FastAGI over TLS: no pipe: {e}");
            return None;
        }
    };
    let failed = Arc::new(AtomicBool::new(false));
    let flag = failed.clone();
    let call = CallId::current();
    let thread = crate::ffi::thread::spawn(move || {
        call.adopt();
        let Some(conn) = connect_any(&target) else { return };
        if tell.write_all(b"1").is_err() {
            return;
        }
        drop(tell);
        run(conn, relays, &flag, &target.url);
    });
    let Some(thread) = thread else {
        crate::ast_log!(Warning, "FastAGI over TLS: could not start its relay thread");
        return None;
    };
    let relay = Relay { failed, _thread: thread };
    let mut byte = [0u8; 1];
    match outcome.read(&mut byte) {
        Ok(1) => Some((ours, relay)),
        // Gave up (logged by the thread): dropping the relay joins the thread.
        _ => None,
    }
}

/// Each address in turn, as stock tries each of a FastAGI host's addresses.
fn connect_any(t: &Target) -> Option<Conn> {
    for addr in &t.addrs {
        if let Some(c) = Conn::connect(&addr.to_string(), &t.name, &t.options, t.timeout_ms) {
            return Some(c);
        }
        crate::ast_log!(Warning, "FastAGI over TLS to '{addr}' failed for url '{}' (see above)", t.url);
    }
    crate::ast_log!(Warning, "Couldn't connect to any host.  FastAGI failed.");
    None
}

fn run(mut conn: Conn, mut session: UnixStream, failed: &AtomicBool, url: &str) {
    let mut buf = vec![0u8; 16 * 1024];
    let mut heard = false;
    // Whether the server's bytes so far end a line: a close without a close_notify after a
    // whole line loses nothing (the session ends as over agi://); in the middle of a line it
    // may be a truncation, and before any line it is how a server that refuses us after the
    // handshake (no client certificate) often ends: both FAILURE, with a line.
    let mut at_line_end = true;
    let fail = |session: &UnixStream| {
        failed.store(true, Ordering::SeqCst);
        let _ = session.shutdown(std::net::Shutdown::Both);
    };
    loop {
        let mut fds = [
            libc::pollfd { fd: conn.fd(), events: libc::POLLIN, revents: 0 },
            libc::pollfd { fd: session.as_raw_fd(), events: libc::POLLIN, revents: 0 },
        ];
        if crate::ffi::process::poll(&mut fds, -1) < 0 {
            let e = std::io::Error::last_os_error();
            if e.kind() == std::io::ErrorKind::Interrupted {
                continue;
            }
            crate::ast_log!(Warning, "FastAGI over TLS to '{url}': poll failed: {e}");
            fail(&session);
            return;
        }
        if fds[0].revents != 0 {
            // Everything OpenSSL has, not only what made the socket readable.
            loop {
                match conn.read(&mut buf) {
                    Read::Data(n) => {
                        heard = true;
                        at_line_end = buf[n - 1] == b'\n';
                        if session.write_all(&buf[..n]).is_err() {
                            return;
                        }
                    }
                    Read::Again => break,
                    Read::End => {
                        let _ = session.shutdown(std::net::Shutdown::Both);
                        return;
                    }
                    Read::ClosedWithoutNotify if heard && at_line_end => {
                        crate::ffi::log::debug(1, &format!("FastAGI over TLS to '{url}': the server closed without a TLS close_notify, after a whole line"));
                        let _ = session.shutdown(std::net::Shutdown::Both);
                        return;
                    }
                    Read::ClosedWithoutNotify => {
                        crate::ast_log!(
                            Warning,
                            "FastAGI over TLS to '{url}': the connection ended without a TLS close_notify {}",
                            if heard { "in the middle of a server's line (cut short?)" } else { "before the server sent anything (a client certificate it wanted?)" }
                        );
                        fail(&session);
                        return;
                    }
                    Read::Failed(why) => {
                        crate::ast_log!(
                            Warning,
                            "FastAGI over TLS to '{url}': the connection failed{}: {why}",
                            if heard { "" } else { " before the server sent anything (a client certificate it wanted?)" }
                        );
                        fail(&session);
                        return;
                    }
                }
            }
        }
        if fds[1].revents != 0 {
            match session.read(&mut buf) {
                // The session ended (its end closed): the connection closes with our drop.
                Ok(0) | Err(_) => return,
                Ok(n) => {
                    if !conn.write_all(&buf[..n]) {
                        crate::ast_log!(Warning, "FastAGI over TLS to '{url}': writing to the server failed");
                        fail(&session);
                        return;
                    }
                }
            }
        }
    }
}
