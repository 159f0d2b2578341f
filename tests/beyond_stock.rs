//! What res_agi_rs adds to Async AGI (issue #9): AGIInterrupt, AGIFlush, ownership
//! (AGIClaim, ASYNCAGI_OWNER, the Owner header, eventfilters), AGIChannels and `agi show
//! channels`, and the bounded queue with res_agi_rs.conf and `module reload`. Each on the
//! sandbox Asterisk, through AMI and the CLI.
mod common;
use common::ami::{decode, Ami, Message};
use common::*;
use std::collections::HashMap;
use std::time::{Duration, Instant};

fn ok(r: &Message) {
    assert_eq!(r.get("Response"), Some("Success"), "{r:?}");
}

fn err(r: &Message, text: &str) {
    assert_eq!(r.get("Response"), Some("Error"), "{r:?}");
    assert_eq!(r.get("Message"), Some(text), "{r:?}");
}

fn send(ami: &Ami, p: &Parked, cmd: &str, id: &str) {
    ok(&ami.action(&[("Action", "AGI"), ("Channel", &p.channel), ("Command", cmd), ("CommandID", id)]));
}

fn exec_of(ami: &Ami, id: &str) -> Message {
    ami.wait_event(TIMEOUT, |m| m.is_event("AsyncAGIExec") && m.get("CommandId") == Some(id))
}

/// Waits until the command with this line has started on the channel (its AGIExecStart).
fn started(ami: &Ami, p: &Parked, line: &str) {
    ami.wait_event(TIMEOUT, |m| m.is_event("AGIExecStart") && m.get("Uniqueid") == Some(&p.uniqueid) && m.get("Command") == Some(line));
}

fn interrupt(ami: &Ami, p: &Parked, extra: &[(&str, &str)]) -> Message {
    let mut h = vec![("Action", "AGIInterrupt"), ("Channel", p.channel.as_str())];
    h.extend_from_slice(extra);
    ami.action(&h)
}

#[test]
fn interrupt_stops_a_prompt_at_once_and_the_next_command_runs() {
    let mut ast = Asterisk::start(Flavour::Ours);
    let ami = ast.ami();
    let p = park(&ami, "park", "");
    let line = "STREAM FILE tt-monkeys \"\"";
    send(&ami, &p, line, "prompt");
    send(&ami, &p, "NOOP", "next");
    started(&ami, &p, line);
    std::thread::sleep(Duration::from_millis(400));
    let t = Instant::now();
    let r = interrupt(&ami, &p, &[]);
    ok(&r);
    assert_eq!(r.get("Message"), Some(format!("Interrupted {line}").as_str()));
    let e = exec_of(&ami, "prompt");
    let took = t.elapsed();
    assert_eq!(e.get("Interrupted"), Some("yes"), "{e:?}");
    let result = decode(e.get("Result").unwrap());
    let endpos: i64 = result.strip_prefix("200 result=0 endpos=").and_then(|s| s.trim().parse().ok()).unwrap_or_else(|| panic!("{result:?}"));
    assert!(endpos > 0 && endpos < 8000 * 2, "stopped after ~0.4 s of audio: {endpos}");
    assert!(took < Duration::from_millis(50), "the interrupted command answered {took:?} after the action");
    let n = exec_of(&ami, "next");
    assert_eq!(decode(n.get("Result").unwrap()), "200 result=0\n");
    assert_eq!(n.get("Interrupted"), None);
    // Nothing runs now.
    err(&interrupt(&ami, &p, &[]), &format!("No AGI command running on channel {}", p.channel));
    // A command that cannot be stopped is left alone.
    send(&ami, &p, "EXEC Dial Local/redirected@agi,2", "dial");
    started(&ami, &p, "EXEC Dial Local/redirected@agi,2");
    std::thread::sleep(Duration::from_millis(200));
    err(&interrupt(&ami, &p, &[]), "Cannot interrupt EXEC Dial Local/redirected@agi,2: the application Dial cannot be interrupted");
    let d = exec_of(&ami, "dial");
    assert_eq!(d.get("Interrupted"), None);
    // The channel is still parked and answers; the CLI form works the same.
    assert_eq!(agi_result(&ami, &p, "NOOP"), "200 result=0\n");
    send(&ami, &p, "WAIT FOR DIGIT 30000", "w");
    started(&ami, &p, "WAIT FOR DIGIT 30000");
    let out = ast.cli(&format!("agi interrupt {}", p.channel));
    assert_eq!(out.trim(), "Interrupted WAIT FOR DIGIT 30000");
    assert_eq!(decode(exec_of(&ami, "w").get("Result").unwrap()), "200 result=0\n");
    assert!(ast.is_running());
}

/// Every listed kind stops within a second of the action, answers its own result (recorded in
/// target/interrupt-results.txt; docs/actions.md lists them) and leaves the channel parked
/// with nothing left behind for the next command.
#[test]
fn each_interruptible_kind_stops_and_the_call_stays() {
    let mut ast = Asterisk::start(Flavour::Ours);
    let ami = ast.ami();
    let p = park(&ami, "park", "");
    assert_eq!(agi_result(&ami, &p, "SPEECH CREATE test"), "200 result=1\n");
    let kinds = [
        "STREAM FILE tt-monkeys \"\"",
        "CONTROL STREAM FILE tt-monkeys \"\"",
        "GET DATA tt-monkeys 20000 4",
        "GET OPTION tt-monkeys \"\" 20000",
        "WAIT FOR DIGIT 30000",
        "SAY NUMBER 987654321 \"\"",
        "SAY DIGITS 98765432109876543210 \"\"",
        "SAY ALPHA abcdefghijklmnopqrstuvwxyz \"\"",
        "SAY PHONETIC abcdefghijklmnopqrstuvwxyz \"\"",
        "SAY DATE 1700000000 \"\"",
        "SAY TIME 1700000000 \"\"",
        "SAY DATETIME 1700000000 \"\"",
        "RECORD FILE /tmp/res_agi_rs_interrupt wav # 30000",
        "SPEECH RECOGNIZE tt-monkeys 30000",
        "EXEC Playback tt-monkeys",
        "EXEC Background tt-monkeys",
        "EXEC ControlPlayback tt-monkeys",
        "EXEC Wait 30",
        "EXEC WaitExten 30",
        "EXEC MusicOnHold default,30",
        "EXEC Read digits,tt-monkeys,4,,,20",
    ];
    let mut report = Vec::new();
    for (i, line) in kinds.iter().enumerate() {
        let id = format!("k{i}");
        eprintln!("[kind] {line}");
        send(&ami, &p, line, &id);
        started(&ami, &p, line);
        std::thread::sleep(Duration::from_millis(300));
        let t = Instant::now();
        let r = interrupt(&ami, &p, &[]);
        ok(&r);
        let e = exec_of(&ami, &id);
        let took = t.elapsed();
        assert_eq!(e.get("Interrupted"), Some("yes"), "{line}: {e:?}");
        assert!(took < Duration::from_secs(1), "{line}: answered {took:?} after the interrupt");
        let result = decode(e.get("Result").unwrap());
        assert!(result.starts_with("200 result="), "{line}: {result:?}");
        report.push(format!("{line} -> {}", result.trim_end()));
        // Nothing left behind: the next command runs normally and the call is still parked.
        assert_eq!(agi_result(&ami, &p, "NOOP"), "200 result=0\n", "after {line}");
        assert_eq!(agi_result(&ami, &p, "GET VARIABLE UNIQUEID"), format!("200 result=1 ({})\n", p.uniqueid), "after {line}");
    }
    // A short prompt plays to its end after all of that (no stop frame or flag was left).
    let beep = agi_result(&ami, &p, "STREAM FILE beep \"\"");
    assert!(beep.starts_with("200 result=0 endpos=") && !beep.contains("endpos=0\n"), "{beep}");
    std::fs::write(project_dir().join("target/interrupt-results.txt"), report.join("\n") + "\n").unwrap();
    assert!(!ami.snapshot().iter().any(|m| m.is_event("AsyncAGIEnd")), "the call left Async AGI");
    assert!(ast.is_running());
}

#[test]
fn flush_cancels_what_is_queued_but_not_what_runs() {
    let ast = Asterisk::start(Flavour::Ours);
    let ami = ast.ami();
    let p = park(&ami, "park", "");
    let line = "STREAM FILE tt-monkeys \"\"";
    send(&ami, &p, line, "run");
    for i in 0..3 {
        send(&ami, &p, "NOOP", &format!("q{i}"));
    }
    started(&ami, &p, line);
    let r = ami.action(&[("Action", "AGIFlush"), ("Channel", &p.channel)]);
    ok(&r);
    assert_eq!(r.get("Message"), Some("Flushed 3 commands"));
    for i in 0..3 {
        let e = exec_of(&ami, &format!("q{i}"));
        assert_eq!(e.get("Cancelled"), Some("flush"), "{e:?}");
        assert_eq!(decode(e.get("Result").unwrap()), "511 Command cancelled: queue flushed (flush)\n");
    }
    // The running one goes on, and is then stopped with a flush of the (new) queue.
    send(&ami, &p, "NOOP", "late");
    let r = interrupt(&ami, &p, &[("Flush", "yes")]);
    ok(&r);
    assert_eq!(r.get("Message"), Some(format!("Interrupted {line}; flushed 1 queued command").as_str()));
    assert_eq!(exec_of(&ami, "run").get("Interrupted"), Some("yes"));
    assert_eq!(exec_of(&ami, "late").get("Cancelled"), Some("flush"));
    assert_eq!(ast.cli(&format!("agi flush {}", p.channel)).trim(), "Flushed 0 commands");
    assert_eq!(agi_result(&ami, &p, "NOOP"), "200 result=0\n");
}

/// Interrupt with flush and a hangup sent at the same moment, many times: every command
/// ends in exactly one AsyncAGIExec (its result, or one cancellation), and Asterisk lives.
#[test]
fn interrupt_and_flush_racing_hangup_lose_nothing() {
    let mut ast = Asterisk::start(Flavour::Ours);
    let ami = ast.ami();
    for round in 0..15 {
        let p = park(&ami, "park", "");
        let line = "STREAM FILE tt-monkeys \"\"";
        let ids: Vec<String> = (0..4).map(|i| format!("r{round}-{i}")).collect();
        send(&ami, &p, line, &ids[0]);
        for id in &ids[1..] {
            send(&ami, &p, "NOOP", id);
        }
        started(&ami, &p, line);
        std::thread::sleep(Duration::from_millis(round * 7 % 50));
        // Both go out back to back; their order at Asterisk is the race.
        let (a, b) = if round % 2 == 0 { ("AGIInterrupt", "Hangup") } else { ("Hangup", "AGIInterrupt") };
        let ia = ami.send(&[("Action", a), ("Channel", &p.channel), ("Flush", "yes")]);
        let ib = ami.send(&[("Action", b), ("Channel", &p.channel), ("Flush", "yes")]);
        ami.wait_response(&ia);
        ami.wait_response(&ib);
        ami.wait_event(TIMEOUT, |m| m.is_event("Hangup") && m.get("Uniqueid") == Some(&p.uniqueid));
        // Late cancellations (channel destroyed) come through the manager topic: give them
        // a moment, then count.
        let execs = ami.collect(Duration::from_millis(300), |m| m.is_event("AsyncAGIExec"));
        let mut seen: HashMap<String, usize> = HashMap::new();
        for m in &execs {
            *seen.entry(m.get("CommandId").unwrap_or("").to_string()).or_default() += 1;
        }
        for id in &ids {
            assert_eq!(seen.get(id), Some(&1), "round {round}: {id} answered {:?} times; {execs:?}", seen.get(id));
        }
    }
    assert!(ast.is_running());
}

#[test]
fn an_owned_call_is_commanded_and_seen_by_its_owner_only() {
    let ast = Asterisk::start(Flavour::Ours);
    let admin = ast.ami();
    let a = ast.ami_as("appa", "appa");
    let b = ast.ami_as("appb", "appb");
    let p = park(&admin, "owned", "appa");
    assert_eq!(p.start.get("Owner"), Some("appa"), "AsyncAGIStart carries the owner");
    // appb may not command appa's call, with or without an Owner header.
    for owner in [None, Some("appb")] {
        let mut h = vec![("Action", "AGI"), ("Channel", p.channel.as_str()), ("Command", "NOOP"), ("CommandID", "b1")];
        if let Some(o) = owner {
            h.push(("Owner", o));
        }
        err(&b.action(&h), &format!("Channel {} is owned by appa", p.channel));
    }
    err(&b.action(&[("Action", "AGIInterrupt"), ("Channel", &p.channel)]), &format!("Channel {} is owned by appa", p.channel));
    err(&b.action(&[("Action", "AGIFlush"), ("Channel", &p.channel)]), &format!("Channel {} is owned by appa", p.channel));
    // appa commands it and sees its events, each with Owner: appa.
    ok(&a.action(&[("Action", "AGI"), ("Channel", &p.channel), ("Command", "NOOP"), ("CommandID", "a1"), ("Owner", "appa")]));
    for ev in ["AGIExecStart", "AGIExecEnd"] {
        let m = a.wait_event(TIMEOUT, |m| m.is_event(ev) && m.get("Uniqueid") == Some(&p.uniqueid));
        assert_eq!(m.get("Owner"), Some("appa"));
    }
    let e = a.wait_event(TIMEOUT, |m| m.is_event("AsyncAGIExec") && m.get("CommandId") == Some("a1"));
    assert_eq!(e.get("Owner"), Some("appa"));
    // An unowned call: no Owner header anywhere (as stock); appa's filter hides its events.
    let q = park(&admin, "park", "");
    assert_eq!(q.start.get("Owner"), None);
    let m = agi(&admin, &q, "NOOP", "u1");
    assert_eq!(m.get("Owner"), None);
    std::thread::sleep(Duration::from_millis(300));
    assert!(!b.snapshot().iter().any(|m| m.get("Uniqueid") == Some(&p.uniqueid) && m.get("Event").is_some_and(|e| e.contains("AGI"))), "appb saw appa's events");
    assert!(!a.snapshot().iter().any(|m| m.get("Uniqueid") == Some(&q.uniqueid)), "appa saw an unowned call's events");
    // The CLI (an administrator) can hand it over whoever owns it.
    assert_eq!(ast.cli(&format!("agi claim {} appb", p.channel)).trim(), format!("Channel {} claimed by appb", p.channel));
    err(&a.action(&[("Action", "AGI"), ("Channel", &p.channel), ("Command", "NOOP"), ("Owner", "appa")]), &format!("Channel {} is owned by appb", p.channel));
    assert_eq!(ast.cli(&format!("agi claim {} appa", p.channel)).trim(), format!("Channel {} claimed by appa", p.channel));
    // Handing over, then releasing.
    err(&b.action(&[("Action", "AGIClaim"), ("Channel", &p.channel), ("Owner", "appb")]), &format!("Channel {} is owned by appa", p.channel));
    ok(&a.action(&[("Action", "AGIClaim"), ("Channel", &p.channel), ("Owner", "appb"), ("CurrentOwner", "appa")]));
    ok(&b.action(&[("Action", "AGI"), ("Channel", &p.channel), ("Command", "NOOP"), ("CommandID", "b2"), ("Owner", "appb")]));
    assert_eq!(b.wait_event(TIMEOUT, |m| m.is_event("AsyncAGIExec") && m.get("CommandId") == Some("b2")).get("Owner"), Some("appb"));
    let r = b.action(&[("Action", "AGIClaim"), ("Channel", &p.channel), ("Owner", ""), ("CurrentOwner", "appb")]);
    ok(&r);
    assert_eq!(r.get("Message"), Some(format!("Channel {} released", p.channel).as_str()));
    let m = agi(&admin, &p, "NOOP", "free");
    assert_eq!(m.get("Owner"), None);
}

#[test]
fn of_racing_claims_exactly_one_wins() {
    let ast = Asterisk::start(Flavour::Ours);
    let admin = ast.ami();
    let conns: Vec<Ami> = (0..2).map(|_| ast.ami()).collect();
    for round in 0..20 {
        let p = park(&admin, "park", "");
        let ids: Vec<String> = conns.iter().enumerate().map(|(i, c)| c.send(&[("Action", "AGIClaim"), ("Channel", &p.channel), ("Owner", &format!("app{i}"))])).collect();
        let rs: Vec<Message> = conns.iter().zip(&ids).map(|(c, id)| c.wait_response(id)).collect();
        let winners: Vec<usize> = (0..2).filter(|&i| rs[i].get("Response") == Some("Success")).collect();
        assert_eq!(winners.len(), 1, "round {round}: {rs:?}");
        let w = winners[0];
        assert_eq!(rs[w].get("Message"), Some(format!("Channel {} claimed by app{w}", p.channel).as_str()));
        err(&rs[1 - w], &format!("Channel {} is owned by app{w}", p.channel));
        admin.action(&[("Action", "Hangup"), ("Channel", &p.channel)]);
    }
}

#[test]
fn agichannels_lists_a_thousand_parked_calls() {
    let ast = Asterisk::start(Flavour::Ours);
    let ami = ast.ami();
    let n = 1000;
    common::park_many(&ami, "list", n);
    let busy = Parked { channel: String::new(), uniqueid: "list0-2".into(), start: Message::default() };
    let busy_chan = ast.cli("core show channels concise").lines().find(|l| l.contains("park@agi") && l.ends_with("list0-2")).map(|l| l.split('!').next().unwrap().to_string());
    let busy = Parked { channel: busy_chan.unwrap_or_else(|| panic!("no channel list0-2:\n{}", ast.cli("core show channels concise"))), ..busy };
    send(&ami, &busy, "WAIT FOR DIGIT 30000", "busy");
    send(&ami, &busy, "NOOP", "behind");
    started(&ami, &busy, "WAIT FOR DIGIT 30000");
    std::thread::sleep(Duration::from_millis(1100));
    let id = ami.send(&[("Action", "AGIChannels")]);
    let r = ami.wait_response(&id);
    ok(&r);
    assert_eq!(r.get("EventList"), Some("start"), "{r:?}");
    let done = ami.wait_event(Duration::from_secs(30), |m| m.is_event("AGIChannelsComplete") && m.get("ActionID") == Some(&id));
    assert_eq!(done.get("EventList"), Some("Complete"));
    assert_eq!(done.get("ListItems"), Some(n.to_string().as_str()));
    let items = ami.collect(Duration::from_millis(0), |m| m.is_event("AGIChannel") && m.get("ActionID") == Some(&id));
    assert_eq!(items.len(), n);
    let b = items.iter().find(|m| m.get("Uniqueid") == Some("list0-2")).expect("the busy channel is listed");
    assert_eq!(b.get("Channel"), Some(busy.channel.as_str()));
    assert_eq!(b.get("Context"), Some("agi"));
    assert_eq!(b.get("Running"), Some("WAIT FOR DIGIT 30000"));
    assert_eq!(b.get("Queued"), Some("1"));
    assert!(b.get("RunningSeconds").unwrap().parse::<u64>().unwrap() >= 1, "{b:?}");
    assert!(b.get("ParkedSeconds").unwrap().parse::<u64>().unwrap() >= 1, "{b:?}");
    assert_eq!(b.get("Owner"), Some(""));
    let idle = items.iter().find(|m| m.get("Uniqueid") == Some("list1-2")).unwrap();
    assert_eq!((idle.get("Running"), idle.get("Queued"), idle.get("RunningSeconds")), (Some(""), Some("0"), Some("0")));
    let cli = ast.cli("agi show channels");
    assert!(cli.contains(&format!("{n} channels in Async AGI")), "{cli}");
    assert!(cli.lines().any(|l| l.starts_with(&busy.channel) && l.ends_with("WAIT FOR DIGIT 30000")), "{cli}");
    ast.cli("channel request hangup all");
}

/// res_agi_rs.conf's maxqueue bounds each queue; `module reload` re-reads it without touching
/// parked calls, and a bad value keeps the last good one.
#[test]
fn a_full_queue_refuses_and_reload_keeps_the_last_good_value() {
    let ast = Asterisk::start(Flavour::Ours);
    let ami = ast.ami();
    let conf = ast.instance_dir().join("etc/res_agi_rs.conf");
    let p = park(&ami, "park", "");
    std::fs::write(&conf, "[general]\nmaxqueue = 3\n").unwrap();
    assert!(ast.cli("module reload res_agi_rs.so").contains("reload"), "reload ran");
    ast.wait_log("res_agi_rs.conf: maxqueue = 3");
    send(&ami, &p, "WAIT FOR DIGIT 20000", "run");
    started(&ami, &p, "WAIT FOR DIGIT 20000");
    for i in 0..3 {
        send(&ami, &p, "NOOP", &format!("q{i}"));
    }
    let full = format!("Queue of channel {} is full (3 commands)", p.channel);
    err(&ami.action(&[("Action", "AGI"), ("Channel", &p.channel), ("Command", "NOOP"), ("CommandID", "over")]), &full);
    // A bad value: logged, the last good one stays.
    std::fs::write(&conf, "[general]\nmaxqueue = lots\n").unwrap();
    ast.cli("module reload res_agi_rs.so");
    ast.wait_log("res_agi_rs.conf: maxqueue = 'lots' is not a whole number of at least 1; keeping 3");
    err(&ami.action(&[("Action", "AGI"), ("Channel", &p.channel), ("Command", "NOOP"), ("CommandID", "over2")]), &full);
    // The parked call was not touched: everything queued runs.
    ok(&interrupt(&ami, &p, &[]));
    for i in 0..3 {
        assert_eq!(decode(exec_of(&ami, &format!("q{i}")).get("Result").unwrap()), "200 result=0\n");
    }
    assert!(ami.wait(Duration::from_millis(300), |m| m.get("CommandId") == Some("over")).is_none(), "a refused command was queued");
    std::fs::write(&conf, "[general]\nmaxqueue = 1000\n").unwrap();
    ast.cli("module reload res_agi_rs.so");
    ast.wait_log("res_agi_rs.conf: maxqueue = 1000");
    assert_eq!(agi_result(&ami, &p, "NOOP"), "200 result=0\n");
}

/// The seed scenario of docs/examples/seed_scenario.py, run as a user would run it.
#[test]
fn the_seed_scenario_example_runs() {
    let ast = Asterisk::start(Flavour::Ours);
    let out = std::process::Command::new("python3")
        .arg(project_dir().join("docs/examples/seed_scenario.py"))
        .arg(ast.port.to_string())
        .output()
        .expect("run python3");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(text.contains("AGIInterrupt: Success - Interrupted STREAM FILE tt-monkeys \"\"; flushed 1 queued command"), "{text}");
    assert!(text.contains("prompt: 200 result=0 endpos="), "{text}");
    assert!(text.contains("(interrupted)"), "{text}");
    assert!(text.contains("hold: 511 Command cancelled: queue flushed (flush) (cancelled: flush)"), "{text}");
    assert!(text.contains("dial: 200 result=0"), "{text}");
}

/// Asterisk's own help knows the new actions (docs/xml/res_agi_rs-en_US.xml, installed in the
/// sandbox's documentation/thirdparty) and the new CLI commands.
#[test]
fn asterisk_help_shows_the_new_actions_and_commands() {
    let ast = Asterisk::start(Flavour::Ours);
    for (action, synopsis) in [
        ("AGIInterrupt", "Interrupt the AGI command running on a channel in Async AGI."),
        ("AGIFlush", "Cancel the AGI commands queued on a channel in Async AGI."),
        ("AGIClaim", "Make a channel in Async AGI belong to one application."),
        ("AGIChannels", "List the channels in Async AGI."),
    ] {
        let out = ast.cli(&format!("manager show command {action}"));
        assert!(out.contains(synopsis), "{action}: {out}");
    }
    assert!(ast.cli("manager show command AGIInterrupt").contains("Flush"));
    for (cmd, text) in [
        ("core show help agi interrupt", "Usage: agi interrupt <channel name> [flush]"),
        ("core show help agi flush", "Usage: agi flush <channel name>"),
        ("core show help agi show channels", "Usage: agi show channels"),
        ("core show help agi claim", "Usage: agi claim <channel name> [owner]"),
        ("core show help agi show memory", "Usage: agi show memory"),
    ] {
        let out = ast.cli(cmd);
        assert!(out.contains(text), "{cmd}: {out}");
    }
    // The configuration (res_agi_rs.conf) and the events of the new actions: documented only
    // where Asterisk has XML docs (config_options.c's `config show help` and manager.c's
    // `manager show event` are #ifdef AST_XML_DOCS).
    if !target_has_xml_docs() {
        return;
    }
    let out = ast.cli("config show help res_agi_rs");
    assert!(out.contains("general"), "config show help res_agi_rs: {out}");
    let out = ast.cli("config show help res_agi_rs general maxqueue");
    assert!(out.contains("How many commands one channel's Async AGI queue may hold"), "maxqueue: {out}");
    assert!(out.contains("1000"), "maxqueue default: {out}");
    for event in ["AGIChannel", "AGIChannelsComplete"] {
        let out = ast.cli(&format!("manager show event {event}"));
        assert!(out.contains(event) && !out.contains("Could not find"), "manager show event {event}: {out}");
    }
}
