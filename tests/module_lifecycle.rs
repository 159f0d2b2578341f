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
    // their sessions cleanly (queued commands cancelled, AsyncAGIEnd); the module refuses
    // to go while their threads are still in it, and stays loaded and working.
    ami.action(&[("Action", "AGI"), ("Channel", &p.channel), ("Command", "WAIT FOR DIGIT 3000"), ("CommandID", "w")]);
    ami.action(&[("Action", "AGI"), ("Channel", &p.channel), ("Command", "NOOP"), ("CommandID", "queued")]);
    let out = ast.cli("module unload -f res_agi_rs.so");
    assert!(loaded(&ast), "forced unload went through with a parked channel: {out}");
    assert!(ast.log().contains("cannot unload while 1 channel(s) are in Async AGI"));
    let q = ami.wait_event(TIMEOUT, |m| m.is_event("AsyncAGIExec") && m.get("CommandId") == Some("queued"));
    assert_eq!(q.get("Cancelled"), Some("hangup"));
    ami.wait_event(TIMEOUT, |m| m.is_event("AsyncAGIEnd") && m.get("Uniqueid") == Some(&p.uniqueid));
    ami.wait_event(TIMEOUT, |m| m.is_event("Hangup") && m.get("Uniqueid") == Some(&p.uniqueid));
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
