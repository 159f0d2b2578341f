//! The commands of the foundation, each against a real channel: results as stock gives them,
//! and the channel state and variables they change.
mod common;
use common::ami::decode;
use common::*;
use std::time::Duration;

fn first_half(p: &Parked) -> String {
    p.channel.trim_end_matches(";2").to_string() + ";1"
}

#[test]
fn answer_channel_status_and_hangup() {
    let ast = Asterisk::start(Flavour::Ours);
    let ami = ast.ami();
    let p = park(&ami, "park", "");
    let other = park(&ami, "noargs", "");
    assert_eq!(agi_result(&ami, &p, "CHANNEL STATUS"), "200 result=4\n", "Ring before ANSWER");
    assert_eq!(agi_result(&ami, &p, "ANSWER"), "200 result=0\n");
    assert_eq!(agi_result(&ami, &p, "CHANNEL STATUS"), "200 result=6\n", "Up after ANSWER");
    assert_eq!(agi_result(&ami, &p, "ANSWER"), "200 result=0\n", "answering an Up channel");
    assert_eq!(agi_result(&ami, &p, &format!("CHANNEL STATUS {}", other.channel)), "200 result=4\n");
    assert_eq!(agi_result(&ami, &p, "CHANNEL STATUS Nobody/none"), "200 result=-1\n");
    assert_usage(&agi_result(&ami, &p, "CHANNEL STATUS a b"));

    assert_eq!(agi_result(&ami, &p, "HANGUP Nobody/none"), "200 result=-1\n");
    assert_usage(&agi_result(&ami, &p, "HANGUP a b"));
    assert_eq!(agi_result(&ami, &p, &format!("HANGUP {}", other.channel)), "200 result=1\n");
    ami.wait_event(TIMEOUT, |m| m.is_event("AsyncAGIEnd") && m.get("Uniqueid") == Some(&other.uniqueid));
    // HANGUP of itself: answered, then the channel leaves Async AGI hung up.
    assert_eq!(agi_result(&ami, &p, "HANGUP"), "200 result=1\n");
    ami.wait_event(TIMEOUT, |m| m.is_event("AsyncAGIEnd") && m.get("Uniqueid") == Some(&p.uniqueid));
    let h = ami.wait_event(TIMEOUT, |m| m.get("UserEvent") == Some("AGIHangup") && m.get_all("Uniqueid").contains(&p.uniqueid.as_str()));
    assert_eq!(h.get("Status"), Some("HANGUP"));
}

#[test]
fn variables_and_functions() {
    let ast = Asterisk::start(Flavour::Ours);
    let ami = ast.ami();
    let p = park(&ami, "park", "");
    let other = park(&ami, "noargs", "");
    assert_eq!(agi_result(&ami, &p, "GET VARIABLE NOT_SET_ANYWHERE"), "200 result=0\n");
    assert_eq!(agi_result(&ami, &p, "GET VARIABLE CHANNEL"), format!("200 result=1 ({})\n", p.channel));
    assert_eq!(agi_result(&ami, &p, "GET VARIABLE CHANNEL(language)"), "200 result=1 (en)\n");
    assert_eq!(agi_result(&ami, &p, "GET VARIABLE NOSUCHFUNC(x)"), "200 result=0\n");
    assert_eq!(agi_result(&ami, &p, "SET VARIABLE GREETING \"hello world\""), "200 result=1\n");
    assert_eq!(agi_result(&ami, &p, "GET VARIABLE GREETING"), "200 result=1 (hello world)\n");
    assert_usage(&agi_result(&ami, &p, "SET VARIABLE ONLYNAME"));
    assert_eq!(agi_result(&ami, &p, "GET FULL VARIABLE ${GREETING}!"), "200 result=1 (hello world!)\n");
    assert_eq!(agi_result(&ami, &p, &format!("GET FULL VARIABLE ${{CHANNEL}} {}", other.channel)), format!("200 result=1 ({})\n", other.channel));
    assert_eq!(agi_result(&ami, &p, "GET FULL VARIABLE ${CHANNEL} Nobody/none"), "200 result=0\n");
    assert_usage(&agi_result(&ami, &p, "GET FULL VARIABLE"));
    // The variable is really on the channel, as the dialplan sees it.
    let r = ami.action(&[("Action", "Getvar"), ("Channel", &p.channel), ("Variable", "GREETING")]);
    assert_eq!(r.get("Value"), Some("hello world"));
}

#[test]
fn exec_runs_applications_and_honours_agiexecfull() {
    let ast = Asterisk::start(Flavour::Ours);
    let ami = ast.ami();
    let p = park(&ami, "park", "");
    assert_eq!(agi_result(&ami, &p, "EXEC NoSuchApplication"), "200 result=-2\n");
    ast.wait_log("Could not find application (NoSuchApplication)");
    assert_usage(&agi_result(&ami, &p, "EXEC"));
    assert_eq!(agi_result(&ami, &p, "EXEC Set FOO=bar"), "200 result=0\n");
    assert_eq!(agi_result(&ami, &p, "EXEC Set LITERAL=${FOO}"), "200 result=0\n");
    assert_eq!(agi_result(&ami, &p, "GET VARIABLE LITERAL"), "200 result=1 (${FOO})\n");
    assert_eq!(agi_result(&ami, &p, "SET VARIABLE AGIEXECFULL yes"), "200 result=1\n");
    assert_eq!(agi_result(&ami, &p, "EXEC Set FULL=${FOO}"), "200 result=0\n");
    assert_eq!(agi_result(&ami, &p, "GET VARIABLE FULL"), "200 result=1 (bar)\n");
    assert_eq!(agi_result(&ami, &p, "exec wait 0.05"), "200 result=0\n");
    assert_eq!(agi_result(&ami, &p, "EXEC Playback beep"), "200 result=0\n");
    assert_eq!(agi_result(&ami, &p, "GET VARIABLE PLAYBACKSTATUS"), "200 result=1 (SUCCESS)\n");
    // An application that returns -1 (hangs up): "200 result=-1", and the call leaves.
    assert_eq!(agi_result(&ami, &p, "EXEC Hangup"), "200 result=-1\n");
    let end = ami.wait_event(TIMEOUT, |m| m.is_event("AGIExecEnd") && m.get("Command") == Some("EXEC Hangup"));
    assert_eq!(end.get("Result"), Some("Unknown Result"));
    ami.wait_event(TIMEOUT, |m| m.is_event("AsyncAGIEnd"));
}

#[test]
fn verbose_logs_through_asterisk() {
    let ast = Asterisk::start(Flavour::Ours);
    let ami = ast.ami();
    let p = park(&ami, "park", "vrb");
    assert_eq!(agi_result(&ami, &p, "VERBOSE \"hello from async agi\" 1"), "200 result=1\n");
    assert_eq!(agi_result(&ami, &p, "VERBOSE %s%s%n 2"), "200 result=1\n", "format directives are text");
    assert_usage(&agi_result(&ami, &p, "VERBOSE"));
    ast.wait_log("agi:async,vrb: hello from async agi");
    ast.wait_log("agi:async,vrb: %s%s%n");
}

#[test]
fn database_commands() {
    let ast = Asterisk::start(Flavour::Ours);
    let ami = ast.ami();
    let p = park(&ami, "park", "");
    assert_eq!(agi_result(&ami, &p, "DATABASE GET fam key"), "200 result=0\n");
    assert_eq!(agi_result(&ami, &p, "DATABASE PUT fam key \"a value\""), "200 result=1\n");
    assert_eq!(agi_result(&ami, &p, "DATABASE GET fam key"), "200 result=1 (a value)\n");
    assert_eq!(ast.cli("database get fam key"), "Value: a value\n");
    assert_eq!(agi_result(&ami, &p, "DATABASE DEL fam key"), "200 result=1\n");
    assert_eq!(agi_result(&ami, &p, "DATABASE GET fam key"), "200 result=0\n");
    assert_eq!(agi_result(&ami, &p, "DATABASE PUT tree a 1"), "200 result=1\n");
    assert_eq!(agi_result(&ami, &p, "DATABASE PUT tree b/c 2"), "200 result=1\n");
    // Stock's inverted answer: 0 when entries were deleted, 1 when none were.
    assert_eq!(agi_result(&ami, &p, "DATABASE DELTREE tree b"), "200 result=0\n");
    assert_eq!(agi_result(&ami, &p, "DATABASE GET tree a"), "200 result=1 (1)\n");
    assert_eq!(agi_result(&ami, &p, "DATABASE DELTREE tree"), "200 result=0\n");
    assert_eq!(agi_result(&ami, &p, "DATABASE DELTREE tree"), "200 result=1\n");
    for usage in ["DATABASE GET fam", "DATABASE PUT fam key", "DATABASE DEL fam", "DATABASE DELTREE", "DATABASE DELTREE a b c"] {
        assert_usage(&agi_result(&ami, &p, usage));
    }
    // A long value comes back whole.
    let long = "v".repeat(900);
    assert_eq!(agi_result(&ami, &p, &format!("DATABASE PUT fam long {long}")), "200 result=1\n");
    assert_eq!(agi_result(&ami, &p, "DATABASE GET fam long"), format!("200 result=1 ({long})\n"));
}

#[test]
fn stream_file_and_wait_for_digit_with_dtmf() {
    let ast = Asterisk::start(Flavour::Ours);
    let ami = ast.ami();
    let p = park(&ami, "park", "");
    let r = agi_result(&ami, &p, "STREAM FILE beep \"\"");
    let endpos: i64 = r.strip_prefix("200 result=0 endpos=").and_then(|s| s.trim().parse().ok()).unwrap_or_else(|| panic!("{r}"));
    assert!(endpos > 1000, "{r}");
    assert_eq!(agi_result(&ami, &p, "GET VARIABLE PLAYBACKSTATUS"), "200 result=1 (SUCCESS)\n");
    assert_eq!(agi_result(&ami, &p, "STREAM FILE beep \"\" 1000000"), format!("200 result=0 endpos={endpos}\n"), "offset past the end");
    assert_usage(&agi_result(&ami, &p, "STREAM FILE beep"));
    assert_usage(&agi_result(&ami, &p, "STREAM FILE beep \"\" notanumber"));
    assert_eq!(agi_result(&ami, &p, "STREAM FILE nosuchfile 123 40"), "200 result=-1 endpos=40\n");

    assert_eq!(agi_result(&ami, &p, "WAIT FOR DIGIT 50"), "200 result=0\n");
    assert_usage(&agi_result(&ami, &p, "WAIT FOR DIGIT soon"));
    assert_usage(&agi_result(&ami, &p, "WAIT FOR DIGIT"));

    // A digit sent into the call ends WAIT FOR DIGIT with its ASCII code.
    ami.action(&[("Action", "AGI"), ("Channel", &p.channel), ("Command", "WAIT FOR DIGIT 5000"), ("CommandID", "digit")]);
    ami.wait_event(TIMEOUT, |m| m.is_event("AGIExecStart") && m.get("Command") == Some("WAIT FOR DIGIT 5000"));
    std::thread::sleep(Duration::from_millis(100));
    let r = ami.action(&[("Action", "PlayDTMF"), ("Channel", &first_half(&p)), ("Digit", "5")]);
    assert_eq!(r.get("Response"), Some("Success"), "{r:?}");
    let m = ami.wait_event(TIMEOUT, |m| m.is_event("AsyncAGIExec") && m.get("CommandId") == Some("digit"));
    assert_eq!(decode(m.get("Result").unwrap()), "200 result=53\n");

    // ... and interrupts a playback when it is an escape digit.
    ami.action(&[("Action", "AGI"), ("Channel", &p.channel), ("Command", "STREAM FILE tt-monkeys 123"), ("CommandID", "monkeys")]);
    ami.wait_event(TIMEOUT, |m| m.is_event("AGIExecStart") && m.get("Command") == Some("STREAM FILE tt-monkeys 123"));
    std::thread::sleep(Duration::from_millis(300));
    ami.action(&[("Action", "PlayDTMF"), ("Channel", &first_half(&p)), ("Digit", "2")]);
    let m = ami.wait_event(TIMEOUT, |m| m.is_event("AsyncAGIExec") && m.get("CommandId") == Some("monkeys"));
    let r = decode(m.get("Result").unwrap());
    assert!(r.starts_with("200 result=50 endpos="), "{r}");
    assert_eq!(agi_result(&ami, &p, "GET VARIABLE PLAYBACKSTATUS"), "200 result=1 (FAILED)\n", "stock: any non-zero result");
}

#[test]
fn record_file_stops_on_an_escape_digit() {
    let ast = Asterisk::start(Flavour::Ours);
    let ami = ast.ami();
    let p = park(&ami, "park", "");
    ami.action(&[("Action", "AGI"), ("Channel", &p.channel), ("Command", "RECORD FILE /tmp/agi-rec-dtmf wav \"#*\" 10000"), ("CommandID", "rec")]);
    ami.wait_event(TIMEOUT, |m| m.is_event("AGIExecStart") && m.get("Command").is_some_and(|c| c.starts_with("RECORD FILE")));
    std::thread::sleep(Duration::from_millis(200));
    ami.action(&[("Action", "PlayDTMF"), ("Channel", &first_half(&p)), ("Digit", "#")]);
    let m = ami.wait_event(TIMEOUT, |m| m.is_event("AsyncAGIExec") && m.get("CommandId") == Some("rec"));
    let r = decode(m.get("Result").unwrap());
    assert!(r.starts_with("200 result=35 (dtmf) endpos="), "{r}");
    assert!(common::sandbox_root().join("tmp/agi-rec-dtmf.wav").exists(), "the file was written");
    assert_eq!(agi_result(&ami, &p, "RECORD FILE /nonexistent-dir/x wav \"#\" 100"), "200 result=-1 (writefile)\n");
}

#[test]
fn speech_recognize_ends_on_a_digit() {
    let ast = Asterisk::start(Flavour::Ours);
    let ami = ast.ami();
    let p = park(&ami, "park", "");
    assert_eq!(agi_result(&ami, &p, "SPEECH CREATE test"), "200 result=1\n", "needs tests/speech_engine (make test builds it)");
    ami.action(&[("Action", "AGI"), ("Channel", &p.channel), ("Command", "SPEECH RECOGNIZE beep 10"), ("CommandID", "sr")]);
    ami.wait_event(TIMEOUT, |m| m.is_event("AGIExecStart") && m.get("Command") == Some("SPEECH RECOGNIZE beep 10"));
    std::thread::sleep(Duration::from_millis(300));
    ami.action(&[("Action", "PlayDTMF"), ("Channel", &first_half(&p)), ("Digit", "7")]);
    let m = ami.wait_event(TIMEOUT, |m| m.is_event("AsyncAGIExec") && m.get("CommandId") == Some("sr"));
    let r = decode(m.get("Result").unwrap());
    assert!(r.starts_with("200 result=1 (digit) digit=7 endpos="), "{r}");
    // The speech object goes with the session: a new session starts without one.
    assert_eq!(agi_result(&ami, &p, "ASYNCAGI BREAK"), "200 result=0\n");
    let again = ami.wait_event(TIMEOUT, |m| m.is_event("AsyncAGIStart") && m.get("Priority") == Some("4"));
    let p2 = Parked { channel: p.channel.clone(), uniqueid: p.uniqueid.clone(), start: again };
    assert_eq!(agi_result(&ami, &p2, "SPEECH DESTROY"), "200 result=0\n");
}
