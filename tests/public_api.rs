//! res_agi's public API (ast_agi_register & co., provided through Asterisk's optional API):
//! app_stack registers its GOSUB command through it, and GOSUB works through our module.
mod common;
use common::*;

#[test]
fn gosub_registered_by_app_stack_runs_a_subroutine_and_returns() {
    let ast = Asterisk::start(Flavour::Ours);
    let ami = ast.ami();
    let p = park(&ami, "park", "");
    assert_eq!(agi_result(&ami, &p, "GOSUB subs greet 1 hello"), "100 result=0 Trying...\n200 result=0 Gosub complete\n");
    assert_eq!(agi_result(&ami, &p, "GET VARIABLE GOSUBRAN"), "200 result=1 (hello)\n");
    assert_eq!(agi_result(&ami, &p, "GET VARIABLE GOSUB_RETVAL"), "200 result=1 (fine)\n");
    // Its usage comes from the documentation app_stack ships (none without XML docs).
    let usage = agi_result(&ami, &p, "gosub");
    assert_usage(&usage);
    if target_has_xml_docs() {
        assert!(usage.contains("Cause the channel to execute the specified dialplan subroutine"), "{usage}");
    }
    // A failing GOSUB reports its result; the call stays parked (stock would leave).
    assert_eq!(agi_result(&ami, &p, "GOSUB subs nowhere 1"), "200 result=-1 Gosub label not found\n");
    assert_eq!(agi_result(&ami, &p, "NOOP"), "200 result=0\n");
}

#[test]
fn commands_go_away_with_the_module_that_registered_them() {
    let ast = Asterisk::start(Flavour::Ours);
    let out = ast.cli("module unload app_stack.so");
    assert!(out.contains("Unloaded app_stack.so"), "{out}");
    let ami = ast.ami();
    let p = park(&ami, "park", "");
    assert_eq!(agi_result(&ami, &p, "GOSUB subs greet 1 x"), "510 Invalid or unknown command\n");
    let out = ast.cli("module load app_stack.so");
    assert!(out.contains("Loaded app_stack.so"), "{out}");
    assert_eq!(agi_result(&ami, &p, "GOSUB subs greet 1 again"), "100 result=0 Trying...\n200 result=0 Gosub complete\n");
}
