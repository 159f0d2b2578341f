//! res_agi_rs.conf (`[general]`), read at load and on `module reload res_agi_rs.so`. A bad
//! value is logged and the last good one stays; parked calls are never touched.
use crate::ffi::misc::{config_category, Config};
use std::sync::atomic::{AtomicUsize, Ordering};

pub const FILE: &std::ffi::CStr = c"res_agi_rs.conf";
pub const DEFAULT_MAXQUEUE: usize = 1000;

static MAXQUEUE: AtomicUsize = AtomicUsize::new(DEFAULT_MAXQUEUE);

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
            _ => crate::ast_log!(Warning, "res_agi_rs.conf: unknown option '{name}' in [general], ignored"),
        }
    }
    MAXQUEUE.store(wanted, Ordering::Relaxed);
    crate::ffi::log::verb(3, format!("res_agi_rs.conf: maxqueue = {wanted}\n").as_bytes());
    ok
}
