//! Who may do what (issue #10, point 6): the `agi` write class for every action of ours, the
//! `agi` read class for the events, cli_permissions.conf, and no forged header or event from
//! what a client sends (CR, LF or NUL inside Channel, Command, CommandID, Owner).
mod common;
use common::ami::Message;
use common::*;
use std::time::Duration;

#[test]
fn every_action_needs_agi_write_and_the_events_need_agi_read() {
    let ast = Asterisk::start(Flavour::Ours);
    let admin = ast.ami();
    let p = park(&admin, "park", "");
    let noagi = ast.ami_as("noagi", "noagi");
    for action in ["AGI", "AGIInterrupt", "AGIFlush", "AGIClaim", "AGIChannels"] {
        let r = noagi.action(&[("Action", action), ("Channel", &p.channel), ("Command", "NOOP"), ("Owner", "x")]);
        assert_eq!((r.get("Response"), r.get("Message")), (Some("Error"), Some("Permission denied")), "{action}: {r:?}");
    }
    // Nothing of that reached the call.
    assert_eq!(agi_result(&admin, &p, "NOOP"), "200 result=0\n");
    assert!(!admin.snapshot().iter().any(|m| m.get("Owner").is_some()), "AGIClaim was refused");
    // A user without the agi read class commands the call but sees none of its AGI events.
    let blind = ast.ami_as("noagiread", "noagiread");
    let r = blind.action(&[("Action", "AGI"), ("Channel", &p.channel), ("Command", "NOOP"), ("CommandID", "blind")]);
    assert_eq!(r.get("Response"), Some("Success"), "{r:?}");
    admin.wait_event(TIMEOUT, |m| m.is_event("AsyncAGIExec") && m.get("CommandId") == Some("blind"));
    std::thread::sleep(Duration::from_millis(300));
    let seen: Vec<Message> = blind.snapshot().into_iter().filter(|m| m.get("Event").is_some_and(|e| e.contains("AGI"))).collect();
    assert!(seen.is_empty(), "a user without agi read saw {seen:?}");
}

#[test]
fn cli_permissions_deny_agi_exec() {
    let ast = Asterisk::start(Flavour::Ours);
    let admin = ast.ami();
    let p = park(&admin, "park", "");
    std::fs::write(ast.instance_dir().join("etc/cli_permissions.conf"), "[general]\ndefault_perm = permit\n\n[root]\ndeny = agi exec\n").unwrap();
    ast.cli("cli reload permissions");
    let out = ast.cli(&format!("agi exec {} NOOP denied", p.channel));
    assert!(out.contains("You don't have permissions to run 'agi exec"), "{out}");
    assert!(admin.collect(Duration::from_millis(300), |m| m.is_event("AsyncAGIExec")).is_empty(), "the command was queued");
    // Other commands are still allowed.
    assert!(ast.cli("agi show channels").contains("1 channel in Async AGI"));
}

/// A CR or LF a client slips into a header value never becomes a header line or an event of
/// its own, in events or in responses (the test's client keeps a lone CR inside the value,
/// so any CR that reaches a value shows here).
#[test]
fn nothing_a_client_sends_forges_a_header_or_an_event() {
    let ast = Asterisk::start(Flavour::Ours);
    let admin = ast.ami();
    let p = park(&admin, "park", "");
    let forged = "x\rEvent: Forged\rChannel: victim";
    // Inside Command and CommandID (events), Channel and Owner (responses).
    admin.send_raw(format!("Action: AGI\r\nChannel: {}\r\nCommand: NOOP {forged}\r\nCommandID: id{forged}\r\nActionID: f1\r\n\r\n", p.channel).as_bytes());
    admin.wait_response("f1");
    admin.wait_event(TIMEOUT, |m| m.is_event("AsyncAGIExec") && m.get("CommandId").is_some_and(|c| c.starts_with("idx")));
    for action in ["AGI", "AGIInterrupt", "AGIFlush", "AGIClaim"] {
        admin.send_raw(format!("Action: {action}\r\nChannel: {forged}\r\nCommand: NOOP\r\nOwner: o{forged}\r\nActionID: f-{action}\r\n\r\n").as_bytes());
        let r = admin.wait_response(&format!("f-{action}"));
        // The name comes back in the error text, on one line.
        assert_eq!(r.get("Message"), Some("Channel x Event: Forged Channel: victim does not exist."), "{action}: {r:?}");
    }
    // An owner token goes into every event of the call: one with a control character is refused.
    admin.send_raw(format!("Action: AGIClaim\r\nChannel: {}\r\nOwner: o{forged}\r\nActionID: f-claim\r\n\r\n", p.channel).as_bytes());
    let r = admin.wait_response("f-claim");
    assert_eq!(r.get("Message"), Some("Owner may not contain control characters"), "{r:?}");
    // A CR in the CLI's CommandID argument.
    ast.cli(&format!("agi exec {} NOOP cli{forged}", p.channel));
    // NUL: AMI stops the value there; the CLI cannot carry one.
    admin.send_raw(format!("Action: AGI\r\nChannel: {}\r\nCommand: NOOP\0Event: Forged\r\nCommandID: nul\0x\r\nOwner: ox Event: Forged Channel: victim\r\nActionID: f-nul\r\n\r\n", p.channel).as_bytes());
    admin.wait_response("f-nul");
    std::thread::sleep(Duration::from_millis(500));
    let all = admin.snapshot();
    assert!(!all.iter().any(|m| m.is_event("Forged")), "a forged event arrived");
    for m in &all {
        for (k, v) in &m.headers {
            assert!(!v.contains('\r') && !v.contains('\n') && !v.contains('\0'), "a value carries a line break or NUL: {k}: {v:?} in {m:?}");
        }
    }
    assert_eq!(agi_result(&admin, &p, "GET VARIABLE UNIQUEID").trim_end(), "200 result=1 (".to_string() + &p.uniqueid + ")", "the call is fine");
}
