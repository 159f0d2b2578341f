//! `make demo`: boots the sandbox Asterisk 22 with res_agi_rs.so, parks a call in
//! `AGI(agi:async,demo)`, drives it over AMI (answer, a prompt, set and get a variable,
//! break) and prints every Async AGI event decoded.
#[path = "../tests/common/mod.rs"]
mod common;

use common::ami::{decode, Ami, Message};
use common::{Asterisk, Flavour, TIMEOUT};
use std::time::{Duration, Instant};

fn show(m: &Message) {
    let ev = m.get("Event").unwrap_or("?");
    match ev {
        "AsyncAGIStart" => {
            println!("  <- AsyncAGIStart  Channel: {}", m.get("Channel").unwrap_or(""));
            for line in decode(m.get("Env").unwrap_or("")).lines().filter(|l| !l.is_empty()) {
                println!("       {line}");
            }
        }
        "AGIExecStart" => println!("  <- AGIExecStart   CommandId: {}  Command: {}", m.get("CommandId").unwrap_or(""), m.get("Command").unwrap_or("")),
        "AGIExecEnd" => println!(
            "  <- AGIExecEnd     ResultCode: {}  Result: {}",
            m.get("ResultCode").unwrap_or(""),
            m.get("Result").unwrap_or("")
        ),
        "AsyncAGIExec" => println!(
            "  <- AsyncAGIExec   CommandId: {}  Result: {:?}",
            m.get("CommandId").unwrap_or("-"),
            decode(m.get("Result").unwrap_or(""))
        ),
        "AsyncAGIEnd" => println!("  <- AsyncAGIEnd    Channel: {}", m.get("Channel").unwrap_or("")),
        "UserEvent" => println!("  <- UserEvent {}  {}", m.get("UserEvent").unwrap_or(""), m.get("Status").unwrap_or("")),
        _ => {}
    }
}

fn is_agi(m: &Message) -> bool {
    matches!(m.get("Event"), Some("AsyncAGIStart" | "AGIExecStart" | "AGIExecEnd" | "AsyncAGIExec" | "AsyncAGIEnd"))
}

fn run(ami: &Ami, channel: &str, command: &str, id: &str) {
    println!("\n-> Action: AGI  Command: {command}  CommandID: {id}");
    let r = ami.action(&[("Action", "AGI"), ("Channel", channel), ("Command", command), ("CommandID", id)]);
    println!("  <- Response: {}  Message: {}", r.get("Response").unwrap_or(""), r.get("Message").unwrap_or(""));
    assert!(ami.wait_present(TIMEOUT, |m| m.is_event("AsyncAGIExec") && m.get("CommandId") == Some(id)));
    // Show what arrived for this command, in order.
    for m in ami.collect(Duration::from_millis(20), is_agi) {
        show(&m);
    }
}

fn main() {
    println!("Booting the sandbox Asterisk 22 with res_agi_rs.so (res_agi.so not loaded)...");
    let ast = Asterisk::start(Flavour::Ours);
    print!("{}", ast.cli("module show like agi"));
    let ami = ast.ami();
    println!("\n-> Action: Originate  Channel: Local/demo@agi  (runs AGI(agi:async,demo))");
    ami.action(&[
        ("Action", "Originate"), ("Channel", "Local/demo@agi"), ("Application", "Wait"), ("Data", "3600"),
        ("Timeout", "3600000"), ("Async", "true"), ("ChannelId", "demo-1"), ("OtherChannelId", "demo-2"),
    ]);
    let start = ami.wait_event(TIMEOUT, |m| m.is_event("AsyncAGIStart") && m.get("Uniqueid") == Some("demo-2"));
    show(&start);
    let channel = start.get("Channel").unwrap().to_string();

    run(&ami, &channel, "ANSWER", "answer");
    run(&ami, &channel, "STREAM FILE hello-world \"\"", "prompt");
    run(&ami, &channel, "SET VARIABLE GREETING \"hello from res_agi_rs\"", "set");
    run(&ami, &channel, "GET VARIABLE GREETING", "get");
    run(&ami, &channel, "GET FULL VARIABLE \"${GREETING} on ${CHANNEL}\"", "full");
    run(&ami, &channel, "DATABASE PUT demo answer 42", "dbput");
    run(&ami, &channel, "DATABASE GET demo answer", "dbget");

    println!("\n-> CLI: agi exec {channel} \"VERBOSE \\\"queued from the CLI\\\" 1\" cli");
    ast.cli(&format!("agi exec {channel} \"VERBOSE \\\"queued from the CLI\\\" 1\" cli"));
    assert!(ami.wait_present(TIMEOUT, |m| m.is_event("AsyncAGIExec") && m.get("CommandId") == Some("cli")));
    for m in ami.collect(Duration::ZERO, is_agi) {
        show(&m);
    }

    // How fast is a round trip? (No 100 ms poll: the channel thread wakes on queueing.)
    let mut rtts = Vec::new();
    for i in 0..200 {
        let id = format!("n{i}");
        let t = Instant::now();
        ami.send(&[("Action", "AGI"), ("Channel", &channel), ("Command", "NOOP"), ("CommandID", &id)]);
        ami.wait_event(TIMEOUT, |m| m.is_event("AsyncAGIExec") && m.get("CommandId") == Some(&id));
        rtts.push(t.elapsed());
        ami.clear();
    }
    rtts.sort();
    println!("\n200 NOOP round trips (Action: AGI sent -> AsyncAGIExec read): p50 {:?}, p99 {:?}", rtts[100], rtts[197]);

    run(&ami, &channel, "ASYNCAGI BREAK", "break");
    let after = ami.wait_event(TIMEOUT, |m| m.get("UserEvent") == Some("AGIHangup"));
    println!("  (the call went on in the dialplan and hung up; AGISTATUS was {})", after.get("Status").unwrap_or("?"));
    let log = ast.log();
    if let Some(line) = log.lines().find(|l| l.contains("Async AGI ended with AGISTATUS")) {
        println!("\nDialplan after the break (Asterisk log):\n  {}", line.trim());
    }
    println!("\nDemo done; stopping Asterisk.");
}
