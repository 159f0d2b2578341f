//! FastAGI over TLS (issue 21) through Asterisk's tcptls client: one connection, with the
//! settings of res_agi_rs.conf's `[tls]` in Asterisk's own option names. The shim does the
//! connect, the handshake (bounded by a watchdog), the verification and its log lines.
use super::shim;
use std::ffi::{c_void, CString};
use std::os::raw::c_char;

/// The settings as C arrays (names, values), kept alive with their strings.
struct Options {
    _strings: Vec<CString>,
    names: Vec<*const c_char>,
    values: Vec<*const c_char>,
}

fn options(pairs: &[(String, String)]) -> Options {
    let mut strings = Vec::new();
    let (mut names, mut values) = (Vec::new(), Vec::new());
    for (n, v) in pairs {
        let (n, v) = (super::cstring(n.as_bytes()), super::cstring(v.as_bytes()));
        names.push(n.as_ptr());
        values.push(v.as_ptr());
        strings.push(n);
        strings.push(v);
    }
    Options { _strings: strings, names, values }
}

/// Whether this Asterisk can do TLS at all (built with OpenSSL: build.rs, shim_tls.c).
pub fn available() -> bool {
    // SAFETY: no arguments; answers a build-time fact.
    unsafe { shim::rs_shim_tls_available() != 0 }
}

/// Whether Asterisk's ast_tls_read_conf takes every setting.
pub fn check(pairs: &[(String, String)]) -> bool {
    let o = options(pairs);
    // SAFETY: both arrays hold `len` pointers to C strings alive for the call.
    unsafe { shim::rs_shim_tls_check(o.names.as_ptr(), o.values.as_ptr(), o.names.len() as i32) == 0 }
}

/// The longest host name Asterisk's tcptls client can check a certificate against (its
/// `hostname` field, NUL excluded: 63 bytes on Linux).
pub fn max_host_name() -> usize {
    // SAFETY: no arguments; a size from the headers.
    unsafe { shim::rs_shim_tls_max_host() }
}

/// An established TLS connection; closed on drop.
pub struct Conn(*mut shim::RsTlsConn);

// SAFETY: the connection is used by one thread at a time (the relay that owns it); the shim's
// object has no thread affinity.
unsafe impl Send for Conn {}

/// What a read gave.
pub enum Read {
    Data(usize),
    /// Nothing to read now.
    Again,
    End,
    /// The server closed its TCP connection without a close_notify, nothing of its left
    /// unread (the connection is not failed: close then sends no goodbye).
    ClosedWithoutNotify,
    /// The connection failed, with OpenSSL's reason or errno's text.
    Failed(String),
}

impl Conn {
    /// Connects to `addr` ("ip:port" or "[v6]:port") and verifies the server as `host`,
    /// within `timeout_ms` for the connect and the handshake; None on failure (logged).
    pub fn connect(addr: &str, host: &str, pairs: &[(String, String)], timeout_ms: i32) -> Option<Conn> {
        let o = options(pairs);
        let (addr, host) = (super::cstring(addr.as_bytes()), super::cstring(host.as_bytes()));
        let mut timed_out = 0;
        // SAFETY: C strings and arrays alive for the call; the shim copies what it keeps;
        // `timed_out` is ours.
        let c = unsafe { shim::rs_shim_tls_connect(addr.as_ptr(), host.as_ptr(), o.names.as_ptr(), o.values.as_ptr(), o.names.len() as i32, timeout_ms, &mut timed_out) };
        if timed_out != 0 {
            crate::ast_log!(Warning, "FastAGI over TLS: no TLS handshake with {} within the connect timeout ({timeout_ms} ms)", addr.to_string_lossy());
        }
        (!c.is_null()).then_some(Conn(c))
    }

    pub fn fd(&self) -> i32 {
        // SAFETY: live connection.
        unsafe { shim::rs_shim_tls_fd(self.0) }
    }

    pub fn read(&mut self, buf: &mut [u8]) -> Read {
        let mut why = [0u8; 256];
        // SAFETY: live connection; both buffers are ours and sized as passed.
        let n = unsafe { shim::rs_shim_tls_read(self.0, buf.as_mut_ptr().cast::<c_void>(), buf.len(), why.as_mut_ptr().cast::<c_char>(), why.len()) };
        match n {
            n if n > 0 => Read::Data(n as usize),
            0 => Read::End,
            -2 => Read::ClosedWithoutNotify,
            _ => {
                let e = std::io::Error::last_os_error();
                if e.raw_os_error() == Some(libc::EAGAIN) {
                    return Read::Again;
                }
                let end = why.iter().position(|&b| b == 0).unwrap_or(why.len());
                let text = String::from_utf8_lossy(&why[..end]).into_owned();
                Read::Failed(if text.is_empty() { e.to_string() } else { text })
            }
        }
    }

    /// Writes all of `buf`; false when the connection failed (or 5 s passed without room).
    pub fn write_all(&mut self, mut buf: &[u8]) -> bool {
        while !buf.is_empty() {
            // SAFETY: live connection; `buf` is ours.
            let n = unsafe { shim::rs_shim_tls_write(self.0, buf.as_ptr().cast::<c_void>(), buf.len()) };
            if n <= 0 {
                return false;
            }
            buf = &buf[n as usize..];
        }
        true
    }
}

impl Drop for Conn {
    fn drop(&mut self) {
        // SAFETY: closed exactly once.
        unsafe { shim::rs_shim_tls_close(self.0) }
    }
}
