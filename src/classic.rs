//! Classic AGI: a local script (fork/exec, pipes), a FastAGI server (`agi://`), or one found
//! by SRV (`hagi://`), as stock res_agi runs them. The transport hands the engine one command
//! line at a time and writes back what the engine answered; the engine never knows where a
//! line came from. EAGI adds the channel's inbound audio on the script's fd 3.
//!
//! What a client sees is stock's: the environment first, then one response per command line,
//! `HANGUP\n` (FastAGI) or SIGHUP (script) when the channel hangs up (unless
//! `AGISIGHUP=no`), commands not marked dead-safe refused with 511 after the hangup,
//! `AGIEXITONHANGUP=yes` to leave at once, and `AGISTATUS` SUCCESS, FAILURE, NOTFOUND or
//! HANGUP.
use crate::engine::{self, SessionIo};
use crate::lines::LineReader;
use crate::env;
use crate::events::Emitter;
use crate::ffi::channel::{current_thread_id, in_intercept_routine, AgiFds, Chan, Ready};
use crate::ffi::process::{self, careful_write, read_some, SrvLookup};
use crate::ffi::{cstring, misc};
use std::io::ErrorKind;
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::os::fd::{AsRawFd, OwnedFd};
use std::time::Duration;

/// Stock's agi_result, for the classic modes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AgiResult {
    // Stock's numbers (its "completed, returning N" log line shows them).
    Failure = -1,
    Success = 0,
    NotFound = 3,
    Hangup = 4,
}

/// FastAGI's default port, and how long one connect may take (stock's AGI_PORT and
/// MAX_AGI_CONNECT).
const AGI_PORT: u16 = 4573;
const CONNECT_TIMEOUT_MS: u64 = 2000;
/// Where the lines come from and the answers go.
struct Peer {
    read: OwnedFd,
    /// None: the same descriptor as `read` (a FastAGI socket).
    write: Option<OwnedFd>,
    /// The script's pid (local scripts).
    pid: Option<i32>,
    /// FastAGI: told of a hangup with `HANGUP\n` instead of a signal.
    fast: bool,
    /// EAGI: the write end of the script's fd 3.
    audio: Option<OwnedFd>,
    /// Keeps Asterisk's child reaper off our script until we are done with it.
    _fork: Option<process::SafeFork>,
    /// FastAGI over TLS: the relay thread, whose failure makes the session end in FAILURE
    /// whatever the server said before. Declared after `read`, so that it drops after the
    /// socket pair's end closes: the relay then ends, and the drop joins it.
    tls: Option<crate::tls_relay::Relay>,
}

impl Peer {
    fn write_fd(&self) -> i32 {
        self.write.as_ref().unwrap_or(&self.read).as_raw_fd()
    }
}

/// Runs `AGI(script[,args])` for anything but `agi:async`: `enhanced` for EAGI.
pub fn run(chan: &Chan, script: &[u8], args: &[Vec<u8>], enhanced: bool) -> AgiResult {
    let dead = chan.check_hangup();
    if dead {
        crate::ffi::log::debug(3, "Hungup channel detected, running agi in dead mode.");
    }
    let peer = match launch(script, args, enhanced) {
        Ok(peer) => peer,
        Err(res) => return res,
    };
    let (res, status) = session(chan, script, peer, dead, args);
    // A script that exits non-zero makes it a failure, as stock.
    if res == AgiResult::Success && status.is_some_and(|s| s != 0) { AgiResult::Failure } else { res }
}

fn launch(script: &[u8], args: &[Vec<u8>], enhanced: bool) -> Result<Peer, AgiResult> {
    let lower = script.to_ascii_lowercase();
    let scheme = ["agi", "hagi", "agis", "hagis"].into_iter().find(|s| lower.starts_with(format!("{s}://").as_bytes()));
    if let Some(scheme) = scheme {
        // FastAGI: no EAGI over the network, as stock.
        if enhanced {
            return Err(AgiResult::Failure);
        }
        // TLS where this Asterisk has none (built without OpenSSL): refused before any lookup
        // or connect, never tried in plain text.
        if scheme.ends_with('s') && !crate::ffi::tls::available() {
            crate::ast_log!(
                Warning,
                "FastAGI over TLS ('{}'): this Asterisk was built without OpenSSL, so agis:// and hagis:// cannot be used",
                String::from_utf8_lossy(script)
            );
            crate::metrics::connect_failed(scheme);
            return Err(AgiResult::Failure);
        }
        let began = std::time::Instant::now();
        let connected = match scheme {
            "agi" => connect_fast(script).map(|s| (OwnedFd::from(s), None)),
            "hagi" => connect_ha(script).map(|s| (OwnedFd::from(s), None)),
            "agis" => connect_tls(script, None).map(|(fd, relay)| (fd, Some(relay))),
            _ => connect_tls_srv(script).map(|(fd, relay)| (fd, Some(relay))),
        };
        match &connected {
            Ok(_) => crate::metrics::connected(scheme, began.elapsed().as_secs_f64()),
            Err(_) => crate::metrics::connect_failed(scheme),
        }
        let (read, tls) = connected?;
        return Ok(Peer { read, write: None, pid: None, fast: true, audio: None, _fork: None, tls });
    }
    let path = if script.first() == Some(&b'/') {
        script.to_vec()
    } else {
        let mut p = process::agi_dir();
        p.push(b'/');
        p.extend_from_slice(script);
        p
    };
    let shown = String::from_utf8_lossy(&path).into_owned();
    if std::fs::metadata(<std::ffi::OsStr as std::os::unix::ffi::OsStrExt>::from_bytes(&path)).is_err() {
        crate::ast_log!(Warning, "Failed to execute '{shown}': File does not exist.");
        return Err(AgiResult::NotFound);
    }
    // argv: the script as given, then the arguments (stock passes args.arg).
    let argv: Vec<_> = std::iter::once(script.to_vec()).chain(args.iter().cloned()).map(cstring).collect();
    let started = process::launch_script(&cstring(path), &argv, enhanced).map_err(|()| AgiResult::Failure)?;
    Ok(Peer {
        read: started.from_script,
        write: Some(started.to_script),
        pid: Some(started.pid),
        fast: false,
        audio: started.audio,
        _fork: Some(started.fork),
        tls: None,
    })
}

/// `agi://host[:port][/script]`: every address the host resolves to, in turn, each with a
/// 2 s connect timeout; then `agi_network: yes` and the script path.
fn connect_fast(url: &[u8]) -> Result<TcpStream, AgiResult> {
    let url_text = String::from_utf8_lossy(url).into_owned();
    let rest = &url_text[6..];
    let (host, script) = rest.split_once('/').unwrap_or((rest, ""));
    let addrs = resolve(host).map_err(|()| {
        crate::ast_log!(Warning, "Unable to locate host '{host}'");
        AgiResult::Failure
    })?;
    let mut connected = None;
    for addr in addrs {
        match TcpStream::connect_timeout(&addr, Duration::from_millis(CONNECT_TIMEOUT_MS)) {
            Ok(s) => {
                connected = Some(s);
                break;
            }
            Err(e) if e.kind() == ErrorKind::TimedOut || e.kind() == ErrorKind::WouldBlock => crate::ast_log!(
                Warning,
                "FastAGI connection to '{url_text}' timed out after MAX_AGI_CONNECT ({CONNECT_TIMEOUT_MS}) milliseconds."
            ),
            Err(e) => crate::ast_log!(Warning, "Connecting to '{addr}' failed for url '{url_text}': {}", os_error_text(&e)),
        }
    }
    let Some(stream) = connected else {
        crate::ast_log!(Warning, "Couldn't connect to any host.  FastAGI failed.");
        return Err(AgiResult::Failure);
    };
    let _ = stream.set_nodelay(true);
    // Non-blocking, as stock's socket (ast_socket_nonblock): every write then gives up after
    // ast_carefulwrite's 100 ms, where a blocking write() could wait for ever on a server that
    // stops reading (issue 18).
    if let Err(e) = stream.set_nonblocking(true) {
        crate::ast_log!(Warning, "Unable to make the FastAGI socket non-blocking: {e}");
        return Err(AgiResult::Failure);
    }
    send_hello(stream.as_raw_fd(), script, &url_text)?;
    crate::ffi::log::debug(4, "Wow, connected!");
    Ok(stream)
}

/// What a FastAGI server gets before the environment: `agi_network: yes` and the script path.
fn send_hello(fd: i32, script: &str, url_text: &str) -> Result<(), AgiResult> {
    let mut hello = b"agi_network: yes\n".to_vec();
    if !script.is_empty() {
        hello.extend_from_slice(format!("agi_network_script: {script}\n").as_bytes());
    }
    // Stock sends these with ast_agi_send(fd, NULL, …): logged for `agi set debug` without a
    // channel name.
    if crate::ffi::agi::debug() {
        for line in hello.split_inclusive(|&b| b == b'\n') {
            let mut text = b"AGI Tx >> ".to_vec();
            text.extend_from_slice(line);
            crate::ffi::log::verbose(&text);
        }
    }
    if !careful_write(fd, &hello) {
        crate::ast_log!(Warning, "Connect to '{url_text}' failed: {}", std::io::Error::last_os_error());
        return Err(AgiResult::Failure);
    }
    Ok(())
}

/// `agis://host[:port][/script]`: FastAGI over TLS (issue 21). Every address the host resolves
/// to, in turn, each within the connect timeout for the connect and the handshake, with the
/// server's certificate verified as `verify_as` or else `host` (res_agi_rs.conf `[tls]`);
/// never plain text. The session talks to a relay thread (crate::tls_relay, which also
/// connects) through a socket pair, as to a FastAGI socket.
fn connect_tls(url: &[u8], verify_as: Option<&str>) -> Result<(OwnedFd, crate::tls_relay::Relay), AgiResult> {
    let url_text = String::from_utf8_lossy(url).into_owned();
    let rest = &url_text[7..];
    let (host, script) = rest.split_once('/').unwrap_or((rest, ""));
    // The name the certificate must carry: the host as written, without port or brackets.
    let written = if let Some(v6) = host.strip_prefix('[') { v6.split(']').next().unwrap_or(v6) } else if host.matches(':').count() == 1 { host.split(':').next().unwrap_or(host) } else { host };
    let name = verify_as.unwrap_or(written);
    if name.len() > crate::ffi::tls::max_host_name() {
        crate::ast_log!(
            Warning,
            "FastAGI over TLS ('{url_text}'): the host name is {} bytes long; Asterisk's TLS client checks certificates against names of at most {}",
            name.len(),
            crate::ffi::tls::max_host_name()
        );
        return Err(AgiResult::Failure);
    }
    let tls = crate::config::tls();
    let addrs = resolve_port(host, tls.port).map_err(|()| {
        crate::ast_log!(Warning, "Unable to locate host '{host}'");
        AgiResult::Failure
    })?;
    let target = crate::tls_relay::Target {
        addrs,
        name: name.to_string(),
        options: tls.options.clone(),
        url: url_text.clone(),
        timeout_ms: CONNECT_TIMEOUT_MS as i32,
    };
    let (ours, relay) = crate::tls_relay::connect(target).ok_or(AgiResult::Failure)?;
    if let Err(e) = ours.set_nonblocking(true) {
        crate::ast_log!(Warning, "Unable to make the FastAGI socket non-blocking: {e}");
        return Err(AgiResult::Failure);
    }
    send_hello(ours.as_raw_fd(), script, &url_text)?;
    Ok((OwnedFd::from(ours), relay))
}

/// `hagis://service[/script]`: as `hagi://` (SRV `_agi._tcp.<service>`), over TLS. Each
/// target's certificate is checked against the service name the dialplan wrote, not the SRV
/// target's: the SRV answer comes from DNS, unauthenticated, and whoever forges it would
/// choose the name to verify (RFC 6125 section 6, RFC 7673 without DNSSEC). With a port in
/// the URI (no SRV), the host as written, as for `agis://`.
fn connect_tls_srv(url: &[u8]) -> Result<(OwnedFd, crate::tls_relay::Relay), AgiResult> {
    connect_srv(url, "agis", |resolved, service| connect_tls(resolved, service))
}

/// The error text as C's strerror gives it (no "(os error N)").
fn os_error_text(e: &std::io::Error) -> String {
    let s = e.to_string();
    match s.find(" (os error") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

/// Host with optional port (`host`, `host:port`, `[v6]`, `[v6]:port`, bare v6).
fn resolve(host: &str) -> Result<Vec<SocketAddr>, ()> {
    resolve_port(host, AGI_PORT)
}

/// `resolve` with another default port.
fn resolve_port(host: &str, default_port: u16) -> Result<Vec<SocketAddr>, ()> {
    let with_port = if let Some(rest) = host.strip_prefix('[') {
        match rest.split_once(']') {
            Some((_, "")) => format!("{host}:{default_port}"),
            Some(_) => host.to_string(),
            None => return Err(()),
        }
    } else if host.matches(':').count() == 1 {
        host.to_string()
    } else if host.contains(':') {
        format!("[{host}]:{default_port}")
    } else {
        format!("{host}:{default_port}")
    };
    let addrs: Vec<SocketAddr> = with_port.to_socket_addrs().map_err(|_| ())?.collect();
    if addrs.is_empty() {
        Err(())
    } else {
        Ok(addrs)
    }
}

/// `hagi://service[/script]`: SRV `_agi._tcp.<service>`, targets in priority and weight
/// order; a port in the URI disables SRV.
fn connect_ha(url: &[u8]) -> Result<TcpStream, AgiResult> {
    connect_srv(url, "agi", |resolved, _| connect_fast(resolved))
}

/// `hagi://` and `hagis://`: each SRV target of `_agi._tcp.<service>` in turn through
/// `connect` as `<scheme>://target:port/script`, with the service's name (the URL without its
/// leading 'h' and no service name when it names a port, which disables SRV).
fn connect_srv<T>(url: &[u8], scheme: &str, connect: impl Fn(&[u8], Option<&str>) -> Result<T, AgiResult>) -> Result<T, AgiResult> {
    let url_text = String::from_utf8_lossy(url).into_owned();
    let prefix = scheme.len() + 4; // "h" + scheme + "://"
    if url.len() < prefix {
        crate::ast_log!(Warning, "An error occurred parsing the AGI URI: {url_text}");
        return Err(AgiResult::Failure);
    }
    let rest = &url_text[prefix..];
    let (host, script) = rest.split_once('/').unwrap_or((rest, ""));
    if host.contains(':') {
        crate::ast_log!(Warning, "Specifying a port number disables SRV lookups: {url_text}");
        return connect(&url[1..], None);
    }
    let mut lookup = SrvLookup::new(format!("_agi._tcp.{host}").as_bytes());
    for (target, port) in lookup.by_ref() {
        let resolved = format!("{scheme}://{target}:{port}/{script}");
        match connect(resolved.as_bytes(), Some(host)) {
            Ok(s) => return Ok(s),
            Err(_) => crate::ast_log!(Warning, "AGI request failed for host '{host}' ({target}:{port})"),
        }
    }
    if lookup.last < 0 {
        crate::ast_log!(Warning, "SRV lookup failed for {url_text}");
    }
    Err(AgiResult::Failure)
}

/// stock's run_agi: environment out, then command lines in and responses out until the peer
/// closes (or, with AGIEXITONHANGUP, the channel hangs up). Returns the result and the
/// script's exit status when it was reaped.
fn session(chan: &Chan, request: &[u8], peer: Peer, mut dead: bool, args: &[Vec<u8>]) -> (AgiResult, Option<i32>) {
    let send_sighup = !chan.get_var(c"AGISIGHUP").is_some_and(|v| misc::is_false(&v));
    let exit_on_hangup = chan.get_var(c"AGIEXITONHANGUP").is_some_and(|v| misc::is_true(&v));
    let in_intercept = in_intercept_routine();
    let name = chan.name();
    let out = peer.write_fd();
    let send = |text: &[u8]| {
        if crate::ffi::agi::debug() {
            let mut line = format!("<{name}>AGI Tx >> ").into_bytes();
            line.extend_from_slice(text);
            crate::ffi::log::verbose(&line);
        }
        careful_write(out, text)
    };
    // The environment. Stock's setup_env writes it line by line (about 25 writes); the peer
    // reads lines from a stream either way, so it goes out in one write (logged line by line
    // for `agi set debug`, as stock logs it).
    let environment = env::build(&chan.env_facts(current_thread_id()), request, args, peer.audio.is_some());
    if crate::ffi::agi::debug() {
        for line in environment.split_inclusive(|&b| b == b'\n') {
            let mut text = format!("<{name}>AGI Tx >> ").into_bytes();
            text.extend_from_slice(line);
            crate::ffi::log::verbose(&text);
        }
    }
    careful_write(out, &environment);

    let mut events = Emitter::new(chan);
    let mut io = SessionIo::default();
    // As stock: playbacks and waits stop for a new command line, and EAGI's pipe also gets
    // the audio heard meanwhile.
    let fds = AgiFds { audio: peer.audio.as_ref().map_or(-1, |a| a.as_raw_fd()), ctrl: peer.read.as_raw_fd() };
    let mut reader = LineReader::default();
    let mut pid = peer.pid;
    let mut status = None;
    let mut result = AgiResult::Success;
    let mut needhup = false;
    let mut eof = false;
    let mut buf = vec![0u8; 8192];
    // Waits that saw neither the channel nor the descriptor (stock's AGI_NANDFS_RETRY).
    let mut retry = 3;
    loop {
        if needhup {
            needhup = false;
            dead = true;
            if send_sighup {
                if let Some(p) = pid {
                    let _ = process::hangup_signal(p);
                } else if peer.fast {
                    send(b"HANGUP\n");
                }
            }
            if exit_on_hangup {
                break;
            }
        }
        // A complete line already read is run before waiting again, unless the channel has
        // hung up meanwhile: then its control queue is read first, as stock does on every turn
        // of its loop, so that the peer hears of the hangup (and AGIEXITONHANGUP leaves)
        // before the next line runs, not after every line already read (issue 18).
        let hangup_pending = !dead && !in_intercept && chan.check_hangup();
        let line = if hangup_pending { None } else { reader.next_line().or_else(|| if eof { reader.rest() } else { None }) };
        if let Some(whole) = line {
            // The line ends at a NUL, as in the C string stock reads it into (stock's FastAGI
            // read then waits for the rest of the line: docs/differences.md).
            let line = crate::lines::until_nul(&whole);
            if line.len() >= 7 && line[..7].eq_ignore_ascii_case(b"failure") {
                // The child could not exec its script (stock's special case).
                result = AgiResult::Failure;
                break;
            }
            if crate::ffi::agi::debug() {
                let mut text = format!("<{name}>AGI Rx << ").into_bytes();
                text.extend_from_slice(line);
                crate::ffi::log::verbose(&text);
            }
            let began = std::time::Instant::now();
            let outcome = engine::run(chan, &mut events, &mut io, line, dead || in_intercept, fds, None);
            let mode = if peer.fast { crate::metrics::Mode::FastAgi } else { crate::metrics::Mode::Script };
            crate::metrics::command(mode, outcome.slot, began.elapsed().as_secs_f64());
            // AGIExecEnd goes out before the answer, as stock's.
            events.release();
            // (The engine has logged the answer's pieces for `agi set debug`.)
            careful_write(out, &outcome.text);
            if outcome.status == engine::Status::Failure && (dead || in_intercept || !chan.check_hangup()) {
                // The failure was not because of a hangup.
                result = AgiResult::Failure;
            }
            continue;
        }
        if eof && !hangup_pending {
            // Program terminated.
            crate::ffi::log::verb(
                3,
                format!("<{name}>AGI Script {} completed, returning {}\n", String::from_utf8_lossy(request), result as i32).as_bytes(),
            );
            if let Some(p) = pid.take() {
                status = process::wait_child(p, false);
            }
            break;
        }
        let ready = if dead || in_intercept {
            chan.wait_with_fd(false, peer.read.as_raw_fd())
        } else if !chan.check_hangup() {
            chan.wait_with_fd(true, peer.read.as_raw_fd())
        } else {
            // Read the control queue dry, to switch to dead mode.
            Ready::Channel
        };
        if ready != Ready::Nothing {
            retry = 3;
        }
        match ready {
            Ready::Channel => {
                if !chan.read_forwarding_voice(peer.audio.as_ref()) {
                    crate::ffi::log::debug(1, &format!("{name} hungup"));
                    needhup = true;
                    if result == AgiResult::Success {
                        result = AgiResult::Hangup;
                    }
                }
            }
            Ready::Fd => match read_some(&peer.read, &mut buf) {
                Ok(0) => eof = true,
                Ok(n) => reader.push(&buf[..n]),
                Err(ErrorKind::Interrupted | ErrorKind::WouldBlock) => {}
                Err(_) => eof = true,
            },
            Ready::Nothing => {
                retry -= 1;
                if retry <= 0 {
                    crate::ast_log!(Warning, "No channel, no fd?");
                    result = AgiResult::Failure;
                    break;
                }
            }
        }
    }
    drop(io);
    if send_sighup {
        if let Some(p) = pid {
            match process::hangup_signal(p) {
                Err(e) => crate::ast_log!(Warning, "unable to send SIGHUP to AGI process {p}: {e}"),
                Ok(()) => std::thread::sleep(Duration::from_micros(1)),
            }
            status = process::wait_child(p, true);
        } else if peer.fast {
            send(b"HANGUP\n");
        }
    }
    // FastAGI over TLS: a connection that failed (the server refused us after the handshake,
    // say for want of a client certificate) ends the session in FAILURE.
    if peer.tls.as_ref().is_some_and(|relay| relay.failed()) {
        result = AgiResult::Failure;
    }
    (result, status)
}
