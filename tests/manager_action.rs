//! `Action: AGI` with stock's texts, privileges and parsing, and bad input of every kind:
//! each gets a clear answer and nothing queued is lost.
mod common;
use common::ami::{decode, decode_bytes};
use common::*;
use std::time::Duration;

#[test]
fn missing_headers_unknown_channel_and_channel_not_in_async_agi() {
    let ast = Asterisk::start(Flavour::Ours);
    let ami = ast.ami();
    let required = "Both, Channel and Command are *required*";
    for headers in [
        vec![("Action", "AGI"), ("Command", "NOOP")],
        vec![("Action", "AGI"), ("Channel", "Local/x@y-00000000;2")],
        vec![("Action", "AGI")],
        vec![("Action", "AGI"), ("Channel", ""), ("Command", "")],
    ] {
        let r = ami.action(&headers);
        assert_eq!(r.get("Response"), Some("Error"), "{headers:?}");
        assert_eq!(r.get("Message"), Some(required), "{headers:?}");
    }
    let r = ami.action(&[("Action", "AGI"), ("Channel", "SIP/nobody-0000"), ("Command", "NOOP")]);
    assert_eq!(r.get("Response"), Some("Error"));
    assert_eq!(r.get("Message"), Some("Channel SIP/nobody-0000 does not exist."));

    // A live channel that is not in Async AGI.
    let r = ami.action(&[
        ("Action", "Originate"), ("Channel", "Local/waiting@agi"), ("Application", "Wait"), ("Data", "3600"),
        ("Async", "true"), ("ChannelId", "notagi-1"), ("OtherChannelId", "notagi-2"),
    ]);
    assert_eq!(r.get("Response"), Some("Success"));
    let n = ami.wait_event(TIMEOUT, |m| m.is_event("Newexten") && m.get("Uniqueid") == Some("notagi-2") && m.get("Application") == Some("Wait"));
    let chan = n.get("Channel").unwrap().to_string();
    let r = ami.action(&[("Action", "AGI"), ("Channel", &chan), ("Command", "NOOP")]);
    assert_eq!(r.get("Response"), Some("Error"));
    assert_eq!(r.get("Message"), Some(format!("Failed to add AGI command to channel {chan} queue").as_str()));
    ast.wait_log(&format!("Channel {chan} is not setup for Async AGI."));
    // Looked up by uniqueid too, as ast_channel_get_by_name does.
    let r = ami.action(&[("Action", "AGI"), ("Channel", "notagi-2"), ("Command", "NOOP")]);
    assert_eq!(r.get("Message"), Some(format!("Failed to add AGI command to channel {chan} queue").as_str()));
}

#[test]
fn a_user_without_agi_write_class_is_denied() {
    let ast = Asterisk::start(Flavour::Ours);
    let admin = ast.ami();
    let p = park(&admin, "park", "");
    let user = ast.ami_as("noagi", "noagi");
    let r = user.action(&[("Action", "AGI"), ("Channel", &p.channel), ("Command", "NOOP"), ("CommandID", "denied")]);
    assert_eq!(r.get("Response"), Some("Error"));
    assert_eq!(r.get("Message"), Some("Permission denied"));
    assert!(admin.collect(Duration::from_millis(300), |m| m.is_event("AsyncAGIExec")).is_empty());
    // The same user still reads AGI events (read = all).
    assert_eq!(agi_result(&admin, &p, "NOOP"), "200 result=0\n");
    user.wait_event(TIMEOUT, |m| m.is_event("AsyncAGIExec"));
}

#[test]
fn action_id_is_answered_at_queue_time_and_command_id_at_execution() {
    let ast = Asterisk::start(Flavour::Ours);
    let ami = ast.ami();
    let p = park(&ami, "park", "");
    ami.action(&[("Action", "AGI"), ("Channel", &p.channel), ("Command", "WAIT FOR DIGIT 1500"), ("CommandID", "slow")]);
    let r = ami.action(&[("Action", "AGI"), ("Channel", &p.channel), ("Command", "NOOP"), ("CommandID", "fast"), ("ActionID", "queued-now")]);
    assert_eq!(r.get("ActionID"), Some("queued-now"));
    // The response came while "slow" was still running: its result has not arrived yet.
    assert!(ami.snapshot().iter().all(|m| !(m.is_event("AsyncAGIExec"))), "{:?}", ami.snapshot());
    let slow = ami.wait_event(TIMEOUT, |m| m.is_event("AsyncAGIExec"));
    assert_eq!(slow.get("CommandId"), Some("slow"));
    assert_eq!(decode(slow.get("Result").unwrap()), "200 result=0\n");
    let fast = ami.wait_event(TIMEOUT, |m| m.is_event("AsyncAGIExec"));
    assert_eq!(fast.get("CommandId"), Some("fast"));
}

#[test]
fn binary_bytes_quotes_escapes_and_long_commands() {
    let ast = Asterisk::start(Flavour::Ours);
    let ami = ast.ami();
    let p = park(&ami, "park", "");

    // Bytes that are not UTF-8 and control characters pass through untouched.
    let value: &[u8] = b"\x01\x02bin\x7f\xc3\x28\xfe\xff";
    let mut msg = format!("Action: AGI\r\nChannel: {}\r\nCommandID: bin-set\r\nCommand: SET VARIABLE BIN ", p.channel).into_bytes();
    msg.extend_from_slice(value);
    msg.extend_from_slice(b"\r\nActionID: bin\r\n\r\n");
    ami.send_raw(&msg);
    assert_eq!(ami.wait_response("bin").get("Response"), Some("Success"));
    let set = ami.wait_event(TIMEOUT, |m| m.is_event("AsyncAGIExec") && m.get("CommandId") == Some("bin-set"));
    assert_eq!(decode(set.get("Result").unwrap()), "200 result=1\n");
    let got = agi(&ami, &p, "GET VARIABLE BIN", "bin-get");
    let mut expected = b"200 result=1 (".to_vec();
    expected.extend_from_slice(value);
    expected.extend_from_slice(b")\n");
    assert_eq!(decode_bytes(got.get("Result").unwrap()), expected);

    // Quotes group words; an unbalanced quote runs to the end of the line.
    assert_eq!(agi_result(&ami, &p, "SET VARIABLE Q \"two words\""), "200 result=1\n");
    assert_eq!(agi_result(&ami, &p, "GET VARIABLE Q"), "200 result=1 (two words)\n");
    assert_eq!(agi_result(&ami, &p, "SET VARIABLE U \"unterminated value"), "200 result=1\n");
    assert_eq!(agi_result(&ami, &p, "GET VARIABLE U"), "200 result=1 (unterminated value)\n");
    // Backslashes escape spaces and quotes.
    assert_eq!(agi_result(&ami, &p, r#"SET VARIABLE E a\ b\"c"#), "200 result=1\n");
    assert_eq!(agi_result(&ami, &p, "GET VARIABLE E"), "200 result=1 (a b\"c)\n");
    // Too many words for SET VARIABLE: usage.
    assert_usage(&agi_result(&ami, &p, "SET VARIABLE A b c"));

    // A 900-byte command.
    let long: String = (0..880).map(|i| (b'A' + (i % 26) as u8) as char).collect();
    let cmd = format!("SET VARIABLE LONG {long}");
    assert!(cmd.len() >= 898);
    assert_eq!(agi_result(&ami, &p, &format!("{cmd}  ")), "200 result=1\n");
    assert_eq!(agi_result(&ami, &p, "GET VARIABLE LONG"), format!("200 result=1 ({long})\n"));
}

#[test]
fn command_names_unknown_commands_and_usage() {
    let ast = Asterisk::start(Flavour::Ours);
    let ami = ast.ami();
    let p = park(&ami, "park", "");
    assert_eq!(agi_result(&ami, &p, "nOoP"), "200 result=0\n");
    assert_eq!(agi_result(&ami, &p, "get VARIABLE AGIARGS"), "200 result=1 ()\n");
    assert_eq!(agi_result(&ami, &p, "NOOP with trailing words"), "200 result=0\n");
    // AMI trims header values: blanks are a missing Command.
    let r = ami.action(&[("Action", "AGI"), ("Channel", &p.channel), ("Command", "   ")]);
    assert_eq!(r.get("Message"), Some("Both, Channel and Command are *required*"));
    for bad in ["FOO", "GET", "\"\"", "GETVARIABLE X", "STREAM", "\\"] {
        assert_eq!(agi_result(&ami, &p, bad), "510 Invalid or unknown command\n", "{bad:?}");
    }
    let end = ami.collect(Duration::from_millis(100), |m| m.is_event("AGIExecEnd"));
    assert!(end.iter().filter(|m| m.get("ResultCode") == Some("510")).all(|m| m.get("Result") == Some("Invalid or unknown command")));

    let usage = agi_result(&ami, &p, "GET VARIABLE");
    assert_usage(&usage);
    // The text is Asterisk's own documentation of the command (none on a build without XML docs).
    if target_has_xml_docs() {
        assert!(usage.contains("Returns <literal>0</literal> if <replaceable>variablename</replaceable> is not set"), "{usage}");
    }
    let end = ami.wait_event(TIMEOUT, |m| m.is_event("AGIExecEnd") && m.get("ResultCode") == Some("520"));
    assert_eq!(end.get("Result"), Some("Usage"));
    // The channel is still parked after all of that.
    assert_eq!(agi_result(&ami, &p, "NOOP"), "200 result=0\n");
}

/// Issue 27 (defect 9): Action: AGI answers its client before it wakes the channel's thread
/// (issue 19). An answer to a client that does not read its socket blocks, up to the
/// manager's write timeout per write; another client's command queued on the same channel
/// meanwhile must not wait for it. (The failpoint ` _TEST SLOW ACK` holds the first answer
/// for 1 s, as such a write would.)
#[test]
fn a_slow_answer_to_one_client_delays_no_other_clients_command() {
    let ast = Asterisk::start_with_env(Flavour::Ours, &[("RES_AGI_RS_FAILPOINTS", "1")]);
    let (slow, quick) = (ast.ami(), ast.ami());
    let p = park(&quick, "park", "");
    let chan = p.channel.clone();
    let sender = std::thread::spawn(move || {
        slow.action(&[("Action", "AGI"), ("Channel", &chan), ("Command", "NOOP _TEST SLOW ACK"), ("CommandID", "slow")]);
        slow
    });
    // The slow client's command is queued and its answer is being held.
    std::thread::sleep(Duration::from_millis(200));
    let t = std::time::Instant::now();
    let r = agi(&quick, &p, "NOOP", "quick");
    let took = t.elapsed();
    assert_eq!(decode(r.get("Result").unwrap()), "200 result=0\n");
    assert!(took < Duration::from_millis(500), "the other client's NOOP waited {took:?} for the held answer");
    // Both ran, in the order they were queued.
    let slow_done = quick.wait_event(Duration::from_secs(5), |m| m.is_event("AsyncAGIExec") && m.get("CommandId") == Some("slow"));
    assert_eq!(decode(slow_done.get("Result").unwrap()), "200 result=0\n");
    let _ = sender.join();
}
