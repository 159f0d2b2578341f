//! A parked channel thread waits as SCHED_BATCH and runs its commands with its own policy
//! (issue 19, docs/differences.md): a thread woken by the AMI thread that queued a command
//! then does not preempt that thread. Read from /proc (each thread's policy, stat field 41),
//! on stock and ours: stock's threads are never SCHED_BATCH. When the call leaves Async AGI,
//! the dialplan after it runs in the same thread with the thread's own policy again: read
//! from that thread while the dialplan's next application (a Wait) runs.
mod common;
use common::ami::Message;
use common::*;
use std::time::{Duration, Instant};

const SCHED_OTHER: u32 = 0;
const SCHED_BATCH: u32 = 3;

/// The policy in a /proc/.../stat line: after ")", field 3 is the state, so policy (field 41)
/// is at index 38.
fn policy_in(stat: &str) -> Option<u32> {
    let fields: Vec<&str> = stat.rfind(')').map(|i| stat[i + 2..].split_whitespace().collect()).unwrap_or_default();
    fields.get(38).and_then(|p| p.parse::<u32>().ok())
}

/// How many of Asterisk's threads have the SCHED_BATCH policy now.
fn batch_threads(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/task"))
        .expect("Asterisk's threads")
        .flatten()
        .filter(|t| policy_in(&std::fs::read_to_string(t.path().join("stat")).unwrap_or_default()) == Some(SCHED_BATCH))
        .count()
}

/// The policy of Asterisk's thread `tid` now; None when that thread is gone.
fn thread_policy(pid: u32, tid: u32) -> Option<u32> {
    std::fs::read_to_string(format!("/proc/{pid}/task/{tid}/stat")).ok().and_then(|s| policy_in(&s))
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

/// Waits until thread `tid` has `policy`, failing after 5 s.
fn wait_policy(pid: u32, tid: u32, policy: u32, what: &str) {
    let t = Instant::now();
    while thread_policy(pid, tid) != Some(policy) {
        assert!(t.elapsed() < Duration::from_secs(5), "{what}: thread {tid} has policy {:?}, expected {policy}", thread_policy(pid, tid));
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// The kernel id (LWP) of the thread that runs a parked call: AsyncAGIStart's agi_threadid is
/// that thread's pthread_self() in decimal (stock and ours), and `core show threads` lists
/// every Asterisk thread's pthread_t (as a pointer) beside its LWP.
fn channel_tid(ast: &Asterisk, p: &Parked) -> u32 {
    let env = p.env();
    let id = env.iter().find(|(k, _)| k == "agi_threadid").map(|(_, v)| v.as_str()).unwrap_or_else(|| panic!("no agi_threadid: {env:?}"));
    let id = id.parse::<i64>().unwrap_or_else(|e| panic!("agi_threadid {id:?}: {e}")) as u64;
    let want = format!("{id:#x}");
    let threads = ast.cli("core show threads");
    threads
        .lines()
        .find_map(|l| {
            let mut w = l.split_whitespace();
            (w.next()? == want).then(|| w.next()?.parse::<u32>().ok()).flatten()
        })
        .unwrap_or_else(|| panic!("thread {want} (agi_threadid {id}) not in core show threads:\n{threads}"))
}

/// A Local call whose ";2" half runs `exten@sched` (sandbox/conf/extensions.conf), once it is
/// parked in Async AGI (its AsyncAGIStart has come).
fn call_into_sched(ami: &common::ami::Ami, exten: &str, tag: &str) -> Parked {
    let (id1, id2) = (format!("{tag}-{}-1", std::process::id()), format!("{tag}-{}-2", std::process::id()));
    ok(&ami.action(&[
        ("Action", "Originate"),
        ("Channel", &format!("Local/{exten}@sched")),
        ("Application", "Wait"),
        ("Data", "3600"),
        ("Async", "true"),
        ("ChannelId", &id1),
        ("OtherChannelId", &id2),
    ]));
    let start = ami.wait_event(TIMEOUT, |m| m.is_event("AsyncAGIStart") && m.get("Uniqueid") == Some(&id2));
    Parked { channel: start.get("Channel").unwrap().to_string(), uniqueid: id2, start }
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
        // ASYNCAGI BREAK, and the next priority parks it again (the second AGI(agi:async,again)):
        // SCHED_BATCH again. (What the dialplan between the two runs with: the test below.)
        ok(&ami.action(&[("Action", "AGI"), ("Channel", &p.channel), ("Command", "ASYNCAGI BREAK"), ("CommandID", "b")]));
        ami.wait_event(TIMEOUT, |m| m.is_event("UserEvent") && m.get("UserEvent") == Some("AfterAGI") && m.get("Uniqueid") == Some(&p.uniqueid));
        wait_batch(pid, parked, &format!("{flavour:?}: parked again"));
        ok(&ami.action(&[("Action", "Hangup"), ("Channel", &p.channel)]));
        wait_batch(pid, 0, &format!("{flavour:?}: after the hangup"));
    }
}

/// Out of Async AGI, the dialplan goes on in the same thread with the thread's own policy
/// (SCHED_OTHER here): read from that thread (its LWP, through agi_threadid) while the Wait
/// that follows Async AGI runs, on stock and ours, after both ways out: ASYNCAGI BREAK (the
/// thread ran a command last) and an AMI Redirect (it leaves from its SCHED_BATCH sleep, and
/// only IdlePolicy's drop restores the policy).
#[test]
fn the_dialplan_after_async_agi_runs_with_the_threads_own_policy() {
    for flavour in [Flavour::Stock, Flavour::Ours] {
        let ast = Asterisk::start(flavour);
        let pid = ast.pid();
        let ami = ast.ami();
        let idle = if flavour == Flavour::Ours { SCHED_BATCH } else { SCHED_OTHER };
        for how in ["ASYNCAGI BREAK", "Redirect"] {
            let p = call_into_sched(&ami, "leave", if how == "Redirect" { "redir" } else { "break" });
            let tid = channel_tid(&ast, &p);
            // The right thread: it is the one that sleeps as SCHED_BATCH (ours) while parked.
            wait_policy(pid, tid, idle, &format!("{flavour:?}: parked, idle"));
            if how == "Redirect" {
                ok(&ami.action(&[("Action", "Redirect"), ("Channel", &p.channel), ("Context", "sched"), ("Exten", "waitafter"), ("Priority", "1")]));
                ami.wait_event(TIMEOUT, |m| m.is_event("UserEvent") && m.get("UserEvent") == Some("Redirected") && m.get("Uniqueid") == Some(&p.uniqueid));
            } else {
                ok(&ami.action(&[("Action", "AGI"), ("Channel", &p.channel), ("Command", "ASYNCAGI BREAK"), ("CommandID", "b")]));
                ami.wait_event(TIMEOUT, |m| m.is_event("UserEvent") && m.get("UserEvent") == Some("AfterAGI") && m.get("Uniqueid") == Some(&p.uniqueid));
            }
            ami.wait_event(TIMEOUT, |m| m.is_event("Newexten") && m.get("Uniqueid") == Some(&p.uniqueid) && m.get("Application") == Some("Wait"));
            // Looked at through 300 ms of the Wait: the same thread, alive, SCHED_OTHER.
            for _ in 0..10 {
                let policy = thread_policy(pid, tid);
                assert_eq!(policy, Some(SCHED_OTHER), "{flavour:?}: after {how}, in the dialplan's Wait: thread {tid} has policy {policy:?} (None: gone)");
                std::thread::sleep(Duration::from_millis(30));
            }
            assert_eq!(batch_threads(pid), 0, "{flavour:?}: after {how}, SCHED_BATCH threads left");
            ok(&ami.action(&[("Action", "Hangup"), ("Channel", &p.channel)]));
        }
        wait_no_channels(&ast, TIMEOUT);
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
