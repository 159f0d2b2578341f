//! Unloading with channels parked refuses (their threads run our code); load → unload →
//! load works; Asterisk keeps running throughout.
mod common;
use common::*;

fn loaded(ast: &Asterisk) -> bool {
    ast.cli("module show like res_agi_rs").contains("res_agi_rs.so")
}

#[test]
fn unload_refuses_while_parked_and_reload_works() {
    let mut ast = Asterisk::start(Flavour::Ours);
    let ami = ast.ami();
    let p = park(&ami, "park", "");

    let out = ast.cli("module unload res_agi_rs.so");
    assert!(out.contains("Unable to unload resource") || out.contains("failed"), "{out}");
    assert!(loaded(&ast));
    assert_eq!(agi_result(&ami, &p, "NOOP"), "200 result=0\n", "the parked call still works");

    // A forced unload: Asterisk first hangs up the channels using the module, which end
    // their sessions cleanly (queued commands cancelled, AsyncAGIEnd). The module goes only
    // once no thread is left in its code: if the channel thread is still in it at that
    // moment the unload is refused ("Firm unload failed"), else it completes.
    ami.action(&[("Action", "AGI"), ("Channel", &p.channel), ("Command", "WAIT FOR DIGIT 3000"), ("CommandID", "w")]);
    ami.action(&[("Action", "AGI"), ("Channel", &p.channel), ("Command", "NOOP"), ("CommandID", "queued")]);
    ast.cli("module unload -f res_agi_rs.so");
    let q = ami.wait_event(TIMEOUT, |m| m.is_event("AsyncAGIExec") && m.get("CommandId") == Some("queued"));
    assert_eq!(q.get("Cancelled"), Some("hangup"));
    ami.wait_event(TIMEOUT, |m| m.is_event("AsyncAGIEnd") && m.get("Uniqueid") == Some(&p.uniqueid));
    ami.wait_event(TIMEOUT, |m| m.is_event("Hangup") && m.get("Uniqueid") == Some(&p.uniqueid));
    let log = ast.wait_log("res_agi_rs.so");
    if loaded(&ast) {
        assert!(log.contains("Firm unload failed for res_agi_rs.so"), "{log}");
        assert!(log.contains("res_agi_rs: cannot unload while"), "{log}");
    } else {
        let out = ast.cli("module load res_agi_rs.so");
        assert!(out.contains("Loaded res_agi_rs.so"), "{out}");
    }
    assert!(ast.is_running());
    for round in 0..2 {
        let out = ast.cli("module unload res_agi_rs.so");
        assert!(out.contains("Unloaded res_agi_rs.so"), "round {round}: {out}");
        assert!(!loaded(&ast));
        let r = ami.action(&[("Action", "AGI"), ("Channel", "x"), ("Command", "NOOP")]);
        assert!(r.get("Message").unwrap_or("").contains("Invalid/unknown command"), "{r:?}");
        assert!(!ast.cli("core show applications like AGI").contains("AGI:"), "app still registered");
        let out = ast.cli("module load res_agi_rs.so");
        assert!(out.contains("Loaded res_agi_rs.so"), "round {round}: {out}");
        assert!(loaded(&ast));
        let p = park(&ami, "park", "again");
        assert_eq!(agi_result(&ami, &p, "NOOP"), "200 result=0\n");
        assert_eq!(agi_result(&ami, &p, "HANGUP"), "200 result=1\n");
        ami.wait_event(TIMEOUT, |m| m.is_event("Hangup") && m.get("Uniqueid") == Some(&p.uniqueid));
    }
    assert!(ast.is_running());
}

#[test]
fn reload_works_while_threads_that_used_the_module_live_on() {
    // A thread that ran our code (here the AMI session thread that queued commands, which
    // lives on) must hold nothing that pins the module: unload really unloads and load
    // really loads again. A channel that ran Async AGI keeps its queue (as stock), and with
    // it the module, until it hangs up.
    let ast = Asterisk::start(Flavour::Ours);
    let ami = ast.ami();
    let p = park(&ami, "park", "");
    for i in 0..20 {
        ami.send(&[("Action", "AGI"), ("Channel", &p.channel), ("Command", "NOOP"), ("CommandID", &format!("n{i}"))]);
    }
    for i in 0..20 {
        ami.wait_event(TIMEOUT, |m| m.is_event("AsyncAGIExec") && m.get("CommandId") == Some(&format!("n{i}")));
    }
    ami.action(&[("Action", "Redirect"), ("Channel", &p.channel), ("Context", "agi"), ("Exten", "redirected"), ("Priority", "1")]);
    ami.wait_event(TIMEOUT, |m| m.get("UserEvent") == Some("Redirected"));
    let out = ast.cli("module unload res_agi_rs.so");
    assert!(!out.contains("Unloaded res_agi_rs.so"), "the redirected call keeps its queue: {out}");
    ami.action(&[("Action", "Hangup"), ("Channel", &p.channel)]);
    ami.wait_event(TIMEOUT, |m| m.is_event("Hangup") && m.get("Uniqueid") == Some(&p.uniqueid));
    let deadline = std::time::Instant::now() + TIMEOUT;
    let out = loop {
        let out = ast.cli("module unload res_agi_rs.so");
        if out.contains("Unloaded res_agi_rs.so") || std::time::Instant::now() > deadline {
            break out;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    };
    assert!(out.contains("Unloaded res_agi_rs.so"), "{out}");
    let out = ast.cli("module load res_agi_rs.so");
    assert!(out.contains("Loaded res_agi_rs.so"), "{out}\n{}", ast.log());
    let q = park(&ami, "park", "after-reload");
    assert_eq!(agi_result(&ami, &q, "NOOP"), "200 result=0\n");
}

fn rss_kb(ast: &Asterisk) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{}/status", ast.pid())).expect("Asterisk's /proc status");
    status.lines().find_map(|l| l.strip_prefix("VmRSS:")).and_then(|v| v.split_whitespace().next()?.parse().ok()).expect("VmRSS")
}

/// An unload leaves what malloc keeps free to malloc (the calls' memory, once they are gone).
/// It used to hand it back with malloc_trim(0), which walks every arena under its lock and
/// hands back what any module freed: a stall of 258 ms after 5,000 calls of another module
/// (issue 18; tests/hardening.rs, docs/reliability.md).
#[test]
fn unload_leaves_free_memory_to_malloc() {
    let ast = Asterisk::start(Flavour::Ours);
    let ami = ast.ami();
    let n = 300;
    park_many(&ami, "trim", n);
    ami.send(&[("Action", "Hangup"), ("Channel", "/^Local\\//")]);
    wait_no_channels(&ast, std::time::Duration::from_secs(60));
    std::thread::sleep(std::time::Duration::from_millis(1000));
    let free = show_memory(&ast).expect("agi show memory").malloc_free;
    let before = rss_kb(&ast);
    let out = ast.cli("module unload res_agi_rs.so");
    assert!(out.contains("Unloaded res_agi_rs.so"), "{out}");
    let after = rss_kb(&ast);
    eprintln!("{n} calls gone, malloc kept {} KB free; RSS {before} KB before the unload, {after} KB after", free / 1024);
    assert!(free > 2 << 20, "the calls left little free memory to hand back ({free} bytes): the test proves nothing");
    assert!(after + 2048 >= before, "the unload trimmed malloc's free memory: RSS {before} KB -> {after} KB with {} KB free in malloc", free / 1024);
    let out = ast.cli("module load res_agi_rs.so");
    assert!(out.contains("Loaded res_agi_rs.so"), "{out}");
    let p = park(&ami, "park", "");
    assert_eq!(agi_result(&ami, &p, "NOOP"), "200 result=0\n");
}
