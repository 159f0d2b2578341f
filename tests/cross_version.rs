//! A module built against one Asterisk release and loaded into another is refused, never
//! run. Asterisk refuses it itself when the build-options checksums differ (Debian's build
//! has TEST_FRAMEWORK, a default build has not); where they agree (two default builds of
//! different majors), Asterisk's loader lets it in and only our release check (src/host.rs
//! `mismatch`) stands between it and the wrong Asterisk: it must decline with a message that
//! says what to rebuild. Each test first checks that premise (the checksums as the module
//! carries them and as the target's headers say). Asterisk stays up either way.
//!
//! Needs the source builds of 20.20.1 and 23.4.1 (`make test` builds them first: CI_TAGS);
//! `make test-versions` (RS_ALL_TARGETS) also builds 22.10.1, whose build then declines in both.
mod common;
use common::{module_dir_for, module_path_for, sandbox_root, version_of, Asterisk, Flavour};
use std::process::Command;

/// AST_BUILDOPT_SUM of the target's headers: what a module built against them carries and
/// what Asterisk's loader compares with its own.
fn buildopt_sum(target: &str) -> String {
    let inc = Command::new(common::project_dir().join("scripts/sandbox.sh")).arg("include-dir").env("RS_TARGET", target).output().expect("sandbox.sh include-dir");
    let dir = String::from_utf8_lossy(&inc.stdout).trim().to_string();
    let opts = std::fs::read_to_string(format!("{dir}/asterisk/buildopts.h")).unwrap_or_else(|e| panic!("{dir}/asterisk/buildopts.h of {target}: {e}"));
    opts.lines()
        .find_map(|l| l.strip_prefix("#define AST_BUILDOPT_SUM "))
        .map(|v| v.trim().trim_matches('"').to_string())
        .filter(|v| v.len() == 32)
        .unwrap_or_else(|| panic!("no AST_BUILDOPT_SUM in {dir}/asterisk/buildopts.h of {target}"))
}

/// Checks that `from`'s build of our module carries `from`'s build-options checksum, and
/// whether it equals `into`'s.
fn same_buildopts(from: &str, into: &str) -> bool {
    let (sum_from, sum_into) = (buildopt_sum(from), buildopt_sum(into));
    let module = module_path_for(from);
    let bytes = std::fs::read(&module).unwrap_or_else(|e| panic!("{}: {e} (`make module RS_TARGET={from}`; make test builds it)", module.display()));
    assert!(bytes.windows(32).any(|w| w == sum_from.as_bytes()), "{} does not carry {from}'s build-options checksum {sum_from}", module.display());
    sum_from == sum_into
}

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

/// `from`'s build into `into`, two default builds of different majors: the checksums agree,
/// so Asterisk's loader runs our load function, and our release check declines.
fn declines(from: &str, into: &str) {
    let (v_from, v_into) = (version_of(from), version_of(into));
    assert_ne!(v_from.split('.').next(), v_into.split('.').next(), "{from} and {into} are the same major: this proves nothing");
    assert!(
        same_buildopts(from, into),
        "premise: {from} ({}) and {into} ({}) have different build-options checksums, so Asterisk's loader, not ours, would refuse the module",
        buildopt_sum(from),
        buildopt_sum(into)
    );
    let (out, log) = load_foreign(from, into);
    // Asterisk's loader let it in: no checksum complaint, no dlopen error.
    assert!(!log.contains("compile-time options") && !log.contains("Error loading module"), "Asterisk's loader refused it, not ours:\n{out}\n{log}");
    let line = log.lines().find(|l| l.contains("res_agi_rs.so was built against the headers of Asterisk")).unwrap_or_else(|| panic!("no decline from our release check:\n{out}\n{log}"));
    assert!(
        line.contains(&format!("built against the headers of Asterisk {v_from}, but this is Asterisk {v_into}"))
            && line.contains("make module ASTERISK_INCLUDE_DIR=")
            && line.contains("declining to load"),
        "{line}"
    );
    eprintln!("cross_version: {from} into {into}: {}", &line[line.find("res_agi_rs.so was built").unwrap_or(0)..]);
}

/// The builds of 22.10.1 (from source, default configure) this run has: required under
/// `make test-versions` (RS_ALL_TARGETS), which builds every target first.
fn with_22(mut from: Vec<&'static str>) -> Vec<&'static str> {
    if std::env::var("RS_ALL_TARGETS").is_ok() || module_path_for("22.10.1").exists() {
        from.push("22.10.1");
    }
    from
}

#[test]
fn a_build_for_20_is_refused_by_debians_22_on_its_checksum() {
    // Premise: Debian's build options (TEST_FRAMEWORK) are not a default build's.
    assert!(!same_buildopts("20.20.1", "deb"), "20.20.1's and Debian's build-options checksums agree: {}", buildopt_sum("deb"));
    let (out, log) = load_foreign("20.20.1", "deb");
    assert!(log.contains("was not compiled with the same compile-time options as this version of Asterisk"), "{out}\n{log}");
    assert!(log.contains("will not be initialized as it may cause instability"), "{log}");
    // Refused before our code ran.
    assert!(!log.contains("declining to load"), "{log}");
    eprintln!("cross_version: 20.20.1 into Debian's {}: {}", version_of("deb"), log.lines().find(|l| l.contains("compile-time")).unwrap_or(""));
}

#[test]
fn builds_for_older_majors_decline_in_23_with_what_to_rebuild() {
    for from in with_22(vec!["20.20.1"]) {
        declines(from, "23.4.1");
    }
}

#[test]
fn builds_for_newer_majors_decline_in_20_with_what_to_rebuild() {
    for from in with_22(vec!["23.4.1"]) {
        declines(from, "20.20.1");
    }
}

/// Debian's build (TEST_FRAMEWORK) in a default build of 23: dlopen fails already, on the test
/// framework's symbols, which that Asterisk does not have (Asterisk's loader; our code never runs).
#[test]
fn debians_build_fails_to_link_in_a_default_build_of_23() {
    assert!(!same_buildopts("deb", "23.4.1"), "Debian's and 23.4.1's build-options checksums agree");
    let (_, log) = load_foreign("deb", "23.4.1");
    assert!(log.contains("Error loading module") && log.contains("undefined symbol: __ast_test_status_update"), "{log}");
    assert!(!log.contains("declining to load"), "{log}");
}
