//! The module's in-process unit tests, registered with Asterisk's own test framework under
//! `/res/agi_rs/` (src/selftest.rs): parser, encoding, environment, queue, ownership. They
//! run inside the sandbox Asterisk with `test execute category /res/agi_rs/`; nothing may
//! fail, and they go with the module on unload.
//!
//! Only an Asterisk built with TEST_FRAMEWORK has that framework (Debian's package, dev-mode
//! builds; not a default configure): there the tests must run and pass. Where the target has
//! none, the module is built without them (build.rs) and this test checks that instead: no
//! test CLI, and the module loads and answers. It prints which case ran on which target.
mod common;
use common::{target, target_has_test_framework, Asterisk, Flavour};

#[test]
fn asterisk_test_framework_runs_our_tests() {
    let ast = Asterisk::start(Flavour::Ours);
    assert!(ast.cli("module show like res_agi_rs.so").contains("1 modules loaded"));
    if !target_has_test_framework() {
        // A default build: Asterisk has no `test` CLI at all, and our module loaded without
        // the tests (it would not link otherwise: __ast_test_status_update is missing).
        let out = ast.cli_raw("test show registered category /res/agi_rs/").unwrap_or_default();
        assert!(!out.contains("parser"), "tests registered without TEST_FRAMEWORK:\n{out}");
        assert!(ast.cli("agi show commands").contains("noop"), "the module answers");
        record("not built: this Asterisk has no TEST_FRAMEWORK (checked: loads without them)");
        return;
    }
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
    record("5 of 5 passed inside Asterisk");
}

/// Says which case ran on which target: on stderr, and in target/versions/selftest-TARGET.txt
/// for the table `make test-versions` writes.
fn record(what: &str) {
    eprintln!("asterisk_selftest: target {}: {what}", target());
    let dir = common::project_dir().join("target/versions");
    let _ = std::fs::create_dir_all(&dir);
    std::fs::write(dir.join(format!("selftest-{}.txt", target())), what).expect("write the selftest record");
}
