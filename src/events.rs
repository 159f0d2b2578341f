//! The AMI events of Async AGI, with the headers and order stock res_agi gives them: the
//! channel snapshot headers first, then the event's own, in the `agi` class. Like stock's,
//! they are published on the channel's stasis topic, so a client sees them in their place
//! among the channel's other events (a `VarSet` before the result of the `SET VARIABLE` that
//! caused it); unlike stock's, each message carries its event already formatted (no JSON).
pub use crate::encode::body;
use crate::encode::{append_field, append_uri_encoded};
use crate::ffi::channel::{Chan, Snapshot};
use crate::ffi::misc::publish_events;
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
    /// `Action: AGIClaim`: `claim_rule` under the owner's lock (two racing claims cannot both
    /// win). Err(the owner) when refused.
    pub fn claim(&self, wanted: &[u8], current: &[u8]) -> Result<(), Vec<u8>> {
        self.update(|owner| claim_rule(owner, wanted, current))
    }
    fn append_to(&self, body: &mut Vec<u8>) {
        if let Some(o) = self.0.lock().unwrap_or_else(|p| p.into_inner()).as_ref() {
            append_field(body, "Owner", o);
        }
    }
}

/// AGIClaim's rule (docs/actions.md), pure: `wanted` takes the channel when it has no owner,
/// when `wanted` owns it already, or when `current` names its owner (a hand-over; with
/// `wanted` empty, a release). Otherwise the channel stays as it is: Err(its owner).
pub fn claim_rule(owner: &mut Option<Vec<u8>>, wanted: &[u8], current: &[u8]) -> Result<(), Vec<u8>> {
    match owner {
        Some(o) if o.as_slice() != wanted && o.as_slice() != current => Err(o.clone()),
        _ => {
            *owner = if wanted.is_empty() { None } else { Some(wanted.to_vec()) };
            Ok(())
        }
    }
}

/// Whether `token` may be an owner: it goes into every event of the call as a header value,
/// so it holds no control character.
pub fn valid_owner(token: &[u8]) -> bool {
    !token.iter().any(|&b| b < b' ' || b == 0x7f)
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
pub fn cancel_result(reason: CancelReason) -> &'static str {
    match reason {
        CancelReason::Flush => "511 Command cancelled: queue flushed (flush)\n",
        CancelReason::Hangup => "511 Command cancelled: channel left Async AGI (hangup)\n",
        CancelReason::Failure => "511 Command cancelled: channel left Async AGI (failure)\n",
    }
}

/// Emits the events of one channel's Async AGI session, from its own thread. It keeps the
/// channel headers of the last snapshot it used: snapshots are immutable, so while the
/// channel's latest snapshot is the same object the headers are reused, not rebuilt. Each
/// event is written into one buffer the Emitter keeps while the channel is busy (sized once,
/// reused by every event, dropped when the channel goes idle): no temporary allocations per
/// event, which on 1,000 channel threads would sit in each thread's malloc cache.
///
/// Events can be held (`hold`) and sent together as one stasis message (`release`), in
/// the same order and place on the channel's topic: a command's AGIExecStart is held while
/// its command cannot publish anything on the channel's topic (engine::run decides), and
/// AGIExecEnd with the AsyncAGIExec after it (nothing runs between them). One message
/// instead of three costs the channel thread two publishes less and the manager's router
/// two messages less (docs/benchmarks.md, "Where the time goes").
pub struct Emitter<'a> {
    chan: &'a Chan,
    cached: Option<(Snapshot, Vec<u8>)>,
    owner: Option<Arc<Owner>>,
    /// The records (`name NUL body NUL`) not published yet: one while an event is built,
    /// more while held.
    buf: Vec<u8>,
    holding: bool,
    /// The cached headers were checked against the latest snapshot during this hold: the
    /// events of one bundle go out at one instant, with one snapshot.
    checked: bool,
}

/// The first size of an Emitter's buffer: a typical event (channel headers, about 600
/// bytes, plus its own fields) fits without growing.
const BUF_START: usize = 1536;

impl<'a> Emitter<'a> {
    pub fn new(chan: &'a Chan) -> Emitter<'a> {
        Emitter { chan, cached: None, owner: None, buf: Vec::new(), holding: false, checked: false }
    }

    /// An Emitter for a channel whose queue may be owned: its events carry the owner.
    pub fn with_owner(chan: &'a Chan, owner: Arc<Owner>) -> Emitter<'a> {
        Emitter { chan, cached: None, owner: Some(owner), buf: Vec::new(), holding: false, checked: false }
    }

    /// Forgets the cached headers (and releases the snapshot they came from) and the event
    /// buffer: called before the channel sleeps, so an idle parked channel keeps nothing.
    pub fn idle(&mut self) {
        self.release();
        self.cached = None;
        self.buf = Vec::new();
    }

    /// The events emitted from now on are kept, to go out together at `release`.
    pub fn hold(&mut self) {
        self.holding = true;
    }

    /// Whether the Emitter keeps anything for the channel (the headers cache, the buffer).
    pub fn keeps(&self) -> bool {
        self.cached.is_some() || self.buf.capacity() > 0
    }

    /// Publishes the events held since `hold`, as one message, in order.
    pub fn release(&mut self) {
        self.holding = false;
        self.checked = false;
        if !self.buf.is_empty() {
            publish_events(Some(self.chan), &self.buf);
            self.buf.clear();
        }
    }

    /// Appends the channel headers of the latest snapshot to `out`.
    fn write_channel_headers(&mut self, out: &mut Vec<u8>) {
        if self.checked {
            if let Some((_, headers)) = &self.cached {
                out.extend_from_slice(headers);
                return;
            }
        }
        let Some(latest) = Snapshot::latest(self.chan) else {
            append_field(out, "Channel", self.chan.name().as_bytes());
            append_field(out, "Uniqueid", self.chan.uniqueid().as_bytes());
            return;
        };
        self.checked = self.holding;
        match &self.cached {
            Some((snap, headers)) if snap.same_as(&latest) => out.extend_from_slice(headers),
            _ => {
                let headers = latest.manager_headers().unwrap_or_default();
                out.extend_from_slice(&headers);
                self.cached = Some((latest, headers));
            }
        }
    }

    /// The channel headers an event would carry now (from the latest snapshot).
    pub fn headers(&mut self) -> Vec<u8> {
        let mut out = Vec::new();
        self.write_channel_headers(&mut out);
        out
    }

    /// Publishes `event`: the channel headers, then what `fields` appends, then the owner.
    fn emit(&mut self, event: &CStr, fields: impl FnOnce(&mut Vec<u8>)) {
        let mut buf = std::mem::take(&mut self.buf);
        buf.reserve(BUF_START);
        buf.extend_from_slice(event.to_bytes_with_nul());
        let body = buf.len();
        self.write_channel_headers(&mut buf);
        fields(&mut buf);
        if let Some(o) = &self.owner {
            o.append_to(&mut buf);
        }
        crate::encode::end_c_text(&mut buf, body);
        self.buf = buf;
        if !self.holding {
            self.release();
        }
    }

    pub fn async_start(&mut self, env: &[u8]) {
        self.emit(c"AsyncAGIStart", |b| append_uri_field(b, "Env", env));
    }

    /// AsyncAGIExec: the command's whole output, url-encoded; CommandId only when given.
    pub fn async_exec(&mut self, result: &[u8], command_id: &[u8]) {
        self.async_exec_full(result, command_id, false);
    }

    /// AsyncAGIExec; `interrupted` adds `Interrupted: yes` (AGIInterrupt stopped it).
    pub fn async_exec_full(&mut self, result: &[u8], command_id: &[u8], interrupted: bool) {
        self.emit(c"AsyncAGIExec", |b| {
            append_uri_field(b, "Result", result);
            if !command_id.is_empty() {
                append_field(b, "CommandId", command_id);
            }
            if interrupted {
                append_field(b, "Interrupted", b"yes");
            }
        });
    }

    /// AsyncAGIExec for a command that was queued but never ran.
    pub fn async_exec_cancelled(&mut self, command_id: &[u8], reason: CancelReason) {
        crate::metrics::cancelled(reason.as_str());
        self.emit(c"AsyncAGIExec", |b| append_cancelled(b, command_id, reason));
    }

    pub fn async_end(&mut self) {
        self.emit(c"AsyncAGIEnd", |_| {});
    }

    pub fn exec_start(&mut self, command_id: i32, command: &[u8]) {
        self.emit(c"AGIExecStart", |b| {
            append_number(b, "CommandId", command_id);
            append_field(b, "Command", command);
        });
    }

    pub fn exec_end(&mut self, command_id: i32, command: &[u8], code: i32, result: &str) {
        self.emit(c"AGIExecEnd", |b| {
            append_number(b, "CommandId", command_id);
            append_field(b, "Command", command);
            append_number(b, "ResultCode", code);
            append_field(b, "Result", result.as_bytes());
        });
    }
}

impl Drop for Emitter<'_> {
    /// Nothing held is ever lost: whatever is still held goes out.
    fn drop(&mut self) {
        self.release();
    }
}

/// `Key: value` with the value url-encoded as stock's ast_uri_encode (written in place).
fn append_uri_field(body: &mut Vec<u8>, key: &str, value: &[u8]) {
    body.extend_from_slice(key.as_bytes());
    body.extend_from_slice(b": ");
    append_uri_encoded(body, value);
    body.extend_from_slice(b"\r\n");
}

/// `Key: <decimal number>` (no temporary string).
fn append_number(body: &mut Vec<u8>, key: &str, n: i32) {
    use std::io::Write;
    body.extend_from_slice(key.as_bytes());
    let _ = write!(body, ": {n}\r\n");
}

/// The fields of a cancelled command's AsyncAGIExec.
fn append_cancelled(body: &mut Vec<u8>, command_id: &[u8], reason: CancelReason) {
    append_uri_field(body, "Result", cancel_result(reason).as_bytes());
    if !command_id.is_empty() {
        append_field(body, "CommandId", command_id);
    }
    append_field(body, "Cancelled", reason.as_str().as_bytes());
}

/// AsyncAGIExec for each command still queued when its channel is destroyed (no channel to
/// read headers from: `headers` are those of the channel's last Async AGI event), all in one
/// message. It goes through the manager topic, after everything the channel published.
pub fn cancelled_after_destroy(headers: &[u8], command_ids: &[&[u8]], reason: CancelReason, owner: Option<&[u8]>) {
    let mut b = Vec::with_capacity(command_ids.len() * (headers.len() + 256));
    for command_id in command_ids {
        crate::metrics::cancelled(reason.as_str());
        b.extend_from_slice(c"AsyncAGIExec".to_bytes_with_nul());
        let body = b.len();
        b.extend_from_slice(headers);
        append_cancelled(&mut b, command_id, reason);
        if let Some(o) = owner {
            append_field(&mut b, "Owner", o);
        }
        crate::encode::end_c_text(&mut b, body);
    }
    if !b.is_empty() {
        publish_events(None, &b);
    }
}
