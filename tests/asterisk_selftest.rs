//! The module's in-process unit tests, registered with Asterisk's own test framework under
//! `/res/agi_rs/` (src/selftest.rs): parser, encoding, environment, queue, ownership. They
//! run inside the sandbox Asterisk with `test execute category /res/agi_rs/`; nothing may
//! fail, and they go with the module on unload.
mod common;
use common::{Asterisk, Flavour};

#[test]
fn asterisk_test_framework_runs_our_tests() {
    let ast = Asterisk::start(Flavour::Ours);
    let registered = ast.cli("test show registered category /res/agi_rs/");
    for name in ["parser", "encoding", "environment", "queue", "ownership"] {
        assert!(registered.contains(name), "{name} not registered:\n{registered}");
    }
    let run = ast.cli("test execute category /res/agi_rs/");
    assert!(run.contains("5 Test(s) Executed") && run.contains("5 Passed") && run.contains("0 Failed"), "{run}");
    let failed = ast.cli("test show results failed");
    assert!(!failed.contains("/res/agi_rs/"), "failed:\n{failed}");
    let passed = ast.cli("test show results passed");
    assert_eq!(passed.matches("/res/agi_rs/").count(), 5, "passed:\n{passed}");
    // Unregistered with the module.
    ast.cli("module unload res_agi_rs.so");
    assert!(!ast.cli("test show registered category /res/agi_rs/").contains("parser"), "still registered after unload");
    ast.cli("module load res_agi_rs.so");
    assert!(ast.cli("test show registered category /res/agi_rs/").contains("parser"));
}
