//! The Async AGI tutorial's clients (docs/tutorial-async-agi.md), run as a reader would run
//! them against the sandbox: Python with panoramisk (docs/examples/tutorial_panoramisk.py)
//! and Node.js with asterisk-manager (docs/examples/node/tutorial.js; `make test` runs
//! `npm ci` there first). Both must tell the same story.
mod common;
use common::{project_dir, Asterisk, Flavour};
use std::process::Command;

fn check(who: &str, out: std::process::Output) {
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{who}: {text}\n{}", String::from_utf8_lossy(&out.stderr));
    for want in ["parked: Local/park@agi-", "AGIInterrupt: Success", "prompt: 200 result=0 endpos=", "(interrupted)", "hold: 511 Command cancelled: queue flushed (flush) (cancelled: flush)", "dial: 200 result=0"] {
        assert!(text.contains(want), "{who}: no {want:?} in:\n{text}");
    }
}

#[test]
fn the_python_tutorial_client_runs() {
    let ast = Asterisk::start(Flavour::Ours);
    let out = Command::new("python3").arg(project_dir().join("docs/examples/tutorial_panoramisk.py")).arg(ast.port.to_string()).output().expect("python3");
    check("python", out);
}

#[test]
fn the_node_tutorial_client_runs() {
    let dir = project_dir().join("docs/examples/node");
    assert!(dir.join("node_modules/asterisk-manager").exists(), "run `npm ci --prefix docs/examples/node` (make test does)");
    let ast = Asterisk::start(Flavour::Ours);
    let out = Command::new("node").arg(dir.join("tutorial.js")).arg(ast.port.to_string()).output().expect("node");
    check("node", out);
}
