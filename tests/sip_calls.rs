//! Real calls (issue 20): SIP with RTP through chan_pjsip, from SIPp on loopback
//! (tests/common/sip.rs), on stock and on ours. The caller streams a tone to Asterisk and can
//! send one RFC 4733 digit; what Asterisk sends the caller is counted and timed by the test's
//! own RTP sink (the caller's SDP names it).
mod common;
use common::ami::{decode, Ami, Message};
use common::sip::{CallPlan, Sipp};
use common::*;
use std::time::{Duration, Instant};

/// The SIP call's AsyncAGIStart.
fn parked(ami: &Ami) -> (String, String) {
    let m = ami.wait_event(Duration::from_secs(15), |m| m.is_event("AsyncAGIStart") && m.get("Channel").is_some_and(|c| c.starts_with("PJSIP/sipp-")));
    (m.get("Channel").unwrap().to_string(), m.get("Uniqueid").unwrap().to_string())
}

fn send(ami: &Ami, chan: &str, cmd: &str, id: &str) {
    let r = ami.action(&[("Action", "AGI"), ("Channel", chan), ("Command", cmd), ("CommandID", id)]);
    assert_eq!(r.get("Response"), Some("Success"), "{r:?}");
}

fn result_of(ami: &Ami, id: &str) -> Message {
    ami.wait_event(Duration::from_secs(15), |m| m.is_event("AsyncAGIExec") && m.get("CommandId") == Some(id))
}

fn plan(service: &'static str, hold_ms: u64) -> CallPlan {
    CallPlan { service, hold: Duration::from_millis(hold_ms), dtmf: None, args: None }
}

/// Asterisk hangs the call up (SIPp answers the BYE and ends, counting its call aborted).
fn hang_up(ami: &Ami, chan: &str, call: &mut Sipp) {
    let _ = ami.action(&[("Action", "Hangup"), ("Channel", chan)]);
    call.wait(Duration::from_secs(20));
}

#[test]
fn stream_file_is_heard_by_the_sip_caller() {
    for flavour in [Flavour::Stock, Flavour::Ours] {
        let ast = Asterisk::start_sip(flavour);
        let ami = ast.ami();
        let mut call = Sipp::call(&ast, &plan("sippark", 20_000));
        let (chan, uniqueid) = parked(&ami);
        send(&ami, &chan, "STREAM FILE beep \"\"", "s");
        ami.wait_event(TIMEOUT, |m| m.is_event("AGIExecStart") && m.get("Uniqueid") == Some(&uniqueid));
        let t0 = Instant::now();
        let r = result_of(&ami, "s");
        let t1 = Instant::now();
        let text = decode(r.get("Result").unwrap());
        // "200 result=0 endpos=N": N samples (8 kHz) were played, one packet per 160.
        let endpos: usize = text.split("endpos=").nth(1).and_then(|e| e.trim().parse().ok()).unwrap_or_else(|| panic!("{flavour:?}: {text}"));
        std::thread::sleep(Duration::from_millis(100));
        let heard = call.sink.audio_between(t0 - Duration::from_millis(50), t1 + Duration::from_millis(100));
        let expected = endpos / 160;
        assert!(expected >= 10, "{flavour:?}: beep played {endpos} samples");
        assert!(heard + 3 >= expected && heard <= expected + 3, "{flavour:?}: the caller received {heard} packets of a {expected}-packet prompt");
        hang_up(&ami, &chan, &mut call);
    }
}

#[test]
fn rfc4733_digits_reach_wait_for_digit_and_get_data() {
    for flavour in [Flavour::Stock, Flavour::Ours] {
        let ast = Asterisk::start_sip(flavour);
        let ami = ast.ami();
        for (cmd, digit, want) in [("WAIT FOR DIGIT 6000", '5', "200 result=53\n"), ("GET DATA silence/10 6000 1", '7', "200 result=7\n")] {
            let mut call = Sipp::call(&ast, &CallPlan { dtmf: Some((digit, Duration::from_millis(1500))), ..plan("sippark", 20_000) });
            let (chan, _) = parked(&ami);
            send(&ami, &chan, cmd, "d");
            let r = result_of(&ami, "d");
            assert_eq!(decode(r.get("Result").unwrap()), want, "{flavour:?}: {cmd} with the caller's RFC 4733 {digit}");
            hang_up(&ami, &chan, &mut call);
            ami.clear();
        }
    }
}

#[test]
fn agiinterrupt_stops_the_prompt_the_sip_caller_hears_within_a_packet() {
    let ast = Asterisk::start_sip(Flavour::Ours);
    let ami = ast.ami();
    let mut call = Sipp::call(&ast, &plan("sippark", 20_000));
    let (chan, uniqueid) = parked(&ami);
    let (mut lags, mut acks) = (Vec::new(), Vec::new());
    for i in 0..5 {
        let id = format!("p{i}");
        send(&ami, &chan, "STREAM FILE tt-monkeys \"\"", &id);
        ami.wait_event(TIMEOUT, |m| m.is_event("AGIExecStart") && m.get("Uniqueid") == Some(&uniqueid) && m.get("Command") == Some("STREAM FILE tt-monkeys \"\""));
        // Half a second of the prompt reaches the caller…
        let t0 = Instant::now();
        while call.sink.audio_between(t0, Instant::now()) < 25 {
            assert!(t0.elapsed() < Duration::from_secs(5), "no prompt audio reached the caller");
            std::thread::sleep(Duration::from_millis(5));
        }
        // …then the interrupt; the caller's audio must stop.
        let t = Instant::now();
        let r = ami.action(&[("Action", "AGIInterrupt"), ("Channel", &chan)]);
        assert_eq!(r.get("Response"), Some("Success"), "{r:?}");
        let e = result_of(&ami, &id);
        acks.push(t.elapsed());
        assert_eq!(e.get("Interrupted"), Some("yes"), "{e:?}");
        std::thread::sleep(Duration::from_millis(300));
        let last = call.sink.packets().iter().filter(|p| p.payload_type == 0 && p.at >= t0).map(|p| p.at).max().unwrap();
        lags.push(last.saturating_duration_since(t));
    }
    eprintln!("last packet after the interrupt: {lags:?}; AGIInterrupt sent -> its AsyncAGIExec: {acks:?}");
    // One packet time (20 ms): the one on its way may still arrive.
    assert!(lags.iter().all(|l| *l <= Duration::from_millis(25)), "the caller still heard the prompt after the interrupt: {lags:?}");
    hang_up(&ami, &chan, &mut call);
}

#[test]
fn the_caller_hangs_up_mid_command_with_commands_queued() {
    for flavour in [Flavour::Stock, Flavour::Ours] {
        let ast = Asterisk::start_sip(flavour);
        let ami = ast.ami();
        // SIPp sends BYE 1.5 s after the call is up, in the middle of the prompt.
        let mut call = Sipp::call(&ast, &plan("sippark", 1500));
        let (chan, uniqueid) = parked(&ami);
        send(&ami, &chan, "STREAM FILE tt-monkeys \"\"", "r");
        for q in ["q1", "q2", "q3"] {
            send(&ami, &chan, "NOOP", q);
        }
        assert!(call.wait(Duration::from_secs(20)), "{flavour:?}: SIPp's call failed: {}", std::fs::read_to_string(&call.log).unwrap_or_default());
        ami.wait_event(Duration::from_secs(15), |m| m.is_event("Hangup") && m.get("Uniqueid") == Some(&uniqueid));
        std::thread::sleep(Duration::from_millis(500));
        let execs: Vec<Message> = ami.snapshot().into_iter().filter(|m| m.is_event("AsyncAGIExec") && m.get("Uniqueid") == Some(&uniqueid)).collect();
        let ids: Vec<&str> = execs.iter().filter_map(|m| m.get("CommandId")).collect();
        match flavour {
            // Stock: the prompt's result, and nothing for the queued NOOPs (docs/differences.md).
            Flavour::Stock => assert_eq!(ids, ["r"], "stock: {execs:?}"),
            _ => {
                assert_eq!(ids, ["r", "q1", "q2", "q3"], "ours: every command ends in exactly one result or cancellation: {execs:?}");
                for q in &execs[1..] {
                    assert_eq!(q.get("Cancelled"), Some("hangup"), "{q:?}");
                }
            }
        }
    }
}

#[test]
fn eagi_from_a_sip_call_gets_the_callers_audio_on_fd_3() {
    for flavour in [Flavour::Stock, Flavour::Ours] {
        let ast = Asterisk::start_sip(flavour);
        let ami = ast.ami();
        for (format, range) in [("slin", 12_000..=20_000), ("slin16", 24_000..=40_000)] {
            let out = format!("sip-eagi-{format}.txt");
            let inside = format!("/srv/res_agi_rs/{}/agi/{out}", ast.name);
            let mut call = Sipp::call(&ast, &CallPlan { args: Some((inside, format.to_string())), ..plan("sipeagi", 3000) });
            let after = ami.wait_event(Duration::from_secs(15), |m| m.get("UserEvent") == Some("AfterAGI") && m.get("Step") == Some("sipeagi"));
            assert_eq!(after.get("Status"), Some("SUCCESS"), "{flavour:?}: {after:?}");
            let text = std::fs::read_to_string(ast.instance_dir().join("agi").join(&out)).unwrap();
            let bytes: usize = text.lines().find_map(|l| l.strip_prefix("bytes ")).unwrap().parse().unwrap();
            eprintln!("{flavour:?}: {format}: {bytes} bytes on fd 3 in 1 s of a SIP call");
            assert!(range.contains(&bytes), "{flavour:?}: {format}: {bytes} bytes on fd 3 in 1 s of a SIP call");
            // (The dialplan hangs up after EAGI: SIPp answers that BYE.)
            call.wait(Duration::from_secs(20));
            ami.clear();
        }
    }
}

#[test]
fn record_file_records_the_sip_callers_audio() {
    for flavour in [Flavour::Stock, Flavour::Ours] {
        let ast = Asterisk::start_sip(flavour);
        let ami = ast.ami();
        let mut call = Sipp::call(&ast, &plan("sippark", 20_000));
        let (chan, _) = parked(&ami);
        let path = format!("/srv/res_agi_rs/{}/agi/rec-{flavour:?}", ast.name);
        // 2 s of the caller's tone (the maximum length ends it: result=0 endpos=…).
        send(&ami, &chan, &format!("RECORD FILE {path} wav # 2000"), "rec");
        let r = result_of(&ami, "rec");
        let text = decode(r.get("Result").unwrap());
        assert!(text.starts_with("200 result=0"), "{flavour:?}: {text}");
        let len = std::fs::metadata(ast.instance_dir().join("agi").join(format!("rec-{flavour:?}.wav"))).unwrap().len();
        // 8 kHz, 16 bits: 16,000 bytes a second, after the 44-byte header.
        assert!((24_000..=40_000).contains(&len), "{flavour:?}: a 2 s recording of the caller is {len} bytes");
        hang_up(&ami, &chan, &mut call);
    }
}

#[test]
fn say_digits_is_heard_by_the_sip_caller() {
    let mut heard_by = Vec::new();
    for flavour in [Flavour::Stock, Flavour::Ours] {
        let ast = Asterisk::start_sip(flavour);
        let ami = ast.ami();
        let mut call = Sipp::call(&ast, &plan("sippark", 20_000));
        let (chan, uniqueid) = parked(&ami);
        send(&ami, &chan, "SAY DIGITS 1234 \"\"", "d");
        ami.wait_event(TIMEOUT, |m| m.is_event("AGIExecStart") && m.get("Uniqueid") == Some(&uniqueid));
        let t0 = Instant::now();
        let r = result_of(&ami, "d");
        let t1 = Instant::now();
        assert_eq!(decode(r.get("Result").unwrap()), "200 result=0\n", "{flavour:?}");
        std::thread::sleep(Duration::from_millis(100));
        let heard = call.sink.audio_between(t0 - Duration::from_millis(50), t1 + Duration::from_millis(100));
        // Four digit prompts, played back to back: one packet per 20 ms of the command.
        let span = (t1 - t0).as_millis() as usize / 20;
        assert!(heard >= 40, "{flavour:?}: the caller received {heard} packets of four digits");
        assert!(heard + 5 >= span && heard <= span + 5, "{flavour:?}: {heard} packets in a {span}-packet command");
        heard_by.push(heard);
        hang_up(&ami, &chan, &mut call);
    }
    assert!(heard_by[0].abs_diff(heard_by[1]) <= 5, "stock and ours sent the caller {heard_by:?} packets of the same digits");
}

/// What the classic runs on SIP calls send, and when the caller's digit comes: a prompt, two
/// digits said, then a wait the caller's RFC 4733 '4' ends (sent 3 s after the call is up,
/// when the prompts are over).
const CLASSIC_ON_SIP: [&str; 4] = ["STREAM FILE beep \"\"", "SAY DIGITS 12 \"\"", "WAIT FOR DIGIT 6000", "GET VARIABLE CHANNEL(audionativeformat)"];

/// One classic run on a SIP call: `service` (sipscript, sipfast) with its two arguments; the
/// AfterAGI status and the packets of audio the caller got.
fn classic_sip_call(ast: &Asterisk, ami: &Ami, service: &'static str, args: (String, String)) -> (String, usize) {
    let mut call = Sipp::call(ast, &CallPlan { dtmf: Some(('4', Duration::from_millis(3000))), args: Some(args), ..plan(service, 20_000) });
    let after = ami.wait_event(Duration::from_secs(20), |m| m.get("UserEvent") == Some("AfterAGI") && m.get("Step") == Some(service));
    // (The dialplan hangs up after the AGI: SIPp answers that BYE.)
    call.wait(Duration::from_secs(20));
    let audio = call.sink.packets().iter().filter(|p| p.payload_type == 0).count();
    (after.get("Status").unwrap_or("").to_string(), audio)
}

/// The answers a classic run got, checked alike for both transports and both flavours.
fn check_classic_answers(who: &str, answers: &[String]) {
    assert_eq!(answers.len(), CLASSIC_ON_SIP.len(), "{who}: {answers:?}");
    assert!(answers[0].starts_with("200 result=0 endpos="), "{who}: {answers:?}");
    assert_eq!(answers[1], "200 result=0", "{who}: {answers:?}");
    assert_eq!(answers[2], "200 result=52", "{who}: the caller's RFC 4733 '4': {answers:?}");
    assert_eq!(answers[3], "200 result=1 ((ulaw))", "{who}: {answers:?}");
}

#[test]
fn a_local_script_on_a_sip_call_hears_and_is_heard() {
    let mut audio_by = Vec::new();
    for flavour in [Flavour::Stock, Flavour::Ours] {
        let ast = Asterisk::start_sip(flavour);
        let ami = ast.ami();
        let dir = ast.instance_dir().join("agi");
        let inside = format!("/srv/res_agi_rs/{}/agi", ast.name);
        std::fs::write(dir.join("sip-cmds.txt"), CLASSIC_ON_SIP.join("\n") + "\n").unwrap();
        let (status, audio) = classic_sip_call(&ast, &ami, "sipscript", (format!("{inside}/sip-cmds.txt"), format!("{inside}/sip-out.txt")));
        assert_eq!(status, "SUCCESS", "{flavour:?}");
        let text = std::fs::read_to_string(dir.join("sip-out.txt")).unwrap();
        let answers: Vec<String> = text.lines().filter_map(|l| l.split_once(" -> ").map(|(_, r)| r.to_string())).collect();
        check_classic_answers(&format!("{flavour:?} script"), &answers);
        audio_by.push(audio);
    }
    eprintln!("packets the caller got (stock, ours): {audio_by:?}");
    assert!(audio_by.iter().all(|&a| a >= 40), "{audio_by:?}");
    assert!(audio_by[0].abs_diff(audio_by[1]) <= 8, "stock and ours sent the caller {audio_by:?} packets");
}

/// A FastAGI server for one call: reads the environment, sends each command, keeps each
/// one-line answer, then closes.
fn fastagi_once(commands: &'static [&'static str]) -> (u16, std::thread::JoinHandle<Vec<String>>) {
    use std::io::{BufRead, BufReader, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let t = std::thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        stream.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        let mut r = BufReader::new(stream.try_clone().unwrap());
        let mut w = stream;
        let mut line = String::new();
        loop {
            line.clear();
            if r.read_line(&mut line).unwrap() == 0 || line.trim_end().is_empty() {
                break;
            }
        }
        let mut answers = Vec::new();
        for c in commands {
            w.write_all(format!("{c}\n").as_bytes()).unwrap();
            line.clear();
            if r.read_line(&mut line).unwrap_or(0) == 0 {
                break;
            }
            answers.push(line.trim_end().to_string());
        }
        answers
    });
    (port, t)
}

#[test]
fn fastagi_on_a_sip_call_hears_and_is_heard() {
    let mut audio_by = Vec::new();
    for flavour in [Flavour::Stock, Flavour::Ours] {
        let ast = Asterisk::start_sip(flavour);
        let ami = ast.ami();
        let (port, server) = fastagi_once(&CLASSIC_ON_SIP);
        let (status, audio) = classic_sip_call(&ast, &ami, "sipfast", (port.to_string(), "none".into()));
        assert_eq!(status, "SUCCESS", "{flavour:?}");
        check_classic_answers(&format!("{flavour:?} FastAGI"), &server.join().unwrap());
        audio_by.push(audio);
    }
    eprintln!("packets the caller got (stock, ours): {audio_by:?}");
    assert!(audio_by.iter().all(|&a| a >= 40), "{audio_by:?}");
    assert!(audio_by[0].abs_diff(audio_by[1]) <= 8, "stock and ours sent the caller {audio_by:?} packets");
}

/// A BYE storm, small (make stress runs 500 calls): every call hangs up at the same moment with
/// a WAIT FOR DIGIT running and four NOOPs queued, while new calls come in. Ours answers every
/// command exactly once; stock answers the running one and drops the queued ones. On both, no
/// taskprocessor high-water alert, every new call is taken, nothing is left.
#[test]
fn a_bye_storm_answers_every_command_and_turns_no_new_call_away() {
    let calls = 40;
    for flavour in [Flavour::Stock, Flavour::Ours] {
        let r = common::sip::bye_storm(flavour, calls, 4, 20);
        eprintln!("{flavour:?}: {r:?}");
        assert!(r.alive, "{flavour:?}: {r:?}");
        assert!(r.channels_left.starts_with("0 active channels"), "{flavour:?}: {r:?}");
        assert_eq!(r.storm_ok, calls as u64, "{flavour:?}: every storm call ends with its BYE answered: {r:?}");
        assert_eq!((r.new_ok, r.new_failed, r.new_503), (20, 0, 0), "{flavour:?}: the new calls: {r:?}");
        assert!(r.high_water_lines.is_empty(), "{flavour:?}: {r:?}");
        assert_eq!(r.duplicated, 0, "{flavour:?}: {r:?}");
        match flavour {
            Flavour::Ours => {
                assert_eq!((r.answered_once, r.missing), (r.commands, 0), "ours: {r:?}");
                assert_eq!(r.cancelled, calls * 4, "ours: the queued NOOPs are cancelled: {r:?}");
            }
            _ => {
                assert_eq!((r.answered_once, r.missing), (calls, calls * 4), "stock: the running command answered, the queued ones dropped: {r:?}");
            }
        }
    }
}

/// Issue 27 (defect 9): after its last command a parked channel keeps its event buffer and
/// channel headers for 2 s, then lets them go. A SIP call's frames wake its thread 50 times a
/// second, so the 2 s wait never ran out and they were kept for the whole call.
#[test]
fn a_parked_sip_call_with_media_lets_its_event_buffer_go_after_its_last_command() {
    let ast = Asterisk::start_sip(Flavour::Ours);
    let ami = ast.ami();
    let mut call = Sipp::call(&ast, &plan("sippark", 20_000));
    let (chan, _) = parked(&ami);
    std::thread::sleep(Duration::from_millis(500));
    let idle = module_heap(&ast);
    for i in 0..3 {
        send(&ami, &chan, "NOOP", &format!("l{i}"));
        result_of(&ami, &format!("l{i}"));
    }
    let busy = module_heap(&ast);
    assert!(busy.0 > idle.0, "the buffer is kept right after the commands: {idle:?} -> {busy:?}");
    // Media keeps flowing meanwhile (the caller streams its tone).
    std::thread::sleep(Duration::from_millis(3000));
    let later = module_heap(&ast);
    // (The queue's own storage, allocated by the first command, stays with the call: 160
    // bytes. The buffer and the headers are over 3 kB.)
    assert!(later.0 < idle.0 + 1024, "2 s after the last command the channel still keeps {} bytes: idle {idle:?}, after the commands {busy:?}, 3 s later {later:?}", later.0 - idle.0);
    hang_up(&ami, &chan, &mut call);
}
