//! A parked channel thread waits as SCHED_BATCH and runs its commands with its own policy
//! (issue 19, docs/differences.md): a thread woken by the AMI thread that queued a command
//! then does not preempt that thread. Read from /proc (each thread's policy, stat field 41),
//! on stock and ours: stock's threads are never SCHED_BATCH.
mod common;
use common::ami::Message;
use common::*;
use std::time::{Duration, Instant};

const SCHED_BATCH: u32 = 3;

/// How many of Asterisk's threads have the SCHED_BATCH policy now.
fn batch_threads(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/task"))
        .expect("Asterisk's threads")
        .flatten()
        .filter(|t| {
            let stat = std::fs::read_to_string(t.path().join("stat")).unwrap_or_default();
            let fields: Vec<&str> = stat.rfind(')').map(|i| stat[i + 2..].split_whitespace().collect()).unwrap_or_default();
            // After ")": field 3 is the state, so policy (field 41) is at index 38.
            fields.get(38).and_then(|p| p.parse::<u32>().ok()) == Some(SCHED_BATCH)
        })
        .count()
}

/// Waits until `batch_threads` is `n` (the channel thread goes to sleep a moment after its
/// last event), failing after 5 s.
fn wait_batch(pid: u32, n: usize, what: &str) {
    let t = Instant::now();
    while batch_threads(pid) != n {
        assert!(t.elapsed() < Duration::from_secs(5), "{what}: {} SCHED_BATCH threads, expected {n}", batch_threads(pid));
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn ok(r: &Message) {
    assert_eq!(r.get("Response"), Some("Success"), "{r:?}");
}

#[test]
fn a_parked_channel_waits_as_sched_batch_and_runs_commands_with_its_own_policy() {
    for flavour in [Flavour::Stock, Flavour::Ours] {
        let ast = Asterisk::start(flavour);
        let pid = ast.pid();
        let ami = ast.ami();
        assert_eq!(batch_threads(pid), 0, "{flavour:?}: before any call");
        let p = park(&ami, "park", "");
        let parked = if flavour == Flavour::Ours { 1 } else { 0 };
        wait_batch(pid, parked, &format!("{flavour:?}: one call parked, idle"));
        // A running command (EXEC Wait): the thread is back to its own policy meanwhile.
        ok(&ami.action(&[("Action", "AGI"), ("Channel", &p.channel), ("Command", "EXEC Wait 1"), ("CommandID", "w")]));
        ami.wait_event(TIMEOUT, |m| m.is_event("AGIExecStart") && m.get("Uniqueid") == Some(&p.uniqueid));
        std::thread::sleep(Duration::from_millis(300));
        assert_eq!(batch_threads(pid), 0, "{flavour:?}: while EXEC Wait runs");
        ami.wait_event(TIMEOUT, |m| m.is_event("AsyncAGIExec") && m.get("CommandId") == Some("w"));
        wait_batch(pid, parked, &format!("{flavour:?}: idle again"));
        // Out of Async AGI (ASYNCAGI BREAK): the dialplan goes on with the thread's policy.
        ok(&ami.action(&[("Action", "AGI"), ("Channel", &p.channel), ("Command", "ASYNCAGI BREAK"), ("CommandID", "b")]));
        ami.wait_event(TIMEOUT, |m| m.is_event("UserEvent") && m.get("UserEvent") == Some("AfterAGI") && m.get("Uniqueid") == Some(&p.uniqueid));
        // (The next priority parks it again: the second AGI(agi:async,again).)
        wait_batch(pid, parked, &format!("{flavour:?}: parked again"));
        ok(&ami.action(&[("Action", "Hangup"), ("Channel", &p.channel)]));
        wait_batch(pid, 0, &format!("{flavour:?}: after the hangup"));
    }
}

/// The same on a SIP call with media (issue 20): the thread wakes for each voice frame and is
/// SCHED_BATCH whenever looked at between them, is back to its own policy while a command
/// runs, and leaves with it. (That it no longer changes policy around each frame shows in
/// make bench's CPU per parked SIP call: docs/benchmarks-notes.md.)
#[test]
fn a_parked_sip_call_with_media_stays_sched_batch_between_frames() {
    use common::sip::{CallPlan, Sipp};
    for flavour in [Flavour::Stock, Flavour::Ours] {
        let ast = Asterisk::start_sip(flavour);
        let pid = ast.pid();
        let ami = ast.ami();
        let mut call = Sipp::call(&ast, &CallPlan { service: "sippark", hold: Duration::from_secs(20), dtmf: None, args: None });
        let m = ami.wait_event(Duration::from_secs(15), |m| m.is_event("AsyncAGIStart") && m.get("Channel").is_some_and(|c| c.starts_with("PJSIP/")));
        let (chan, uniqueid) = (m.get("Channel").unwrap().to_string(), m.get("Uniqueid").unwrap().to_string());
        let parked = if flavour == Flavour::Ours { 1 } else { 0 };
        wait_batch(pid, parked, &format!("{flavour:?}: SIP call parked, frames flowing"));
        // Sampled through a second of frames (50 wake-ups): SCHED_BATCH each time.
        for _ in 0..50 {
            assert_eq!(batch_threads(pid), parked, "{flavour:?}: between frames");
            std::thread::sleep(Duration::from_millis(20));
        }
        ok(&ami.action(&[("Action", "AGI"), ("Channel", &chan), ("Command", "EXEC Wait 1"), ("CommandID", "w")]));
        ami.wait_event(TIMEOUT, |m| m.is_event("AGIExecStart") && m.get("Uniqueid") == Some(&uniqueid));
        std::thread::sleep(Duration::from_millis(300));
        assert_eq!(batch_threads(pid), 0, "{flavour:?}: while EXEC Wait runs");
        ami.wait_event(TIMEOUT, |m| m.is_event("AsyncAGIExec") && m.get("CommandId") == Some("w"));
        wait_batch(pid, parked, &format!("{flavour:?}: idle again"));
        ok(&ami.action(&[("Action", "Hangup"), ("Channel", &chan)]));
        wait_batch(pid, 0, &format!("{flavour:?}: after the hangup"));
        call.wait(Duration::from_secs(20));
    }
}
