//! The AMI events of Async AGI, with the headers and order stock res_agi gives them: the
//! channel snapshot headers first, then the event's own. Emitted directly with
//! manager_event (no stasis/JSON round trip), in the `agi` class.
use crate::encode::uri_encode;
use crate::ffi::channel::{manager_channel_headers, Chan};
use crate::ffi::misc::manager_event;
use crate::ffi::sys::EVENT_FLAG_AGI;
use std::ffi::CStr;

/// Why a queued command was cancelled instead of run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CancelReason {
    Hangup,
    Redirect,
    Break,
    Failure,
}

impl CancelReason {
    pub fn as_str(self) -> &'static str {
        match self {
            CancelReason::Hangup => "hangup",
            CancelReason::Redirect => "redirect",
            CancelReason::Break => "break",
            CancelReason::Failure => "failure",
        }
    }
}

/// The AGI result line a cancelled command gets in its AsyncAGIExec (documented in
/// docs/differences.md).
pub fn cancel_result(reason: CancelReason) -> String {
    format!("511 Command cancelled: channel left Async AGI ({})\n", reason.as_str())
}

fn emit(chan: &Chan, event: &CStr, fields: &[(&str, &[u8])]) {
    let mut body = manager_channel_headers(chan).unwrap_or_else(|| {
        format!("Channel: {}\r\nUniqueid: {}\r\n", chan.name(), chan.uniqueid()).into_bytes()
    });
    for (key, value) in fields {
        body.extend_from_slice(key.as_bytes());
        body.extend_from_slice(b": ");
        // A value never carries a line break into the event (it would forge headers).
        body.extend(value.iter().map(|&b| if b == b'\r' || b == b'\n' { b' ' } else { b }));
        body.extend_from_slice(b"\r\n");
    }
    manager_event(EVENT_FLAG_AGI, event, &body);
}

pub fn async_start(chan: &Chan, env: &[u8]) {
    emit(chan, c"AsyncAGIStart", &[("Env", uri_encode(env).as_bytes())]);
}

/// AsyncAGIExec: the command's whole output, url-encoded; CommandId only when given.
pub fn async_exec(chan: &Chan, result: &[u8], command_id: &[u8]) {
    let result = uri_encode(result);
    if command_id.is_empty() {
        emit(chan, c"AsyncAGIExec", &[("Result", result.as_bytes())]);
    } else {
        emit(chan, c"AsyncAGIExec", &[("Result", result.as_bytes()), ("CommandId", command_id)]);
    }
}

/// AsyncAGIExec for a command that was queued but never ran.
pub fn async_exec_cancelled(chan: &Chan, command_id: &[u8], reason: CancelReason) {
    let result = uri_encode(cancel_result(reason).as_bytes());
    let mut fields: Vec<(&str, &[u8])> = vec![("Result", result.as_bytes())];
    if !command_id.is_empty() {
        fields.push(("CommandId", command_id));
    }
    fields.push(("Cancelled", reason.as_str().as_bytes()));
    emit(chan, c"AsyncAGIExec", &fields);
}

pub fn async_end(chan: &Chan) {
    emit(chan, c"AsyncAGIEnd", &[]);
}

pub fn exec_start(chan: &Chan, command_id: i32, command: &[u8]) {
    emit(chan, c"AGIExecStart", &[("CommandId", command_id.to_string().as_bytes()), ("Command", command)]);
}

pub fn exec_end(chan: &Chan, command_id: i32, command: &[u8], code: i32, result: &str) {
    emit(
        chan,
        c"AGIExecEnd",
        &[
            ("CommandId", command_id.to_string().as_bytes()),
            ("Command", command),
            ("ResultCode", code.to_string().as_bytes()),
            ("Result", result.as_bytes()),
        ],
    );
}
