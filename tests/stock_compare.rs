//! The same scenario on the same sandbox, once with stock res_agi.so and once with ours:
//! the normalised transcripts (environment, event names and headers, results, AGISTATUS)
//! must be identical. Stock behaviour is the reference, not a document.
mod common;
use common::*;
use std::time::Duration;

const COMMANDS: &[&str] = &[
    "NOOP",
    "noop with extra words",
    "CHANNEL STATUS",
    "ANSWER",
    "CHANNEL STATUS",
    "CHANNEL STATUS Nobody/none",
    "GET VARIABLE CHANNEL",
    "GET VARIABLE UNSET_VARIABLE",
    "GET VARIABLE CHANNEL(language)",
    // A function read that sets a variable: its VarSet comes between the command's
    // AGIExecStart and AGIExecEnd (ours holds a quiet command's AGIExecStart back, and a
    // GET VARIABLE that calls a function is not quiet).
    "SET VARIABLE L a,b",
    "GET VARIABLE POP(L)",
    "GET VARIABLE L",
    "SET VARIABLE A \"b c\"",
    "GET VARIABLE A",
    r#"SET VARIABLE E a\ b\"c"#,
    "GET VARIABLE E",
    "SET VARIABLE U \"unterminated value",
    "GET VARIABLE U",
    "GET FULL VARIABLE ${A}-x",
    "GET FULL VARIABLE ${A} Nobody/none",
    "EXEC NoSuchApplication",
    "EXEC Set B=${A}",
    "GET VARIABLE B",
    "SET VARIABLE AGIEXECFULL 1",
    "EXEC Set C=${A}",
    "GET VARIABLE C",
    "EXEC Wait 0.01",
    "DATABASE PUT fam key value",
    "DATABASE GET fam key",
    "DATABASE GET fam nokey",
    "DATABASE DEL fam key",
    "DATABASE DEL fam key",
    "DATABASE PUT tree a 1",
    "DATABASE DELTREE tree",
    "DATABASE DELTREE tree",
    "VERBOSE hello 1",
    "FOO BAR",
    "GET",
    "GET VARIABLE",
    "SET VARIABLE",
    "DATABASE GET",
    "STREAM FILE",
    "WAIT FOR DIGIT x",
    "HANGUP a b",
    "EXEC",
    "CHANNEL STATUS a b",
    "VERBOSE",
    "GET FULL VARIABLE",
    "HANGUP Nobody/none",
    "WAIT FOR DIGIT 10",
    "STREAM FILE beep \"\"",
    "GET VARIABLE PLAYBACKSTATUS",
    // Where the dialplan goes on (kept at this same place so the break below resumes it).
    "SET CONTEXT agi",
    "SET EXTENSION park",
    "SET PRIORITY 3",
    "SET PRIORITY nosuchlabel",
    "SET CONTEXT",
    "SET EXTENSION a b",
    "GET VARIABLE CONTEXT",
    "SET AUTOHANGUP 0",
    "SET AUTOHANGUP 3600.5",
    "SET AUTOHANGUP soon",
    "SET AUTOHANGUP 0",
    "SET CALLERID \"Bob Smith\" <(555) 123-4567>",
    "GET VARIABLE CALLERID(all)",
    "SET CALLERID",
    "SET MUSIC off",
    "SET MUSIC",
    "SEND IMAGE nosuchimage",
    "SEND IMAGE",
    // (RECEIVE CHAR 10 answers "200 result=-1 (hangup)" on a timeout and fails: stock then
    // leaves Async AGI; that behaviour is covered by the differences test. A RECEIVE CHAR
    // that gets a text is in `transcript` below.)
    "RECEIVE CHAR",
    "SEND TEXT \"hello there\"",
    "SEND TEXT",
    "RECEIVE TEXT 10",
    "RECEIVE TEXT",
    "TDD MODE on",
    "TDD MODE mate",
    "TDD MODE",
    "SAY NUMBER 7 \"\"",
    "SAY NUMBER seven \"\"",
    "SAY NUMBER 7",
    "SAY DIGITS 12 \"\"",
    "SAY DIGITS x \"\"",
    "SAY ALPHA ab \"\"",
    "SAY ALPHA ab \"\" u",
    "SAY ALPHA ab \"\" x",
    "SAY PHONETIC a \"\"",
    "SAY PHONETIC",
    "SAY DATE 0 \"\"",
    "SAY DATE x \"\"",
    "SAY TIME 0 \"\"",
    "SAY DATETIME 0 \"\" H UTC",
    "SAY DATETIME x \"\"",
    "SAY DATETIME 0",
    "GET DATA beep 100 2",
    "GET DATA",
    "GET OPTION beep \"\" 100",
    "GET OPTION beep",
    "CONTROL STREAM FILE beep \"\"",
    "GET VARIABLE CPLAYBACKSTATUS",
    "GET VARIABLE CPLAYBACKOFFSET",
    // RECORD FILE: into the instance's spool, stopped by the timeout (no audio comes in).
    "RECORD FILE /tmp/agi-rec-a wav \"#\" 300",
    "RECORD FILE /tmp/agi-rec-b wav \"#\" 300 0",
    "RECORD FILE /tmp/agi-rec-c wav \"#\" 200 BEEP",
    "RECORD FILE /tmp/agi-rec-d wav \"#\" 200 s=5",
    "RECORD FILE /tmp/agi-rec-e wav \"#\" soon",
    "RECORD FILE /tmp/agi-rec-f wav",
    // More edge and error inputs, several in a row.
    "answer",
    "Answer with extra words",
    "GET VARIABLE AGIARGS",
    "GET VARIABLE \"\"",
    "GET VARIABLE CHANNEL(state)",
    "GET VARIABLE LEN(abc)",
    "GET VARIABLE EXTEN",
    "GET VARIABLE CONTEXT",
    "GET VARIABLE PRIORITY",
    "GET VARIABLE CALLERID(num)",
    "GET VARIABLE UNIQUEID",
    "GET FULL VARIABLE ${LEN(${A})}",
    "GET FULL VARIABLE \"${A} and ${B}\"",
    "GET FULL VARIABLE ${NOSUCH}",
    "GET FULL VARIABLE ${CHANNEL(language)}",
    "GET FULL VARIABLE $[1+2]",
    "GET FULL VARIABLE ${A:1}",
    "SET VARIABLE EMPTY \"\"",
    "GET VARIABLE EMPTY",
    "SET VARIABLE __INHERITED yes",
    "GET VARIABLE INHERITED",
    "SET VARIABLE MULTI \"a\" b",
    "DATABASE PUT fam2 \"key with space\" \"value with space\"",
    "DATABASE GET fam2 \"key with space\"",
    "DATABASE DELTREE fam2 nosuchtree",
    "DATABASE DELTREE fam2",
    "DATABASE DEL nofam nokey",
    "DATABASE PUT",
    "DATABASE PUT a",
    "DATABASE GET a b c",
    "EXEC NoOp hello",
    "EXEC Set \"X=1,2\"",
    "GET VARIABLE X",
    "EXEC NoOp",
    "EXEC Verbose 0,hi",
    "EXEC SET Y=z",
    "GET VARIABLE Y",
    "VERBOSE \"a message\"",
    "VERBOSE msg 10",
    "VERBOSE msg x",
    "WAIT FOR DIGIT 0",
    "WAIT FOR DIGIT 10 extra",
    "STREAM FILE beep 123",
    "STREAM FILE beep \"\" 0",
    "STREAM FILE beep \"\" 800",
    "HANGUP a b c",
    "SAY NUMBER 1234 \"\"",
    "SAY NUMBER -5 \"\"",
    "SAY NUMBER 1 \"\" f",
    "SAY DIGITS 007 \"\"",
    "SAY ALPHA \"a b\" \"\"",
    "SAY ALPHA ab \"\" l",
    "SAY PHONETIC ab \"\"",
    "SAY DATETIME 1700000000 \"\" \"\" UTC",
    "SAY TIME 3600 \"\"",
    "TDD MODE off",
    "TDD MODE tdd",
    "SET MUSIC on",
    "SET MUSIC OFF",
    "RECEIVE TEXT 0",
    "CONTROL STREAM FILE beep \"\" 3000 # * p 0",
    "CONTROL STREAM FILE beep 12 500",
    "GET DATA beep 50",
    "GET DATA beep 50 x",
    "GET OPTION beep 12 50",
    "noop \"quoted arg\"",
    "NOOP\twith\ttabs",
    "NOOP \\\"escaped\\\"",
    "ASYNCAGI",
    "SET",
    "DATABASE",
    "SAY",
    "RECORD",
    "GET FULL",
    // SPEECH, with the tests' engine "test" (tests/speech_engine) loaded in both.
    "SPEECH RECOGNIZE beep 1",
    "SPEECH SET a b",
    "SPEECH DESTROY",
    "SPEECH LOAD GRAMMAR g p",
    "SPEECH CREATE nosuchengine",
    "SPEECH CREATE test",
    "SPEECH CREATE test",
    "SPEECH SET mode done",
    "SPEECH RECOGNIZE beep 5",
    "SPEECH RECOGNIZE beep 5 100",
    "SPEECH SET mode wait",
    "SPEECH LOAD GRAMMAR yesno /tmp/yesno.gram",
    "SPEECH LOAD GRAMMAR g bad",
    "SPEECH ACTIVATE GRAMMAR yesno",
    "SPEECH ACTIVATE GRAMMAR bad",
    "SPEECH DEACTIVATE GRAMMAR yesno",
    "SPEECH DEACTIVATE GRAMMAR bad",
    "SPEECH UNLOAD GRAMMAR yesno",
    "SPEECH UNLOAD GRAMMAR bad",
    "SPEECH LOAD GRAMMAR x",
    "SPEECH UNLOAD GRAMMAR",
    "SPEECH SET a",
    "SPEECH RECOGNIZE beep",
    "SPEECH RECOGNIZE beep 1",
    "SPEECH DESTROY",
    "SPEECH DESTROY",
    "SPEECH",
    // GOSUB comes from app_stack, registered through ast_agi_register.
    "GOSUB subs greet 1 hello",
    "GET VARIABLE GOSUBRAN",
    "GET VARIABLE GOSUB_RETVAL",
    // (GOSUB to a missing label fails, so stock leaves Async AGI: see tests/public_api.rs.)
    "GOSUB",
];

fn transcript(flavour: Flavour) -> Vec<String> {
    let ast = Asterisk::start(flavour);
    let ami = ast.ami();
    let (id1, id2) = (format!("cmp-{flavour:?}-1"), format!("cmp-{flavour:?}-2"));
    let r = ami.action(&[
        ("Action", "Originate"),
        ("Channel", "Local/park@agi"),
        ("Application", "Wait"),
        ("Data", "3600"),
        ("Async", "true"),
        ("ChannelId", &id1),
        ("OtherChannelId", &id2),
        ("Variable", "AGIARGS=cmp,two"),
    ]);
    assert_eq!(r.get("Response"), Some("Success"), "Originate failed: {r:?}");
    let start = ami.take_until(TIMEOUT, |m| m.is_event("AsyncAGIStart") && m.get("Uniqueid") == Some(&id2));
    let channel = start.last().unwrap().get("Channel").unwrap().to_string();
    let rec = Recorder {
        uniqueid: id2.clone(),
        names: vec![(channel.clone(), "<channel>"), (id2.clone(), "<uniqueid>"), (id1.clone(), "<linkedid>")],
    };
    let mut out = vec!["-- AGI(agi:async,cmp,two)".to_string()];
    out.extend(rec.lines(start));
    let send = |cmd: &str, id: &str| {
        ami.send(&[("Action", "AGI"), ("Channel", &channel), ("Command", cmd), ("CommandID", id)]);
    };
    let until_exec = |id: &str| ami.take_until(TIMEOUT, |m| m.is_event("AsyncAGIExec") && m.get("CommandId") == Some(id));
    for (i, cmd) in COMMANDS.iter().enumerate() {
        let id = format!("c{i}");
        send(cmd, &id);
        out.push(format!("-- {cmd:?}"));
        out.extend(rec.lines(until_exec(&id)));
    }

    // RECEIVE CHAR answered by a text: AMI's SendText to the call's other half, which the
    // Local channel passes on to the half in Async AGI.
    out.push("-- RECEIVE CHAR 5000, and a text sent to the other half".into());
    send("RECEIVE CHAR 5000", "rc");
    ami.wait_present(TIMEOUT, |m| m.is_event("AGIExecStart") && m.get("Command") == Some("RECEIVE CHAR 5000"));
    let r = ami.action(&[("Action", "SendText"), ("Channel", &channel.replace(";2", ";1")), ("Message", "hi")]);
    out.push(format!("SendText -> {}", r.get("Response").unwrap_or("-")));
    out.extend(rec.lines(until_exec("rc")));

    // Five commands sent at once: each VarSet keeps its place between its command's
    // AGIExecStart and AGIExecEnd (issue #7's report).
    out.push("-- five SET VARIABLE, pipelined".into());
    for n in 1..=5 {
        send(&format!("SET VARIABLE V{n} x{n}"), &format!("v{n}"));
    }
    out.extend(rec.lines(until_exec("v5")));

    // The queue belongs to the channel: a command queued behind ASYNCAGI BREAK runs in the
    // channel's next AGI(agi:async) (the dialplan's next priority parks it again).
    out.push("-- ASYNCAGI BREAK with a command queued behind it".into());
    send("ASYNCAGI BREAK", "brk");
    send("GET VARIABLE AGIARGS", "behind");
    out.extend(rec.lines(until_exec("behind")));

    // A Redirect to an extension that parks again (how clients stop a prompt today): a
    // command queued before it and one sent in between both run in the new run.
    out.push("-- Redirect while WAIT FOR DIGIT runs, then re-park".into());
    send("WAIT FOR DIGIT 5000", "w");
    ami.wait_present(TIMEOUT, |m| m.is_event("AGIExecStart") && m.get("Command") == Some("WAIT FOR DIGIT 5000"));
    send("NOOP queued before the redirect", "queued");
    ami.send(&[("Action", "Redirect"), ("Channel", &channel), ("Context", "agi"), ("Exten", "repark"), ("Priority", "1")]);
    out.extend(rec.lines(ami.take_until(TIMEOUT, |m| m.get("UserEvent") == Some("Reparking"))));
    let r = ami.action(&[("Action", "AGI"), ("Channel", &channel), ("Command", "GET VARIABLE AGIARGS"), ("CommandID", "between")]);
    out.push(format!("Action: AGI between Redirect and re-park -> {} {}", r.get("Response").unwrap(), rec.norm(r.get("Message").unwrap())));
    out.extend(rec.lines(until_exec("between")));

    // Hang up from outside: the end of the run and the h extension, in order.
    out.push("-- Hangup".into());
    ami.send(&[("Action", "Hangup"), ("Channel", &channel)]);
    out.extend(rec.lines(ami.take_until(TIMEOUT, |m| m.is_event("Hangup") && m.get("Uniqueid") == Some(&id2))));
    out
}

#[test]
fn transcripts_match_stock_res_agi() {
    let stock = transcript(Flavour::Stock);
    let ours = transcript(Flavour::Ours);
    // Both transcripts are kept for inspection.
    let dir = project_dir().join("target");
    let _ = std::fs::write(dir.join("transcript-stock.txt"), stock.join("\n"));
    let _ = std::fs::write(dir.join("transcript-ours.txt"), ours.join("\n"));
    let mut diffs = Vec::new();
    for i in 0..stock.len().max(ours.len()) {
        let (s, o) = (stock.get(i), ours.get(i));
        if s != o {
            diffs.push(format!("line {i}:\n  stock: {s:?}\n  ours:  {o:?}"));
        }
    }
    assert!(diffs.is_empty(), "{} differences from stock:\n{}", diffs.len(), diffs.join("\n"));
    assert!(stock.len() > COMMANDS.len() * 4, "transcript too short: {}", stock.len());
    // Not only AGI events: the channel's own events are compared too.
    for event in ["Newexten ", "VarSet ", "Newstate ", "NewCallerid ", "Hangup "] {
        assert!(stock.iter().any(|l| l.starts_with(event)), "no {event}event in the transcript");
    }
    // The corpus reaches every command stock registers (its `agi show commands`, GOSUB of
    // app_stack included): each one ran at least once with its arguments, answered neither
    // 510 (not found) nor 520 (usage) in the compared transcript.
    let registered = registered_commands(Flavour::Stock);
    assert!(registered.len() >= 40, "stock's agi show commands: {registered:?}");
    let ran: Vec<(Vec<String>, String)> = stock
        .iter()
        .filter(|l| l.starts_with("AGIExecEnd "))
        .map(|l| {
            let field = |k: &str| l.split(" | ").find_map(|f| f.strip_prefix(k)).unwrap_or("").to_string();
            (field("Command=").split_whitespace().map(|w| w.to_ascii_uppercase()).collect(), field("ResultCode="))
        })
        .collect();
    let missing: Vec<&String> = registered
        .iter()
        .filter(|cmd| {
            let words: Vec<&str> = cmd.split_whitespace().collect();
            !ran.iter().any(|(w, code)| w.len() >= words.len() && w.iter().zip(&words).all(|(a, b)| a == b) && code != "510" && code != "520")
        })
        .collect();
    assert!(missing.is_empty(), "commands stock registers that no scenario runs: {missing:?}");
}

/// The commands `agi show commands` lists on `flavour` (upper case, words joined by blanks).
fn registered_commands(flavour: Flavour) -> Vec<String> {
    let ast = Asterisk::start(flavour);
    let out = ast.cli("agi show commands");
    // "%5.5s %30.30s   %s": Dead, Command (right-aligned), Description.
    out.lines().skip(1).filter_map(|l| l.get(6..36)).map(|c| c.trim().to_ascii_uppercase()).filter(|c| !c.is_empty()).collect()
}

/// What one flavour does in the situations docs/differences.md lists.
fn differences(flavour: Flavour) -> Vec<String> {
    let ast = Asterisk::start(flavour);
    let ami = ast.ami();
    let mut out = Vec::new();

    // 1. A failing command.
    let p = park(&ami, "noargs", "");
    out.push(format!("failing command -> {:?}", agi_result(&ami, &p, "STREAM FILE no-such-sound \"\"")));
    let left = ami.wait(Duration::from_millis(500), |m| m.is_event("AsyncAGIEnd")).is_some();
    out.push(format!("left Async AGI after it: {left}"));
    if left {
        let after = ami.wait_event(TIMEOUT, |m| m.get("UserEvent") == Some("AfterAGI"));
        out.push(format!("AGISTATUS: {}", after.get("Status").unwrap()));
    } else {
        ami.action(&[("Action", "Hangup"), ("Channel", &p.channel)]);
    }
    ami.clear();

    // 2. Commands queued behind a running one when the channel hangs up.
    let p = park(&ami, "park", "");
    ami.action(&[("Action", "AGI"), ("Channel", &p.channel), ("Command", "WAIT FOR DIGIT 1000"), ("CommandID", "w")]);
    ami.wait_event(TIMEOUT, |m| m.is_event("AGIExecStart"));
    ami.action(&[("Action", "AGI"), ("Channel", &p.channel), ("Command", "NOOP"), ("CommandID", "q1")]);
    ami.action(&[("Action", "AGI"), ("Channel", &p.channel), ("Command", "NOOP"), ("CommandID", "q2")]);
    ami.action(&[("Action", "Hangup"), ("Channel", &p.channel)]);
    ami.wait_event(TIMEOUT, |m| m.get("UserEvent") == Some("AGIHangup"));
    let execs = ami.collect(Duration::from_millis(300), |m| m.is_event("AsyncAGIExec"));
    let ids: Vec<String> = execs.iter().map(|m| format!("{}={}", m.get("CommandId").unwrap_or("-"), m.get("Cancelled").unwrap_or("ran"))).collect();
    out.push(format!("AsyncAGIExec after hangup: {ids:?}"));
    ami.clear();

    // 3. A result over 1 KB (GET FULL VARIABLE of a 1,600-byte value: the same on every build,
    // with or without XML docs), then a NOOP.
    let p = park(&ami, "park", "");
    let long: String = (0..800).map(|i| (b'a' + (i % 26) as u8) as char).collect();
    assert_eq!(agi_result(&ami, &p, &format!("SET VARIABLE LONG {long}")), "200 result=1\n");
    let result = agi_result(&ami, &p, "GET FULL VARIABLE ${LONG}${LONG}");
    out.push(format!("long result: {} bytes, whole: {}", result.len(), result == format!("200 result=1 ({long}{long})\n")));
    out.push(format!("next result: {:?}", &agi_result(&ami, &p, "NOOP")[..12]));
    ami.action(&[("Action", "Hangup"), ("Channel", &p.channel)]);
    ami.wait_event(TIMEOUT, |m| m.get("UserEvent") == Some("AGIHangup"));
    ami.clear();

    // 4. A command sent after the channel left Async AGI (Redirect).
    let p = park(&ami, "park", "");
    ami.action(&[("Action", "Redirect"), ("Channel", &p.channel), ("Context", "agi"), ("Exten", "redirected"), ("Priority", "1")]);
    ami.wait_event(TIMEOUT, |m| m.get("UserEvent") == Some("Redirected"));
    let r = ami.action(&[("Action", "AGI"), ("Channel", &p.channel), ("Command", "NOOP"), ("CommandID", "late")]);
    out.push(format!("Action: AGI after Redirect -> {}", r.get("Message").unwrap().replace(&p.channel, "<channel>")));
    let ran = ami.wait(Duration::from_millis(500), |m| m.is_event("AsyncAGIExec")).is_some();
    out.push(format!("and it got a result: {ran}"));
    // 5. ...and the channel then hangs up without parking again.
    ami.action(&[("Action", "Hangup"), ("Channel", &p.channel)]);
    ami.wait_event(TIMEOUT, |m| m.is_event("Hangup") && m.get("Uniqueid") == Some(&p.uniqueid));
    let late = ami.wait(Duration::from_millis(500), |m| m.is_event("AsyncAGIExec") && m.get("CommandId") == Some("late"));
    out.push(format!("after hangup: {}", late.map_or("nothing".to_string(), |m| format!("cancelled={}", m.get("Cancelled").unwrap_or("-")))));
    out
}

#[test]
fn differences_from_stock_are_the_documented_ones() {
    let stock = differences(Flavour::Stock);
    let ours = differences(Flavour::Ours);
    assert_eq!(
        stock,
        [
            "failing command -> \"200 result=-1 endpos=0\\n\"",
            "left Async AGI after it: true",
            "AGISTATUS: FAILURE",
            "AsyncAGIExec after hangup: [\"w=ran\"]",
            "long result: 1024 bytes, whole: false",
            // The cut tail of the value (its 211th character on) opens the NOOP's result.
            "next result: \"cdefghijklmn\"",
            "Action: AGI after Redirect -> Added AGI command to queue",
            "and it got a result: false",
            "after hangup: nothing",
        ],
        "stock changed: update docs/differences.md"
    );
    assert_eq!(
        ours,
        [
            "failing command -> \"200 result=-1 endpos=0\\n\"",
            "left Async AGI after it: false",
            "AsyncAGIExec after hangup: [\"w=ran\", \"q1=hangup\", \"q2=hangup\"]",
            "long result: 1616 bytes, whole: true",
            "next result: \"200 result=0\"",
            "Action: AGI after Redirect -> Added AGI command to queue",
            "and it got a result: false",
            "after hangup: cancelled=hangup",
        ]
    );
}
