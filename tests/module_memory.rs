//! Nothing of a call stays in res_agi_rs's heap. The module's allocator counts every Rust
//! allocation (`agi show memory`); after a round of calls is gone the count is back where it
//! was after the round before (the first round warms up what is allocated once).
mod common;
use common::ami::{decode, Ami};
use common::*;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::time::Duration;

/// Every channel gone, then a second for what ends on other threads (channel destruction,
/// the last events' messages).
fn all_gone(ast: &Asterisk) {
    wait_no_channels(ast, Duration::from_secs(60));
    std::thread::sleep(Duration::from_millis(1000));
}

/// `n` calls parked in Async AGI, each running five commands (two cut off by the hangup:
/// one running, one queued); returns the module's heap while they were all parked.
fn async_round(ast: &Asterisk, ami: &Ami, round: usize, n: usize) -> (i64, i64) {
    let chans = park_many(ami, &format!("mem{round}-"), n);
    let cmds = ["SET VARIABLE X abc", "GET VARIABLE X", "STREAM FILE beep \"\"", "WAIT FOR DIGIT 30000", "NOOP"];
    for (i, chan) in chans.iter().enumerate() {
        for (k, cmd) in cmds.iter().enumerate() {
            ami.send(&[("Action", "AGI"), ("Channel", chan), ("Command", cmd), ("CommandID", &format!("c{round}-{i}-{k}"))]);
        }
    }
    for i in 0..n {
        for k in 0..3 {
            let id = format!("c{round}-{i}-{k}");
            let e = ami.wait_event(Duration::from_secs(60), |m| m.is_event("AsyncAGIExec") && m.get("CommandId") == Some(&id));
            assert!(decode(e.get("Result").unwrap()).starts_with("200 result="), "{e:?}");
        }
    }
    let parked = module_heap(ast);
    ami.send(&[("Action", "Hangup"), ("Channel", "/^Local\\/park@agi-/")]);
    for i in 0..n {
        for k in 3..5 {
            let id = format!("c{round}-{i}-{k}");
            ami.wait_event(Duration::from_secs(60), |m| m.is_event("AsyncAGIExec") && m.get("CommandId") == Some(&id));
        }
    }
    all_gone(ast);
    ami.clear();
    parked
}

#[test]
fn async_agi_calls_leave_nothing_in_the_module_heap() {
    let ast = Asterisk::start(Flavour::Ours);
    let ami = ast.ami();
    let n = 200;
    async_round(&ast, &ami, 0, n);
    let base = module_heap(&ast);
    let parked = async_round(&ast, &ami, 1, n);
    let after = module_heap(&ast);
    eprintln!("module heap: {base:?} after a warm-up round, {parked:?} with {n} calls parked, {after:?} after them");
    assert!(parked.0 > base.0, "the parked calls' sessions are counted: {base:?} -> {parked:?}");
    assert!(after.0 - base.0 < 4096 && after.1 - base.1 < 16, "res_agi_rs heap grew over {n} Async AGI calls: {base:?} -> {after:?}");
    assert!(ast.cli("agi show memory").contains("Process malloc: "), "glibc's totals are shown");
}

/// A command on a parked channel costs res_agi_rs about 23 allocations (43 before the events
/// were written into one reused buffer), on every thread
/// together (the manager action, the channel thread's command and its three events): each
/// event is written into one buffer the channel keeps while busy, not into temporaries that
/// would stay in each channel thread's malloc cache. Counted by the module's allocator.
#[test]
fn a_parked_command_costs_few_allocations() {
    let ast = Asterisk::start(Flavour::Ours);
    let ami = ast.ami();
    let p = park(&ami, "park", "");
    let count = || show_memory(&ast).expect("agi show memory").allocations;
    let run = |n: usize, tag: &str| {
        for i in 0..n {
            let e = agi(&ami, &p, "NOOP", &format!("{tag}{i}"));
            assert_eq!(decode(e.get("Result").unwrap()), "200 result=0\n", "{e:?}");
        }
    };
    run(50, "warm");
    let before = count();
    let n = 500;
    run(n, "n");
    let after = count();
    let per = (after - before) as f64 / n as f64;
    eprintln!("res_agi_rs allocations per Async AGI NOOP (all threads): {per:.1} ({before} -> {after})");
    assert!(per <= 30.0, "res_agi_rs made {per:.1} allocations per NOOP ({before} -> {after})");
}

/// A FastAGI server for `n` connections: each gets NOOP and GET VARIABLE, then is closed.
fn fastagi(n: usize) -> (u16, std::thread::JoinHandle<usize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let h = std::thread::spawn(move || {
        let mut answered = 0;
        for _ in 0..n {
            let (s, _) = listener.accept().unwrap();
            s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
            let mut r = BufReader::new(s.try_clone().unwrap());
            let mut w = s;
            let mut line = String::new();
            while r.read_line(&mut line).unwrap() > 0 && line != "\n" {
                line.clear();
            }
            for cmd in ["NOOP\n", "GET VARIABLE AGISTATUS\n"] {
                w.write_all(cmd.as_bytes()).unwrap();
                line.clear();
                r.read_line(&mut line).unwrap();
                if line.starts_with("200 result=") {
                    answered += 1;
                }
            }
        }
        answered
    });
    (port, h)
}

#[test]
fn fastagi_calls_leave_nothing_in_the_module_heap() {
    let ast = Asterisk::start(Flavour::Ours);
    let ami = ast.ami();
    let round = |n: usize| {
        let (port, server) = fastagi(n);
        for i in 0..n {
            let id = send_classic(&ami, &[&format!("AGISCRIPT=agi://127.0.0.1:{port}/mem{i}")], 30, None);
            let r = ami.wait_response(&id);
            assert_eq!(r.get("Response"), Some("Success"), "{r:?}");
        }
        assert_eq!(server.join().unwrap(), 2 * n, "every command answered");
        ami.send(&[("Action", "Hangup"), ("Channel", "/^Local\\/classic@agi-/")]);
        all_gone(&ast);
        ami.clear();
    };
    round(50);
    let base = module_heap(&ast);
    round(300);
    let after = module_heap(&ast);
    eprintln!("module heap: {base:?} after a warm-up round, {after:?} after 300 FastAGI calls");
    assert!(after.0 - base.0 < 4096 && after.1 - base.1 < 16, "res_agi_rs heap grew over 300 FastAGI calls: {base:?} -> {after:?}");
}
