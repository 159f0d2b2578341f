//! CLI `agi exec <channel name> <app and arguments> [id]`: stock texts, completion, and its
//! result arriving as AsyncAGIExec like any other.
mod common;
use common::ami::decode;
use common::*;

#[test]
fn agi_exec_usage_and_errors() {
    let ast = Asterisk::start(Flavour::Ours);
    let usage = "Usage: agi exec <channel name> <app and arguments> [id]\n       Add AGI command to the execute queue of the specified channel in Async AGI\n";
    assert_eq!(ast.cli("agi exec"), usage);
    assert_eq!(ast.cli("agi exec Local/x@y-00000000;2"), usage);
    assert_eq!(
        ast.cli("agi exec Nobody/here NOOP"),
        "Channel Nobody/here does not exist.\nCommand 'agi exec Nobody/here NOOP' failed.\n"
    );
    let help = ast.cli("core show help agi exec");
    assert!(help.contains("Add AGI command to the execute queue"), "{help}");

    let ami = ast.ami();
    ami.action(&[
        ("Action", "Originate"), ("Channel", "Local/waiting@agi"), ("Application", "Wait"), ("Data", "3600"),
        ("Async", "true"), ("ChannelId", "cli-1"), ("OtherChannelId", "cli-2"),
    ]);
    let n = ami.wait_event(TIMEOUT, |m| m.is_event("Newexten") && m.get("Uniqueid") == Some("cli-2") && m.get("Application") == Some("Wait"));
    let chan = n.get("Channel").unwrap();
    assert_eq!(
        ast.cli(&format!("agi exec {chan} NOOP")),
        format!("Failed to add AGI command to queue of channel {chan}\nCommand 'agi exec {chan} NOOP' failed.\n")
    );
}

#[test]
fn agi_exec_queues_like_the_manager_action() {
    let ast = Asterisk::start(Flavour::Ours);
    let ami = ast.ami();
    let p = park(&ami, "park", "");
    assert_eq!(ast.cli(&format!("agi exec {} \"SET VARIABLE FROMCLI hello\" cli-id", p.channel)), "");
    let m = ami.wait_event(TIMEOUT, |m| m.is_event("AsyncAGIExec") && m.get("CommandId") == Some("cli-id"));
    assert_eq!(decode(m.get("Result").unwrap()), "200 result=1\n");
    assert_eq!(agi_result(&ami, &p, "GET VARIABLE FROMCLI"), "200 result=1 (hello)\n");
    // Without an id: no CommandId header.
    assert_eq!(ast.cli(&format!("agi exec {} NOOP", p.channel)), "");
    let m = ami.wait_event(TIMEOUT, |m| m.is_event("AsyncAGIExec"));
    assert_eq!(m.get("CommandId"), None);
    assert_eq!(decode(m.get("Result").unwrap()), "200 result=0\n");
}

#[test]
fn agi_exec_completes_channel_names() {
    let ast = Asterisk::start(Flavour::Ours);
    let ami = ast.ami();
    let p = park(&ami, "park", "");
    let out = ast.cli("_command matchesarray \"agi exec \" \"\"");
    assert!(out.contains(&p.channel), "completion did not offer {}: {out:?}", p.channel);
    let out = ast.cli("_command matchesarray \"agi exec Loc\" \"Loc\"");
    assert!(out.contains(&p.channel), "{out:?}");
    let out = ast.cli("_command matchesarray \"agi exec Zzz\" \"Zzz\"");
    assert!(!out.contains(&p.channel), "{out:?}");
}
