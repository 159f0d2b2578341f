//! The Async AGI scenario end to end on a real Asterisk 22 with res_agi_rs.so loaded in
//! place of res_agi.so: park, AsyncAGIStart and its environment, commands in FIFO order,
//! events, break / hangup / Redirect, nothing lost, no truncation.
mod common;
use common::ami::decode;
use common::*;
use std::time::Duration;

const CHANNEL_HEADERS: [&str; 14] = [
    "Channel", "ChannelState", "ChannelStateDesc", "CallerIDNum", "CallerIDName", "ConnectedLineNum",
    "ConnectedLineName", "Language", "AccountCode", "Context", "Exten", "Priority", "Uniqueid", "Linkedid",
];

fn assert_channel_headers(m: &common::ami::Message, p: &Parked) {
    let keys = m.keys();
    assert_eq!(&keys[..2], &["Event", "Privilege"], "{m:?}");
    assert_eq!(&keys[2..16], &CHANNEL_HEADERS, "{m:?}");
    assert_eq!(m.get("Privilege"), Some("agi,all"));
    assert_eq!(m.get("Channel"), Some(p.channel.as_str()));
    assert_eq!(m.get("Uniqueid"), Some(p.uniqueid.as_str()));
}

#[test]
fn module_replaces_res_agi() {
    let ast = Asterisk::start(Flavour::Ours);
    let mods = ast.cli("module show like agi");
    assert!(mods.contains("res_agi_rs.so"), "{mods}");
    assert!(!mods.contains("res_agi.so "), "stock res_agi must not be loaded: {mods}");
    let app = ast.cli("core show application AGI");
    let action = ast.cli("manager show command AGI");
    if target_has_xml_docs() {
        assert!(app.contains("Executes an AGI compliant application"), "{app}");
        assert!(action.contains("Add an AGI command to execute by Async AGI"), "{action}");
    } else {
        // What stock shows on an Asterisk without XML docs (22.10.1-noxmldoc).
        assert!(app.contains("-= Info about Application 'AGI' =-") && app.contains("Not Available"), "{app}");
        assert_eq!(action, "Action: AGI\nSynopsis: \nPrivilege: agi,all\n\n");
    }
}

#[test]
fn async_agi_start_carries_snapshot_and_full_environment() {
    let ast = Asterisk::start(Flavour::Ours);
    let ami = ast.ami();
    let p = park(&ami, "park", "first");
    assert_channel_headers(&p.start, &p);
    assert_eq!(p.start.keys().last(), Some(&"Env"));
    let env = p.env();
    let keys: Vec<&str> = env.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        keys,
        [
            "agi_request", "agi_channel", "agi_language", "agi_type", "agi_uniqueid", "agi_version", "agi_callerid",
            "agi_calleridname", "agi_callingpres", "agi_callingani2", "agi_callington", "agi_callingtns", "agi_dnid",
            "agi_rdnis", "agi_context", "agi_extension", "agi_priority", "agi_enhanced", "agi_accountcode",
            "agi_threadid", "agi_arg_1",
        ]
    );
    let get = |k: &str| env.iter().find(|(key, _)| key == k).map(|(_, v)| v.as_str()).unwrap();
    assert_eq!(get("agi_request"), "async");
    assert_eq!(get("agi_channel"), p.channel);
    assert_eq!(get("agi_uniqueid"), p.uniqueid);
    assert_eq!(get("agi_type"), "Local");
    assert_eq!(get("agi_language"), "en");
    assert_eq!(get("agi_callerid"), "unknown");
    assert_eq!(get("agi_context"), "agi");
    assert_eq!(get("agi_extension"), "park");
    assert_eq!(get("agi_priority"), "2");
    assert_eq!(get("agi_enhanced"), "0.0");
    assert_eq!(get("agi_arg_1"), "first");
    // The target's own version (Debian's 22.10.1+dfsg…, a source tag's, certified-…).
    assert!(common::target_version().starts_with(get("agi_version").split('+').next().unwrap()), "{} vs {}", get("agi_version"), common::target_version());
    assert!(get("agi_threadid").parse::<u64>().is_ok());
    // The raw Env ends with the blank line that closes an AGI environment.
    assert!(decode(p.start.get("Env").unwrap()).ends_with("\n\n"));
}

#[test]
fn several_arguments_and_a_long_environment_arrive_whole() {
    let ast = Asterisk::start(Flavour::Ours);
    let ami = ast.ami();
    // 2,700 characters of argument: stock cut the whole environment at 1,024 bytes.
    let part: String = (0..900).map(|i| (b'a' + (i % 26) as u8) as char).collect();
    let p = park(&ami, "long", &part);
    let env = p.env();
    assert_eq!(env.last().unwrap(), &("agi_arg_1".to_string(), part.repeat(3)));
    let p2 = park(&ami, "multi", "");
    let args: Vec<(String, String)> = p2.env().into_iter().filter(|(k, _)| k.starts_with("agi_arg_")).collect();
    assert_eq!(
        args,
        [
            ("agi_arg_1".into(), "one".into()),
            ("agi_arg_2".into(), "two words".into()),
            ("agi_arg_3".into(), "quoted,comma".into()),
            ("agi_arg_4".into(), "".into()),
        ]
    );
    // AGI(agi:async) with no argument has no agi_arg_ at all.
    let p3 = park(&ami, "noargs", "");
    assert!(p3.env().iter().all(|(k, _)| !k.starts_with("agi_arg_")));
}

#[test]
fn noop_round_trip_with_events_in_stock_order() {
    let ast = Asterisk::start(Flavour::Ours);
    let ami = ast.ami();
    let p = park(&ami, "park", "x");
    let resp = ami.action(&[("Action", "AGI"), ("Channel", &p.channel), ("Command", "NOOP"), ("CommandID", "c-1"), ("ActionID", "a-1")]);
    assert_eq!(resp.get("Response"), Some("Success"));
    assert_eq!(resp.get("Message"), Some("Added AGI command to queue"));
    assert_eq!(resp.get("ActionID"), Some("a-1"));
    let start = ami.wait_event(TIMEOUT, |m| m.is_event("AGIExecStart"));
    assert_channel_headers(&start, &p);
    assert_eq!(&start.keys()[16..], &["CommandId", "Command"]);
    assert_eq!(start.get("Command"), Some("NOOP"));
    let n: i64 = start.get("CommandId").unwrap().parse().unwrap();
    let end = ami.wait_event(TIMEOUT, |m| m.is_event("AGIExecEnd"));
    assert_eq!(&end.keys()[16..], &["CommandId", "Command", "ResultCode", "Result"]);
    assert_eq!(end.get("CommandId").unwrap().parse::<i64>().unwrap(), n);
    assert_eq!(end.get("ResultCode"), Some("200"));
    assert_eq!(end.get("Result"), Some("Success"));
    let exec = ami.wait_event(TIMEOUT, |m| m.is_event("AsyncAGIExec"));
    assert_channel_headers(&exec, &p);
    assert_eq!(&exec.keys()[16..], &["Result", "CommandId"]);
    assert_eq!(exec.get("Result"), Some("200%20result%3D0%0A"));
    assert_eq!(exec.get("CommandId"), Some("c-1"));

    // Without a CommandID there is no CommandId header.
    ami.action(&[("Action", "AGI"), ("Channel", &p.channel), ("Command", "noop")]);
    let exec = ami.wait_event(TIMEOUT, |m| m.is_event("AsyncAGIExec"));
    assert_eq!(&exec.keys()[16..], &["Result"]);
}

#[test]
fn commands_run_in_fifo_order_in_the_channel_thread() {
    let ast = Asterisk::start(Flavour::Ours);
    let ami = ast.ami();
    let p = park(&ami, "park", "");
    // Queue many at once (pipelined, no waiting between), each setting then reading.
    for i in 0..50 {
        ami.send(&[("Action", "AGI"), ("Channel", &p.channel), ("Command", &format!("SET VARIABLE ORDER {i}")), ("CommandID", &format!("set-{i}"))]);
        ami.send(&[("Action", "AGI"), ("Channel", &p.channel), ("Command", "GET VARIABLE ORDER"), ("CommandID", &format!("get-{i}"))]);
    }
    let mut seen = Vec::new();
    for _ in 0..100 {
        let m = ami.wait_event(TIMEOUT, |m| m.is_event("AsyncAGIExec"));
        seen.push((m.get("CommandId").unwrap().to_string(), decode(m.get("Result").unwrap())));
    }
    for i in 0..50 {
        assert_eq!(seen[2 * i], (format!("set-{i}"), "200 result=1\n".to_string()));
        assert_eq!(seen[2 * i + 1], (format!("get-{i}"), format!("200 result=1 ({i})\n")));
    }
}

#[test]
fn asyncagi_break_resumes_the_dialplan_with_success() {
    let ast = Asterisk::start(Flavour::Ours);
    let ami = ast.ami();
    let p = park(&ami, "park", "");
    assert_eq!(agi_result(&ami, &p, "ASYNCAGI BREAK"), "200 result=0\n");
    let end = ami.wait_event(TIMEOUT, |m| m.is_event("AsyncAGIEnd") && m.get("Uniqueid") == Some(&p.uniqueid));
    assert_channel_headers(&end, &p);
    assert_eq!(end.keys().len(), 16);
    let after = ami.wait_event(TIMEOUT, |m| m.get("UserEvent") == Some("AfterAGI") && m.get_all("Uniqueid").contains(&p.uniqueid.as_str()));
    assert_eq!(after.get("Status"), Some("SUCCESS"));
    assert_eq!(after.get("Step"), Some("first"));
    // The dialplan went on to the next priority, which parks the call again.
    let again = ami.wait_event(TIMEOUT, |m| m.is_event("AsyncAGIStart") && m.get("Uniqueid") == Some(&p.uniqueid));
    assert_eq!(again.get("Priority"), Some("4"));
    let p2 = Parked { channel: p.channel.clone(), uniqueid: p.uniqueid.clone(), start: again };
    assert_eq!(p2.env().last().unwrap().1, "again");
    assert_eq!(agi_result(&ami, &p2, "NOOP"), "200 result=0\n");
}

#[test]
fn hangup_cancels_every_queued_command_explicitly() {
    let ast = Asterisk::start(Flavour::Ours);
    let ami = ast.ami();
    let p = park(&ami, "park", "");
    // A command that blocks (waits for a digit for 2 s), then hangup, then more commands:
    // queued ones must each end in one AsyncAGIExec, cancelled, before AsyncAGIEnd.
    ami.action(&[("Action", "AGI"), ("Channel", &p.channel), ("Command", "WAIT FOR DIGIT 2000"), ("CommandID", "w")]);
    ami.wait_event(TIMEOUT, |m| m.is_event("AGIExecStart"));
    for i in 0..3 {
        let r = ami.action(&[("Action", "AGI"), ("Channel", &p.channel), ("Command", "NOOP"), ("CommandID", &format!("q{i}"))]);
        assert_eq!(r.get("Response"), Some("Success"));
    }
    let r = ami.action(&[("Action", "Hangup"), ("Channel", &p.channel)]);
    assert_eq!(r.get("Response"), Some("Success"), "{r:?}");
    let w = ami.wait_event(TIMEOUT, |m| m.is_event("AsyncAGIExec") && m.get("CommandId") == Some("w"));
    assert_eq!(decode(w.get("Result").unwrap()), "200 result=-1\n");
    for i in 0..3 {
        let c = ami.wait_event(TIMEOUT, |m| m.is_event("AsyncAGIExec") && m.get("CommandId") == Some(&format!("q{i}")));
        assert_eq!(decode(c.get("Result").unwrap()), "511 Command cancelled: channel left Async AGI (hangup)\n");
        assert_eq!(c.get("Cancelled"), Some("hangup"));
    }
    ami.wait_event(TIMEOUT, |m| m.is_event("AsyncAGIEnd") && m.get("Uniqueid") == Some(&p.uniqueid));
    let h = ami.wait_event(TIMEOUT, |m| m.get("UserEvent") == Some("AGIHangup") && m.get_all("Uniqueid").contains(&p.uniqueid.as_str()));
    assert_eq!(h.get("Status"), Some("HANGUP"));
    // Nothing ran twice or arrived late.
    let extra = ami.collect(Duration::from_millis(300), |m| m.is_event("AsyncAGIExec"));
    assert!(extra.is_empty(), "{extra:?}");
    // After leaving, the channel is gone.
    let r = ami.action(&[("Action", "AGI"), ("Channel", &p.channel), ("Command", "NOOP")]);
    assert_eq!(r.get("Message"), Some(format!("Channel {} does not exist.", p.channel).as_str()));
}

#[test]
fn commands_queued_behind_a_break_run_in_the_next_async_agi() {
    let ast = Asterisk::start(Flavour::Ours);
    let ami = ast.ami();
    let p = park(&ami, "park", "");
    ami.action(&[("Action", "AGI"), ("Channel", &p.channel), ("Command", "WAIT FOR DIGIT 500"), ("CommandID", "w")]);
    ami.action(&[("Action", "AGI"), ("Channel", &p.channel), ("Command", "ASYNCAGI BREAK"), ("CommandID", "b")]);
    ami.action(&[("Action", "AGI"), ("Channel", &p.channel), ("Command", "GET VARIABLE AGISTATUS"), ("CommandID", "late")]);
    let b = ami.wait_event(TIMEOUT, |m| m.is_event("AsyncAGIExec") && m.get("CommandId") == Some("b"));
    assert_eq!(decode(b.get("Result").unwrap()), "200 result=0\n");
    ami.wait_event(TIMEOUT, |m| m.is_event("AsyncAGIEnd"));
    let after = ami.wait_event(TIMEOUT, |m| m.get("UserEvent") == Some("AfterAGI"));
    assert_eq!(after.get("Status"), Some("SUCCESS"));
    // The queue belongs to the channel (as in stock): the next AGI(agi:async) runs it.
    let again = ami.wait_event(TIMEOUT, |m| m.is_event("AsyncAGIStart") && m.get("Uniqueid") == Some(&p.uniqueid));
    assert!(decode(again.get("Env").unwrap()).contains("agi_arg_1: again"));
    let late = ami.wait_event(TIMEOUT, |m| m.is_event("AsyncAGIExec") && m.get("CommandId") == Some("late"));
    assert_eq!(late.get("Cancelled"), None);
    assert_eq!(decode(late.get("Result").unwrap()), "200 result=1 (SUCCESS)\n", "it ran after the first run ended");
}

#[test]
fn redirect_keeps_the_queue_and_a_hangup_cancels_it() {
    let ast = Asterisk::start(Flavour::Ours);
    let ami = ast.ami();
    let p = park(&ami, "park", "");
    ami.action(&[("Action", "AGI"), ("Channel", &p.channel), ("Command", "WAIT FOR DIGIT 1000"), ("CommandID", "w")]);
    ami.wait_event(TIMEOUT, |m| m.is_event("AGIExecStart"));
    ami.action(&[("Action", "AGI"), ("Channel", &p.channel), ("Command", "NOOP"), ("CommandID", "queued")]);
    let r = ami.action(&[("Action", "Redirect"), ("Channel", &p.channel), ("Context", "agi"), ("Exten", "redirected"), ("Priority", "1")]);
    assert_eq!(r.get("Response"), Some("Success"), "{r:?}");
    ami.wait_event(TIMEOUT, |m| m.is_event("AsyncAGIEnd") && m.get("Uniqueid") == Some(&p.uniqueid));
    let red = ami.wait_event(TIMEOUT, |m| m.get("UserEvent") == Some("Redirected"));
    assert_eq!(red.get("Status"), Some("HANGUP"), "AGISTATUS after Redirect, as stock");
    // The channel lives on in the new place, out of Async AGI; its queue waits (as stock).
    let r = ami.action(&[("Action", "AGI"), ("Channel", &p.channel), ("Command", "NOOP"), ("CommandID", "later")]);
    assert_eq!(r.get("Message"), Some("Added AGI command to queue"));
    assert!(ast.cli("core show channels").contains("Wait(3600)"));
    assert!(ami.collect(Duration::from_millis(300), |m| m.is_event("AsyncAGIExec") && m.get("CommandId") == Some("queued")).is_empty());
    // The queue keeps the module loaded while the channel lives.
    let out = ast.cli("module unload res_agi_rs.so");
    assert!(out.contains("Unable to unload resource") || out.contains("failed"), "unload must be refused: {out}");
    // Nothing is lost: when the channel goes, each waiting command gets its cancellation.
    ami.action(&[("Action", "Hangup"), ("Channel", &p.channel)]);
    for id in ["queued", "later"] {
        let c = ami.wait_event(TIMEOUT, |m| m.is_event("AsyncAGIExec") && m.get("CommandId") == Some(id));
        assert_eq!(c.get("Cancelled"), Some("hangup"), "{c:?}");
        assert_eq!(decode(c.get("Result").unwrap()), "511 Command cancelled: channel left Async AGI (hangup)\n");
        assert_eq!(c.get("Channel"), Some(p.channel.as_str()), "{c:?}");
    }
    // And then the module can go.
    let deadline = std::time::Instant::now() + TIMEOUT;
    while !ast.cli("module show like res_agi_rs").contains("0 modules loaded") {
        ast.cli("module unload res_agi_rs.so");
        assert!(std::time::Instant::now() < deadline, "module never unloaded");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn failing_command_reports_and_the_channel_stays_parked() {
    let ast = Asterisk::start(Flavour::Ours);
    let ami = ast.ami();
    let p = park(&ami, "park", "");
    assert_eq!(agi_result(&ami, &p, "STREAM FILE no-such-sound-here \"\""), "200 result=-1 endpos=0\n");
    let end = ami.wait_event(TIMEOUT, |m| m.is_event("AGIExecEnd"));
    assert_eq!(end.get("ResultCode"), Some("-1"));
    assert_eq!(end.get("Result"), Some("Failure"));
    // Still parked: the next command runs.
    assert_eq!(agi_result(&ami, &p, "NOOP"), "200 result=0\n");
    assert!(ami.collect(Duration::from_millis(200), |m| m.is_event("AsyncAGIEnd")).is_empty());
}

#[test]
fn results_of_any_length_arrive_whole() {
    let ast = Asterisk::start(Flavour::Ours);
    let ami = ast.ami();
    let p = park(&ami, "park", "");
    // AMI lines stop at 1 KB, so build a 3,600-character value in four steps (EXEC with
    // AGIEXECFULL substitutes variables in the application's arguments).
    let part: String = (0..900).map(|i| (b'a' + (i % 26) as u8) as char).collect();
    assert_eq!(agi_result(&ami, &p, "SET VARIABLE AGIEXECFULL yes"), "200 result=1\n");
    for _ in 0..4 {
        assert_eq!(agi_result(&ami, &p, &format!("EXEC Set BIG=${{BIG}}{part}")), "200 result=0\n");
    }
    let big = part.repeat(4);
    assert_eq!(agi_result(&ami, &p, "GET FULL VARIABLE ${BIG}"), format!("200 result=1 ({big})\n"));
    assert_eq!(agi_result(&ami, &p, "GET VARIABLE BIG"), format!("200 result=1 ({big})\n"));
    let big2 = format!("{big}{big}{big}");
    assert_eq!(agi_result(&ami, &p, "EXEC Set BIG2=${BIG}${BIG}${BIG}"), "200 result=0\n");
    // A name ending in ")" is a function, read with its argument as given (no substitution).
    assert_eq!(agi_result(&ami, &p, "GET VARIABLE LEN(${BIG2})"), "200 result=1 (7)\n");
    assert_eq!(agi_result(&ami, &p, "GET FULL VARIABLE ${LEN(${BIG2})}"), "200 result=1 (10800)\n");
    assert_eq!(agi_result(&ami, &p, "GET VARIABLE BIG2"), format!("200 result=1 ({big2})\n"));
}

#[test]
fn a_command_sent_after_an_idle_channel_was_redirected_is_cancelled_with_its_channel_headers() {
    let ast = Asterisk::start(Flavour::Ours);
    let ami = ast.ami();
    let p = park(&ami, "park", "");
    // Nothing runs: the channel thread sleeps when the Redirect comes.
    let r = ami.action(&[("Action", "Redirect"), ("Channel", &p.channel), ("Context", "agi"), ("Exten", "redirected"), ("Priority", "1")]);
    assert_eq!(r.get("Response"), Some("Success"), "{r:?}");
    ami.wait_event(TIMEOUT, |m| m.get("UserEvent") == Some("Redirected"));
    let r = ami.action(&[("Action", "AGI"), ("Channel", &p.channel), ("Command", "NOOP"), ("CommandID", "idle-later")]);
    assert_eq!(r.get("Message"), Some("Added AGI command to queue"));
    ami.action(&[("Action", "Hangup"), ("Channel", &p.channel)]);
    let c = ami.wait_event(TIMEOUT, |m| m.is_event("AsyncAGIExec") && m.get("CommandId") == Some("idle-later"));
    assert_eq!(c.get("Cancelled"), Some("hangup"), "{c:?}");
    assert_eq!(c.get("Channel"), Some(p.channel.as_str()), "{c:?}");
    assert_eq!(c.get("Uniqueid"), Some(p.uniqueid.as_str()), "{c:?}");
}
