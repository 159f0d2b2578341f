//! AMI actions. `Action: AGI` (Channel, Command, optional CommandID) queues a command on a
//! channel in Async AGI, with stock res_agi's texts; the ActionID is answered at queue time
//! and the CommandID comes back in the command's AsyncAGIExec. Beyond stock (docs/actions.md):
//! AGIInterrupt, AGIFlush, AGIClaim and AGIChannels.
use crate::events::{CancelReason, Emitter};
use crate::ffi::channel::{Chan, ChannelRef, Snapshot};
use crate::ffi::manager::Action;
use crate::session::{self, check_owner, enqueue, session_of, Asker, EnqueueError, InterruptError, Queued, Session};
use std::sync::Arc;

/// The actions this module registers, with the shim's callback index for each.
pub const ACTIONS: [(&std::ffi::CStr, i32); 5] =
    [(c"AGI", 0), (c"AGIInterrupt", 1), (c"AGIFlush", 2), (c"AGIClaim", 3), (c"AGIChannels", 4)];

pub fn action_agi(action: &Action) -> i32 {
    let channel = action.header(c"Channel");
    let command = action.header(c"Command");
    let command_id = action.header(c"CommandID");
    if channel.is_empty() || command.is_empty() {
        action.send_error("Both, Channel and Command are *required*");
        return 0;
    }
    crate::failpoint::hit(&command, "_TEST PANIC ACTION");
    crate::failpoint::pause(&command, "_TEST HOLD ACTION", 10_000);
    let Some(chan) = ChannelRef::by_name(&channel) else {
        action.send_error(&format!("Channel {} does not exist.", String::from_utf8_lossy(&channel)));
        return 0;
    };
    let owner = action.header(c"Owner");
    // (Tests: an answer that takes as long as a write to a client that does not read its
    // socket, up to the manager's writetimeout per write; tests/manager_action.rs.)
    let slow_ack = crate::failpoint::pauses(&command, " _TEST SLOW ACK");
    match enqueue(&chan, command, command_id, Asker::Ami(&owner)) {
        Ok(wakeup) => {
            if slow_ack {
                std::thread::sleep(std::time::Duration::from_millis(1000));
            }
            action.send_ack("Added AGI command to queue");
            drop(wakeup);
        }
        Err(EnqueueError::NotInAsyncAgi) => {
            action.send_error(&format!("Failed to add AGI command to channel {} queue", chan.name()))
        }
        Err(EnqueueError::Owned(by)) => action.send_error(&owned_text(&chan, &by)),
        Err(EnqueueError::Full(n)) => {
            action.send_error(&format!("Queue of channel {} is full ({n} commands)", chan.name()))
        }
    }
    0
}

fn owned_text(chan: &Chan, by: &[u8]) -> String {
    format!("Channel {} is owned by {}", chan.name(), String::from_utf8_lossy(by))
}

/// The channel named by the `Channel` header and its queue, or the error already sent.
fn target(action: &Action) -> Option<(ChannelRef, Arc<Session>)> {
    let channel = action.header(c"Channel");
    if channel.is_empty() {
        action.send_error("Channel is *required*");
        return None;
    }
    let Some(chan) = ChannelRef::by_name(&channel) else {
        action.send_error(&format!("Channel {} does not exist.", String::from_utf8_lossy(&channel)));
        return None;
    };
    let Some(session) = session_of(&chan) else {
        action.send_error(&format!("Channel {} is not in Async AGI", chan.name()));
        return None;
    };
    Some((chan, session))
}

/// Each flushed command gets its AsyncAGIExec with `Cancelled: flush`, in queue order.
fn cancel_flushed(chan: &Chan, session: &Session, flushed: &[Queued]) {
    let mut events = Emitter::with_owner(chan, session.owner().clone());
    // One stasis message for all of them (a flush of 1,000 commands is one router task).
    events.hold();
    for cmd in flushed {
        events.async_exec_cancelled(&cmd.id, CancelReason::Flush);
    }
    events.release();
}

fn commands(n: usize) -> &'static str {
    if n == 1 { "command" } else { "commands" }
}

/// Interrupts the command running on `chan` (and flushes its queue with `flush`). Ok: what
/// the AMI response and the CLI say it did; Err: why it was refused. (Shared by both.)
pub fn interrupt(chan: &Chan, session: &Session, flush: bool) -> Result<String, String> {
    // Channel lock (ast_softhangup_nolock needs it) first, then the queue's: the order a
    // masquerade's fixup takes them in.
    let result = {
        let locked = chan.lock();
        session.interrupt(&locked, flush)
    };
    match result {
        Ok((line, flushed)) => {
            crate::metrics::interrupted();
            if flush {
                crate::metrics::flushed();
            }
            cancel_flushed(chan, session, &flushed);
            let mut text = format!("Interrupted {}", String::from_utf8_lossy(&line));
            if flush {
                text += &format!("; flushed {} queued {}", flushed.len(), commands(flushed.len()));
            }
            Ok(text)
        }
        Err(InterruptError::NothingRunning) => Err(format!("No AGI command running on channel {}", chan.name())),
        Err(InterruptError::Cannot(line, why)) => Err(format!("Cannot interrupt {}: {why}", String::from_utf8_lossy(&line))),
    }
}

/// Cancels every command queued on `chan` (not the running one); what AMI and the CLI say.
pub fn flush(chan: &Chan, session: &Session) -> String {
    let flushed = session.flush();
    crate::metrics::flushed();
    cancel_flushed(chan, session, &flushed);
    format!("Flushed {} {}", flushed.len(), commands(flushed.len()))
}

/// `target`, for an action that must come from the channel's owner when it has one.
fn owned_target(action: &Action) -> Option<(ChannelRef, Arc<Session>)> {
    let (chan, session) = target(action)?;
    if let Err(by) = check_owner(&session, Asker::Ami(&action.header(c"Owner"))) {
        action.send_error(&owned_text(&chan, &by));
        return None;
    }
    Some((chan, session))
}

pub fn action_interrupt(action: &Action) -> i32 {
    let Some((chan, session)) = owned_target(action) else { return 0 };
    // Asterisk's own truth test (yes, true, y, t, 1, on), as for every AMI flag.
    let flush = crate::ffi::misc::is_true(&action.header(c"Flush"));
    match interrupt(&chan, &session, flush) {
        Ok(text) => action.send_ack(&text),
        Err(why) => action.send_error(&why),
    }
    0
}

pub fn action_flush(action: &Action) -> i32 {
    let Some((chan, session)) = owned_target(action) else { return 0 };
    action.send_ack(&flush(&chan, &session));
    0
}

/// `Owner: token` claims an unowned channel (first claim wins); `CurrentOwner` must name the
/// owner to release it (`Owner:` empty) or hand it to another token.
pub fn action_claim(action: &Action) -> i32 {
    let Some((chan, session)) = target(action) else { return 0 };
    let wanted = action.header(c"Owner");
    let current = action.header(c"CurrentOwner");
    if !crate::events::valid_owner(&wanted) {
        action.send_error("Owner may not contain control characters");
        return 0;
    }
    // One decision under the owner's lock (the rule: events::claim_rule, also tested inside
    // Asterisk by src/selftest.rs).
    match session.owner().claim(&wanted, &current) {
        Err(by) => action.send_error(&owned_text(&chan, &by)),
        Ok(()) if wanted.is_empty() => action.send_ack(&format!("Channel {} released", chan.name())),
        Ok(()) => action.send_ack(&format!("Channel {} claimed by {}", chan.name(), String::from_utf8_lossy(&wanted))),
    }
    0
}

/// One line of `AGIChannels` / `agi show channels`.
pub struct Parked {
    pub name: String,
    pub headers: Vec<u8>,
    pub status: session::Status,
}

pub fn parked_channels() -> Vec<Parked> {
    session::parked()
        .into_iter()
        .filter_map(|(uniqueid, session)| {
            let chan = ChannelRef::by_name(&uniqueid)?;
            let headers = Snapshot::latest(&chan).and_then(|s| s.manager_headers()).unwrap_or_else(|| {
                format!("Channel: {}\r\nUniqueid: {}\r\n", chan.name(), chan.uniqueid()).into_bytes()
            });
            Some(Parked { name: chan.name(), headers, status: session.status() })
        })
        .collect()
}

pub fn action_channels(action: &Action) -> i32 {
    let parked = parked_channels();
    action.send_list_ack("Following are the channels in Async AGI");
    for p in &parked {
        let st = &p.status;
        let running = st.running.as_ref();
        let fields: Vec<(&str, Vec<u8>)> = vec![
            ("Owner", st.owner.clone().unwrap_or_default()),
            ("Queued", st.queued.to_string().into_bytes()),
            ("Running", running.map(|r| r.0.clone()).unwrap_or_default()),
            ("RunningSeconds", running.map_or(0, |r| r.1 as u64).to_string().into_bytes()),
            ("ParkedSeconds", (st.parked_secs as u64).to_string().into_bytes()),
        ];
        let fields: Vec<(&str, &[u8])> = fields.iter().map(|(k, v)| (*k, v.as_slice())).collect();
        action.send_list_item("AGIChannel", &crate::events::body(p.headers.clone(), &fields));
    }
    action.send_list_complete(c"AGIChannelsComplete", parked.len());
    0
}
