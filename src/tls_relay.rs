//! FastAGI over TLS (issue 21): the thread between a session and its TLS connection. The
//! session reads and writes a socket pair exactly as it does a FastAGI socket; this thread
//! moves the bytes to and from Asterisk's TLS stream, and ends when either side closes.
//! A connection that fails (an alert from the server, say it wanted a client certificate)
//! is logged once, with OpenSSL's reason, and flagged: the session then ends in FAILURE.
use crate::ffi::tls::{Conn, Read};
use std::io::{Read as _, Write as _};
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

pub fn run(mut conn: Conn, mut session: UnixStream, failed: Arc<AtomicBool>, url: &str) {
    let _counted = crate::ffi::callback::own_thread();
    let mut buf = vec![0u8; 16 * 1024];
    let mut heard = false;
    loop {
        let mut fds = [
            libc::pollfd { fd: conn.fd(), events: libc::POLLIN, revents: 0 },
            libc::pollfd { fd: session.as_raw_fd(), events: libc::POLLIN, revents: 0 },
        ];
        if crate::ffi::process::poll(&mut fds, -1) < 0 {
            continue;
        }
        if fds[0].revents != 0 {
            // Everything OpenSSL has, not only what made the socket readable.
            loop {
                match conn.read(&mut buf) {
                    Read::Data(n) => {
                        heard = true;
                        if session.write_all(&buf[..n]).is_err() {
                            return;
                        }
                    }
                    Read::Again => break,
                    Read::End => {
                        let _ = session.shutdown(std::net::Shutdown::Both);
                        return;
                    }
                    Read::Failed(why) => {
                        crate::ast_log!(
                            Warning,
                            "FastAGI over TLS to '{url}': the connection failed{}: {why}",
                            if heard { "" } else { " before the server sent anything (a client certificate it wanted?)" }
                        );
                        failed.store(true, Ordering::SeqCst);
                        let _ = session.shutdown(std::net::Shutdown::Both);
                        return;
                    }
                }
            }
        }
        if fds[1].revents != 0 {
            match session.read(&mut buf) {
                Ok(0) | Err(_) => return,
                Ok(n) => {
                    if !conn.write_all(&buf[..n]) {
                        crate::ast_log!(Warning, "FastAGI over TLS to '{url}': writing to the server failed");
                        failed.store(true, Ordering::SeqCst);
                        let _ = session.shutdown(std::net::Shutdown::Both);
                        return;
                    }
                }
            }
        }
    }
}
