//! The AGI environment (AsyncAGIStart's Env, or the first lines a script or FastAGI server
//! reads): the same `agi_*` keys, order and values as stock res_agi's setup_env, with no
//! length limit.
use crate::ffi::channel::EnvFacts;
use std::io::Write;

/// `enhanced`: EAGI (audio on fd 3).
pub fn build(f: &EnvFacts, request: &[u8], args: &[Vec<u8>], enhanced: bool) -> Vec<u8> {
    // S_COR / S_OR in stock: a field that is invalid or empty reads "unknown".
    let unknown = |v: &Option<Vec<u8>>| v.clone().filter(|v| !v.is_empty()).unwrap_or_else(|| b"unknown".to_vec());
    let mut out = Vec::with_capacity(512);
    let mut line = |key: &str, value: &[u8]| {
        out.extend_from_slice(key.as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value);
        out.push(b'\n');
    };
    line("agi_request", request);
    line("agi_channel", &f.name);
    line("agi_language", &f.language);
    line("agi_type", &f.tech_type);
    line("agi_uniqueid", &f.uniqueid);
    line("agi_version", &f.version);
    line("agi_callerid", &unknown(&f.callerid));
    line("agi_calleridname", &unknown(&f.calleridname));
    line("agi_callingpres", f.callingpres.to_string().as_bytes());
    line("agi_callingani2", f.callingani2.to_string().as_bytes());
    line("agi_callington", f.callington.to_string().as_bytes());
    line("agi_callingtns", f.callingtns.to_string().as_bytes());
    line("agi_dnid", &unknown(&f.dnid));
    line("agi_rdnis", &unknown(&f.rdnis));
    line("agi_context", &f.context);
    line("agi_extension", &f.extension);
    line("agi_priority", f.priority.to_string().as_bytes());
    line("agi_enhanced", if enhanced { b"1.0" } else { b"0.0" });
    line("agi_accountcode", &f.accountcode);
    line("agi_threadid", f.threadid.to_string().as_bytes());
    for (i, arg) in args.iter().enumerate() {
        line(&format!("agi_arg_{}", i + 1), arg);
    }
    let _ = out.write_all(b"\n");
    out
}
