//! panoramisk (PyPI), an AMI client written for stock res_agi, drives our module unchanged.
mod common;
use common::*;
use std::process::Command;

fn run_client(flavour: Flavour) -> String {
    let ast = Asterisk::start(flavour);
    let out = Command::new("timeout")
        .args(["60", "python3"])
        .arg(project_dir().join("tests/clients/panoramisk_client.py"))
        .arg(ast.port.to_string())
        .output()
        .expect("python3 must be installed");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "panoramisk client failed against {flavour:?} (pip install panoramisk; make test does):\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

#[test]
fn panoramisk_drives_async_agi_unchanged() {
    let stdout = run_client(Flavour::Ours);
    let expected = [
        "originate=Success",
        "agi_request=async",
        "agi_arg_1=from-panoramisk",
        "channel_matches=True",
        "ack=Added AGI command to queue",
        "set=1",
        "get_id=pm-get",
        "get_code=200",
        "get_value=hello",
        "unknown=510 Invalid or unknown command",
        "missing=Channel Nobody/none does not exist.",
        "end_channel_matches=True",
    ];
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines, expected, "\nfull output:\n{stdout}");
}

#[test]
fn panoramisk_sees_the_same_as_with_stock() {
    assert_eq!(run_client(Flavour::Ours), run_client(Flavour::Stock));
}
