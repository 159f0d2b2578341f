//! The 2-minute version of `make soak`: 500 parked calls with a steady mix of commands, DTMF,
//! departures, breaks and redirects; every command answered exactly once, RSS flat and p99
//! stable (see tools/soak.rs for the rules), and the CSV and SVG written (under target/).
use std::process::Command;

// The tool is built from the tools crate (tools/Cargo.toml) by common::tool_binary.
mod common;

#[test]
fn soak_two_minutes_passes() {
    let out = Command::new(common::tool_binary("soak")).arg("2").output().expect("run the soak binary");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "soak 2 failed:\n{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains(", 0 missing, 0 duplicated;"), "{stdout}");
    assert_eq!(stdout.lines().last(), Some("PASS"), "{stdout}");
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target");
    let svg = std::fs::read_to_string(dir.join("soak.svg")).expect("soak.svg written");
    assert!(svg.contains("<svg") && svg.contains("polyline"), "the plot has its lines");
    assert!(std::fs::read_to_string(dir.join("soak.csv")).unwrap().lines().count() >= 10, "a sample every 10 s");
}
