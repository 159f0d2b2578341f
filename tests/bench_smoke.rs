//! A short run of the benchmark (`bench --smoke`) so it never rots: both flavours boot, every
//! measure runs, and the table comes out. No timing is asserted: the benchmark is the measure.
use std::process::Command;

// The tool is built from the tools crate (tools/Cargo.toml) by common::tool_binary.
mod common;

#[test]
fn bench_smoke_run_prints_the_table() {
    let out = Command::new(common::tool_binary("bench")).arg("--smoke").output().expect("run the bench binary");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "bench --smoke failed:\n{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    let svg = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/target/benchmarks-smoke.svg")).expect("the smoke picture");
    for part in ["<svg", "NOOP round trip", "ours vs the floors", "Setvar → VarSet", "calls × 4 in flight", "CPU per 1,000 NOOPs", "idle CPU"] {
        assert!(svg.contains(part), "picture incomplete: no {part:?}");
    }
    for row in [
        "NOOP round trip p50",
        "pipelined NOOPs/s",
        "idle CPU",
        "RSS per parked call",
        "time to park",
        "AMI floor",
        "floor: Setvar → VarSet p50",
        "NOOP p50 ÷ Setvar floor",
        "router ceiling",
        "NOOPs/s, 10 calls × 4 in flight",
        "Issue 19's targets",
        "one NOOP on each: 50/50 results",
        "Real SIP calls with media",
        "Asterisk CPU per parked SIP call",
        "SIP calls with media",
        "Where the two cores saturate",
        "FastAGI over TLS (issue 21)",
        "Asterisk CPU per call (ms)",
    ] {
        assert!(stdout.contains(row), "missing {row:?} in:\n{stdout}");
    }
    // Issue 28: ARI side by side, and where the tail comes from (perf sched), on Debian's
    // package (a source build of the sandbox has no res_ari: the bench says so instead).
    let ari_rows: &[&str] = if common::target() == "deb" {
        &[
            "ARI side by side (issue 28)",
            "SET VARIABLE round trip p99.9 (ms), 1 parked",
            "stop a playing prompt p50",
            "one core busy (a busy loop beside)",
            "Where the tail comes from (issue 28, `bench --sched`)",
            "the slowest 1 % waited longest on",
            "RS_PARKED_POLICY=other (parked threads SCHED_OTHER)",
        ]
    } else {
        &["ARI rows: not on target"]
    };
    for row in ari_rows {
        assert!(stdout.contains(row), "missing {row:?} in:\n{stdout}");
    }
}
