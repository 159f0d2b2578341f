//! The AMI events of Async AGI, with the headers and order stock res_agi gives them: the
//! channel snapshot headers first, then the event's own, in the `agi` class. Like stock's,
//! they are published on the channel's stasis topic, so a client sees them in their place
//! among the channel's other events (a `VarSet` before the result of the `SET VARIABLE` that
//! caused it); unlike stock's, each message carries its event already formatted (no JSON).
pub use crate::encode::body;
use crate::encode::{append_field, uri_encode};
use crate::ffi::channel::{Chan, Snapshot};
use crate::ffi::misc::publish_event;
use std::ffi::CStr;
use std::sync::{Arc, Mutex};

/// The owner token of a channel's Async AGI queue (AGIClaim, ASYNCAGI_OWNER), shared by the
/// queue and the channel thread's Emitter: every AGI event of an owned channel ends with
/// `Owner: <token>`. Unowned: no header at all, as stock.
#[derive(Default)]
pub struct Owner(Mutex<Option<Vec<u8>>>);

impl Owner {
    pub fn get(&self) -> Option<Vec<u8>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }
    pub fn set(&self, owner: Option<Vec<u8>>) {
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = owner;
    }
    /// Reads and changes the owner in one step (claims race).
    pub fn update<T>(&self, f: impl FnOnce(&mut Option<Vec<u8>>) -> T) -> T {
        f(&mut self.0.lock().unwrap_or_else(|p| p.into_inner()))
    }
    fn append_to(&self, body: &mut Vec<u8>) {
        if let Some(o) = self.0.lock().unwrap_or_else(|p| p.into_inner()).as_ref() {
            append_field(body, "Owner", o);
        }
    }
}

/// Why a queued command was cancelled instead of run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CancelReason {
    /// The channel hung up (or was destroyed) with the command still queued.
    Hangup,
    /// The session failed inside this module (a bug, caught): see the Asterisk log.
    Failure,
    /// `Action: AGIFlush` (or AGIInterrupt with `Flush: yes`, CLI `agi flush`).
    Flush,
}

impl CancelReason {
    pub fn as_str(self) -> &'static str {
        match self {
            CancelReason::Hangup => "hangup",
            CancelReason::Failure => "failure",
            CancelReason::Flush => "flush",
        }
    }
}

/// The AGI result line a cancelled command gets in its AsyncAGIExec (documented in
/// docs/differences.md).
pub fn cancel_result(reason: CancelReason) -> String {
    match reason {
        CancelReason::Flush => "511 Command cancelled: queue flushed (flush)\n".to_string(),
        _ => format!("511 Command cancelled: channel left Async AGI ({})\n", reason.as_str()),
    }
}

/// Emits the events of one channel's Async AGI session, from its own thread. It keeps the
/// channel headers of the last snapshot it used: snapshots are immutable, so while the
/// channel's latest snapshot is the same object the headers are reused, not rebuilt.
pub struct Emitter<'a> {
    chan: &'a Chan,
    cached: Option<(Snapshot, Vec<u8>)>,
    owner: Option<Arc<Owner>>,
}

impl<'a> Emitter<'a> {
    pub fn new(chan: &'a Chan) -> Emitter<'a> {
        Emitter { chan, cached: None, owner: None }
    }

    /// An Emitter for a channel whose queue may be owned: its events carry the owner.
    pub fn with_owner(chan: &'a Chan, owner: Arc<Owner>) -> Emitter<'a> {
        Emitter { chan, cached: None, owner: Some(owner) }
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

    /// The channel headers an event would carry now (from the latest snapshot).
    pub fn headers(&mut self) -> Vec<u8> {
        self.channel_headers()
    }

    fn emit(&mut self, event: &CStr, fields: &[(&str, &[u8])]) {
        let mut body = body(self.channel_headers(), fields);
        if let Some(o) = &self.owner {
            o.append_to(&mut body);
        }
        publish_event(Some(self.chan), event, &body);
    }

    pub fn async_start(&mut self, env: &[u8]) {
        self.emit(c"AsyncAGIStart", &[("Env", uri_encode(env).as_bytes())]);
    }

    /// AsyncAGIExec: the command's whole output, url-encoded; CommandId only when given.
    pub fn async_exec(&mut self, result: &[u8], command_id: &[u8]) {
        self.async_exec_full(result, command_id, false);
    }

    /// AsyncAGIExec; `interrupted` adds `Interrupted: yes` (AGIInterrupt stopped it).
    pub fn async_exec_full(&mut self, result: &[u8], command_id: &[u8], interrupted: bool) {
        let result = uri_encode(result);
        let mut fields: Vec<(&str, &[u8])> = vec![("Result", result.as_bytes())];
        if !command_id.is_empty() {
            fields.push(("CommandId", command_id));
        }
        if interrupted {
            fields.push(("Interrupted", b"yes"));
        }
        self.emit(c"AsyncAGIExec", &fields);
    }

    /// AsyncAGIExec for a command that was queued but never ran.
    pub fn async_exec_cancelled(&mut self, command_id: &[u8], reason: CancelReason) {
        let result = uri_encode(cancel_result(reason).as_bytes());
        self.emit(c"AsyncAGIExec", &cancelled_fields(&result, command_id, reason));
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

fn cancelled_fields<'a>(result: &'a str, command_id: &'a [u8], reason: CancelReason) -> Vec<(&'static str, &'a [u8])> {
    let mut fields: Vec<(&str, &[u8])> = vec![("Result", result.as_bytes())];
    if !command_id.is_empty() {
        fields.push(("CommandId", command_id));
    }
    fields.push(("Cancelled", reason.as_str().as_bytes()));
    fields
}

/// AsyncAGIExec for a command still queued when its channel is destroyed (no channel to
/// read headers from: `headers` are those of the channel's last Async AGI event). It goes
/// through the manager topic, after everything the channel published.
pub fn cancelled_after_destroy(headers: &[u8], command_id: &[u8], reason: CancelReason, owner: Option<&[u8]>) {
    let result = uri_encode(cancel_result(reason).as_bytes());
    let mut b = body(headers.to_vec(), &cancelled_fields(&result, command_id, reason));
    if let Some(o) = owner {
        append_field(&mut b, "Owner", o);
    }
    publish_event(None, c"AsyncAGIExec", &b);
}
