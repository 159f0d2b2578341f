//! Classic AGI (local scripts, FastAGI, EAGI, DeadAGI), each scenario run on stock res_agi.so
//! and on ours in the same sandbox: what the script or server received (environment and
//! every response line), the events of the channel in order, and AGISTATUS must be equal.
mod common;
use common::ami::Ami;
use common::dns::Dns;
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
fn run_script(ast: &Asterisk, exten: &str, script: &str, commands: &[&str], vars: &[(&str, &str)], during: impl FnOnce(&Ami, &Call) -> Vec<String>) -> Vec<String> {
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
    let seen = during(&ami, &call);
    let events = ami.take_until(TIMEOUT * 2, |m| m.is_event("Hangup") && m.get("Uniqueid") == Some(&call.uniqueid));
    let mut lines = vec![format!("-- {exten} {script}")];
    lines.extend(seen);
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
        let mut out = run_script(&ast, "classic", "transcript.pl", COMMANDS, &[], |_, _| Vec::new());
        // A Python script (python3 in the sandbox's chroot).
        out.extend(run_script(&ast, "classic", "transcript.py", &COMMANDS[..14], &[], |_, _| Vec::new()));
        // A plain shell script, named by its full path, with `agi set debug on`: the AGI
        // Rx/Tx lines in the log are compared too.
        assert!(ast.cli("agi set debug on").contains("AGI Debugging Enabled"));
        let before = ast.log().len();
        let run = run_script(&ast, "classic", "<dir>/simple.sh", &[], &[], |_, _| Vec::new());
        let log = ast.wait_log("AGI Rx << VERBOSE");
        ast.cli("agi set debug off");
        let (_, inside) = files(&ast);
        out.extend(log[before..].lines().filter_map(|l| l.find("AGI Rx << ").or_else(|| l.find("AGI Tx >> ")).map(|i| {
            let l = &l[i..];
            if l.starts_with("AGI Tx >> agi_threadid: ") || l.starts_with("AGI Tx >> agi_uniqueid: ") {
                format!("log: {}<per run>", &l[..l.find(": ").unwrap() + 2])
            } else {
                format!("log: {}", l.replace(&inside, "<dir>"))
            }
        })));
        out.extend(run);
        // Action: AGI on a channel that runs a script (no Async AGI queue): refused, as stock.
        out.extend(run_script(&ast, "classic", "transcript.pl", &["WAIT FOR DIGIT 1000", "NOOP"], &[], |ami, call| {
            ami.wait_event(TIMEOUT, |m| m.is_event("AGIExecStart") && m.get("Uniqueid") == Some(&call.uniqueid));
            let r = ami.action(&[("Action", "AGI"), ("Channel", &call.uniqueid), ("Command", "NOOP")]);
            vec![format!("Action: AGI -> {} {}", r.get("Response").unwrap_or(""), r.get("Message").unwrap_or("").replace(&call.uniqueid, "<uniqueid>"))]
        }));
        // A script that exits non-zero, one that is missing, one that is not executable.
        out.extend(run_script(&ast, "classic", "transcript.pl", &["NOOP", "#exit 3"], &[], |_, _| Vec::new()));
        // A script that closes its stdout and goes on running: the session ends (EOF) and
        // waits for it to exit.
        out.extend(run_script(&ast, "classic", "transcript.pl", &["NOOP", "#closeout"], &[], |_, _| Vec::new()));
        out.extend(run_script(&ast, "classic", "no-such-script.pl", &[], &[], |_, _| Vec::new()));
        let (host_dir, _) = files(&ast);
        std::fs::write(host_dir.join("not-executable.pl"), "#!/usr/bin/perl\n").unwrap();
        out.extend(run_script(&ast, "classic", "not-executable.pl", &[], &[], |_, _| Vec::new()));
        // DeadAGI: deprecated, runs AGI; Asterisk 23 removed it (no such application).
        out.extend(run_script(&ast, "deadagi", "transcript.pl", &["NOOP", "GET VARIABLE AGISCRIPT"], &[], |_, _| Vec::new()));
        if common::target_major() < 23 {
            ast.wait_log("DeadAGI has been deprecated, please use AGI in all cases!");
        } else {
            ast.wait_log("No application 'DeadAGI'");
        }
        out
    });
}

/// The script waits in WAIT FOR DIGIT; the test hangs the channel up.
fn hangup_during(ami: &Ami, call: &Call) -> Vec<String> {
    let start = ami.wait_present(TIMEOUT, |m| m.is_event("AGIExecStart") && m.get("Command") == Some("WAIT FOR DIGIT 5000") && m.get("Uniqueid") == Some(&call.uniqueid));
    assert!(start, "the script never reached WAIT FOR DIGIT");
    let channel = ami
        .snapshot()
        .into_iter()
        .find(|m| m.is_event("AGIExecStart") && m.get("Uniqueid") == Some(&call.uniqueid))
        .and_then(|m| m.get("Channel").map(str::to_string))
        .unwrap();
    ami.send(&[("Action", "Hangup"), ("Channel", &channel)]);
    Vec::new()
}

#[test]
fn hangup_while_a_script_runs_behaves_as_stock() {
    let after = ["ANSWER", "WAIT FOR DIGIT 5000", "#sleep 0.3", "NOOP", "ANSWER", "GET VARIABLE AGISCRIPT"];
    compare("hangup", |flavour| {
        let ast = Asterisk::start(flavour);
        let mut out = run_script(&ast, "classic", "transcript.pl", &after, &[], hangup_during);
        out.extend(run_script(&ast, "classic", "transcript.pl", &after, &[("AGISIGHUP", "no")], hangup_during));
        // Leaving at once: the script's later writes would race with its pipes closing, so it
        // only lingers (and is there when the SIGHUP comes).
        out.extend(run_script(&ast, "classic", "transcript.pl", &["ANSWER", "WAIT FOR DIGIT 5000", "#sleep 0.5"], &[("AGIEXITONHANGUP", "yes")], hangup_during));
        out
    });
}

/// A FastAGI server on loopback that answers one connection: records the environment and the
/// responses to `commands`, then closes.
fn fastagi_server(commands: Vec<String>) -> (u16, std::thread::JoinHandle<Vec<String>>) {
    fastagi_server_on(TcpListener::bind("127.0.0.1:0").unwrap(), commands)
}

fn fastagi_server_on(listener: TcpListener, commands: Vec<String>) -> (u16, std::thread::JoinHandle<Vec<String>>) {
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
            if cmd == "#junk" {
                // Binary garbage, then a 1 MB line, then NOOP: every piece is answered.
                let mut junk = b"\x01\x02\x7f\xfe garbage\n".to_vec();
                junk.extend(std::iter::repeat_n(b'x', 1_000_000));
                junk.extend_from_slice(b"\nNOOP\n");
                w.write_all(&junk).unwrap();
                let mut answers = std::collections::BTreeMap::new();
                loop {
                    line.clear();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 {
                        out.push("junk -> EOF".into());
                        return out;
                    }
                    let l = line.trim_end_matches('\n').to_string();
                    let done = l == "200 result=0";
                    *answers.entry(l).or_insert(0) += 1;
                    if done {
                        break;
                    }
                }
                out.push(format!("junk answered: {answers:?}"));
                continue;
            }
            if let Some(rest) = cmd.strip_prefix("#timed ").or_else(|| cmd.strip_prefix("#pair ")) {
                // "#timed LINE": LINE, then its answer or none within 3 s (the session goes
                // on). "#pair A|B": both lines in one write, then each one's answer, or none
                // within 3 s.
                let lines: Vec<&str> = if cmd.starts_with("#pair ") { rest.splitn(2, '|').collect() } else { vec![rest] };
                w.write_all(lines.iter().map(|l| format!("{l}\n")).collect::<String>().as_bytes()).unwrap();
                reader.get_ref().set_read_timeout(Some(Duration::from_secs(3))).unwrap();
                for l in lines {
                    line.clear();
                    let shown = l;
                    match reader.read_line(&mut line) {
                        Ok(0) => {
                            out.push(format!("{shown} -> EOF"));
                            return out;
                        }
                        Ok(_) => out.push(format!("{shown} -> {}", line.trim_end_matches('\n'))),
                        Err(_) => {
                            out.push(format!("{shown} -> no answer in 3 s"));
                            break;
                        }
                    }
                }
                reader.get_ref().set_read_timeout(Some(Duration::from_secs(15))).unwrap();
                continue;
            }
            if cmd == "#listen" {
                // Send nothing; note what Asterisk says until HANGUP or until it closes.
                loop {
                    line.clear();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 {
                        out.push("heard EOF".into());
                        return out;
                    }
                    let heard = line.trim_end_matches('\n').to_string();
                    out.push(format!("heard {heard}"));
                    if heard == "HANGUP" {
                        // A server closes on HANGUP (the session waits for that, as stock).
                        return out;
                    }
                }
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

/// A transcript line as a test compares it: NUL and other control bytes escaped, a long run
/// of one character (the 3,000 x of the pipelining tests) as `<N x>`.
fn short(line: &str) -> String {
    let mut out = String::new();
    let chars: Vec<char> = line.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let run = chars[i..].iter().take_while(|&&c| c == chars[i]).count();
        if run >= 100 {
            out += &format!("<{run} {}>", chars[i]);
        } else {
            out.extend(chars[i..i + run].iter().flat_map(|c| c.escape_debug()));
        }
        i += run;
    }
    out
}

fn run_fast(ast: &Asterisk, url: &str, commands: &[&str]) -> Vec<String> {
    run_fast_on(ast, TcpListener::bind("127.0.0.1:0").unwrap(), url, commands)
}

fn run_fast_on(ast: &Asterisk, listener: TcpListener, url: &str, commands: &[&str]) -> Vec<String> {
    let ami = ast.ami();
    let (port, server) = fastagi_server_on(listener, commands.iter().map(|s| s.to_string()).collect());
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
        // With `agi set debug on`: the log's Tx/Rx lines (agi_network lines without a channel).
        ast.cli("agi set debug on");
        let before = ast.log().len();
        out.extend(run_fast(&ast, "agi://127.0.0.1:PORT/dbg", &["NOOP"]));
        let log = ast.wait_log("AGI Rx << NOOP");
        ast.cli("agi set debug off");
        out.extend(log[before..].lines().filter_map(|l| l.find("AGI Tx >> agi_network").map(|i| format!("log: {}", &l[i..]))));
        out
    });
}

/// Binary garbage, then a 1 MB line without a newline, then NOOP (ours only: stock's events
/// for bytes that are not UTF-8 lose their Command and CommandId, and stock may close the
/// connection in the middle of a long burst; see docs/differences.md).
#[test]
fn fastagi_garbage_and_a_1_mb_line_each_get_an_answer() {
    let mut ast = Asterisk::start(Flavour::Ours);
    let out = run_fast(&ast, "agi://127.0.0.1:PORT", &["#junk", "NOOP"]);
    // One 510 for the garbage line and one for each 8,191-byte piece of the 1 MB line
    // (1,000,000 / 8,191 = 122 pieces and a rest), then NOOP's own answer.
    assert!(
        out.contains(&"server: junk answered: {\"200 result=0\": 1, \"510 Invalid or unknown command\": 124}".to_string()),
        "{out:#?}"
    );
    assert!(out.contains(&"server: NOOP -> 200 result=0".to_string()), "{out:#?}");
    let starts = out.iter().filter(|l| l.starts_with("AGIExecStart ")).count();
    assert_eq!(starts, 126, "every piece is one command with its events");
    assert!(out.iter().filter(|l| l.starts_with("AGIExecStart ")).all(|l| l.contains("| CommandId=<random> | Command=")));
    assert!(ast.is_running());
}

#[test]
fn a_fastagi_server_that_sends_nothing_costs_nothing_and_hears_the_hangup() {
    compare("fastagi-silent", |flavour| {
        let ast = Asterisk::start(flavour);
        let ami = ast.ami();
        let (port, server) = fastagi_server(vec!["#listen".to_string()]);
        let url = format!("agi://127.0.0.1:{port}/quiet");
        let call = originate(&ami, "classic", &[("AGISCRIPT", &url)], ("Wait", "30"));
        let start = ami.wait_event(TIMEOUT, |m| m.is_event("Newexten") && m.get("Application") == Some("AGI") && m.get("Uniqueid") == Some(&call.uniqueid));
        let channel = start.get("Channel").unwrap().to_string();
        std::thread::sleep(Duration::from_millis(1000));
        // A silent session costs no CPU: the channel thread sleeps in ast_waitfor_nandfds.
        let mut out = vec![format!("still up after 1 s: {}", ast.cli("core show channels").contains(&channel))];
        ami.send(&[("Action", "Hangup"), ("Channel", &channel)]);
        let events = ami.take_until(TIMEOUT, |m| m.is_event("Hangup") && m.get("Uniqueid") == Some(&call.uniqueid));
        out.extend(recorder(&call, &[(port.to_string(), "<port>")]).lines(events));
        out.extend(server.join().unwrap().into_iter().filter(|l| !l.starts_with("env ")).map(|l| format!("server: {l}")));
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
        let closed = free_port();
        out.push(format!("refused -> AGISTATUS {}", agistatus(&ami, "classic", &format!("agi://127.0.0.1:{closed}/x"))));
        ast.wait_log("Couldn't connect to any host.  FastAGI failed.");
        // A server that never accepts (its backlog full, on loopback): the connect times out
        // after 2 s.
        let (port, _hold) = full_backlog();
        let started = Instant::now();
        let status = agistatus(&ami, "classic", &format!("agi://127.0.0.1:{port}/x"));
        let took = started.elapsed();
        out.push(format!("timeout -> AGISTATUS {status} after ~2 s: {}", took >= Duration::from_millis(1900) && took < Duration::from_millis(4000)));
        ast.wait_log("timed out after MAX_AGI_CONNECT (2000) milliseconds.");
        // EAGI is refused for agi://.
        out.push(format!("EAGI agi:// -> AGISTATUS {}", agistatus(&ami, "eagi", "agi://127.0.0.1:1/x")));
        out.push(format!("EAGI agi:async -> AGISTATUS {}", agistatus(&ami, "eagi", "agi:async")));
        ast.wait_log("Async AGI does not support Enhanced AGI yet");
        out
    });
}

/// `agi://host/…` without a port goes to 4573, and a host that resolves to several addresses
/// is tried address by address, as stock: it resolves to ::1 first (glibc sorts IPv6 loopback
/// ahead, RFC 6724), where nothing listens, then 127.0.0.1, where the server is.
#[test]
fn fastagi_default_port_and_every_resolved_address_as_stock() {
    // The sandbox's /etc/hosts names one host with two addresses.
    let hosts = sandbox_root().join("etc/hosts");
    let mut text = std::fs::read_to_string(&hosts).unwrap_or_else(|_| "127.0.0.1 localhost\n::1 localhost\n".into());
    if !text.contains("agi-multi.test") {
        text += "::1 agi-multi.test\n127.0.0.1 agi-multi.test\n";
        std::fs::write(&hosts, text).expect("write the sandbox's /etc/hosts");
    }
    compare("fastagi-addresses", |flavour| {
        let ast = Asterisk::start(flavour);
        let listener = TcpListener::bind("127.0.0.1:4573").expect("port 4573 (FastAGI's default) must be free on loopback for this test");
        let mut out = run_fast_on(&ast, listener, "agi://127.0.0.1/default-port", &["NOOP"]);
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port().to_string();
        out.extend(run_fast_on(&ast, listener, "agi://agi-multi.test:PORT/multi", &["NOOP"]));
        // Which addresses were tried is in the warnings.
        ast.wait_log("failed for url 'agi://agi-multi.test");
        for l in ast.log().lines().filter(|l| l.contains("WARNING") && (l.contains("res_agi") || l.contains("agi-multi"))) {
            let text = l.split_once(" WARNING[").and_then(|x| x.1.split_once(": ")).map_or(l, |x| x.1);
            out.push(format!("log: {}", text.replace(&port, "<port>")));
        }
        out
    });
}

/// A loopback port nobody listens on (bound, then closed).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// AGISTATUS after `exten` ran ${AGISCRIPT}=`script`.
fn agistatus(ami: &Ami, exten: &str, script: &str) -> String {
    let call = originate(ami, exten, &[("AGISCRIPT", script)], ("Wait", "30"));
    let after = ami.wait_event(TIMEOUT, |m| m.get("UserEvent") == Some("AfterAGI") && m.get("Uniqueid") == Some(&call.uniqueid));
    after.get("Status").unwrap().to_string()
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
    let heap_before = module_heap(&ast);
    run(1000);
    std::thread::sleep(Duration::from_millis(1000));
    let after = fds_and_children(&ast);
    let heap_after = module_heap(&ast);
    assert!(after.0 <= before.0 + 2, "descriptors grew: {before:?} -> {after:?}");
    assert_eq!(after.1, 0, "children left: {after:?}");
    // Nothing of a script run stays in the module's heap (its own allocator counts it).
    assert!(heap_after.0 - heap_before.0 < 4096 && heap_after.1 - heap_before.1 < 16, "res_agi_rs heap grew over 1,000 scripts: {heap_before:?} -> {heap_after:?}");
}


#[test]
fn hagi_follows_srv_records_as_stock() {
    compare("hagi", |flavour| {
        let ast = Asterisk::start(flavour);
        let ami = ast.ami();
        let mut out = Vec::new();
        let closed = free_port();
        let (port, server) = fastagi_server(vec!["NOOP".into(), "GET VARIABLE AGISCRIPT".into()]);
        // The first target (priority 10) refuses; the second (priority 20) answers.
        let dns = Dns::start(vec![(20, 0, port), (10, 0, closed)], "127.0.0.1");
        let call = originate(&ami, "classic", &[("AGISCRIPT", "hagi://hagi.test/srv/path")], ("Wait", "30"));
        let events = ami.take_until(TIMEOUT, |m| m.is_event("Hangup") && m.get("Uniqueid") == Some(&call.uniqueid));
        let norm = [(port.to_string(), "<port>"), (closed.to_string(), "<closed>")];
        out.extend(recorder(&call, &norm).lines(events));
        out.extend(server.join().unwrap().into_iter().map(|l| {
            let l = l.replace(&call.uniqueid, "<uniqueid>");
            if l.starts_with("env agi_threadid: ") { "env agi_threadid: <thread>".into() } else { format!("server: {l}") }
        }));
        ast.wait_log(&format!("AGI request failed for host 'hagi.test' (127.0.0.1:{closed})"));
        // No SRV record: FAILURE.
        out.push(format!("no SRV record -> AGISTATUS {}", agistatus(&ami, "classic", "hagi://nosuch.test/x")));
        ast.wait_log("SRV lookup failed for hagi://nosuch.test/x");
        drop(dns);
        // A port in the URI disables SRV.
        let (port, server) = fastagi_server(vec!["NOOP".into()]);
        out.push(format!("hagi with a port -> AGISTATUS {}", agistatus(&ami, "classic", &format!("hagi://127.0.0.1:{port}/direct"))));
        out.extend(server.join().unwrap().into_iter().filter(|l| l.starts_with("env agi_network") || !l.starts_with("env ")).map(|l| format!("server: {}", l.replace(&port.to_string(), "<port>"))));
        ast.wait_log("Specifying a port number disables SRV lookups");
        out
    });
}

/// panoramisk's FastAGI server (PyPI, unmodified) answering one call.
fn run_panoramisk(ast: &Asterisk) -> Vec<String> {
    use std::process::{Command, Stdio};
    let ami = ast.ami();
    let port = free_port();
    let mut child = Command::new("python3")
        .arg(project_dir().join("tests/clients/panoramisk_fastagi.py"))
        .arg(port.to_string())
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3 with panoramisk (make test installs it)");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    assert_eq!(lines.next().and_then(|l| l.ok()).as_deref(), Some("listening"));
    let url = format!("agi://127.0.0.1:{port}/lib");
    let call = originate(&ami, "classic", &[("AGISCRIPT", &url), ("AGIARG1", "from-dialplan")], ("Wait", "30"));
    let events = ami.take_until(TIMEOUT * 2, |m| m.is_event("Hangup") && m.get("Uniqueid") == Some(&call.uniqueid));
    let mut out = vec!["-- panoramisk fast_agi".to_string()];
    out.extend(recorder(&call, &[(port.to_string(), "<port>")]).lines(events));
    out.extend(lines.map_while(Result::ok).map(|l| format!("panoramisk: {l}")));
    assert!(child.wait().unwrap().success());
    out
}

#[test]
fn unmodified_agi_libraries_behave_as_stock() {
    let out = compare("libraries", |flavour| {
        let ast = Asterisk::start(flavour);
        let mut out = run_script(&ast, "classic", "asterisk_agi_lib.pl", &[], &[], |_, _| Vec::new());
        out.extend(run_panoramisk(&ast));
        out
    });
    // The libraries did real work (not only the same failure twice).
    assert!(out.iter().any(|l| l == "script: get_variable yes"), "{out:#?}");
    assert!(out.iter().any(|l| l.contains("panoramisk: {\"command\": \"GET VARIABLE FROMLIB\"") && l.contains("\"result\": [\"1\", \"yes\"]") || l.contains("panoramisk: {\"command\": \"GET VARIABLE FROMLIB\"") && l.contains("yes")), "{out:#?}");
}

#[test]
fn a_line_from_the_script_stops_a_playback_or_a_wait_as_stock() {
    // While a prompt plays (or a digit is awaited), the script sends its next command: the
    // playback stops at once without a result line, and the new command runs.
    let commands = [
        "ANSWER",
        "#send STREAM FILE demo-congrats \"\"",
        "#sleep 0.5",
        "NOOP",
        "#send SAY DIGITS 1234567890 \"\"",
        "#sleep 0.5",
        "GET VARIABLE PLAYBACKSTATUS",
        "#send GET DATA demo-congrats 5000 4",
        "#sleep 0.5",
        "NOOP",
        "#send WAIT FOR DIGIT 5000",
        "#sleep 0.5",
        "NOOP",
        "NOOP",
    ];
    let started = Instant::now();
    compare("interrupt", |flavour| {
        let ast = Asterisk::start(flavour);
        run_script(&ast, "classic", "transcript.pl", &commands, &[], |_, _| Vec::new())
    });
    // demo-congrats plays for about 30 s: left to play, the two prompts of each run would
    // take a minute per flavour.
    assert!(started.elapsed() < Duration::from_secs(60), "{:?}", started.elapsed());
}

/// The lines of a transcript that the script or server itself wrote (answers, not the
/// environment), shortened by `short`.
fn answers(lines: &[String], prefix: &str) -> Vec<String> {
    lines.iter().filter_map(|l| l.strip_prefix(prefix)).filter(|l| !l.starts_with("env ")).map(short).collect()
}

/// The Command of each AGIExecStart in a transcript.
fn commands_run(lines: &[String]) -> Vec<String> {
    lines.iter().filter(|l| l.starts_with("AGIExecStart ")).filter_map(|l| l.split(" | ").find_map(|f| f.strip_prefix("Command="))).map(short).collect()
}

/// A NUL byte in a script's command line ends the line there, as in the C string stock reads
/// it into: `NOOP\0x` runs NOOP, and its events are whole (they were cut at the NUL, running
/// into the next event, and the line answered 510).
#[test]
fn a_nul_byte_ends_a_script_command_line_as_stock() {
    let ours = compare("nul-script", |flavour| {
        let ast = Asterisk::start(flavour);
        run_script(&ast, "classic", "transcript.pl", &["NOOP\0x", "VERBOSE ok 1", "GET VARIABLE AGISCRIPT"], &[], |_, _| Vec::new())
    });
    assert_eq!(answers(&ours, "script: "), ["NOOP\\0x -> 200 result=0", "VERBOSE ok 1 -> 200 result=1", "GET VARIABLE AGISCRIPT -> 200 result=1 (transcript.pl)", "done"]);
    assert_eq!(commands_run(&ours), ["NOOP", "VERBOSE ok 1", "GET VARIABLE AGISCRIPT"]);
}

/// The same line from a FastAGI server: stock reads it with fgets, takes the C string `NOOP`
/// for a line without its newline and waits for the rest of it, which never comes while the
/// server waits for an answer; the next line is then glued to `NOOP`. Ours ends the line at
/// the NUL, as for a script (docs/differences.md).
#[test]
fn a_nul_byte_ends_a_fastagi_command_line_where_stock_waits() {
    let lines = ["#timed NOOP\0x", "#timed VERBOSE ok 1", "GET VARIABLE AGISCRIPT"];
    for flavour in [Flavour::Stock, Flavour::Ours] {
        let ast = Asterisk::start(flavour);
        let out = run_fast(&ast, "agi://127.0.0.1:PORT/nul", &lines);
        let (expected, run): (&[&str], &[&str]) = match flavour {
            Flavour::Stock => (
                &["NOOP\\0x -> no answer in 3 s", "VERBOSE ok 1 -> 510 Invalid or unknown command", "GET VARIABLE AGISCRIPT -> 200 result=1 (agi://127.0.0.1:<port>/nul)", "closed"],
                &["NOOPVERBOSE ok 1", "GET VARIABLE AGISCRIPT"],
            ),
            _ => (
                &["NOOP\\0x -> 200 result=0", "VERBOSE ok 1 -> 200 result=1", "GET VARIABLE AGISCRIPT -> 200 result=1 (agi://127.0.0.1:<port>/nul)", "closed"],
                &["NOOP", "VERBOSE ok 1", "GET VARIABLE AGISCRIPT"],
            ),
        };
        assert_eq!(answers(&out, "server: "), expected, "{flavour:?}: {out:#?}");
        assert_eq!(commands_run(&out), run, "{flavour:?}: {out:#?}");
    }
}

/// Two command lines in one write (docs/differences.md): stock's fgets pulls both into its
/// stdio buffer and returns the first; the loop then waits on the descriptor, where nothing
/// more comes, so the second is not answered while the peer waits for it (3 s here). Ours
/// runs each complete line already read. For a FastAGI server and for a script.
#[test]
fn two_command_lines_in_one_write_stall_stock_not_ours() {
    let pair = format!("#pair SET VARIABLE L {}|GET VARIABLE L", "x".repeat(3000));
    for flavour in [Flavour::Stock, Flavour::Ours] {
        let ast = Asterisk::start(flavour);
        let get = match flavour {
            Flavour::Stock => "GET VARIABLE L -> no answer in 3 s",
            _ => "GET VARIABLE L -> 200 result=1 (<3000 x>)",
        };
        let fast = run_fast(&ast, "agi://127.0.0.1:PORT/pair", &[&pair]);
        assert_eq!(answers(&fast, "server: "), ["SET VARIABLE L <3000 x> -> 200 result=1", get, "closed"], "{flavour:?} FastAGI");
        let script = run_script(&ast, "classic", "transcript.pl", &[&pair], &[], |_, _| Vec::new());
        assert_eq!(answers(&script, "script: "), ["SET VARIABLE L <3000 x> -> 200 result=1", get, "done"], "{flavour:?} script");
    }
}

/// Closes descriptors inside the running Asterisk (the chroot's gdb, calling close() in the
/// process), as a module's stray close(0) would. (The chroot's gdb: a host gdb 13 cannot call
/// into a process on this machine's kernel, "Couldn't write extended state status".)
fn close_in_asterisk(ast: &Asterisk, fds: &[i32]) {
    use std::process::Command;
    let mut cmd = Command::new("chroot");
    cmd.arg(sandbox_root()).args(["gdb", "-p", &ast.pid().to_string(), "-batch", "-nx"]);
    // Only the thread gdb stopped in runs the calls.
    cmd.args(["-ex", "set scheduler-locking on"]);
    for fd in fds {
        cmd.arg("-ex").arg(format!("call (int)close({fd})"));
    }
    let out = cmd.output().expect("gdb in the chroot (scripts/sandbox.sh provision installs it)");
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(text.lines().filter(|l| l.starts_with('$') && l.ends_with(" = 0")).count(), fds.len(), "gdb:\n{text}\n{}", String::from_utf8_lossy(&out.stderr));
}

/// What descriptor `fd` of process `pid` is (`pipe:[N]`, a path…).
fn fd_link(pid: u32, fd: i32) -> String {
    std::fs::read_link(format!("/proc/{pid}/fd/{fd}")).map(|p| p.display().to_string()).unwrap_or_else(|e| format!("({e})"))
}

/// The pids of `parent`'s children.
fn children_of(parent: u32) -> Vec<u32> {
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|st| st.rsplit(')').next().and_then(|r| r.split_whitespace().nth(1)) == Some(&parent.to_string()))
        })
        .collect()
}

/// Issue 18, defect 7: the script's pipes are close-on-exec, and the child puts them on its
/// 0, 1 (and EAGI's 3) with dup2, which clears the flag on the copy it makes; but when pipe2
/// returned that very number, dup2(fd, fd) changes nothing and the flag would close it at
/// exec. Here Asterisk's descriptors 0 and 1 are closed (through gdb) while the call waits in
/// the dialplan, so the script's first pipe is made on 0 and 1 and its stdout is fd 1 as
/// pipe2 returned it. The script must read its environment and answers and send its
/// commands, as with stock (plain pipes, no flag). (Asterisk refills 0, 1 and 2 by itself:
/// SQLite, opening astdb's journal at a commit, puts /dev/null on any of them that is free.
/// A commit between the close and the script's launch spoils the setup, so each run checks
/// that the script's pipe is Asterisk's fd 0 and the call is made again when it is not.)
#[test]
fn a_script_runs_when_its_pipes_get_descriptors_0_and_1_as_stock() {
    let ours = compare("low-fds", |flavour| {
        let ast = Asterisk::start(flavour);
        // Boot's own astdb commit comes about a second after boot.
        std::thread::sleep(Duration::from_secs(2));
        for attempt in 1..=5 {
            let mut low = false;
            let during = |ami: &Ami, call: &Call| {
                let looping = |m: &common::ami::Message| m.is_event("Newexten") && m.get("Application") == Some("Wait") && m.get("Uniqueid") == Some(&call.uniqueid);
                assert!(ami.wait_present(TIMEOUT, looping), "the call never reached the dialplan's wait");
                let channel = ami.snapshot().iter().find(|m| looping(m)).and_then(|m| m.get("Channel").map(str::to_string)).unwrap();
                close_in_asterisk(&ast, &[0, 1]);
                let r = ami.action(&[("Action", "Setvar"), ("Channel", &channel), ("Variable", "LOWFDS"), ("Value", "go")]);
                assert_eq!(r.get("Response"), Some("Success"), "{r:?}");
                // While the script runs: is Asterisk's end of the pipe the script writes its
                // commands to on fd 0, that is, did pipe2 return 0 and 1 for that pipe?
                let end = std::time::Instant::now() + TIMEOUT;
                while !low && std::time::Instant::now() < end {
                    let fd0 = fd_link(ast.pid(), 0);
                    low = fd0.starts_with("pipe:") && !children_of(ast.pid()).is_empty();
                    if ami.snapshot().iter().any(|m| m.get("UserEvent") == Some("AfterAGI") && m.get("Uniqueid") == Some(&call.uniqueid)) {
                        break;
                    }
                    std::thread::sleep(Duration::from_millis(20));
                }
                Vec::new()
            };
            let out = run_script(&ast, "lowfds", "transcript.pl", &["NOOP", "#sleep 1", "GET VARIABLE AGISCRIPT"], &[], during);
            if low || attempt == 5 {
                assert!(low, "{flavour:?}: in 5 calls the script's pipe never got Asterisk's descriptors 0 and 1");
                // The dialplan's wait loop (a number of turns per run) and the environment
                // (the file names count the attempts) are left out.
                return out.into_iter().filter(|l| (l.starts_with("script: ") && !l.starts_with("script: env ")) || l.starts_with("AGIExec") || l.starts_with("UserEvent ")).collect();
            }
            eprintln!("{flavour:?}: call {attempt}: the script's pipe did not get descriptors 0 and 1 (astdb's commit took them first?): again");
        }
        unreachable!()
    });
    assert_eq!(answers(&ours, "script: "), ["NOOP -> 200 result=0", "GET VARIABLE AGISCRIPT -> 200 result=1 (transcript.pl)", "done"]);
    assert!(ours.iter().any(|l| l.starts_with("UserEvent ") && l.contains("Status=SUCCESS")), "{ours:#?}");
}
