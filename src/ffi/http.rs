//! The metrics endpoint on Asterisk's HTTP server (issue 21): the shim holds the one URI
//! descriptor; these link it at a path and unlink it.
use super::shim;
use std::ffi::CString;

/// Serves the metrics at `path` (with or without its leading '/'), moving them if they were
/// served elsewhere; false if Asterisk refused the URI.
pub fn link_metrics(path: &str) -> bool {
    let Ok(c) = CString::new(path.trim_start_matches('/')) else { return false };
    // SAFETY: the shim copies the path into its own buffer before linking.
    unsafe { shim::rs_shim_metrics_link(c.as_ptr()) == 0 }
}

/// Stops serving them (nothing if they were not served). When it returns, no request is
/// inside our callback: the HTTP server calls it under the lock unlinking takes.
pub fn unlink_metrics() {
    // SAFETY: no arguments; the shim knows whether it is linked.
    unsafe { shim::rs_shim_metrics_unlink() }
}
