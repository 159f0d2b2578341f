//! Test support: boots the sandbox Asterisk 22 (scripts/sandbox.sh) with our module (or
//! stock res_agi for comparisons) and the project's configs, and stops it on Drop, even
//! when the test panics; then shows the instance's log lines. Never skips: if Asterisk
//! cannot start, the test fails with the reason.
#![allow(dead_code)]

pub mod ami;
pub mod dns;
pub mod sip;

use ami::{Ami, Message};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

pub const TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flavour {
    Ours,
    Stock,
    /// Stock res_agi.so loaded; ours installed beside it but not loaded.
    StockPlusOurs,
    /// Ours as installed by the Debian package (tests/deb_package.rs).
    Packaged,
}

impl Flavour {
    fn as_str(self) -> &'static str {
        match self {
            Flavour::Ours => "ours",
            Flavour::Stock => "stock",
            Flavour::StockPlusOurs => "stock+ours",
            Flavour::Packaged => "packaged",
        }
    }
}

/// The Asterisk under test (`RS_TARGET`, read by scripts/sandbox.sh too): "deb", Debian sid's
/// package (the default), or a tag built from source in the chroot (`make asterisk-TAG`):
/// 20.20.1, 22.10.1, 23.4.1, certified-20.7-cert11, certified-22.8-cert4.
pub fn target() -> String {
    std::env::var("RS_TARGET").ok().filter(|t| !t.is_empty()).unwrap_or_else(|| "deb".to_string())
}

/// Our module built for `target()`: build/res_agi_rs.so for Debian's, build/TAG/res_agi_rs.so
/// for a source tag (`make module RS_TARGET=TAG`).
pub fn module_path() -> PathBuf {
    module_path_for(&target())
}

pub fn module_path_for(target: &str) -> PathBuf {
    // Another build of the module for Debian's Asterisk (e.g. an older commit's, to see a
    // test fail before its fix): RS_TEST_MODULE=/path/to/res_agi_rs.so.
    if let Some(m) = std::env::var_os("RS_TEST_MODULE").filter(|_| target == "deb") {
        return PathBuf::from(m);
    }
    match target {
        "deb" => project_dir().join("build/res_agi_rs.so"),
        tag => project_dir().join("build").join(tag).join("res_agi_rs.so"),
    }
}

/// The target's asterisk binary inside the chroot.
pub fn asterisk_bin() -> String {
    asterisk_bin_for(&target())
}

pub fn asterisk_bin_for(target: &str) -> String {
    match target {
        "deb" => "/usr/sbin/asterisk".to_string(),
        tag => format!("/opt/asterisk/{tag}/sbin/asterisk"),
    }
}

/// The target's module directory inside the chroot.
pub fn module_dir() -> String {
    module_dir_for(&target())
}

pub fn module_dir_for(target: &str) -> String {
    match target {
        "deb" => "/usr/lib/x86_64-linux-gnu/asterisk/modules".to_string(),
        tag => format!("/opt/asterisk/{tag}/lib/asterisk/modules"),
    }
}

/// The target's version as `asterisk -V` prints it (without "Asterisk ").
pub fn target_version() -> String {
    version_of(&target())
}

pub fn version_of(target: &str) -> String {
    let out = Command::new("chroot").arg(sandbox_root()).args([asterisk_bin_for(target).as_str(), "-V"]).output().expect("asterisk -V");
    assert!(out.status.success(), "asterisk -V of target {target}: is it built? (make asterisk RS_TARGET={target})");
    String::from_utf8_lossy(&out.stdout).trim().trim_start_matches("Asterisk ").to_string()
}

/// The target's major release (20, 22, 23), certified or not.
pub fn target_major() -> u32 {
    let v = target_version();
    let v = v.strip_prefix("certified-").or_else(|| v.strip_prefix("certified/")).unwrap_or(&v).to_string();
    v.split('.').next().and_then(|m| m.parse().ok()).unwrap_or_else(|| panic!("the target's version {v:?}"))
}

/// Whether a target's own headers define `define` to 1 (`header`: "buildopts.h" or
/// "autoconfig.h" under its include/asterisk): the facts build.rs reads.
pub fn target_defines(target: &str, header: &str, define: &str) -> bool {
    let inc = Command::new(sandbox_script()).arg("include-dir").env("RS_TARGET", target).output().expect("sandbox.sh include-dir");
    let dir = PathBuf::from(String::from_utf8_lossy(&inc.stdout).trim());
    let file = dir.join("asterisk").join(header);
    let text = std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{}: {e} (is the {target} Asterisk built?)", file.display()));
    text.lines().any(|l| l.split_whitespace().collect::<Vec<_>>() == ["#define", define, "1"])
}

/// Whether the target Asterisk was built with its test framework (TEST_FRAMEWORK in its
/// buildopts.h: Debian's package and dev-mode builds; a default configure has none).
pub fn target_has_test_framework() -> bool {
    target_defines(&target(), "buildopts.h", "TEST_FRAMEWORK")
}

/// Whether the target Asterisk has its XML documentation (AST_XML_DOCS in autoconfig.h;
/// `./configure --disable-xmldoc` has none: target 22.10.1-noxmldoc).
pub fn target_has_xml_docs() -> bool {
    static DOCS: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *DOCS.get_or_init(|| target_defines(&target(), "autoconfig.h", "AST_XML_DOCS"))
}

/// Stock's answer to a command given the wrong arguments when the command has no usage text:
/// every builtin command on an Asterisk without XML docs (res_agi.c agi_handle_command,
/// RESULT_SHOWUSAGE with an empty `usage`).
pub const USAGE_NOT_AVAILABLE: &str = "520 Invalid command syntax.  Proper usage not available.\n";

/// Whether `answer` is stock's usage answer on the target: with XML docs the command's usage in
/// three pieces ("520-Invalid command syntax.  Proper usage follows:" … "520 End of proper
/// usage."), without them [`USAGE_NOT_AVAILABLE`].
pub fn is_usage(answer: &str) -> bool {
    if target_has_xml_docs() {
        answer.starts_with("520-Invalid command syntax.  Proper usage follows:\n") && answer.ends_with("\n520 End of proper usage.\n")
    } else {
        answer == USAGE_NOT_AVAILABLE
    }
}

/// Asserts [`is_usage`], showing the answer and the build when it is not.
#[track_caller]
pub fn assert_usage(answer: &str) {
    assert!(is_usage(answer), "not the usage answer of this build (XML docs: {}): {answer:?}", target_has_xml_docs());
}

/// `RS_VALGRIND=<host dir>`: every Asterisk runs under valgrind memcheck and leaves its log
/// there (`make memcheck`). Waits then last `slowdown()` times longer.
pub fn valgrind_dir() -> Option<PathBuf> {
    std::env::var_os("RS_VALGRIND").filter(|v| !v.is_empty()).map(PathBuf::from)
}

/// 1, or 25 under valgrind (5 under an RS_WRAP wrapper).
pub fn slowdown() -> u32 {
    if valgrind_dir().is_some() {
        25
    } else if std::env::var_os("RS_WRAP").is_some() {
        5
    } else {
        1
    }
}

/// The lock on the sandbox's installed module (flock on a file beside the chroot).
pub struct SandboxLock(std::fs::File);

pub fn sandbox_lock(exclusive: bool) -> SandboxLock {
    use std::os::fd::AsRawFd;
    let path = sandbox_root().with_file_name("module.lock");
    let f = std::fs::OpenOptions::new().create(true).truncate(false).write(true).open(&path).expect("open the sandbox lock");
    // SAFETY: flock on a descriptor we own; released when the file closes.
    let rc = unsafe { libc::flock(f.as_raw_fd(), if exclusive { libc::LOCK_EX } else { libc::LOCK_SH }) };
    assert_eq!(rc, 0, "flock {}", path.display());
    SandboxLock(f)
}

/// The repository root: the res_agi_rs package's directory, also when this file is compiled
/// into a tool (tools/, package res_agi_rs_tools, one level down).
pub fn project_dir() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    if env!("CARGO_PKG_NAME") == "res_agi_rs_tools" {
        dir.parent().expect("tools/ has a parent").to_path_buf()
    } else {
        dir
    }
}

/// A binary of the tools crate (tools/Cargo.toml: demo, bench, stress, soak, memcheck), built
/// now, with the running test's profile, into the same target directory, and its path. A test
/// cannot name another package's binary (CARGO_BIN_EXE_* covers only its own package), and
/// the module's package does not build the tools (they are not part of what ships).
pub fn tool_binary(name: &str) -> PathBuf {
    // The test runs as <target>/<profile dir>/deps/<test>-<hash>.
    let exe = std::env::current_exe().expect("the test's own path");
    let profile_dir = exe.parent().and_then(Path::parent).expect("<target>/<profile>/deps/<test>").to_path_buf();
    let profile = match profile_dir.file_name().and_then(|n| n.to_str()) {
        Some("debug") => "dev".to_string(),
        Some(p) => p.to_string(),
        None => "release".to_string(),
    };
    let st = Command::new(env!("CARGO"))
        .args(["build", "--quiet", "--profile", &profile, "-p", "res_agi_rs_tools", "--bin", name, "--manifest-path"])
        .arg(project_dir().join("Cargo.toml"))
        .arg("--target-dir")
        .arg(profile_dir.parent().expect("the target directory"))
        .status()
        .unwrap_or_else(|e| panic!("run cargo build --bin {name}: {e}"));
    assert!(st.success(), "cargo build -p res_agi_rs_tools --bin {name} failed");
    let bin = profile_dir.join(name);
    assert!(bin.is_file(), "{} missing after the build", bin.display());
    bin
}

fn sandbox_script() -> PathBuf {
    project_dir().join("scripts/sandbox.sh")
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0").local_addr().unwrap().port()
}

/// A UDP port free on 127.0.0.1 now (SIP, RTP).
pub fn free_udp_port() -> u16 {
    std::net::UdpSocket::bind("127.0.0.1:0").expect("bind 127.0.0.1:0").local_addr().unwrap().port()
}

pub fn sandbox_root() -> PathBuf {
    let out = Command::new(sandbox_script()).arg("root").output().expect("run scripts/sandbox.sh root");
    PathBuf::from(String::from_utf8(out.stdout).unwrap().trim())
}

/// A running sandbox Asterisk, stopped on Drop.
pub struct Asterisk {
    pub name: String,
    pub port: u16,
    pub flavour: Flavour,
    /// Which Asterisk (`target()` unless started with `start_on`).
    pub target: String,
    /// chan_pjsip's UDP port on 127.0.0.1 (`start_sip`), 0 when it has no SIP.
    pub sip_port: u16,
    /// Asterisk's HTTP server on 127.0.0.1 (`start_http`), 0 when it is off.
    pub http_port: u16,
    root: PathBuf,
    child: Option<Child>,
}

impl Asterisk {
    pub fn start(flavour: Flavour) -> Asterisk {
        Asterisk::start_with_env(flavour, &[])
    }

    /// Starts with extra environment variables for the Asterisk process.
    pub fn start_with_env(flavour: Flavour, env: &[(&str, &str)]) -> Asterisk {
        Asterisk::start_full(flavour, env, true)
    }

    /// `timing: false` loads no timing module (one descriptor less per channel).
    pub fn start_full(flavour: Flavour, env: &[(&str, &str)], timing: bool) -> Asterisk {
        Asterisk::start_target(&target(), flavour, env, timing)
    }

    /// Starts the Asterisk of `target` (whatever RS_TARGET says).
    pub fn start_on(target: &str, flavour: Flavour) -> Asterisk {
        Asterisk::start_target(target, flavour, &[], true)
    }

    /// Debian's Asterisk with chan_pjsip on a UDP port of 127.0.0.1 (`sip_port`) and RTP on
    /// its own 200 ports, for SIPp callers (common::sip). A source build has no chan_pjsip.
    pub fn start_sip(flavour: Flavour) -> Asterisk {
        Asterisk::start_target_sip("deb", flavour, &[("SANDBOX_RTP_PORTS", "200")], true, true)
    }

    /// As `start_sip`, for many calls at once (common::sip::SippLoad): RTP on `rtp_ports`
    /// ports from `rtp_start` (two a call), apart from other instances' and SIPp's ranges.
    pub fn start_sip_load(flavour: Flavour, rtp_start: u16, rtp_ports: u16) -> Asterisk {
        let (start, ports) = (rtp_start.to_string(), rtp_ports.to_string());
        Asterisk::start_target_sip("deb", flavour, &[("SANDBOX_RTP_START", &start), ("SANDBOX_RTP_PORTS", &ports)], true, true)
    }

    /// With Asterisk's HTTP server on a free port of 127.0.0.1 (`http_port`).
    pub fn start_http(flavour: Flavour) -> Asterisk {
        let port = free_port().to_string();
        Asterisk::start_target(&target(), flavour, &[("SANDBOX_HTTP_PORT", &port)], true)
    }

    fn start_target(target: &str, flavour: Flavour, env: &[(&str, &str)], timing: bool) -> Asterisk {
        Asterisk::start_target_sip(target, flavour, env, timing, false)
    }

    fn start_target_sip(target: &str, flavour: Flavour, env: &[(&str, &str)], timing: bool, sip: bool) -> Asterisk {
        static COUNTER: AtomicUsize = AtomicUsize::new(0);
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let name = format!("test-{}-{}-{}", flavour.as_str().replace('+', "-"), std::process::id(), n);
        let port = free_port();
        let module = module_path_for(target);
        // The module file in the chroot is shared by every instance; the package test
        // replaces and removes it, so it holds this lock exclusively (and boots its own
        // instance under it) while every other boot holds it shared (once booted, an
        // instance has the module mapped).
        let _lock = (flavour != Flavour::Packaged).then(|| sandbox_lock(false));
        if flavour != Flavour::Stock && flavour != Flavour::Packaged {
            assert!(module.exists(), "{} is missing: run `make test` (it builds the module first)", module.display());
        }
        let sip_port = if sip { free_udp_port() } else { 0 };
        let mut prep = Command::new(sandbox_script());
        prep.args(["prepare", &name, &port.to_string(), flavour.as_str()])
            .env("RS_TARGET", target)
            .env("MODULE", &module)
            .env("SANDBOX_TIMING", if timing { "yes" } else { "no" });
        if sip_port != 0 {
            // Each instance's RTP ports: 200 from a base of its own (res_rtp_asterisk moves on
            // to the next port of its range when one is taken), unless `env` names them (these
            // variables go to sandbox.sh, not to Asterisk).
            let rtp = 20_000 + (port as u32 * 7 % 200) * 200;
            prep.env("SANDBOX_SIP_PORT", sip_port.to_string()).env("SANDBOX_RTP_START", rtp.to_string());
        }
        // Variables for sandbox.sh (SANDBOX_RTP_*, SANDBOX_HTTP_PORT), not for Asterisk.
        for (k, v) in env.iter().filter(|(k, _)| k.starts_with("SANDBOX_")) {
            prep.env(k, v);
        }
        let prep = prep
            .output()
            .expect("cannot run scripts/sandbox.sh");
        assert!(
            prep.status.success(),
            "sandbox prepare failed (is the sandbox provisioned? `make sandbox`): {}",
            String::from_utf8_lossy(&prep.stderr)
        );
        let root = sandbox_root();
        let conf = format!("/srv/res_agi_rs/{name}/etc/asterisk.conf");
        let mut cmd = Command::new("chroot");
        cmd.arg(&root);
        if valgrind_dir().is_some() {
            let supp = "/srv/res_agi_rs/valgrind.supp";
            std::fs::write(root.join(supp.trim_start_matches('/')), include_str!("valgrind.supp")).expect("write valgrind.supp");
            // RS_VALGRIND_TOOL=callgrind: instruction counts instead (bench --callgrind-noops).
            if std::env::var("RS_VALGRIND_TOOL").as_deref() == Ok("callgrind") {
                cmd.args([
                    "valgrind",
                    "--tool=callgrind",
                    &format!("--callgrind-out-file=/srv/res_agi_rs/{name}/callgrind.out"),
                    &format!("--log-file=/srv/res_agi_rs/{name}/valgrind.log"),
                ]);
            } else {
                cmd.args([
                    "valgrind",
                    "--tool=memcheck",
                    "--leak-check=full",
                    "--show-leak-kinds=definite",
                    "--num-callers=40",
                    "--error-limit=no",
                    &format!("--suppressions={supp}"),
                    &format!("--log-file=/srv/res_agi_rs/{name}/valgrind.log"),
                ]);
            }
        }
        // RS_WRAP="<command and arguments>": Asterisk runs under that command inside the
        // chroot (e.g. `heaptrack -o /srv/res_agi_rs/heap`); `{name}` in it becomes the
        // instance's name. pid() is then the wrapper's.
        if let Ok(wrap) = std::env::var("RS_WRAP") {
            cmd.args(wrap.replace("{name}", &name).split_whitespace());
        }
        let child = cmd
            .args([asterisk_bin_for(target).as_str(), "-f", "-C", &conf])
            .envs(env.iter().copied().filter(|(k, _)| !k.starts_with("SANDBOX_")))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("cannot start Asterisk in the sandbox chroot");
        let http_port = env.iter().find(|(k, _)| *k == "SANDBOX_HTTP_PORT").and_then(|(_, v)| v.parse().ok()).unwrap_or(0);
        let mut ast = Asterisk { name, port, flavour, target: target.to_string(), sip_port, http_port, root, child: Some(child) };
        ast.wait_booted();
        ast
    }

    fn conf(&self) -> String {
        format!("/srv/res_agi_rs/{}/etc/asterisk.conf", self.name)
    }

    pub fn instance_dir(&self) -> PathBuf {
        self.root.join(format!("srv/res_agi_rs/{}", self.name))
    }

    fn wait_booted(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(30) * slowdown();
        loop {
            if let Some(status) = self.child.as_mut().unwrap().try_wait().unwrap() {
                panic!("Asterisk exited during boot ({status}); log:\n{}", self.log());
            }
            let out = self.cli_raw("core waitfullybooted");
            if out.as_ref().is_some_and(|o| o.contains("fully booted")) {
                break;
            }
            assert!(Instant::now() < deadline, "Asterisk did not boot in 30 s; log:\n{}", self.log());
            std::thread::sleep(Duration::from_millis(50));
        }
        // AMI listens once fully booted; make sure it answers.
        let deadline = Instant::now() + Duration::from_secs(10) * slowdown();
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(Instant::now() < deadline, "AMI never answered on port {}", self.port);
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn cli_raw(&self, cmd: &str) -> Option<String> {
        let out = Command::new("chroot")
            .arg(&self.root)
            .args([asterisk_bin_for(&self.target).as_str(), "-C", &self.conf(), "-rx", cmd])
            .stdin(Stdio::null())
            .output()
            .ok()?;
        out.status.success().then(|| String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// Runs a CLI command (`asterisk -rx`) and returns its output.
    pub fn cli(&self, cmd: &str) -> String {
        self.cli_raw(cmd).unwrap_or_else(|| panic!("CLI command failed: {cmd}"))
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.instance_dir().join("log/messages.log")).unwrap_or_default()
    }

    /// Waits until the log has a line containing `text` (Asterisk's logger writes
    /// asynchronously) and returns the log; panics with the log after 10 s.
    pub fn wait_log(&self, text: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(10) * slowdown();
        loop {
            let log = self.log();
            if log.contains(text) {
                return log;
            }
            assert!(Instant::now() < deadline, "the log never showed {text:?}:\n{log}");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// An AMI connection logged in with full rights.
    pub fn ami(&self) -> Ami {
        self.ami_as("admin", "admin")
    }

    pub fn ami_as(&self, user: &str, secret: &str) -> Ami {
        let ami = Ami::connect(self.port);
        let r = ami.action(&[("Action", "Login"), ("Username", user), ("Secret", secret)]);
        assert_eq!(r.get("Response"), Some("Success"), "AMI login as {user} failed: {r:?}");
        ami
    }

    /// The PID of the Asterisk process (inside the chroot it is the same PID).
    pub fn pid(&self) -> u32 {
        self.child.as_ref().unwrap().id()
    }

    pub fn is_running(&mut self) -> bool {
        self.child.as_mut().unwrap().try_wait().unwrap().is_none()
    }
}

impl Drop for Asterisk {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("---- Asterisk log of {} ----\n{}\n---- end of log ----", self.name, self.log());
        }
        if let Some(mut child) = self.child.take() {
            let _ = self.cli_raw("core stop now");
            // Under valgrind the leak check runs at exit: minutes with thousands of blocks.
            let deadline = Instant::now() + Duration::from_secs(if slowdown() > 1 { 600 } else { 5 });
            while Instant::now() < deadline {
                if let Ok(Some(_)) = child.try_wait() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        if let Some(dir) = valgrind_dir() {
            let _ = std::fs::create_dir_all(&dir);
            let _ = std::fs::copy(self.instance_dir().join("valgrind.log"), dir.join(format!("{}.log", self.name)));
            let _ = std::fs::copy(self.instance_dir().join("callgrind.out"), dir.join(format!("{}.callgrind", self.name)));
        }
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(self.instance_dir());
        }
    }
}

/// A call parked in Async AGI: a Local channel whose ";2" half runs `exten@agi`.
pub struct Parked {
    pub channel: String,
    pub uniqueid: String,
    pub start: Message,
}

impl Parked {
    /// The decoded environment of AsyncAGIStart as (key, value) pairs, in order.
    pub fn env(&self) -> Vec<(String, String)> {
        parse_env(&ami::decode(self.start.get("Env").expect("AsyncAGIStart has Env")))
    }
}

pub fn parse_env(text: &str) -> Vec<(String, String)> {
    text.lines()
        .filter(|l| !l.is_empty())
        .map(|l| {
            let (k, v) = l.split_once(": ").unwrap_or((l, ""));
            (k.to_string(), v.to_string())
        })
        .collect()
}

/// Sends (without waiting) an Originate of a Local channel into `park@agi`: its ";1" half
/// gets uniqueid `id1` and waits `wait_secs` in Wait(), its ";2" half (uniqueid `id2`) parks in
/// `AGI(agi:async)`.
pub fn send_park(ami: &Ami, id1: &str, id2: &str, wait_secs: u32) {
    ami.send(&[
        ("Action", "Originate"),
        ("Channel", "Local/park@agi"),
        ("Application", "Wait"),
        ("Data", &wait_secs.to_string()),
        ("Async", "true"),
        ("ChannelId", id1),
        ("OtherChannelId", id2),
    ]);
}

/// Sends (without waiting) an Originate of a Local channel into `classic@agi`, whose ";2" half
/// runs `AGI(${AGISCRIPT},${AGIARG1},${AGIARG2})` with the channel variables `vars` (each
/// `NAME=value`) while its ";1" half waits `wait_secs`; `ids` names the halves' uniqueids.
/// Returns the ActionID (for `wait_response`).
#[allow(dead_code)]
/// Parks `n` calls (Local pairs into park@agi, uniqueids `<tag><i>-1` / `<tag><i>-2`) and
/// waits for each one's AsyncAGIStart; returns their AGI channels' names, in order.
#[allow(dead_code)]
pub fn park_many(ami: &Ami, tag: &str, n: usize) -> Vec<String> {
    for i in 0..n {
        send_park(ami, &format!("{tag}{i}-1"), &format!("{tag}{i}-2"), 3600);
    }
    (0..n)
        .map(|i| {
            let id = format!("{tag}{i}-2");
            let start = ami.wait_event(Duration::from_secs(60), |m| m.is_event("AsyncAGIStart") && m.get("Uniqueid") == Some(&id));
            start.get("Channel").expect("AsyncAGIStart without Channel").to_string()
        })
        .collect()
}

pub fn send_classic(ami: &Ami, vars: &[&str], wait_secs: u32, ids: Option<(&str, &str)>) -> String {
    let wait = wait_secs.to_string();
    let mut h = vec![("Action", "Originate"), ("Channel", "Local/classic@agi"), ("Application", "Wait"), ("Data", wait.as_str()), ("Async", "true")];
    h.extend(vars.iter().map(|v| ("Variable", *v)));
    if let Some((id1, id2)) = ids {
        h.extend([("ChannelId", id1), ("OtherChannelId", id2)]);
    }
    ami.send(&h)
}

static CALLS: AtomicUsize = AtomicUsize::new(0);

/// Originates a Local channel into `exten@agi` with ${AGIARGS}=`args` and waits for its
/// AsyncAGIStart.
pub fn park(ami: &Ami, exten: &str, args: &str) -> Parked {
    let n = CALLS.fetch_add(1, Ordering::SeqCst);
    let id1 = format!("call{}-{}-1", std::process::id(), n);
    let id2 = format!("call{}-{}-2", std::process::id(), n);
    let r = ami.action(&[
        ("Action", "Originate"),
        ("Channel", &format!("Local/{exten}@agi")),
        ("Application", "Wait"),
        ("Data", "3600"),
        ("Timeout", "3600000"),
        ("Async", "true"),
        ("ChannelId", &id1),
        ("OtherChannelId", &id2),
        ("Variable", &format!("AGIARGS={args}")),
    ]);
    assert_eq!(r.get("Response"), Some("Success"), "Originate failed: {r:?}");
    let start = ami.wait_event(TIMEOUT, |m| m.is_event("AsyncAGIStart") && m.get("Uniqueid") == Some(&id2));
    Parked { channel: start.get("Channel").unwrap().to_string(), uniqueid: id2, start }
}

/// Sends `Action: AGI` and returns the AsyncAGIExec that carries `command_id`.
pub fn agi(ami: &Ami, p: &Parked, command: &str, command_id: &str) -> Message {
    let r = ami.action(&[("Action", "AGI"), ("Channel", &p.channel), ("Command", command), ("CommandID", command_id)]);
    assert_eq!(r.get("Response"), Some("Success"), "Action: AGI {command:?} refused: {r:?}");
    ami.wait_event(TIMEOUT, |m| m.is_event("AsyncAGIExec") && m.get("CommandId") == Some(command_id))
}

/// The decoded Result of `agi`.
pub fn agi_result(ami: &Ami, p: &Parked, command: &str) -> String {
    static IDS: AtomicUsize = AtomicUsize::new(0);
    let id = format!("r{}", IDS.fetch_add(1, Ordering::SeqCst));
    let m = agi(ami, p, command, &id);
    ami::decode(m.get("Result").expect("AsyncAGIExec has Result"))
}

pub fn exists(path: &Path) -> bool {
    path.exists()
}

/// What a client sees of the parked channel: every event carrying its Uniqueid (the AGI
/// ones and all others: Newexten, VarSet, Newstate, NewCallerid, Hangup...), in arrival
/// order, each as one line of all its headers. Values that differ between two runs for
/// reasons of their own (names of this run's calls, random AGIExecStart numbers, the
/// channel thread's id) are replaced by placeholders; url-encoded values are decoded.
pub struct Recorder {
    pub uniqueid: String,
    pub names: Vec<(String, &'static str)>,
}

impl Recorder {
    pub fn lines(&self, messages: Vec<Message>) -> Vec<String> {
        messages
            .into_iter()
            .filter(|m| m.get("Event").is_some() && m.get("Uniqueid") == Some(&self.uniqueid))
            .map(|m| self.line(&m))
            .collect()
    }

    pub fn line(&self, m: &Message) -> String {
        let event = m.get("Event").unwrap();
        let fields: Vec<String> = m
            .headers
            .iter()
            .filter(|(k, _)| k != "Event")
            .map(|(k, v)| {
                let v = match (event, k.as_str()) {
                    ("AGIExecStart" | "AGIExecEnd", "CommandId") => "<random>".to_string(),
                    (_, "Result" | "Env") => ami::decode(v),
                    _ => v.clone(),
                };
                let v = v
                    .lines()
                    .map(|l| if l.starts_with("agi_threadid: ") { "agi_threadid: <thread>" } else { l })
                    .collect::<Vec<_>>()
                    .join("\\n");
                format!("{k}={}", self.norm(&v))
            })
            .collect();
        format!("{event} {}", fields.join(" | "))
    }

    pub fn norm(&self, s: &str) -> String {
        self.names.iter().fold(s.to_string(), |s, (name, placeholder)| s.replace(name.as_str(), placeholder))
    }
}


/// What `agi show memory` says: res_agi_rs's own heap and glibc's totals for the process.
#[allow(dead_code)]
#[derive(Clone, Copy, Debug)]
pub struct ShowMemory {
    pub heap_bytes: i64,
    pub heap_blocks: i64,
    /// Allocations (and reallocations) by res_agi_rs since it was loaded.
    pub allocations: u64,
    pub malloc_in_use: u64,
    pub malloc_free: u64,
}

/// Runs `agi show memory` and reads its two lines; None when the command fails or says
/// something else (the module is not loaded).
#[allow(dead_code)]
pub fn show_memory(ast: &Asterisk) -> Option<ShowMemory> {
    let out = ast.cli_raw("agi show memory")?;
    let words = |prefix: &str| out.lines().find(|l| l.starts_with(prefix)).map(|l| l.split_whitespace().collect::<Vec<&str>>());
    // "res_agi_rs heap: N bytes in M blocks (…)" and "Process malloc: N bytes in use, M bytes free but kept, …"
    let (heap, process) = (words("res_agi_rs heap: ")?, words("Process malloc: ")?);
    Some(ShowMemory {
        heap_bytes: heap.get(2)?.parse().ok()?,
        heap_blocks: heap.get(5)?.parse().ok()?,
        allocations: heap.get(7)?.trim_start_matches('(').parse().ok()?,
        malloc_in_use: process.get(2)?.parse().ok()?,
        malloc_free: process.get(6)?.parse().ok()?,
    })
}

/// res_agi_rs's own heap from `agi show memory`: (live bytes, live blocks).
#[allow(dead_code)]
pub fn module_heap(ast: &Asterisk) -> (i64, i64) {
    let m = show_memory(ast).unwrap_or_else(|| panic!("agi show memory: {:?}", ast.cli_raw("agi show memory")));
    (m.heap_bytes, m.heap_blocks)
}

/// Waits (polling every 20 ms) until Asterisk has no channel left; fails after `timeout`.
#[allow(dead_code)]
pub fn wait_no_channels(ast: &Asterisk, timeout: Duration) {
    let deadline = Instant::now() + timeout;
    loop {
        let out = ast.cli("core show channels count");
        if out.starts_with("0 active channels") {
            break;
        }
        assert!(Instant::now() < deadline, "channels left after {timeout:?}: {out}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// What the process `pid` holds, as a user measures it (/proc/PID/status): virtual size and
/// resident set in kB, and its threads.
#[derive(Clone, Copy, Debug)]
pub struct ProcessStatus {
    pub vm_kb: i64,
    pub rss_kb: i64,
    pub threads: i64,
}

pub fn process_status(pid: u32) -> ProcessStatus {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_else(|e| panic!("/proc/{pid}/status: {e}"));
    let field = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no {name} in /proc/{pid}/status"))
    };
    ProcessStatus { vm_kb: field("VmSize:"), rss_kb: field("VmRSS:"), threads: field("Threads:") }
}

/// ARI beside Async AGI (issue 28, tools/bench_ari.rs).
impl Asterisk {
    /// With ARI (SANDBOX_ARI=yes: a Stasis application's modules, user bench/bench) on
    /// Asterisk's HTTP server at a free port of 127.0.0.1 (`http_port`); `flavour` chooses the
    /// AGI module loaded beside it, as for `start`.
    pub fn start_ari(flavour: Flavour) -> Asterisk {
        let port = free_port().to_string();
        Asterisk::start_target(&target(), flavour, &[("SANDBOX_HTTP_PORT", &port), ("SANDBOX_ARI", "yes")], true)
    }
}

/// A client of 127.0.0.1:`port` with a receive buffer as small as Linux allows (set before
/// connecting, so the window it offers stays small), that sends `request` and never reads.
pub fn stubborn_client(port: u16, request: &str) -> std::net::TcpStream {
    use std::os::fd::FromRawFd;
    // SAFETY: plain socket calls on a descriptor made here and handed to std::net::TcpStream at the end;
    // the address is a valid sockaddr_in for the length given.
    let fd = unsafe {
        let fd = libc::socket(libc::AF_INET, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0);
        assert!(fd >= 0, "socket: {}", std::io::Error::last_os_error());
        let size: libc::c_int = 1;
        let rc = libc::setsockopt(fd, libc::SOL_SOCKET, libc::SO_RCVBUF, (&size as *const libc::c_int).cast(), std::mem::size_of::<libc::c_int>() as libc::socklen_t);
        assert_eq!(rc, 0, "SO_RCVBUF: {}", std::io::Error::last_os_error());
        let addr = libc::sockaddr_in {
            sin_family: libc::AF_INET as libc::sa_family_t,
            sin_port: port.to_be(),
            sin_addr: libc::in_addr { s_addr: u32::from(std::net::Ipv4Addr::LOCALHOST).to_be() },
            sin_zero: [0; 8],
        };
        let rc = libc::connect(fd, (&addr as *const libc::sockaddr_in).cast(), std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t);
        assert_eq!(rc, 0, "connect: {}", std::io::Error::last_os_error());
        fd
    };
    // SAFETY: `fd` is a connected socket that nothing else owns.
    let mut s = unsafe { std::net::TcpStream::from_raw_fd(fd) };
    std::io::Write::write_all(&mut s, request.as_bytes()).unwrap();
    s
}

/// The send queue of the server's end and the receive queue of the client's end of the TCP
/// connection from 127.0.0.1:`client_port` to 127.0.0.1:`server_port` (/proc/net/tcp).
pub fn tcp_queues(server_port: u16, client_port: u16) -> (u64, u64) {
    let table = std::fs::read_to_string("/proc/net/tcp").unwrap();
    let (mut tx, mut rx) = (None, None);
    for l in table.lines().skip(1) {
        let f: Vec<&str> = l.split_whitespace().collect();
        let port = |a: &str| u16::from_str_radix(a.rsplit(':').next().unwrap(), 16).unwrap();
        let (local, remote) = (port(f[1]), port(f[2]));
        let (t, r) = f[4].split_once(':').unwrap();
        let (t, r) = (u64::from_str_radix(t, 16).unwrap(), u64::from_str_radix(r, 16).unwrap());
        if local == server_port && remote == client_port {
            tx = Some(t);
        }
        if local == client_port && remote == server_port {
            rx = Some(r);
        }
    }
    (tx.expect("the server's end in /proc/net/tcp"), rx.expect("the client's end in /proc/net/tcp"))
}

/// Every builtin command's words (but ASYNCAGI BREAK and HANGUP, which end the session), sent
/// with no arguments: each answers at once (most with their usage) and gets its own series.
pub const EVERY_COMMAND: &[&str] = &[
    "ANSWER", "CHANNEL STATUS", "DATABASE DEL", "DATABASE DELTREE", "DATABASE GET", "DATABASE PUT", "EXEC", "GET DATA",
    "GET FULL VARIABLE", "GET OPTION", "GET VARIABLE", "NOOP", "RECEIVE CHAR", "RECEIVE TEXT", "RECORD FILE", "SAY ALPHA",
    "SAY DIGITS", "SAY NUMBER", "SAY PHONETIC", "SAY DATE", "SAY TIME", "SAY DATETIME", "SEND IMAGE", "SEND TEXT",
    "SET AUTOHANGUP", "SET CALLERID", "SET CONTEXT", "SET EXTENSION", "SET MUSIC", "SET PRIORITY", "SET VARIABLE",
    "STREAM FILE", "CONTROL STREAM FILE", "TDD MODE", "VERBOSE", "WAIT FOR DIGIT", "SPEECH CREATE", "SPEECH SET",
    "SPEECH DESTROY", "SPEECH LOAD GRAMMAR", "SPEECH UNLOAD GRAMMAR", "SPEECH ACTIVATE GRAMMAR",
    "SPEECH DEACTIVATE GRAMMAR", "SPEECH RECOGNIZE",
];
