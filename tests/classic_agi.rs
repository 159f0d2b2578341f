//! Classic AGI (local scripts, FastAGI, EAGI, DeadAGI), each scenario run on stock res_agi.so
//! and on ours in the same sandbox: what the script or server received (environment and
//! every response line), the events of the channel in order, and AGISTATUS must be equal.
mod common;
use common::ami::Ami;
use common::*;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// A classic AGI call: `exten` (classic, eagi, deadagi) with ${AGISCRIPT} and two arguments.
struct Call {
    uniqueid: String,
    linkedid: String,
}

fn originate(ami: &Ami, exten: &str, vars: &[(&str, &str)], app: (&str, &str)) -> Call {
    static N: AtomicUsize = AtomicUsize::new(0);
    let n = N.fetch_add(1, Ordering::SeqCst);
    let (id1, id2) = (format!("cl-{n}-1"), format!("cl-{n}-2"));
    let vars: Vec<String> = vars.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let mut headers = vec![
        ("Action", "Originate".to_string()),
        ("Channel", format!("Local/{exten}@agi")),
        ("Application", app.0.to_string()),
        ("Data", app.1.to_string()),
        ("Async", "true".to_string()),
        ("ChannelId", id1.clone()),
        ("OtherChannelId", id2.clone()),
    ];
    for v in &vars {
        headers.push(("Variable", v.clone()));
    }
    let h: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let r = ami.action(&h);
    assert_eq!(r.get("Response"), Some("Success"), "{r:?}");
    Call { uniqueid: id2, linkedid: id1 }
}

/// The instance's directory for test files, as the host sees it and as Asterisk does.
fn files(ast: &Asterisk) -> (PathBuf, String) {
    (ast.instance_dir().join("agi"), format!("/srv/res_agi_rs/{}/agi", ast.name))
}

fn recorder(call: &Call, extra: &[(String, &'static str)]) -> Recorder {
    let mut names = vec![(call.uniqueid.clone(), "<uniqueid>"), (call.linkedid.clone(), "<linkedid>")];
    names.extend(extra.iter().cloned());
    Recorder { uniqueid: call.uniqueid.clone(), names }
}

/// Normalises a script transcript line (values that differ per run).
fn norm_line(line: &str, call: &Call, inside: &str) -> String {
    let line = line.replace(&call.uniqueid, "<uniqueid>").replace(inside, "<dir>");
    if line.starts_with("env agi_threadid: ") {
        return "env agi_threadid: <thread>".into();
    }
    line
}

/// Everything a client of one classic run sees, up to the channel's Hangup event.
fn run_script(ast: &Asterisk, exten: &str, script: &str, commands: &[&str], vars: &[(&str, &str)], during: impl FnOnce(&Ami, &Call)) -> Vec<String> {
    let ami = ast.ami();
    let (host_dir, inside) = files(ast);
    // Numbered per instance, so that both flavours name them alike.
    let n = std::fs::read_dir(&host_dir).unwrap().filter(|e| e.as_ref().unwrap().file_name().to_string_lossy().starts_with("cmds-")).count();
    let (cmds, out) = (format!("cmds-{n}.txt"), format!("out-{n}.txt"));
    std::fs::write(host_dir.join(&cmds), commands.join("\n") + "\n").unwrap();
    let script_arg = script.replace("<dir>", &inside);
    let mut all_vars = vec![
        ("AGISCRIPT", script_arg.as_str()),
        ("AGIARG1", ""),
        ("AGIARG2", ""),
    ];
    let a1 = format!("{inside}/{cmds}");
    let a2 = format!("{inside}/{out}");
    all_vars[1].1 = &a1;
    all_vars[2].1 = &a2;
    all_vars.extend_from_slice(vars);
    let call = originate(&ami, exten, &all_vars, ("Wait", "30"));
    during(&ami, &call);
    let events = ami.take_until(TIMEOUT * 2, |m| m.is_event("Hangup") && m.get("Uniqueid") == Some(&call.uniqueid));
    let mut lines = vec![format!("-- {exten} {script}")];
    let rec = recorder(&call, &[(inside.clone(), "<dir>")]);
    lines.extend(rec.lines(events));
    // The script's own view, once it has finished writing.
    let path = host_dir.join(&out);
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let text = std::fs::read_to_string(&path).unwrap_or_default();
        if text.contains("done\n") || text.contains("exit ") || Instant::now() > deadline {
            // When a SIGHUP lands relative to the lines the script reads is a race: say only
            // whether one came.
            let hup = text.lines().any(|l| l == "signal: SIGHUP");
            lines.extend(text.lines().filter(|l| *l != "signal: SIGHUP").map(|l| format!("script: {}", norm_line(l, &call, &inside))));
            lines.push(format!("script got SIGHUP: {hup}"));
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    lines
}

/// Asterisk's PBX UUID (a per-installation random value that ast_child_verbose prefixes).
fn without_uuid(lines: Vec<String>) -> Vec<String> {
    lines
        .into_iter()
        .map(|l| match l.find("PBX UUID: ") {
            Some(i) if l.len() >= i + 10 + 36 => format!("{}<uuid>{}", &l[..i + 10], &l[i + 10 + 36..]),
            _ => l,
        })
        .collect()
}

fn compare(what: &str, scenario: impl Fn(Flavour) -> Vec<String>) -> Vec<String> {
    let stock = without_uuid(scenario(Flavour::Stock));
    let ours = without_uuid(scenario(Flavour::Ours));
    let dir = project_dir().join("target");
    let _ = std::fs::write(dir.join(format!("classic-{what}-stock.txt")), stock.join("\n"));
    let _ = std::fs::write(dir.join(format!("classic-{what}-ours.txt")), ours.join("\n"));
    let mut diffs = Vec::new();
    for i in 0..stock.len().max(ours.len()) {
        if stock.get(i) != ours.get(i) {
            diffs.push(format!("line {i}:\n  stock: {:?}\n  ours:  {:?}", stock.get(i), ours.get(i)));
        }
    }
    assert!(diffs.is_empty(), "{what}: {} differences from stock:\n{}", diffs.len(), diffs.join("\n"));
    ours
}

const COMMANDS: &[&str] = &[
    "NOOP",
    "ANSWER",
    "CHANNEL STATUS",
    "GET VARIABLE AGISCRIPT",
    "SET VARIABLE FROMSCRIPT \"a b\"",
    "GET VARIABLE FROMSCRIPT",
    "GET FULL VARIABLE ${FROMSCRIPT}-x",
    "EXEC Set Y=z",
    "GET VARIABLE Y",
    "DATABASE PUT fam key value",
    "DATABASE GET fam key",
    "NO SUCH COMMAND",
    "GET",
    "STREAM FILE beep \"\"",
    "STREAM FILE no-such-sound \"\"",
    "WAIT FOR DIGIT 10",
    "SAY NUMBER 7 \"\"",
    "SET CALLERID \"Bob\" <123>",
    "GET DATA beep 50 2",
    "CONTROL STREAM FILE beep",
    "GOSUB subs greet 1 hello",
    "GET VARIABLE GOSUB_RETVAL",
    "ASYNCAGI BREAK",
    "VERBOSE \"from a script\" 1",
];

#[test]
fn local_scripts_behave_as_stock() {
    compare("scripts", |flavour| {
        let ast = Asterisk::start(flavour);
        let mut out = run_script(&ast, "classic", "transcript.pl", COMMANDS, &[], |_, _| {});
        // A plain shell script, named by its full path.
        out.extend(run_script(&ast, "classic", "<dir>/simple.sh", &[], &[], |_, _| {}));
        // A script that exits non-zero, one that is missing, one that is not executable.
        out.extend(run_script(&ast, "classic", "transcript.pl", &["NOOP", "#exit 3"], &[], |_, _| {}));
        out.extend(run_script(&ast, "classic", "no-such-script.pl", &[], &[], |_, _| {}));
        let (host_dir, _) = files(&ast);
        std::fs::write(host_dir.join("not-executable.pl"), "#!/usr/bin/perl\n").unwrap();
        out.extend(run_script(&ast, "classic", "not-executable.pl", &[], &[], |_, _| {}));
        // DeadAGI: deprecated, runs AGI.
        out.extend(run_script(&ast, "deadagi", "transcript.pl", &["NOOP", "GET VARIABLE AGISCRIPT"], &[], |_, _| {}));
        ast.wait_log("DeadAGI has been deprecated, please use AGI in all cases!");
        out
    });
}

/// The script waits in WAIT FOR DIGIT; the test hangs the channel up.
fn hangup_during(ami: &Ami, call: &Call) {
    let start = ami.wait_present(TIMEOUT, |m| m.is_event("AGIExecStart") && m.get("Command") == Some("WAIT FOR DIGIT 5000") && m.get("Uniqueid") == Some(&call.uniqueid));
    assert!(start, "the script never reached WAIT FOR DIGIT");
    let channel = ami
        .snapshot()
        .into_iter()
        .find(|m| m.is_event("AGIExecStart") && m.get("Uniqueid") == Some(&call.uniqueid))
        .and_then(|m| m.get("Channel").map(str::to_string))
        .unwrap();
    ami.send(&[("Action", "Hangup"), ("Channel", &channel)]);
}

#[test]
fn hangup_while_a_script_runs_behaves_as_stock() {
    let after = ["ANSWER", "WAIT FOR DIGIT 5000", "#sleep 0.3", "NOOP", "ANSWER", "GET VARIABLE AGISCRIPT"];
    compare("hangup", |flavour| {
        let ast = Asterisk::start(flavour);
        let mut out = run_script(&ast, "classic", "transcript.pl", &after, &[], hangup_during);
        out.extend(run_script(&ast, "classic", "transcript.pl", &after, &[("AGISIGHUP", "no")], hangup_during));
        // Leaving at once: the script's later writes would race with its pipes closing.
        out.extend(run_script(&ast, "classic", "transcript.pl", &after[..2], &[("AGIEXITONHANGUP", "yes")], hangup_during));
        out
    });
}

/// A FastAGI server on loopback that answers one connection: records the environment and the
/// responses to `commands`, then closes.
fn fastagi_server(commands: Vec<String>) -> (u16, std::thread::JoinHandle<Vec<String>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let handle = std::thread::spawn(move || {
        // Nobody may come (a failed connect): give up after a while.
        listener.set_nonblocking(true).unwrap();
        let deadline = Instant::now() + Duration::from_secs(8);
        let stream = loop {
            match listener.accept() {
                Ok((s, _)) => break s,
                Err(_) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(10)),
                Err(_) => return vec!["no connection".to_string()],
            }
        };
        stream.set_nonblocking(false).unwrap();
        stream.set_read_timeout(Some(Duration::from_secs(15))).unwrap();
        let mut out = Vec::new();
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let mut w = stream;
        let mut line = String::new();
        loop {
            line.clear();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                return out;
            }
            let l = line.trim_end_matches('\n');
            if l.is_empty() {
                break;
            }
            out.push(format!("env {l}"));
        }
        for cmd in commands {
            if let Some(rest) = cmd.strip_prefix("#raw ") {
                w.write_all(rest.as_bytes()).unwrap();
                continue;
            }
            w.write_all(format!("{cmd}\n").as_bytes()).unwrap();
            loop {
                line.clear();
                if reader.read_line(&mut line).unwrap_or(0) == 0 {
                    out.push(format!("{} -> EOF", cmd.chars().take(60).collect::<String>()));
                    return out;
                }
                let l = line.trim_end_matches('\n').to_string();
                out.push(format!("{} -> {l}", cmd.chars().take(60).collect::<String>()));
                if l.len() >= 4 && l.as_bytes()[3] == b' ' && l[..3].bytes().all(|b| b.is_ascii_digit()) {
                    break;
                }
            }
        }
        out.push("closed".into());
        out
    });
    (port, handle)
}

fn run_fast(ast: &Asterisk, url: &str, commands: &[&str]) -> Vec<String> {
    let ami = ast.ami();
    let (port, server) = fastagi_server(commands.iter().map(|s| s.to_string()).collect());
    let url = url.replace("PORT", &port.to_string());
    let call = originate(&ami, "classic", &[("AGISCRIPT", &url), ("AGIARG1", "first"), ("AGIARG2", "second arg")], ("Wait", "30"));
    let events = ami.take_until(TIMEOUT * 2, |m| m.is_event("Hangup") && m.get("Uniqueid") == Some(&call.uniqueid));
    let rec = recorder(&call, &[(port.to_string(), "<port>")]);
    let mut lines = vec![format!("-- FastAGI {}", url.replace(&port.to_string(), "<port>"))];
    lines.extend(rec.lines(events));
    lines.extend(server.join().unwrap().into_iter().map(|l| {
        let l = l.replace(&call.uniqueid, "<uniqueid>").replace(&port.to_string(), "<port>");
        if l.starts_with("env agi_threadid: ") { "env agi_threadid: <thread>".into() } else { format!("server: {l}") }
    }));
    lines
}

#[test]
fn fastagi_behaves_as_stock() {
    compare("fastagi", |flavour| {
        let ast = Asterisk::start(flavour);
        let mut out = run_fast(&ast, "agi://127.0.0.1:PORT/some/path?x=1&y=2", &["NOOP", "GET VARIABLE AGISCRIPT", "EXEC Set A=b", "GET VARIABLE A", "NO SUCH", "ANSWER"]);
        out.extend(run_fast(&ast, "agi://127.0.0.1:PORT", &["NOOP"]));
        // A server that closes in the middle of a command line.
        out.extend(run_fast(&ast, "agi://127.0.0.1:PORT/x", &["NOOP", "#raw GET VARIA"]));
        // Binary garbage, then a line longer than the 8 KB buffer: each piece is a command.
        let garbage = format!("#raw \u{1}\u{2}\u{7f}\u{fe} garbage\n{}\n", "x".repeat(20_000));
        out.extend(run_fast(&ast, "agi://127.0.0.1:PORT", &[&garbage, "NOOP"]));
        out
    });
}

#[test]
fn fastagi_connection_failures_behave_as_stock() {
    compare("fastagi-failures", |flavour| {
        let ast = Asterisk::start(flavour);
        let ami = ast.ami();
        let mut out = Vec::new();
        // A refused port.
        let closed = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let url = format!("agi://127.0.0.1:{closed}/x");
        let call = originate(&ami, "classic", &[("AGISCRIPT", &url)], ("Wait", "30"));
        let after = ami.wait_event(TIMEOUT, |m| m.get("UserEvent") == Some("AfterAGI") && m.get("Uniqueid") == Some(&call.uniqueid));
        out.push(format!("refused -> AGISTATUS {}", after.get("Status").unwrap()));
        ast.wait_log("Couldn't connect to any host.  FastAGI failed.");
        // A server that never accepts (its backlog full, on loopback): the connect times out
        // after 2 s.
        let (port, _hold) = full_backlog();
        let url = format!("agi://127.0.0.1:{port}/x");
        let started = Instant::now();
        let call = originate(&ami, "classic", &[("AGISCRIPT", &url)], ("Wait", "30"));
        let after = ami.wait_event(TIMEOUT, |m| m.get("UserEvent") == Some("AfterAGI") && m.get("Uniqueid") == Some(&call.uniqueid));
        let took = started.elapsed();
        out.push(format!("timeout -> AGISTATUS {} after ~2 s: {}", after.get("Status").unwrap(), took >= Duration::from_millis(1900) && took < Duration::from_millis(4000)));
        ast.wait_log("timed out after MAX_AGI_CONNECT (2000) milliseconds.");
        // EAGI is refused for agi://.
        let call = originate(&ami, "eagi", &[("AGISCRIPT", "agi://127.0.0.1:1/x")], ("Wait", "30"));
        let after = ami.wait_event(TIMEOUT, |m| m.get("UserEvent") == Some("AfterAGI") && m.get("Uniqueid") == Some(&call.uniqueid));
        out.push(format!("EAGI agi:// -> AGISTATUS {}", after.get("Status").unwrap()));
        let call = originate(&ami, "eagi", &[("AGISCRIPT", "agi:async")], ("Wait", "30"));
        let after = ami.wait_event(TIMEOUT, |m| m.get("UserEvent") == Some("AfterAGI") && m.get("Uniqueid") == Some(&call.uniqueid));
        out.push(format!("EAGI agi:async -> AGISTATUS {}", after.get("Status").unwrap()));
        ast.wait_log("Async AGI does not support Enhanced AGI yet");
        out
    });
}

/// A loopback listener whose accept queue is full, so a new connect hangs (SYNs dropped).
fn full_backlog() -> (u16, Vec<TcpStream>) {
    use std::os::fd::AsRawFd;
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    // listen() again with a backlog of 0 on the same socket.
    let fd = listener.as_raw_fd();
    assert_eq!(unsafe_listen(fd), 0);
    let port = listener.local_addr().unwrap().port();
    let mut held = Vec::new();
    for _ in 0..4 {
        if let Ok(s) = TcpStream::connect_timeout(&format!("127.0.0.1:{port}").parse().unwrap(), Duration::from_millis(300)) {
            held.push(s);
        }
    }
    std::mem::forget(listener);
    (port, held)
}

#[allow(unsafe_code)]
fn unsafe_listen(fd: i32) -> i32 {
    // SAFETY: fd is a live listening socket owned by the caller.
    unsafe { libc_listen(fd, 0) }
}

extern "C" {
    #[link_name = "listen"]
    fn libc_listen(fd: i32, backlog: i32) -> i32;
}

#[test]
fn eagi_feeds_the_channels_audio_on_fd_3() {
    // The ;1 half plays a tone (Milliwatt) into the ;2 half, which runs EAGI; the script
    // counts what arrives on fd 3 in one second. slin is 16,000 bytes/s, slin16 32,000.
    let count = |flavour: Flavour, format: &str| -> usize {
        let ast = Asterisk::start(flavour);
        let ami = ast.ami();
        let (host_dir, inside) = files(&ast);
        let out = format!("eagi-{format}.txt");
        let mut vars = vec![("AGISCRIPT", "eagi_count.pl".to_string()), ("AGIARG1", format!("{inside}/{out}"))];
        if !format.is_empty() {
            vars.push(("EAGI_AUDIO_FORMAT", format.to_string()));
        }
        let v: Vec<(&str, &str)> = vars.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let call = originate(&ami, "eagi", &v, ("Milliwatt", ""));
        let after = ami.wait_event(TIMEOUT, |m| m.get("UserEvent") == Some("AfterAGI") && m.get("Uniqueid") == Some(&call.uniqueid));
        assert_eq!(after.get("Status"), Some("SUCCESS"));
        let text = std::fs::read_to_string(host_dir.join(&out)).unwrap();
        assert!(text.contains("env agi_enhanced: 1.0"), "{text}");
        text.lines().find_map(|l| l.strip_prefix("bytes ")).unwrap().parse().unwrap()
    };
    for flavour in [Flavour::Stock, Flavour::Ours] {
        let slin = count(flavour, "");
        let slin16 = count(flavour, "slin16");
        assert!((12_000..=20_000).contains(&slin), "{flavour:?}: slin {slin} bytes in 1 s");
        assert!((24_000..=40_000).contains(&slin16), "{flavour:?}: slin16 {slin16} bytes in 1 s");
    }
}

/// Asterisk's open descriptors and live children, to see that 1,000 runs leave none.
fn fds_and_children(ast: &Asterisk) -> (usize, usize) {
    let fds = std::fs::read_dir(format!("/proc/{}/fd", ast.pid())).map(|d| d.count()).unwrap_or(0);
    let children = std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| e.ok())
        .filter_map(|e| std::fs::read_to_string(e.path().join("stat")).ok())
        .filter(|stat| stat.rsplit(')').next().and_then(|r| r.split_whitespace().nth(1)).map(|p| p == ast.pid().to_string()).unwrap_or(false))
        .count();
    (fds, children)
}

#[test]
fn many_scripts_in_a_row_leave_no_descriptor_and_no_child() {
    let ast = Asterisk::start(Flavour::Ours);
    let ami = ast.ami();
    // Warm up (first-use allocations), then count.
    let run = |n: usize| {
        let mut left = n;
        let mut ids = Vec::new();
        while left > 0 {
            let batch = left.min(50);
            for _ in 0..batch {
                ids.push(originate(&ami, "classic", &[("AGISCRIPT", "simple.sh"), ("AGIARG1", "/dev/null")], ("Wait", "30")).uniqueid);
            }
            for id in ids.drain(..) {
                let after = ami.wait_event(TIMEOUT * 3, |m| m.get("UserEvent") == Some("AfterAGI") && m.get("Uniqueid") == Some(&id));
                assert_eq!(after.get("Status"), Some("SUCCESS"));
            }
            left -= batch;
        }
        ami.clear();
    };
    run(20);
    std::thread::sleep(Duration::from_millis(500));
    let before = fds_and_children(&ast);
    run(1000);
    std::thread::sleep(Duration::from_millis(1000));
    let after = fds_and_children(&ast);
    assert!(after.0 <= before.0 + 2, "descriptors grew: {before:?} -> {after:?}");
    assert_eq!(after.1, 0, "children left: {after:?}");
}

