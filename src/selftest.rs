//! In-process unit tests registered with Asterisk's test framework under `/res/agi_rs/`
//! (`test execute category /res/agi_rs/`): the module's own parser, encoding, environment,
//! queue and ownership rules, run inside the Asterisk that loaded it. The shim registers one
//! Asterisk test per entry of `TESTS` and calls `run` with its index.
use crate::encode::{body, uri_encode};
use crate::env;
use crate::events::{claim_rule, valid_owner};
use crate::ffi::channel::EnvFacts;
use crate::parse::{parse_args, scan_int, MAX_ARGS};
use crate::session::{check_owner, Asker, PushError, Queued, Session};
use std::ffi::{CStr, CString};

/// (name, summary), in the shim's order.
pub const TESTS: [(&CStr, &CStr); 5] = [
    (c"parser", c"AGI command lines split as stock's parse_args"),
    (c"encoding", c"Result/Env url encoding and AMI header fields"),
    (c"environment", c"The AGI environment: keys, order, unknown values, arguments"),
    (c"queue", c"A channel's Async AGI queue: order, bound, flush, runs"),
    (c"ownership", c"AGIClaim ownership: who may command an owned channel"),
];

macro_rules! check {
    ($cond:expr, $($msg:tt)+) => {
        if !$cond {
            return Err(format!($($msg)+));
        }
    };
}

fn words(s: &str) -> Vec<String> {
    parse_args(s.as_bytes()).into_iter().map(|w| String::from_utf8_lossy(&w).into_owned()).collect()
}

fn parser() -> Result<(), String> {
    check!(words("STREAM FILE tt-monkeys \"\"") == ["STREAM", "FILE", "tt-monkeys", ""], "empty quoted word: {:?}", words("STREAM FILE tt-monkeys \"\""));
    check!(words("SET VARIABLE \"a b\" c\\ d") == ["SET", "VARIABLE", "a b", "c d"], "quotes and escapes: {:?}", words("SET VARIABLE \"a b\" c\\ d"));
    check!(words("NOOP \"open") == ["NOOP", "open"], "unbalanced quote runs to the end");
    check!(words("  \t NOOP\t\tx  ") == ["NOOP", "x"], "blanks and tabs");
    let bare = vec!["w"; 300].join(" ");
    check!(parse_args(bare.as_bytes()).len() == MAX_ARGS - 1, "bare words bounded");
    let quoted = format!("NOOP{}", " \"\"".repeat(300));
    check!(parse_args(quoted.as_bytes()).len() == MAX_ARGS - 1, "quoted words bounded (stock overflows here)");
    check!(scan_int(b" 42abc") == Some(42) && scan_int(b"-7") == Some(-7) && scan_int(b"x") == None, "scan_int as sscanf %d");
    Ok(())
}

fn encoding() -> Result<(), String> {
    check!(uri_encode(b"200 result=0\n") == "200%20result%3D0%0A", "Result encoding: {}", uri_encode(b"200 result=0\n"));
    check!(uri_encode(b"-_.!~*'()azAZ09") == "-_.!~*'()azAZ09", "unreserved kept");
    check!(uri_encode(&[0xff, 0x00]) == "%FF%00", "bytes upper-case hex");
    let long = vec![b'x'; 5000];
    check!(uri_encode(&long).len() == 5000, "no 1 KB cut");
    let b = body(Vec::new(), &[("CommandID", b"a\r\nEvent: Forged"), ("Channel", b"Local/x;2")]);
    check!(b == b"CommandID: a  Event: Forged\r\nChannel: Local/x;2\r\n", "no header forged: {:?}", String::from_utf8_lossy(&b));
    let b = body(Vec::new(), &[("Command", b"NOOP\0x")]);
    check!(b == b"Command: NOOP x\r\n", "no NUL reaches C: {:?}", String::from_utf8_lossy(&b));
    Ok(())
}

fn environment() -> Result<(), String> {
    let f = EnvFacts {
        name: b"Local/park@agi-00000001;2".to_vec(),
        language: b"en".to_vec(),
        tech_type: b"Local".to_vec(),
        uniqueid: b"1700000000.1".to_vec(),
        version: b"22.10.1".to_vec(),
        callerid: None,
        calleridname: Some(Vec::new()),
        callingpres: 0,
        callingani2: 0,
        callington: 0,
        callingtns: 0,
        dnid: None,
        rdnis: None,
        context: b"agi".to_vec(),
        extension: b"park".to_vec(),
        priority: 2,
        accountcode: Vec::new(),
        threadid: 1234,
    };
    let out = String::from_utf8_lossy(&env::build(&f, b"agi:async", &[b"one".to_vec(), b"two words".to_vec()], false)).into_owned();
    let keys: Vec<&str> = out.lines().filter_map(|l| l.split_once(": ").map(|(k, _)| k)).collect();
    check!(keys.first() == Some(&"agi_request") && keys.get(1) == Some(&"agi_channel"), "order: {keys:?}");
    check!(out.contains("agi_callerid: unknown\n") && out.contains("agi_calleridname: unknown\n"), "unknown caller: {out}");
    check!(out.contains("agi_priority: 2\n") && out.contains("agi_threadid: 1234\n"), "numbers: {out}");
    check!(out.contains("agi_arg_1: one\nagi_arg_2: two words\n"), "arguments: {out}");
    check!(out.ends_with("\n\n") && out.contains("agi_enhanced: 0.0\n"), "end, no EAGI: {out}");
    let eagi = String::from_utf8_lossy(&env::build(&f, b"x", &[], true)).into_owned();
    check!(eagi.contains("agi_enhanced: 1.0\n"), "EAGI: {eagi}");
    Ok(())
}

fn queued(s: &str) -> Queued {
    Queued { command: CString::new(s).unwrap(), id: s.as_bytes().to_vec() }
}

fn queue() -> Result<(), String> {
    let s = Session::new();
    for c in ["NOOP", "ANSWER", "HANGUP"] {
        check!(s.push(queued(c), 3).is_ok(), "push {c}");
    }
    check!(s.push(queued("ONE MORE"), 3) == Err(PushError::Full(3)), "the bound holds");
    let run = s.begin().ok_or("begin")?;
    check!(s.begin().is_none(), "a second run is refused (nested Async AGI)");
    let first = s.pop(run).ok_or("pop")?;
    check!(first.command.as_bytes() == b"NOOP", "FIFO: {:?}", first.command);
    let flushed = s.flush();
    check!(flushed.len() == 2 && flushed[0].id == b"ANSWER", "flush returns the rest, in order");
    check!(s.pop(run).is_none(), "empty after flush");
    check!(s.status().queued == 0, "status");
    Ok(())
}

fn ownership() -> Result<(), String> {
    // The rule itself (events::claim_rule, what Action: AGIClaim decides with).
    let mut o: Option<Vec<u8>> = None;
    check!(claim_rule(&mut o, b"", b"").is_ok() && o.is_none(), "releasing an unowned channel: still unowned");
    check!(claim_rule(&mut o, b"appa", b"").is_ok() && o.as_deref() == Some(b"appa".as_slice()), "an unowned channel is taken");
    check!(claim_rule(&mut o, b"appa", b"").is_ok() && o.as_deref() == Some(b"appa".as_slice()), "the owner may claim again");
    check!(claim_rule(&mut o, b"appb", b"") == Err(b"appa".to_vec()) && o.as_deref() == Some(b"appa".as_slice()), "first claim wins: {o:?}");
    check!(claim_rule(&mut o, b"appb", b"appb").is_err(), "CurrentOwner must name the owner");
    check!(claim_rule(&mut o, b"", b"").is_err() && o.is_some(), "only the owner releases");
    // Through a queue's Owner, as manager.rs calls it, with who may command the channel.
    let s = Session::new();
    check!(check_owner(&s, Asker::Ami(b"anyone")).is_ok() && check_owner(&s, Asker::Cli).is_ok(), "unowned: everyone");
    check!(s.owner().claim(b"appa", b"").is_ok(), "claim");
    check!(s.owner().claim(b"appb", b"") == Err(b"appa".to_vec()), "a second claim is refused");
    check!(check_owner(&s, Asker::Ami(b"appa")).is_ok(), "the owner may");
    check!(check_owner(&s, Asker::Ami(b"appb")) == Err(b"appa".to_vec()), "another may not");
    check!(check_owner(&s, Asker::Cli).is_ok(), "the CLI (the administrator) may");
    check!(s.owner().claim(b"appb", b"appa").is_ok() && s.owner().get().as_deref() == Some(b"appb".as_slice()), "hand-over with CurrentOwner");
    check!(check_owner(&s, Asker::Ami(b"appa")) == Err(b"appb".to_vec()), "the old owner may not any more");
    check!(s.owner().claim(b"", b"appa").is_err(), "a release naming a former owner is refused");
    check!(s.owner().claim(b"", b"appb").is_ok() && s.owner().get().is_none(), "released by its owner");
    check!(check_owner(&s, Asker::Ami(b"appb")).is_ok(), "released: everyone");
    check!(valid_owner(b"app-1 x") && !valid_owner(b"a\r\nEvent: x") && !valid_owner(b"a\0") && !valid_owner(b"\x7f"), "tokens without control characters only");
    Ok(())
}

/// Runs test `which`; Err with what failed.
pub fn run(which: usize) -> Result<(), String> {
    match which {
        0 => parser(),
        1 => encoding(),
        2 => environment(),
        3 => queue(),
        4 => ownership(),
        _ => Err(format!("no test {which}")),
    }
}
