//! The target Asterisk (RS_TARGET: Debian's 22 or a source build of 20, 22, 23, certified):
//! our module loads in it and registers what that version's stock res_agi registers (23 has no
//! DeadAGI), decided by the probes of src/host.rs. Part of the differential core that
//! `make test` runs on every CI target and `make test-versions` on every target.
mod common;
use common::{target, target_major, target_version, Asterisk, Flavour};

/// The applications named like AGI that `core show applications` lists.
fn agi_applications(ast: &Asterisk) -> Vec<String> {
    let out = ast.cli("core show applications like AGI");
    let mut apps: Vec<String> = out
        .lines()
        .filter_map(|l| l.trim().split_once(':').map(|(name, _)| name.trim().to_string()))
        .filter(|n| !n.is_empty() && !n.contains(' '))
        .collect();
    apps.sort();
    apps
}

#[test]
fn the_module_registers_what_this_versions_stock_registers() {
    let version = target_version();
    let (stock_apps, stock_actions) = {
        let stock = Asterisk::start(Flavour::Stock);
        assert!(stock.cli("core show version").contains(&version), "the stock instance is not {version}");
        (agi_applications(&stock), stock.cli("manager show command AGI").lines().next().map(str::to_string))
    };
    let ours = Asterisk::start(Flavour::Ours);
    assert!(ours.cli("core show version").contains(&version));
    assert!(ours.cli("module show like res_agi_rs.so").contains("1 modules loaded"));
    assert!(ours.cli("module show like res_agi.so").contains("0 modules loaded"));
    let our_apps = agi_applications(&ours);
    assert_eq!(our_apps, stock_apps, "applications on {version}");
    // DeadAGI: every version before 23 has it (deprecated), 23 removed it.
    assert_eq!(our_apps.contains(&"DeadAGI".to_string()), target_major() < 23, "{our_apps:?} on {version}");
    assert_eq!(ours.cli("manager show command AGI").lines().next().map(str::to_string), stock_actions);
    // The probe decided without complaining to the log (an XPath query, not a doc lookup).
    assert!(!ours.log().contains("Couldn't find application DeadAGI"), "{}", ours.log());
    eprintln!("versions: target {} (Asterisk {version}): applications {our_apps:?}, as stock", target());
}
