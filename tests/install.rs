//! `make install` puts the module where DESTDIR and ASTERISK_MODDIR say.
use std::process::Command;

#[test]
fn make_install_honours_destdir() {
    let root = env!("CARGO_MANIFEST_DIR");
    let dest = std::env::temp_dir().join(format!("res_agi_rs-install-{}", std::process::id()));
    let out = Command::new("make")
        .current_dir(root)
        .arg("install")
        .arg(format!("DESTDIR={}", dest.display()))
        .arg("ASTERISK_MODDIR=/usr/lib/asterisk/modules")
        .output()
        .expect("run make");
    assert!(out.status.success(), "make install failed:\n{}\n{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    let installed = dest.join("usr/lib/asterisk/modules/res_agi_rs.so");
    let built = std::path::Path::new(root).join("build/res_agi_rs.so");
    assert_eq!(std::fs::read(&installed).expect("installed module"), std::fs::read(&built).expect("built module"));
    std::fs::remove_dir_all(&dest).unwrap();
}

mod common;
use common::{sandbox_root, Asterisk, Flavour};

/// `make install` with the given variables; (success, stdout, stderr).
fn make_install(vars: &[(&str, String)]) -> (bool, String, String) {
    let mut cmd = Command::new("make");
    cmd.current_dir(env!("CARGO_MANIFEST_DIR")).arg("--no-print-directory").arg("install");
    for (k, v) in vars {
        cmd.arg(format!("{k}={v}"));
    }
    let out = cmd.output().expect("run make");
    (out.status.success(), String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

/// The command that runs the CLI of `ast` (inside the chroot), as a user would give ASTERISK.
fn cli_command(ast: &Asterisk) -> String {
    format!("chroot {} /opt/asterisk/{}/sbin/asterisk -C /srv/res_agi_rs/{}/etc/asterisk.conf", sandbox_root().display(), ast.target, ast.name)
}

#[test]
fn make_install_into_a_source_built_asterisk_finds_its_headers_and_directories() {
    // Asterisk 23.4.1 built from source (default configure) and running (with our test build
    // loaded: stock res_agi cannot be unloaded while app_stack uses it, ours can).
    let ast = Asterisk::start_on("23.4.1", Flavour::Ours);
    let prefix = sandbox_root().join("opt/asterisk/23.4.1");
    let dest = std::env::temp_dir().join(format!("res_agi_rs-install-src-{}", std::process::id()));
    let (ok, stdout, stderr) = make_install(&[
        ("ASTERISK_PREFIX", prefix.display().to_string()),
        ("ASTERISK", cli_command(&ast)),
        ("DESTDIR", dest.display().to_string()),
    ]);
    assert!(ok, "make install failed:\n{stdout}\n{stderr}");
    assert!(stderr.contains("the running Asterisk: 23.4.1, build options: OPTIONAL_API"), "{stderr}");
    // Where `core show settings` of that Asterisk says: its module dir, this instance's config dir.
    let module = dest.join("opt/asterisk/23.4.1/lib/asterisk/modules/res_agi_rs.so");
    assert!(module.exists(), "{stderr}");
    assert!(dest.join(format!("srv/res_agi_rs/{}/etc/res_agi_rs.conf.sample", ast.name)).exists(), "{stderr}");
    assert!(dest.join("opt/asterisk/23.4.1/var/lib/asterisk/documentation/thirdparty/res_agi_rs-en_US.xml").exists());
    // The installed module runs in that Asterisk in place of stock.
    let name = format!("res_agi_rs_installed_{}.so", std::process::id());
    let in_moddir = prefix.join("lib/asterisk/modules").join(&name);
    std::fs::copy(&module, &in_moddir).unwrap();
    assert!(ast.cli("module unload res_agi_rs.so").contains("Unloaded"), "{}", ast.log());
    let loaded = ast.cli(&format!("module load {name}"));
    let shown = ast.cli(&format!("module show like {name}"));
    let commands = ast.cli("agi show commands");
    ast.cli(&format!("module unload {name}"));
    let _ = std::fs::remove_file(&in_moddir);
    std::fs::remove_dir_all(&dest).unwrap();
    assert!(shown.lines().any(|l| l.starts_with(&name) && l.contains(" Running")), "{loaded}\n{shown}\n{}", ast.log());
    assert!(commands.contains("asyncagi break"), "{commands}");
    assert!(!ast.log().contains("declining to load"), "{}", ast.log());
}

#[test]
fn make_install_refuses_headers_of_another_build_at_build_time() {
    // Debian's headers (TEST_FRAMEWORK on) for a default build of 23 (off): Asterisk would
    // refuse the module on its checksum, so the build stops first and installs nothing.
    let ast = Asterisk::start_on("23.4.1", Flavour::Stock);
    let deb_headers = Command::new("scripts/sandbox.sh").current_dir(env!("CARGO_MANIFEST_DIR")).arg("include-dir").env("RS_TARGET", "deb").output().unwrap();
    let dest = std::env::temp_dir().join(format!("res_agi_rs-install-wrong-{}", std::process::id()));
    let (ok, stdout, stderr) = make_install(&[
        ("ASTERISK_INCLUDE_DIR", String::from_utf8_lossy(&deb_headers.stdout).trim().to_string()),
        ("ASTERISK", cli_command(&ast)),
        ("DESTDIR", dest.display().to_string()),
    ]);
    assert!(!ok, "make install accepted Debian's headers for a source build of 23:\n{stdout}\n{stderr}");
    assert!(
        stderr.contains("were built with options 'OPTIONAL_API, TEST_FRAMEWORK', the running Asterisk (23.4.1) with 'OPTIONAL_API'")
            && stderr.contains("Asterisk would refuse the module (build-options checksum)"),
        "{stderr}"
    );
    assert!(!dest.exists(), "something was installed");
}
