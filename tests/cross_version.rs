//! A module built against one Asterisk release and loaded into another is refused, never
//! run: Asterisk refuses it itself when the build-options checksums differ (Debian's build
//! has TEST_FRAMEWORK, a default build has not); where they agree (two default builds of
//! different releases), our load declines with a message that says what to rebuild
//! (src/host.rs). Asterisk stays up either way. Needs the source builds of 20.20.1 and
//! 23.4.1 (`make test` builds them first); `make test-versions` adds 22.10.1 into 23.4.1.
mod common;
use common::{module_dir_for, module_path_for, sandbox_root, version_of, Asterisk, Flavour};

/// Loads `from`'s build of our module into a stock instance of `into` (under a name of its
/// own); returns the CLI's answer and the log lines the load wrote.
fn load_foreign(from: &str, into: &str) -> (String, String) {
    let module = module_path_for(from);
    assert!(module.exists(), "{} is missing: `make module RS_TARGET={from}` (make test builds it)", module.display());
    let ast = Asterisk::start_on(into, Flavour::Stock);
    let name = format!("res_agi_rs_from_{}_{}.so", from.replace(['.', '-'], "_"), std::process::id());
    let dest = sandbox_root().join(module_dir_for(into).trim_start_matches('/')).join(&name);
    std::fs::copy(&module, &dest).expect("copy the module into the target's module dir");
    let before = ast.log().len();
    let out = ast.cli_raw(&format!("module load {name}")).unwrap_or_default();
    std::thread::sleep(std::time::Duration::from_millis(300));
    let log = ast.log()[before..].to_string();
    let _ = std::fs::remove_file(&dest);
    // Asterisk is still up and the module is not loaded.
    assert!(ast.cli("core show uptime").contains("System uptime"));
    // Not running: absent (refused) or listed as declined ("Not Running").
    let shown = ast.cli(&format!("module show like {name}"));
    assert!(shown.contains("0 modules loaded") || shown.lines().any(|l| l.starts_with(&name) && l.contains("Not Running")), "{name} runs in {into}:\n{shown}");
    assert!(ast.cli("module show like res_agi.so").contains("1 modules loaded"), "stock res_agi still there");
    (out, log)
}

#[test]
fn a_build_for_20_is_refused_by_debians_22_on_its_checksum() {
    let (out, log) = load_foreign("20.20.1", "deb");
    assert!(log.contains("was not compiled with the same compile-time options as this version of Asterisk"), "{out}\n{log}");
    assert!(log.contains("will not be initialized as it may cause instability"), "{log}");
    eprintln!("cross_version: 20.20.1 into Debian's {}: {}", version_of("deb"), log.lines().find(|l| l.contains("compile-time")).unwrap_or(""));
}

#[test]
fn a_build_for_20_declines_in_23_with_what_to_rebuild() {
    let (out, log) = load_foreign("20.20.1", "23.4.1");
    // Same checksum (both default builds): Asterisk runs the load, and we decline.
    assert!(!log.contains("compile-time options"), "{log}");
    assert!(
        log.contains("res_agi_rs.so was built against the headers of Asterisk 20.20.1, but this is Asterisk 23.4.1")
            && log.contains("declining to load"),
        "{out}\n{log}"
    );
}

#[test]
fn a_build_for_22_declines_in_23() {
    // Built by `make test-versions` (every target); `make test` builds 20 and 23 only.
    if std::env::var("RS_ALL_TARGETS").is_err() && !module_path_for("22.10.1").exists() {
        eprintln!("cross_version: no source build of 22.10.1 here (make test-versions builds it); Debian's 22 into 23 instead");
        let (_, log) = load_foreign("deb", "23.4.1");
        // dlopen already fails: the test framework's symbols are not in a default build.
        assert!(log.contains("Error loading module") && log.contains("undefined symbol: __ast_test_status_update"), "{log}");
        return;
    }
    let (out, log) = load_foreign("22.10.1", "23.4.1");
    assert!(log.contains("built against the headers of Asterisk 22.10.1, but this is Asterisk 23.4.1") && log.contains("declining to load"), "{out}\n{log}");
}
