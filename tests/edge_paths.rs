//! The rare paths out of a session and out of the module (issue #7): a panic anywhere in the
//! session, the manager action or a CLI handler; a masquerade that moves the queue to
//! another channel; another module's command unloading under us; a declined load.
//! Each ends with Asterisk alive and every command answered.
mod common;
use common::ami::decode;
use common::*;
use std::time::{Duration, Instant};

fn alive(ast: &mut Asterisk) {
    assert!(ast.is_running(), "Asterisk died; log:\n{}", ast.log());
    assert!(ast.cli("core show uptime").contains("System uptime"));
}

#[test]
fn a_panic_in_the_session_loop_cancels_what_it_held_and_leaves_cleanly() {
    let mut ast = Asterisk::start_with_env(Flavour::Ours, &[("RES_AGI_RS_FAILPOINTS", "1")]);
    let ami = ast.ami();
    let p = park(&ami, "park", "");
    let send = |cmd: &str, id: &str| {
        let r = ami.action(&[("Action", "AGI"), ("Channel", &p.channel), ("Command", cmd), ("CommandID", id)]);
        assert_eq!(r.get("Response"), Some("Success"), "{r:?}");
    };
    send("WAIT FOR DIGIT 300", "w");
    send("_TEST PANIC SESSION", "boom");
    send("NOOP", "after");
    let w = ami.wait_event(TIMEOUT, |m| m.is_event("AsyncAGIExec") && m.get("CommandId") == Some("w"));
    assert_eq!(w.get("Cancelled"), None);
    // The command being run when the loop panicked, and the one queued behind it: each
    // gets its one AsyncAGIExec, an explicit cancellation.
    for id in ["boom", "after"] {
        let c = ami.wait_event(TIMEOUT, |m| m.is_event("AsyncAGIExec") && m.get("CommandId") == Some(id));
        assert_eq!(c.get("Cancelled"), Some("failure"), "{c:?}");
        assert_eq!(decode(c.get("Result").unwrap()), "511 Command cancelled: channel left Async AGI (failure)\n");
    }
    ami.wait_event(TIMEOUT, |m| m.is_event("AsyncAGIEnd") && m.get("Uniqueid") == Some(&p.uniqueid));
    let after = ami.wait_event(TIMEOUT, |m| m.get("UserEvent") == Some("AfterAGI"));
    assert_eq!(after.get("Status"), Some("FAILURE"));
    ast.wait_log("res_agi_rs: panic in Async AGI session: failpoint _TEST PANIC SESSION");
    // The dialplan goes on to the next AGI(agi:async), which starts afresh and works.
    ami.wait_event(TIMEOUT, |m| m.is_event("AsyncAGIStart") && m.get("Uniqueid") == Some(&p.uniqueid));
    assert_eq!(agi_result(&ami, &p, "NOOP"), "200 result=0\n");
    alive(&mut ast);
}

#[test]
fn a_panic_in_the_manager_action_answers_an_error_with_the_action_id() {
    let mut ast = Asterisk::start_with_env(Flavour::Ours, &[("RES_AGI_RS_FAILPOINTS", "1")]);
    let ami = ast.ami();
    let p = park(&ami, "park", "");
    let r = ami.action(&[("Action", "AGI"), ("Channel", &p.channel), ("Command", "_TEST PANIC ACTION"), ("ActionID", "boom-1")]);
    assert_eq!(r.get("Response"), Some("Error"), "{r:?}");
    assert_eq!(r.get("ActionID"), Some("boom-1"));
    assert_eq!(r.get("Message"), Some("Internal error in res_agi_rs: the action failed (see the Asterisk log)"));
    ast.wait_log("res_agi_rs: panic in manager action AGI: failpoint _TEST PANIC ACTION");
    assert_eq!(agi_result(&ami, &p, "NOOP"), "200 result=0\n", "the next action works");
    alive(&mut ast);
}

#[test]
fn a_panic_in_a_cli_handler_is_a_visible_failure() {
    let mut ast = Asterisk::start_with_env(Flavour::Ours, &[("RES_AGI_RS_FAILPOINTS", "1")]);
    let ami = ast.ami();
    let p = park(&ami, "park", "");
    let out = ast.cli(&format!("agi exec {} \"_TEST PANIC CLI\"", p.channel));
    assert!(out.contains("res_agi_rs: internal error in CLI agi exec (see the Asterisk log)"), "{out}");
    ast.wait_log("res_agi_rs: panic in CLI agi exec: failpoint _TEST PANIC CLI");
    assert_eq!(ast.cli(&format!("agi exec {} NOOP clid", p.channel)), "");
    let m = ami.wait_event(TIMEOUT, |m| m.is_event("AsyncAGIExec") && m.get("CommandId") == Some("clid"));
    assert_eq!(decode(m.get("Result").unwrap()), "200 result=0\n");
    alive(&mut ast);
}

/// `agi:async` channels in `core show channels concise`.
fn channel_count(ast: &Asterisk) -> usize {
    ast.cli("core show channels concise").lines().filter(|l| !l.trim().is_empty()).count()
}

fn wait_no_channels(ast: &Asterisk) {
    let deadline = Instant::now() + TIMEOUT;
    while channel_count(ast) > 0 {
        assert!(Instant::now() < deadline, "channels left:\n{}", ast.cli("core show channels concise"));
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn a_masquerade_moves_the_queue_and_unload_waits_for_it() {
    let mut ast = Asterisk::start(Flavour::Ours);
    let ami = ast.ami();
    // A ringing call: its Dial's outgoing channel is the pickup target.
    let r = ami.action(&[
        ("Action", "Originate"),
        ("Channel", "Local/ringer@agi"),
        ("Application", "Wait"),
        ("Data", "3600"),
        ("Async", "true"),
    ]);
    assert_eq!(r.get("Response"), Some("Success"), "{r:?}");
    // (The first DialBegin is the Originate's own; the Dial's carries a Channel.)
    let dial = ami.wait_event(TIMEOUT, |m| m.is_event("DialBegin") && m.get("Channel").is_some());
    let target = dial.get("DestChannel").unwrap().to_string();
    let p = park(&ami, "park", "");
    // The parked call picks the ringing one up: Asterisk masquerades the parked channel into
    // the target, and with it our datastore (the Async AGI queue).
    let picked = agi(&ami, &p, &format!("EXEC PickupChan {target}"), "pick");
    assert!(picked.get("Result").is_some());
    // The masquerade swapped identities: the thread that ran Async AGI now runs a channel
    // named as the target was, which hangs up; the parked call's name and uniqueid live on
    // in the target's place, bridged to the caller that was ringing.
    let end = ami.wait_event(TIMEOUT, |m| m.is_event("AsyncAGIEnd"));
    assert_eq!(end.get("Channel"), Some(target.as_str()), "{end:?}");
    // That channel has the parked call's queue: a command is accepted and waits there.
    let r = ami.action(&[("Action", "AGI"), ("Channel", &p.channel), ("Command", "NOOP"), ("CommandID", "moved")]);
    assert_eq!(r.get("Message"), Some("Added AGI command to queue"), "{r:?}");
    // Our datastore lives on a channel that is not in Async AGI: unload must be refused (its
    // destroy callback is our code). Asterisk refuses a soft unload itself (the datastore
    // holds the module); a forced one reaches our unload, which refuses.
    for cmd in ["module unload res_agi_rs.so", "module unload -f res_agi_rs.so"] {
        let out = ast.cli(cmd);
        assert!(out.contains("Unable to unload resource") || out.contains("failed"), "{cmd} must be refused: {out}");
    }
    ast.wait_log("channel(s) keep an Async AGI queue");
    assert!(ast.cli("module show like res_agi_rs").contains("1 modules loaded"));
    let r = ami.action(&[("Action", "AGI"), ("Channel", &p.channel), ("Command", "NOOP"), ("CommandID", "moved2")]);
    assert_eq!(r.get("Message"), Some("Added AGI command to queue"), "still working: {r:?}");
    // When every channel is gone, the waiting command got its cancellation and unload works.
    ast.cli("channel request hangup all");
    for id in ["moved", "moved2"] {
        let c = ami.wait_event(TIMEOUT, |m| m.is_event("AsyncAGIExec") && m.get("CommandId") == Some(id));
        assert_eq!(c.get("Cancelled"), Some("hangup"), "{c:?}");
    }
    wait_no_channels(&ast);
    let deadline = Instant::now() + TIMEOUT;
    loop {
        let out = ast.cli("module unload res_agi_rs.so");
        if out.contains("Unloaded res_agi_rs.so") || ast.cli("module show like res_agi_rs").contains("0 modules loaded") {
            break;
        }
        assert!(Instant::now() < deadline, "module never unloaded: {out}");
        std::thread::sleep(Duration::from_millis(100));
    }
    alive(&mut ast);
}

#[test]
fn another_modules_command_keeps_its_module_while_it_runs_and_while_listed() {
    let mut ast = Asterisk::start(Flavour::Ours);
    // Listing while app_stack (GOSUB's module) comes and goes: the listing reads each
    // command's words and docs under the registry lock, so never from a freed descriptor.
    let lister = {
        let (root, conf) = (sandbox_root(), format!("/srv/res_agi_rs/{}/etc/asterisk.conf", ast.name));
        std::thread::spawn(move || {
            for _ in 0..40 {
                let out = std::process::Command::new("chroot")
                    .arg(&root)
                    .args([common::asterisk_bin().as_str(), "-C", &conf, "-rx", "agi show commands"])
                    .output()
                    .unwrap();
                let text = String::from_utf8_lossy(&out.stdout);
                assert!(text.contains("answer"), "listing broken: {text}");
            }
        })
    };
    for _ in 0..15 {
        let out = ast.cli("module unload app_stack.so");
        assert!(out.contains("Unloaded app_stack.so"), "{out}");
        let out = ast.cli("module load app_stack.so");
        assert!(out.contains("Loaded app_stack.so"), "{out}");
    }
    lister.join().expect("lister");
    alive(&mut ast);

    // GOSUB runs a one-second subroutine: while it runs we hold app_stack (one use on top
    // of the one its own frame takes), so it cannot be unloaded under the running handler.
    let ami = ast.ami();
    let p = park(&ami, "park", "");
    let r = ami.action(&[("Action", "AGI"), ("Channel", &p.channel), ("Command", "GOSUB subs slow 1"), ("CommandID", "g")]);
    assert_eq!(r.get("Response"), Some("Success"));
    ami.wait_event(TIMEOUT, |m| m.is_event("AGIExecStart") && m.get("Command") == Some("GOSUB subs slow 1"));
    std::thread::sleep(Duration::from_millis(200));
    let out = ast.cli("module unload app_stack.so");
    assert!(!out.contains("Unloaded app_stack.so"), "app_stack unloaded under a running GOSUB: {out}");
    ast.wait_log("Soft unload failed, 'app_stack.so' has use count 2");
    let g = ami.wait_event(TIMEOUT, |m| m.is_event("AsyncAGIExec") && m.get("CommandId") == Some("g"));
    assert_eq!(decode(g.get("Result").unwrap()), "100 result=0 Trying...\n200 result=0 Gosub complete\n");
    // Our hold is released with the command: only app_stack's own frame remains.
    assert!(ast.cli("module show like app_stack").contains(" 1 "), "{}", ast.cli("module show like app_stack"));
    alive(&mut ast);
}

#[test]
fn a_load_declined_beside_stock_leaves_nothing_behind() {
    let mut ast = Asterisk::start(Flavour::StockPlusOurs);
    let out = ast.cli("module load res_agi_rs.so");
    assert!(!out.contains("Loaded res_agi_rs.so") || out.contains("declined") || out.contains("Unable"), "{out}");
    ast.wait_log("declining to load");
    ast.cli("module unload res_agi_rs.so");
    ast.wait_log("Unloading module 'res_agi_rs.so' that previously declined to load");
    // Stock's CLI, API (app_stack's GOSUB) and Async AGI all still work.
    let list = ast.cli("agi show commands");
    assert!(list.contains("gosub") && list.contains("answer"), "{list}");
    assert!(ast.cli("agi show commands topic gosub").contains("Info about AGI 'gosub'"));
    assert!(ast.cli("agi set debug on").contains("AGI Debugging Enabled"));
    assert!(ast.cli("agi set debug off").contains("AGI Debugging Disabled"));
    // (Stock's `agi dump html` dies on an Asterisk without XML docs: see tests/cli.rs.)
    if target_has_xml_docs() {
        assert!(ast.cli("agi dump html /tmp/agi-declined.html").contains("AGI HTML commands dumped"));
    }
    let ami = ast.ami();
    let p = park(&ami, "park", "");
    assert_eq!(ast.cli(&format!("agi exec {} NOOP viacli", p.channel)), "");
    let m = ami.wait_event(TIMEOUT, |m| m.is_event("AsyncAGIExec") && m.get("CommandId") == Some("viacli"));
    assert_eq!(decode(m.get("Result").unwrap()), "200 result=0\n");
    assert_eq!(agi_result(&ami, &p, "GOSUB subs greet 1 hello"), "100 result=0 Trying...\n200 result=0 Gosub complete\n");
    alive(&mut ast);
    assert!(ast.cli("module show like res_agi").contains("res_agi.so"));
}
