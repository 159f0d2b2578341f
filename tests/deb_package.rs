//! `make deb` (scripts/deb.sh, cargo-deb): the package installs with `dpkg -i` into the
//! sandbox chroot, Asterisk loads the packaged module in place of res_agi.so and runs the
//! async scenario with the packaged help; purging it leaves Asterisk working with stock.
mod common;
use common::{park, project_dir, sandbox_lock, sandbox_root, Asterisk, Flavour, TIMEOUT};
use std::process::Command;

fn chroot(args: &[&str]) -> (bool, String) {
    let out = Command::new("chroot").arg(sandbox_root()).args(args).output().expect("chroot");
    (out.status.success(), format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
}

/// The async scenario: a call parks, a NOOP and a GET VARIABLE answer.
fn async_scenario(ast: &Asterisk) {
    let ami = ast.ami();
    let p = park(&ami, "park", "");
    for (cmd, want) in [("NOOP", "200 result=0\n"), ("GET VARIABLE CHANNEL", &format!("200 result=1 ({})\n", p.channel))] {
        let id = format!("deb-{}", cmd.len());
        ami.action(&[("Action", "AGI"), ("Channel", &p.channel), ("Command", cmd), ("CommandID", &id)]);
        let e = ami.wait_event(TIMEOUT, |m| m.is_event("AsyncAGIExec") && m.get("CommandId") == Some(&id));
        assert_eq!(common::ami::decode(e.get("Result").unwrap()), want, "{cmd}");
    }
}

#[test]
fn the_debian_package_installs_runs_and_purges() {
    let out = Command::new("scripts/deb.sh").current_dir(project_dir()).output().expect("scripts/deb.sh");
    assert!(out.status.success(), "make deb failed:\n{}", String::from_utf8_lossy(&out.stderr));
    let deb = String::from_utf8_lossy(&out.stdout).lines().last().expect("the .deb path").trim().to_string();
    let deb_path = project_dir().join(&deb);
    assert!(deb_path.exists(), "{deb}");
    let (_, version) = chroot(&["dpkg-query", "-W", "-f", "${Version}", "asterisk"]);
    let depends = Command::new("dpkg-deb").args(["-f"]).arg(&deb_path).arg("Depends").output().expect("dpkg-deb");
    assert_eq!(String::from_utf8_lossy(&depends.stdout).trim(), format!("asterisk (= {version})"), "the exact Asterisk version");

    // Nothing else may boot or reinstall the module while the package owns it.
    let _lock = sandbox_lock(true);
    std::fs::copy(&deb_path, sandbox_root().join("tmp/asterisk-res-agi-rs.deb")).unwrap();
    let (ok, log) = chroot(&["dpkg", "-i", "/tmp/asterisk-res-agi-rs.deb"]);
    assert!(ok, "dpkg -i:\n{log}");
    let (_, files) = chroot(&["dpkg", "-L", "asterisk-res-agi-rs"]);
    for f in [
        "/usr/lib/x86_64-linux-gnu/asterisk/modules/res_agi_rs.so",
        "/usr/share/asterisk/documentation/thirdparty/res_agi_rs-en_US.xml",
        "/usr/share/doc/asterisk-res-agi-rs/examples/res_agi_rs.conf.sample",
        "/usr/share/doc/asterisk-res-agi-rs/README.md",
        "/usr/share/doc/asterisk-res-agi-rs/differences.md",
    ] {
        assert!(files.lines().any(|l| l == f), "{f} not in the package:\n{files}");
    }
    {
        // modules.conf: noload => res_agi.so, load => res_agi_rs.so (the "packaged" flavour).
        let ast = Asterisk::start(Flavour::Packaged);
        assert!(ast.cli("module show like res_agi_rs.so").contains("1 modules loaded"));
        assert!(ast.cli("module show like res_agi.so").contains("0 modules loaded"));
        assert!(ast.cli("manager show command AGIInterrupt").contains("Interrupt the AGI command running"));
        async_scenario(&ast);
    }
    let (ok, log) = chroot(&["dpkg", "--purge", "asterisk-res-agi-rs"]);
    assert!(ok, "dpkg --purge:\n{log}");
    assert!(!sandbox_root().join("usr/lib/x86_64-linux-gnu/asterisk/modules/res_agi_rs.so").exists(), "the module stayed after purge");
    {
        let ast = Asterisk::start(Flavour::Packaged);
        assert!(ast.cli("module show like res_agi_rs.so").contains("0 modules loaded"));
    }
    drop(_lock);
    // Back to stock: the same scenario with res_agi.so.
    let stock = Asterisk::start(Flavour::Stock);
    async_scenario(&stock);
}
