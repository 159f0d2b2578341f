//! `make deb` (scripts/deb.sh, cargo-deb): the package and its -dbgsym package pass lintian
//! without an error and install with `dpkg -i` into the sandbox chroot; the packaged module is
//! stripped, and its debug file (by build-id and .gnu_debuglink) is in the -dbgsym package;
//! Asterisk loads the packaged module in place of res_agi.so and runs the async scenario with
//! the packaged help; purging both leaves Asterisk working with stock.
mod common;
use common::{park, project_dir, sandbox_lock, sandbox_root, Asterisk, Flavour, TIMEOUT};
use std::path::Path;
use std::process::Command;

const MODULE: &str = "/usr/lib/x86_64-linux-gnu/asterisk/modules/res_agi_rs.so";

fn readelf(args: &[&str], file: &Path) -> String {
    let out = Command::new("readelf").args(args).arg(file).output().expect("readelf");
    assert!(out.status.success(), "readelf {args:?} {}: {}", file.display(), String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn build_id(file: &Path) -> String {
    let notes = readelf(&["-n"], file);
    notes.lines().find_map(|l| l.trim().strip_prefix("Build ID: ")).unwrap_or_else(|| panic!("no build-id in {}:\n{notes}", file.display())).trim().to_string()
}

fn has_section(file: &Path, name: &str) -> bool {
    readelf(&["-S", "-W"], file).split_whitespace().any(|w| w == name)
}

/// The CRC of a .gnu_debuglink: CRC-32 as zlib's crc32().
fn crc32(data: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in data {
        crc ^= b as u32;
        for _ in 0..8 {
            crc = if crc & 1 != 0 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
        }
    }
    !crc
}

/// The .gnu_debuglink section of `file`: the debug file's name and its CRC.
fn debuglink(file: &Path) -> (String, u32) {
    let tmp = std::env::temp_dir().join(format!("deb_package-debuglink-{}", std::process::id()));
    let out = Command::new("objcopy").arg("--dump-section").arg(format!(".gnu_debuglink={}", tmp.display())).arg(file).arg(tmp.with_extension("o")).output().expect("objcopy");
    assert!(out.status.success(), "no .gnu_debuglink in {}: {}", file.display(), String::from_utf8_lossy(&out.stderr));
    let raw = std::fs::read(&tmp).unwrap();
    let _ = std::fs::remove_file(&tmp);
    let _ = std::fs::remove_file(tmp.with_extension("o"));
    let name_len = raw.iter().position(|&b| b == 0).expect("NUL-terminated name");
    let crc = u32::from_le_bytes(raw[raw.len() - 4..].try_into().unwrap());
    (String::from_utf8(raw[..name_len].to_vec()).unwrap(), crc)
}

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
    let stderr = String::from_utf8_lossy(&out.stderr);
    // deb.sh runs lintian on both packages and fails on any error (E:) it reports.
    assert!(out.status.success(), "make deb failed:\n{stderr}");
    assert!(stderr.lines().any(|l| l.starts_with("lintian ")), "lintian did not run:\n{stderr}");
    assert!(!stderr.lines().any(|l| l.starts_with("E: ")), "lintian errors:\n{stderr}");
    let lintian: Vec<&str> = stderr.lines().filter(|l| ["W: ", "I: ", "N: "].iter().any(|p| l.starts_with(p))).collect();
    println!("lintian (no E:):\n{}", lintian.join("\n"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let mut last = stdout.lines().rev();
    let deb = last.next().expect("the .deb path").trim().to_string();
    let dbgsym = last.next().expect("the -dbgsym .deb path").trim().to_string();
    let deb_path = project_dir().join(&deb);
    let dbgsym_path = project_dir().join(&dbgsym);
    assert!(deb_path.exists(), "{deb}");
    assert!(dbgsym_path.exists(), "{dbgsym}");
    let (_, version) = chroot(&["dpkg-query", "-W", "-f", "${Version}", "asterisk"]);
    let field = |deb: &Path, name: &str| {
        let out = Command::new("dpkg-deb").arg("-f").arg(deb).arg(name).output().expect("dpkg-deb");
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    let depends = field(&deb_path, "Depends");
    assert!(depends.split(", ").any(|d| d == format!("asterisk (= {version})")), "the exact Asterisk version: {depends}");
    assert!(depends.split(", ").any(|d| d.starts_with("libc6 (>= ")), "the shared libraries' dependencies: {depends}");
    let deb_version = field(&deb_path, "Version");
    assert_eq!(field(&dbgsym_path, "Package"), "asterisk-res-agi-rs-dbgsym");
    assert_eq!(field(&dbgsym_path, "Section"), "debug");
    assert_eq!(field(&dbgsym_path, "Depends"), format!("asterisk-res-agi-rs (= {deb_version})"));
    assert_eq!(field(&dbgsym_path, "Auto-Built-Package"), "debug-symbols");

    // Nothing else may boot or reinstall the module while the package owns it.
    let _lock = sandbox_lock(true);
    std::fs::copy(&deb_path, sandbox_root().join("tmp/asterisk-res-agi-rs.deb")).unwrap();
    std::fs::copy(&dbgsym_path, sandbox_root().join("tmp/asterisk-res-agi-rs-dbgsym.deb")).unwrap();
    let (ok, log) = chroot(&["dpkg", "-i", "/tmp/asterisk-res-agi-rs.deb", "/tmp/asterisk-res-agi-rs-dbgsym.deb"]);
    assert!(ok, "dpkg -i:\n{log}");
    let (ok, log) = chroot(&["dpkg", "--verify", "asterisk-res-agi-rs", "asterisk-res-agi-rs-dbgsym"]);
    assert!(ok && log.trim().is_empty(), "dpkg --verify (md5sums):\n{log}");
    let (_, files) = chroot(&["dpkg", "-L", "asterisk-res-agi-rs"]);
    for f in [
        MODULE,
        "/usr/share/asterisk/documentation/thirdparty/res_agi_rs-en_US.xml",
        "/usr/share/doc/asterisk-res-agi-rs/examples/res_agi_rs.conf.sample",
        "/usr/share/doc/asterisk-res-agi-rs/README.md",
        "/usr/share/doc/asterisk-res-agi-rs/differences.md",
        "/usr/share/doc/asterisk-res-agi-rs/copyright",
        "/usr/share/doc/asterisk-res-agi-rs/changelog.Debian.gz",
    ] {
        assert!(files.lines().any(|l| l == f), "{f} not in the package:\n{files}");
    }

    // The installed module is stripped, and the -dbgsym package has its debug file.
    let module = sandbox_root().join(MODULE.trim_start_matches('/'));
    let size = std::fs::metadata(&module).unwrap().len();
    let unstripped = std::fs::metadata(project_dir().join("build/res_agi_rs.so")).map(|m| m.len()).unwrap_or(0);
    println!("packaged res_agi_rs.so: {size} bytes (build/res_agi_rs.so: {unstripped} bytes)");
    assert!(!has_section(&module, ".debug_info"), "the packaged module has .debug_info");
    assert!(!has_section(&module, ".symtab"), "the packaged module has .symtab (strip --strip-unneeded)");
    assert!(size < 2 * 1024 * 1024, "the packaged module is {size} bytes");
    let id = build_id(&module);
    let debug_file = format!("/usr/lib/debug/.build-id/{}/{}.debug", &id[..2], &id[2..]);
    let (_, dbg_files) = chroot(&["dpkg", "-L", "asterisk-res-agi-rs-dbgsym"]);
    assert!(dbg_files.lines().any(|l| l == debug_file), "{debug_file} not in the -dbgsym package:\n{dbg_files}");
    let debug_path = sandbox_root().join(debug_file.trim_start_matches('/'));
    assert_eq!(build_id(&debug_path), id, "the debug file's build-id");
    assert!(has_section(&debug_path, ".debug_info"), "{debug_file} has no .debug_info");
    let (link, crc) = debuglink(&module);
    assert_eq!(link, format!("{}.debug", &id[2..]), ".gnu_debuglink's name");
    assert_eq!(crc, crc32(&std::fs::read(&debug_path).unwrap()), ".gnu_debuglink's CRC");
    // gdb finds the debug file by build-id below its debug-file-directory (here the chroot's),
    // and reads the shim's line table from it (the stripped module has none).
    if Command::new("gdb").arg("--version").output().is_ok_and(|o| o.status.success()) {
        let out = Command::new("gdb")
            .args(["-nx", "-batch", "-ex"])
            .arg(format!("set debug-file-directory {}", sandbox_root().join("usr/lib/debug").display()))
            .arg("-ex")
            .arg(format!("file {}", module.display()))
            .args(["-ex", "info line load_module", "-ex", "maint info symtabs shim.c"])
            .output()
            .expect("gdb");
        let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        assert!(text.contains(&debug_file[1..]) && text.contains("shim.c"), "gdb did not read the debug file:\n{text}");
        println!("gdb: {}", text.lines().next().unwrap_or(""));
    } else {
        println!("gdb not installed: the debug file checked by build-id and debuglink CRC only");
    }

    {
        // modules.conf: noload => res_agi.so, load => res_agi_rs.so (the "packaged" flavour).
        let ast = Asterisk::start(Flavour::Packaged);
        assert!(ast.cli("module show like res_agi_rs.so").contains("1 modules loaded"));
        assert!(ast.cli("module show like res_agi.so").contains("0 modules loaded"));
        assert!(ast.cli("manager show command AGIInterrupt").contains("Interrupt the AGI command running"));
        async_scenario(&ast);
    }
    let (ok, log) = chroot(&["dpkg", "--purge", "asterisk-res-agi-rs-dbgsym", "asterisk-res-agi-rs"]);
    assert!(ok, "dpkg --purge:\n{log}");
    assert!(!module.exists(), "the module stayed after purge");
    assert!(!debug_path.exists(), "the debug file stayed after purge");
    {
        let ast = Asterisk::start(Flavour::Packaged);
        assert!(ast.cli("module show like res_agi_rs.so").contains("0 modules loaded"));
    }
    drop(_lock);
    // Back to stock: the same scenario with res_agi.so.
    let stock = Asterisk::start(Flavour::Stock);
    async_scenario(&stock);
}
