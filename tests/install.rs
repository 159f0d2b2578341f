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
