//! A panic in our code never reaches Asterisk: the guard catches it, logs it through
//! Asterisk's logger with its location, and the command ends with an explicit error while
//! the call stays parked and Asterisk keeps running.
mod common;
use common::*;

#[test]
fn a_panicking_command_is_caught_logged_and_answered() {
    let mut ast = Asterisk::start_with_env(Flavour::Ours, &[("RES_AGI_RS_FAILPOINTS", "1")]);
    let ami = ast.ami();
    let p = park(&ami, "park", "");
    assert_eq!(
        agi_result(&ami, &p, "_TEST PANIC"),
        "500 Internal error in res_agi_rs: the command failed (see the Asterisk log)\n"
    );
    let end = ami.wait_event(TIMEOUT, |m| m.is_event("AGIExecEnd") && m.get("Command") == Some("_TEST PANIC"));
    assert_eq!(end.get("ResultCode"), Some("-1"));
    ast.wait_log("res_agi_rs: panic in AGI command '_TEST PANIC': failpoint _TEST PANIC at src/commands/test_panic.rs:");
    assert_eq!(agi_result(&ami, &p, "NOOP"), "200 result=0\n", "still parked");
    assert!(ast.is_running());
    assert!(ast.cli("core show uptime").contains("System uptime"));
}

#[test]
fn the_failpoint_does_not_exist_by_default() {
    let ast = Asterisk::start(Flavour::Ours);
    let ami = ast.ami();
    let p = park(&ami, "park", "");
    assert_eq!(agi_result(&ami, &p, "_TEST PANIC"), "510 Invalid or unknown command\n");
}
