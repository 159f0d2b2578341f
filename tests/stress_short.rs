//! The short version of `make stress` (`stress --short`: 50 calls per storm, 12 unload
//! cycles): every command ends in exactly one AsyncAGIExec under each storm, no channel is
//! left, the CLI answers within 1 s, the module works after every unload/load.
use std::process::Command;

// The tool is built from the tools crate (tools/Cargo.toml) by common::tool_binary.
mod common;

#[test]
fn stress_short_passes() {
    let out = Command::new(common::tool_binary("stress")).arg("--short").output().expect("run the stress binary");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "stress --short failed:\n{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    for storm in ["Hangup", "Redirect", "Break", "Mix"] {
        assert!(stdout.contains(&format!("storm {storm}: 50 calls")), "no {storm} storm in:\n{stdout}");
    }
    assert!(stdout.contains("missing [], duplicated []"), "{stdout}");
    for storm in ["Hangup", "Redirect"] {
        assert!(stdout.contains(&format!("FastAGI storm {storm} (Ours): 50 calls")), "no FastAGI {storm} storm in:\n{stdout}");
        assert!(stdout.contains(&format!("script storm {storm} (Ours): 25 calls")), "no script {storm} storm in:\n{stdout}");
    }
    assert!(stdout.lines().last() == Some("PASS"), "{stdout}");
}
