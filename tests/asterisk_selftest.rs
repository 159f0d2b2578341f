//! The module's in-process unit tests, registered with Asterisk's own test framework under
//! `/res/agi_rs/` (src/selftest.rs): parser, encoding, environment, queue, ownership. They
//! run inside the sandbox Asterisk with `test execute category /res/agi_rs/`; nothing may
//! fail, and they go with the module on unload.
//!
//! Only an Asterisk built with TEST_FRAMEWORK has that framework (Debian's package, dev-mode
//! builds; not a default configure): there the tests must run and pass. Where the target has
//! none, the module is built without them (build.rs) and this test checks that instead: the
//! Asterisk really has no `test` CLI (its CLI answers "No such command"), the module file
//! asks for none of the framework's symbols, and the module loads and answers. It records
//! which case ran on which target (a failure records that it failed).
mod common;
use common::{module_path, target, target_has_test_framework, Asterisk, Flavour};
use std::path::Path;

/// The test framework's functions a module with tests calls (Asterisk's test.h).
const FRAMEWORK_SYMBOLS: [&str; 3] = ["ast_test_register", "ast_test_unregister", "__ast_test_status_update"];

/// The symbols the module file takes from Asterisk (its undefined dynamic symbols).
fn undefined_symbols(module: &Path) -> Vec<String> {
    let out = std::process::Command::new("nm").args(["-D", "--undefined-only", "--format=just-symbols"]).arg(module).output().expect("run nm (binutils)");
    assert!(out.status.success(), "nm -D {}: {}", module.display(), String::from_utf8_lossy(&out.stderr));
    let symbols: Vec<String> = String::from_utf8_lossy(&out.stdout).lines().map(|l| l.trim().split('@').next().unwrap_or("").to_string()).collect();
    // Not vacuous: the module registers itself and its CLI through Asterisk.
    for needed in ["ast_module_register", "__ast_cli_register"] {
        assert!(symbols.iter().any(|s| s == needed), "nm found no {needed} in {}: {symbols:?}", module.display());
    }
    symbols
}

#[test]
fn asterisk_test_framework_runs_our_tests() {
    // Replaced below once the case has passed: a failure shows in make test-versions' table.
    write_record(&format!("FAILED (target/versions/{}.log)", target()));
    let ast = Asterisk::start(Flavour::Ours);
    assert!(ast.cli("module show like res_agi_rs.so").contains("1 modules loaded"));
    let symbols = undefined_symbols(&module_path());
    if !target_has_test_framework() {
        // A default build: Asterisk has no `test` CLI at all (no test.c commands: the CLI
        // does not know the word), and our module was built without the tests (it would not
        // load otherwise: __ast_test_status_update is missing from such an Asterisk).
        for cmd in ["core show help test", "test show registered category /res/agi_rs/"] {
            let out = ast.cli_raw(cmd).unwrap_or_else(|| panic!("{cmd}: the CLI did not answer"));
            assert!(out.contains("No such command"), "{cmd}: this Asterisk has a test CLI, yet its buildopts.h has no TEST_FRAMEWORK:\n{out}");
        }
        for sym in FRAMEWORK_SYMBOLS {
            assert!(!symbols.iter().any(|s| s == sym), "the module built for a target without TEST_FRAMEWORK calls {sym}");
        }
        assert!(ast.cli("agi show commands").contains("noop"), "the module answers");
        record("not built: this Asterisk has no TEST_FRAMEWORK (checked: no `test` CLI; the module, built without them, loads and answers)");
        return;
    }
    // The premise the other way: the module was built with its tests.
    for sym in FRAMEWORK_SYMBOLS {
        assert!(symbols.iter().any(|s| s == sym), "the module built for a TEST_FRAMEWORK target does not call {sym}: built without its tests?");
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
    write_record(what);
}

fn write_record(what: &str) {
    let dir = common::project_dir().join("target/versions");
    let _ = std::fs::create_dir_all(&dir);
    std::fs::write(dir.join(format!("selftest-{}.txt", target())), what).expect("write the selftest record");
}
