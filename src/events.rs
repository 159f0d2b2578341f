//! The AMI events of Async AGI, with the headers and order stock res_agi gives them: the
//! channel snapshot headers first, then the event's own. Emitted directly with
//! manager_event (no stasis/JSON round trip), in the `agi` class.
use crate::encode::uri_encode;
use crate::ffi::channel::{Chan, Snapshot};
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

/// Emits the events of one channel's Async AGI session, from its own thread. It keeps the
/// channel headers of the last snapshot it used: snapshots are immutable, so while the
/// channel's latest snapshot is the same object the headers are reused, not rebuilt.
pub struct Emitter<'a> {
    chan: &'a Chan,
    cached: Option<(Snapshot, Vec<u8>)>,
}

impl<'a> Emitter<'a> {
    pub fn new(chan: &'a Chan) -> Emitter<'a> {
        Emitter { chan, cached: None }
    }

    /// Forgets the cached headers (and releases the snapshot they came from): called before
    /// the channel sleeps, so an idle parked channel keeps nothing.
    pub fn idle(&mut self) {
        self.cached = None;
    }

    fn channel_headers(&mut self) -> Vec<u8> {
        let Some(latest) = Snapshot::latest(self.chan) else {
            return format!("Channel: {}\r\nUniqueid: {}\r\n", self.chan.name(), self.chan.uniqueid()).into_bytes();
        };
        match &self.cached {
            Some((snap, headers)) if snap.same_as(&latest) => headers.clone(),
            _ => {
                let headers = latest.manager_headers().unwrap_or_default();
                self.cached = Some((latest, headers.clone()));
                headers
            }
        }
    }

    fn emit(&mut self, event: &CStr, fields: &[(&str, &[u8])]) {
        let body = self.body(fields);
        manager_event(EVENT_FLAG_AGI, event, &body);
    }

    fn body(&mut self, fields: &[(&str, &[u8])]) -> Vec<u8> {
        let mut body = self.channel_headers();
        for (key, value) in fields {
            body.extend_from_slice(key.as_bytes());
            body.extend_from_slice(b": ");
            // A value never carries a line break into the event (it would forge headers).
            body.extend(value.iter().map(|&b| if b == b'\r' || b == b'\n' { b' ' } else { b }));
            body.extend_from_slice(b"\r\n");
        }
        body
    }

    pub fn async_start(&mut self, env: &[u8]) {
        self.emit(c"AsyncAGIStart", &[("Env", uri_encode(env).as_bytes())]);
    }

    /// AsyncAGIExec: the command's whole output, url-encoded; CommandId only when given.
    pub fn async_exec(&mut self, result: &[u8], command_id: &[u8]) {
        let result = uri_encode(result);
        if command_id.is_empty() {
            self.emit(c"AsyncAGIExec", &[("Result", result.as_bytes())]);
        } else {
            self.emit(c"AsyncAGIExec", &[("Result", result.as_bytes()), ("CommandId", command_id)]);
        }
    }

    /// AsyncAGIExec for a command that was queued but never ran.
    pub fn async_exec_cancelled(&mut self, command_id: &[u8], reason: CancelReason) {
        let result = uri_encode(cancel_result(reason).as_bytes());
        let mut fields: Vec<(&str, &[u8])> = vec![("Result", result.as_bytes())];
        if !command_id.is_empty() {
            fields.push(("CommandId", command_id));
        }
        fields.push(("Cancelled", reason.as_str().as_bytes()));
        self.emit(c"AsyncAGIExec", &fields);
    }

    pub fn async_end(&mut self) {
        self.emit(c"AsyncAGIEnd", &[]);
    }

    pub fn exec_start(&mut self, command_id: i32, command: &[u8]) {
        self.emit(c"AGIExecStart", &[("CommandId", command_id.to_string().as_bytes()), ("Command", command)]);
    }

    pub fn exec_end(&mut self, command_id: i32, command: &[u8], code: i32, result: &str) {
        self.emit(
            c"AGIExecEnd",
            &[
                ("CommandId", command_id.to_string().as_bytes()),
                ("Command", command),
                ("ResultCode", code.to_string().as_bytes()),
                ("Result", result.as_bytes()),
            ],
        );
    }
}
