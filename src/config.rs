//! res_agi_rs.conf (`[general]`), read at load and on `module reload res_agi_rs.so`. A bad
//! value is logged and the last good one stays; parked calls are never touched.
use crate::ffi::misc::{config_category, Config};
use std::sync::atomic::{AtomicUsize, Ordering};

pub const FILE: &std::ffi::CStr = c"res_agi_rs.conf";
pub const DEFAULT_MAXQUEUE: usize = 1000;

static MAXQUEUE: AtomicUsize = AtomicUsize::new(DEFAULT_MAXQUEUE);
pub const DEFAULT_METRICS_PATH: &str = "/metrics/agi";

/// `metrics = yes` and `metrics_path` (issue 21): whether the Prometheus endpoint is served on
/// Asterisk's HTTP server, and where (below http.conf's prefix); `auth_username`,
/// `auth_password` and `auth_realm` (issue 27): Basic authentication, as res_prometheus has it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Metrics {
    pub enabled: bool,
    pub path: String,
    pub auth: Option<Auth>,
    /// Why they are not served although `metrics = yes` (a bad auth setting), until the file
    /// is fixed.
    pub refused: Option<String>,
}

/// Basic authentication of the metrics endpoint.
#[derive(Clone, PartialEq, Eq)]
pub struct Auth {
    pub username: String,
    pub password: String,
    pub realm: String,
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Auth {{ username: {:?}, password: <hidden>, realm: {:?} }}", self.username, self.realm)
    }
}

/// res_prometheus's default realm (res/res_prometheus.c: auth_realm).
pub const DEFAULT_AUTH_REALM: &str = "Asterisk Prometheus Metrics";

static METRICS: std::sync::Mutex<Option<Metrics>> = std::sync::Mutex::new(None);

fn default_metrics() -> Metrics {
    Metrics { enabled: false, path: DEFAULT_METRICS_PATH.to_string(), auth: None, refused: None }
}

/// The metrics settings in force (defaults until the file says otherwise).
pub fn metrics() -> Metrics {
    METRICS.lock().unwrap_or_else(|p| p.into_inner()).clone().unwrap_or_else(default_metrics)
}

/// Lets go of the settings held on the heap (at unload, and when a load declines: nothing
/// runs a destructor of statics at dlclose).
pub fn release() {
    METRICS.lock().unwrap_or_else(|p| p.into_inner()).take();
    TLS.lock().unwrap_or_else(|p| p.into_inner()).take();
}

/// The three auth settings as read (None: not in the file); the rules are res_prometheus's
/// (res/res_prometheus.c prometheus_config_pre_apply refuses auth_username without
/// auth_password, and the module declines to load): here the metrics are not served until
/// it is fixed, and a password without a user name is refused too (res_prometheus ignores
/// it and serves without authentication). Only checked with `metrics = yes`.
fn auth(user: Option<String>, pass: Option<String>, realm: Option<String>) -> Result<Option<Auth>, String> {
    let (user, pass) = (user.unwrap_or_default(), pass.unwrap_or_default());
    let realm = realm.filter(|r| !r.is_empty()).unwrap_or_else(|| DEFAULT_AUTH_REALM.to_string());
    let plain = |v: &str| !v.chars().any(char::is_control);
    match (user.is_empty(), pass.is_empty()) {
        (true, true) => return Ok(None),
        (false, true) => return Err("auth_username is set without auth_password".to_string()),
        (true, false) => return Err("auth_password is set without auth_username".to_string()),
        (false, false) => {}
    }
    if user.contains(':') || !plain(&user) {
        // Basic authentication sends "user:password": the user ends at the first colon.
        return Err("auth_username has a colon or a control character".to_string());
    }
    if !plain(&pass) {
        return Err("auth_password has a control character".to_string());
    }
    if user.len() + 1 + pass.len() > 255 {
        // main/http.c ast_http_get_auth decodes "user:password" into 256 bytes and cuts it.
        return Err("auth_username and auth_password together are longer than 254 bytes, which Asterisk's HTTP server cannot read back".to_string());
    }
    if realm.len() > 200 || realm.contains(['"', '\\']) || !plain(&realm) {
        return Err("auth_realm has a quote, a backslash or a control character, or is longer than 200 bytes".to_string());
    }
    Ok(Some(Auth { username: user, password: pass, realm }))
}

fn yes_no(v: &str) -> Option<bool> {
    match v.to_ascii_lowercase().as_str() {
        "yes" | "true" | "y" | "t" | "1" | "on" => Some(true),
        "no" | "false" | "n" | "f" | "0" | "off" => Some(false),
        _ => None,
    }
}

/// A path Asterisk's HTTP server can serve: '/'-separated, no empty, '.' or '..' part, no
/// space, '?' or '#'. Returned without its leading '/'.
fn http_path(v: &str) -> Option<String> {
    let p = v.trim().trim_start_matches('/');
    let ok = !p.is_empty()
        && p.len() < 200
        && p.split('/').all(|part| !part.is_empty() && part != "." && part != "..")
        && p.bytes().all(|b| b.is_ascii_graphic() && b != b'?' && b != b'#' && b != b'%');
    ok.then(|| p.to_string())
}

/// Commands a channel's Async AGI queue may hold; `Action: AGI` past it is refused.
pub fn maxqueue() -> usize {
    MAXQUEUE.load(Ordering::Relaxed)
}

/// Reads the file; returns false when something in it was refused (and logged).
pub fn load() -> bool {
    let vars = match config_category(FILE, c"general") {
        Config::Missing => {
            crate::ffi::log::verb(3, b"res_agi_rs.conf not found: using the defaults\n");
            MAXQUEUE.store(DEFAULT_MAXQUEUE, Ordering::Relaxed);
            METRICS.lock().unwrap_or_else(|p| p.into_inner()).take();
            *TLS.lock().unwrap_or_else(|p| p.into_inner()) = None;
            return true;
        }
        Config::Invalid => {
            crate::ast_log!(Error, "res_agi_rs.conf is not a valid configuration file; keeping the current settings");
            return false;
        }
        Config::Category(vars) => vars,
    };
    let mut ok = true;
    let mut wanted = DEFAULT_MAXQUEUE;
    let mut metrics_wanted = default_metrics();
    let (mut auth_username, mut auth_password, mut auth_realm) = (None, None, None);
    for (name, value) in vars {
        let (name, value) = (String::from_utf8_lossy(&name).to_string(), String::from_utf8_lossy(&value).trim().to_string());
        match name.to_ascii_lowercase().as_str() {
            "maxqueue" => match value.parse::<usize>() {
                Ok(n) if n >= 1 => wanted = n,
                _ => {
                    crate::ast_log!(
                        Error,
                        "res_agi_rs.conf: maxqueue = '{value}' is not a whole number of at least 1; keeping {}",
                        maxqueue()
                    );
                    ok = false;
                    wanted = maxqueue();
                }
            },
            "metrics" => match yes_no(&value) {
                Some(b) => metrics_wanted.enabled = b,
                None => {
                    crate::ast_log!(Error, "res_agi_rs.conf: metrics = '{value}' is neither yes nor no; keeping {}", if metrics().enabled { "yes" } else { "no" });
                    ok = false;
                    metrics_wanted.enabled = metrics().enabled;
                }
            },
            "metrics_path" => match http_path(&value) {
                Some(p) => metrics_wanted.path = format!("/{p}"),
                None => {
                    crate::ast_log!(Error, "res_agi_rs.conf: metrics_path = '{value}' is not a path the HTTP server can serve; keeping {}", metrics().path);
                    ok = false;
                    metrics_wanted.path = metrics().path;
                }
            },
            "auth_username" => auth_username = Some(value),
            "auth_password" => auth_password = Some(value),
            "auth_realm" => auth_realm = Some(value),
            _ => crate::ast_log!(Warning, "res_agi_rs.conf: unknown option '{name}' in [general], ignored"),
        }
    }
    if metrics_wanted.enabled {
        match auth(auth_username, auth_password, auth_realm) {
            Ok(a) => metrics_wanted.auth = a,
            Err(why) => {
                crate::ast_log!(Error, "res_agi_rs.conf: {why}; the metrics are not served until it is fixed");
                metrics_wanted.refused = Some(why);
                ok = false;
            }
        }
    }
    MAXQUEUE.store(wanted, Ordering::Relaxed);
    crate::ffi::log::verb(
        3,
        format!(
            "res_agi_rs.conf: maxqueue = {wanted}, metrics = {}, metrics_path = {}{}\n",
            if metrics_wanted.enabled { "yes" } else { "no" },
            metrics_wanted.path,
            metrics_wanted.auth.as_ref().map(|a| format!(", Basic auth (user {}, realm \"{}\")", a.username, a.realm)).unwrap_or_default()
        )
        .as_bytes(),
    );
    *METRICS.lock().unwrap_or_else(|p| p.into_inner()) = Some(metrics_wanted);
    load_tls() && ok
}

/// `[tls]` (issue 21): how `agis://` and `hagis://` connect, in the option names Asterisk's
/// own TLS takes (`ast_tls_read_conf`), and the default port.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Tls {
    pub port: u16,
    /// (Asterisk's option name, value), in the file's order.
    pub options: Vec<(String, String)>,
}

pub const DEFAULT_TLS_PORT: u16 = 4573;
static TLS: std::sync::Mutex<Option<Tls>> = std::sync::Mutex::new(None);

/// The TLS settings in force (the system's CA certificates and verification until the file
/// says otherwise).
pub fn tls() -> Tls {
    TLS.lock().unwrap_or_else(|p| p.into_inner()).clone().unwrap_or_else(default_tls)
}

/// Secure by default: the server's certificate verified (against the system's CAs when no
/// `cafile`/`capath` is given) and its name checked.
fn default_tls() -> Tls {
    let mut options = Vec::new();
    if std::path::Path::new(SYSTEM_CAPATH).is_dir() {
        options.push(("tlscapath".to_string(), SYSTEM_CAPATH.to_string()));
    }
    Tls { port: DEFAULT_TLS_PORT, options }
}

const SYSTEM_CAPATH: &str = "/etc/ssl/certs";

/// Reads `[tls]`; a value that cannot be used is logged and the last good settings stay.
pub fn load_tls() -> bool {
    let vars = match config_category(FILE, c"tls") {
        Config::Category(vars) => vars,
        Config::Missing => Vec::new(),
        Config::Invalid => return false,
    };
    let mut tls = Tls { port: DEFAULT_TLS_PORT, options: Vec::new() };
    let mut verify = true;
    let mut ca_given = false;
    let mut why = None;
    for (name, value) in vars {
        let (name, value) = (String::from_utf8_lossy(&name).to_ascii_lowercase(), String::from_utf8_lossy(&value).trim().to_string());
        let asterisk_name = match name.as_str() {
            "port" => {
                match value.parse::<u16>() {
                    Ok(p) if p > 0 => tls.port = p,
                    _ => why = Some(format!("port = '{value}' is not a port number")),
                }
                continue;
            }
            "verify_server" => {
                match yes_no(&value) {
                    Some(v) => verify = v,
                    None => why = Some(format!("verify_server = '{value}' is neither yes nor no")),
                }
                continue;
            }
            "cafile" => "tlscafile",
            "capath" => "tlscapath",
            "certfile" => "tlscertfile",
            "privatekey" => "tlsprivatekey",
            "ciphers" => "tlscipher",
            "method" => "tlsclientmethod",
            "disable_tlsv1" => "tlsdisablev1",
            "disable_tlsv11" => "tlsdisablev11",
            "disable_tlsv12" => "tlsdisablev12",
            other => {
                why = Some(format!("unknown option '{other}' in [tls]"));
                continue;
            }
        };
        if matches!(asterisk_name, "tlscafile" | "tlscapath" | "tlscertfile" | "tlsprivatekey") && std::fs::metadata(&value).is_err() {
            why = Some(format!("{name} = '{value}': no such file or directory"));
            continue;
        }
        ca_given |= matches!(asterisk_name, "tlscafile" | "tlscapath");
        tls.options.push((asterisk_name.to_string(), value));
    }
    if !verify {
        tls.options.push(("tlsdontverifyserver".to_string(), "yes".to_string()));
    } else if !ca_given && std::path::Path::new(SYSTEM_CAPATH).is_dir() {
        tls.options.push(("tlscapath".to_string(), SYSTEM_CAPATH.to_string()));
    }
    if why.is_none() && !crate::ffi::tls::check(&tls.options) {
        why = Some("Asterisk's TLS refused a setting".to_string());
    }
    if let Some(why) = why {
        crate::ast_log!(Error, "res_agi_rs.conf: [tls]: {why}; keeping the TLS settings in force");
        return false;
    }
    crate::ffi::log::verb(3, format!("res_agi_rs.conf: [tls]: port {}, {} option(s), server verified: {}\n", tls.port, tls.options.len(), if verify { "yes" } else { "no" }).as_bytes());
    *TLS.lock().unwrap_or_else(|p| p.into_inner()) = Some(tls);
    true
}
