//! Hostile input against the live module (issue #10, point 3): random and boundary commands
//! from AMI and the CLI, and long, binary and argument-heavy lines from a FastAGI server.
//! Each gets a clear result; the call stays usable and the PBX goes on.
mod common;
use common::ami::decode;
use common::*;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::time::Duration;

fn alive(ast: &mut Asterisk) {
    assert!(ast.is_running(), "Asterisk died; log:\n{}", ast.log());
    assert!(ast.cli("core show uptime").contains("System uptime"));
}

/// Every byte value (but CR and LF, which end an AMI line, and NUL, which ends a C string),
/// unbalanced quotes, a backslash at the end, hundreds of arguments, the longest line AMI
/// takes: each command answers once.
#[test]
fn odd_commands_from_ami_each_get_one_answer() {
    let mut ast = Asterisk::start(Flavour::Ours);
    let ami = ast.ami();
    let p = park(&ami, "park", "");
    let mut cmds: Vec<Vec<u8>> = (1u8..=255).filter(|b| *b != b'\r' && *b != b'\n').map(|b| format!("NOOP x").into_bytes().into_iter().chain([b]).collect()).collect();
    cmds.push(b"GET VARIABLE \"unbalanced".to_vec());
    cmds.push(b"SET VARIABLE A \"b".to_vec());
    cmds.push(b"NOOP \\".to_vec());
    cmds.push(b"\"\"\"\"".to_vec());
    cmds.push(std::iter::repeat_n(b"a ".to_vec(), 450).flatten().collect());
    cmds.push([b"EXEC Verbose ".to_vec(), vec![b'x'; 950]].concat());
    cmds.push(b"\xff\xfe\x01\x02".to_vec());
    for (i, cmd) in cmds.iter().enumerate() {
        let mut msg = format!("Action: AGI\r\nChannel: {}\r\nCommandID: h{i}\r\nActionID: h{i}\r\nCommand: ", p.channel).into_bytes();
        msg.extend_from_slice(cmd);
        msg.extend_from_slice(b"\r\n\r\n");
        ami.send_raw(&msg);
        let r = ami.wait_response(&format!("h{i}"));
        assert_eq!(r.get("Response"), Some("Success"), "command {i} {cmd:?}: {r:?}");
    }
    for i in 0..cmds.len() {
        let e = ami.wait_event(TIMEOUT, |m| m.is_event("AsyncAGIExec") && m.get("CommandId") == Some(&format!("h{i}")));
        let res = decode(e.get("Result").unwrap());
        assert!(res.starts_with("200 ") || res.starts_with("510 ") || res.starts_with("520"), "command {i}: {res:?}");
    }
    // A line longer than AMI's 1 KB buffer is refused by Asterisk's manager, not by us, and
    // the session goes on.
    let mut long = format!("Action: AGI\r\nChannel: {}\r\nActionID: long\r\nCommand: NOOP ", p.channel).into_bytes();
    long.extend(std::iter::repeat_n(b'y', 8192));
    long.extend_from_slice(b"\r\n\r\n");
    ami.send_raw(&long);
    let r = ami.wait_event(TIMEOUT, |m| m.get("Response").is_some() && m.get("Message").is_some_and(|t| t.contains("line too long")));
    assert_eq!(r.get("Response"), Some("Error"));
    assert_eq!(agi_result(&ami, &p, "NOOP"), "200 result=0\n");
    // The CLI: quotes, many words, a command that is only blanks.
    for cmd in [
        format!("agi exec {} \"NOOP \\\"x\" q1", p.channel),
        format!("agi exec {} {} q2", p.channel, "NOOP ".repeat(200)),
        format!("agi exec {} \"   \" q3", p.channel),
    ] {
        ast.cli(&cmd);
    }
    for id in ["q1", "q3"] {
        ami.wait_event(TIMEOUT, |m| m.is_event("AsyncAGIExec") && m.get("CommandId") == Some(id));
    }
    alive(&mut ast);
}

/// A FastAGI server that sends a line of 8,190 bytes with 4,095 arguments, every byte value,
/// unbalanced quotes, then closes in the middle of a line: each line gets its answer.
#[test]
fn a_hostile_fastagi_server_gets_answers_and_costs_nothing() {
    let mut ast = Asterisk::start(Flavour::Ours);
    let ami = ast.ami();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = std::thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let mut r = BufReader::new(stream.try_clone().unwrap());
        let mut w = stream;
        let mut line = String::new();
        while r.read_line(&mut line).unwrap() > 1 {
            line.clear();
        }
        let mut lines: Vec<Vec<u8>> = vec![[b"NOOP".to_vec(), b" a".repeat(4093)].concat()];
        lines.push((1u8..=255).filter(|b| *b != b'\n').collect());
        lines.push(b"GET VARIABLE \"AGISCRIPT".to_vec());
        lines.push(b"SET VARIABLE \"X\\".to_vec());
        let mut answers = Vec::new();
        for l in &lines {
            w.write_all(l).unwrap();
            w.write_all(b"\n").unwrap();
            let mut a = Vec::new();
            // A usage answer (520-…) spans several lines: read to the final "NNN " line.
            loop {
                let mut one = Vec::new();
                if r.read_until(b'\n', &mut one).unwrap() == 0 {
                    break;
                }
                a.extend_from_slice(&one);
                if one.len() >= 4 && one[3] == b' ' {
                    break;
                }
            }
            answers.push(String::from_utf8_lossy(&a).into_owned());
        }
        w.write_all(b"GET VARIA").unwrap();
        answers
    });
    let r = ami.action(&[
        ("Action", "Originate"),
        ("Channel", "Local/classic@agi"),
        ("Application", "Wait"),
        ("Data", "30"),
        ("Async", "true"),
        ("Variable", &format!("AGISCRIPT=agi://127.0.0.1:{port}/hostile")),
    ]);
    assert_eq!(r.get("Response"), Some("Success"));
    let answers = server.join().unwrap();
    assert_eq!(answers.len(), 4);
    assert_eq!(answers[0], "200 result=0\n", "4,095 arguments");
    assert_eq!(answers[1], "510 Invalid or unknown command\n", "every byte value");
    assert!(answers[2].starts_with("200 result="), "unbalanced quote: {:?}", answers[2]);
    assert!(answers[3].starts_with("520"), "a backslash at the end: {:?}", answers[3]);
    let after = ami.wait_event(TIMEOUT, |m| m.get("UserEvent") == Some("AfterAGI"));
    assert!(["SUCCESS", "FAILURE"].contains(&after.get("Status").unwrap()), "{after:?}");
    alive(&mut ast);
}
