//! CLI `agi exec <channel name> <app and arguments> [id]`, with stock's texts and
//! channel-name completion. Its result arrives as AsyncAGIExec like any other.
use crate::parse::{same_words, starts_with_ci, words_start};
use crate::engine::{self, CommandInfo};
use crate::ffi::agi;
use crate::ffi::channel::ChannelRef;
use crate::ffi::misc::{term_magenta, xmldoc_printable};
use crate::ffi::cli::{CliCall, CliExec, CliGenerate, CliOut};
use std::ffi::CStr;
use crate::session::enqueue;

/// One CLI command: its words and usage (as stock's), its completion, and its body.
struct CliCommand {
    command: &'static CStr,
    usage: &'static CStr,
    complete: fn(&CliGenerate) -> CliOut,
    exec: fn(&CliExec) -> CliOut,
}

fn no_completion(_: &CliGenerate) -> CliOut {
    CliOut::none()
}

fn dispatch(def: &CliCommand, call: CliCall) -> CliOut {
    match call {
        CliCall::Init(mut init) => {
            init.set(def.command, def.usage);
            CliOut::none()
        }
        CliCall::Generate(gen) => (def.complete)(&gen),
        CliCall::Exec(exec) => (def.exec)(&exec),
    }
}

pub fn agi_exec(call: CliCall) -> CliOut {
    dispatch(
        &CliCommand {
            command: c"agi exec",
            usage: c"Usage: agi exec <channel name> <app and arguments> [id]\n       Add AGI command to the execute queue of the specified channel in Async AGI\n",
            complete: |gen| if gen.pos() == 2 { gen.complete_channels(2) } else { CliOut::none() },
            exec: agi_exec_run,
        },
        call,
    )
}

fn agi_exec_run(exec: &CliExec) -> CliOut {
    let args = exec.args();
    if args.len() < 4 {
        return CliOut::show_usage();
    }
    crate::failpoint::hit(&args[3], "_TEST PANIC CLI");
    let Some(chan) = ChannelRef::by_name(&args[2]) else {
        exec.print(&format!("Channel {} does not exist.\n", String::from_utf8_lossy(&args[2])));
        return CliOut::failure();
    };
    let id = args.get(4).cloned().unwrap_or_default();
    let queued = enqueue(&chan, args[3].clone(), id, crate::session::Asker::Cli).map(drop);
    match queued {
        Ok(()) => CliOut::success(),
        Err(_) => {
            exec.print(&format!("Failed to add AGI command to queue of channel {}\n", chan.name()));
            CliOut::failure()
        }
    }
}

/// `agi set debug [on|off]`: the AGI traffic in the log.
pub fn agi_set_debug(call: CliCall) -> CliOut {
    dispatch(
        &CliCommand {
            command: c"agi set debug [on|off]",
            usage: c"Usage: agi set debug [on|off]\n       Enables/disables dumping of AGI transactions for\n       debugging purposes.\n",
            complete: no_completion,
            exec: agi_set_debug_run,
        },
        call,
    )
}

fn agi_set_debug_run(exec: &CliExec) -> CliOut {
    let args = exec.args();
    if args.len() != 4 {
        return CliOut::show_usage();
    }
    let a = &args[3];
    let on = if starts_with_ci(a, b"off") {
        false
    } else if starts_with_ci(a, b"on") {
        true
    } else {
        return CliOut::show_usage();
    };
    agi::set_debug(on);
    exec.print(&format!("AGI Debugging {}abled\n", if on { "En" } else { "Dis" }));
    CliOut::success()
}

fn help_list(exec: &CliExec, filter: Option<&str>) {
    exec.print(&format!("{:>5.5} {:>30.30}   {}\n", "Dead", "Command", "Description"));
    for c in engine::all_commands() {
        let name = c.full_name();
        if let Some(f) = filter {
            if !starts_with_ci(name.as_bytes(), f.as_bytes()) {
                continue;
            }
        }
        let summary = c.docs.summary.as_deref().filter(|s| !s.is_empty()).map(|s| String::from_utf8_lossy(s).into_owned()).unwrap_or_else(|| "Not available".into());
        exec.print(&format!("{:>5.5} {:>30.30}   {}\n", if c.dead { "Yes" } else { "No" }, name, summary));
    }
}

fn show_topic(exec: &CliExec, c: &CommandInfo) {
    let field = |v: &Option<Vec<u8>>, na: &str| -> String {
        // S_OR: an empty text is none.
        let text = v.clone().filter(|t| !t.is_empty()).unwrap_or_else(|| na.as_bytes().to_vec());
        String::from_utf8_lossy(&if c.xml { xmldoc_printable(&text, true) } else { text }).into_owned()
    };
    let na = if c.xml { "Not available" } else { "Not Available" };
    let (m, reset) = term_magenta();
    let (m, reset) = (String::from_utf8_lossy(&m).into_owned(), String::from_utf8_lossy(&reset).into_owned());
    let head = |h: &str| format!("{m}{h}{reset}");
    exec.print(&format!(
        "\n{m}  -= Info about AGI '{}' =- {reset}\n\n{}\n{}\n\n{}\n{}\n\n{}\n{}\n\n{}\n{}\n\n{}\n{}\n\n{}\n{}\n\n{}\n{}\n\n",
        c.full_name(),
        head("[Synopsis]"),
        field(&c.docs.summary, na),
        head("[Since]"),
        field(&c.docs.since, na),
        head("[Description]"),
        field(&c.docs.usage, na),
        head("[Syntax]"),
        field(&c.docs.syntax, na),
        head("[Arguments]"),
        field(&c.docs.arguments, na),
        head("[Runs Dead]"),
        if c.dead { "Yes" } else { "No" },
        head("[See Also]"),
        field(&c.docs.seealso, na),
    ));
}

/// `agi show commands [topic <command>]`: the list, or one command's documentation.
pub fn agi_show_commands(call: CliCall) -> CliOut {
    dispatch(
        &CliCommand {
            command: c"agi show commands [topic]",
            usage: c"Usage: agi show commands [topic] <topic>\n       When called with a topic as an argument, displays usage\n       information on the given command.  If called without a\n       topic, it provides a list of AGI commands.\n",
            complete: no_completion,
            exec: agi_show_commands_run,
        },
        call,
    )
}

fn agi_show_commands_run(exec: &CliExec) -> CliOut {
    let args = exec.args();
    if args.len() < 3 || (args.len() >= 4 && !args[3].eq_ignore_ascii_case(b"topic")) {
        return CliOut::show_usage();
    }
    if args.len() <= 3 {
        help_list(exec, None);
        return CliOut::success();
    }
    let topic = &args[4..];
    let all = engine::all_commands();
    let joined = String::from_utf8_lossy(&topic.join(&b' ')).into_owned();
    if let Some(c) = all.iter().find(|c| same_words(&c.words, topic)) {
        show_topic(exec, c);
    } else if all.iter().any(|c| words_start(&c.words, topic)) {
        help_list(exec, Some(&joined));
    } else {
        exec.print(&format!("No such command '{joined}'.\n"));
    }
    CliOut::success()
}

fn html_escaped(text: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len());
    for &b in text {
        match b {
            b'<' => out.extend_from_slice(b"&lt;"),
            b'>' => out.extend_from_slice(b"&gt;"),
            b'&' => out.extend_from_slice(b"&amp;"),
            b'"' => out.extend_from_slice(b"&quot;"),
            _ => out.push(b),
        }
    }
    out
}

fn html_dump() -> Vec<u8> {
    let mut out = b"<HTML>\n<HEAD>\n<TITLE>AGI Commands</TITLE>\n</HEAD>\n<BODY>\n<CENTER><B><H1>AGI Commands</H1></B></CENTER>\n\n<TABLE BORDER=\"0\" CELLSPACING=\"10\">\n".to_vec();
    for c in engine::all_commands() {
        out.extend_from_slice(b"<TR><TD><TABLE BORDER=\"1\" CELLPADDING=\"5\" WIDTH=\"100%\">\n");
        out.extend_from_slice(format!("<TR><TH ALIGN=\"CENTER\"><B>{} - ", c.full_name()).as_bytes());
        out.extend_from_slice(c.docs.summary.as_deref().unwrap_or(b"(null)"));
        out.extend_from_slice(b"</B></TH></TR>\n");
        let usage = c.docs.usage.clone().unwrap_or_default();
        let usage = if c.xml { xmldoc_printable(&usage, false) } else { usage };
        let mut lines = usage.split(|&b| b == b'\n');
        out.extend_from_slice(b"<TR><TD ALIGN=\"CENTER\">");
        out.extend_from_slice(&html_escaped(lines.next().unwrap_or(b"")));
        out.extend_from_slice(b"</TD></TR>\n<TR><TD ALIGN=\"CENTER\">\n");
        for line in lines {
            out.extend_from_slice(&html_escaped(line));
            out.extend_from_slice(b"<BR>\n");
        }
        out.extend_from_slice(b"</TD></TR>\n</TABLE></TD></TR>\n\n");
    }
    out.extend_from_slice(b"</TABLE>\n</BODY>\n</HTML>\n");
    out
}

/// `agi dump html <filename>`: the command list as an HTML page.
pub fn agi_dump_html(call: CliCall) -> CliOut {
    dispatch(
        &CliCommand {
            command: c"agi dump html",
            usage: c"Usage: agi dump html <filename>\n       Dumps the AGI command list in HTML format to the given\n       file.\n",
            complete: no_completion,
            exec: agi_dump_html_run,
        },
        call,
    )
}

fn agi_dump_html_run(exec: &CliExec) -> CliOut {
    let args = exec.args();
    if args.len() != 4 {
        return CliOut::show_usage();
    }
    let file = String::from_utf8_lossy(&args[3]).into_owned();
    if std::fs::write(&file, html_dump()).is_err() {
        exec.print(&format!("Could not create file '{file}'\n"));
        return CliOut::show_usage();
    }
    exec.print(&format!("AGI HTML commands dumped to: {file}\n"));
    CliOut::success()
}

/// `agi interrupt <channel> [flush]`: AGIInterrupt from the CLI (an administrator: the
/// channel's owner is not asked for).
pub fn agi_interrupt(call: CliCall) -> CliOut {
    dispatch(
        &CliCommand {
            command: c"agi interrupt",
            usage: c"Usage: agi interrupt <channel name> [flush]\n       Interrupts the AGI command running on a channel in Async AGI (its AsyncAGIExec\n       says Interrupted: yes); with 'flush', also cancels every command still queued.\n",
            complete: |gen| if gen.pos() == 2 { gen.complete_channels(2) } else { CliOut::none() },
            exec: agi_interrupt_run,
        },
        call,
    )
}

fn cli_target(exec: &CliExec, name: &[u8]) -> Option<(ChannelRef, std::sync::Arc<crate::session::Session>)> {
    let Some(chan) = ChannelRef::by_name(name) else {
        exec.print(&format!("Channel {} does not exist.\n", String::from_utf8_lossy(name)));
        return None;
    };
    let Some(session) = crate::session::session_of(&chan) else {
        exec.print(&format!("Channel {} is not in Async AGI\n", chan.name()));
        return None;
    };
    Some((chan, session))
}

fn agi_interrupt_run(exec: &CliExec) -> CliOut {
    let args = exec.args();
    let flush = match args.get(3).map(|a| a.to_ascii_lowercase()) {
        None => false,
        Some(a) if a == b"flush" => true,
        Some(_) => return CliOut::show_usage(),
    };
    if args.len() < 3 || args.len() > 4 {
        return CliOut::show_usage();
    }
    let Some((chan, session)) = cli_target(exec, &args[2]) else { return CliOut::failure() };
    match crate::manager::interrupt(&chan, &session, flush) {
        Ok(text) => {
            exec.print(&(text + "\n"));
            CliOut::success()
        }
        Err(why) => {
            exec.print(&(why + "\n"));
            CliOut::failure()
        }
    }
}

/// `agi flush <channel>`: AGIFlush from the CLI.
pub fn agi_flush(call: CliCall) -> CliOut {
    dispatch(
        &CliCommand {
            command: c"agi flush",
            usage: c"Usage: agi flush <channel name>\n       Cancels every AGI command still queued on a channel in Async AGI (each gets\n       its AsyncAGIExec with Cancelled: flush); the running one goes on.\n",
            complete: |gen| if gen.pos() == 2 { gen.complete_channels(2) } else { CliOut::none() },
            exec: agi_flush_run,
        },
        call,
    )
}

fn agi_flush_run(exec: &CliExec) -> CliOut {
    let args = exec.args();
    if args.len() != 3 {
        return CliOut::show_usage();
    }
    let Some((chan, session)) = cli_target(exec, &args[2]) else { return CliOut::failure() };
    exec.print(&(crate::manager::flush(&chan, &session) + "\n"));
    CliOut::success()
}

/// `agi show channels`: the channels in Async AGI, a table.
pub fn agi_show_channels(call: CliCall) -> CliOut {
    dispatch(
        &CliCommand {
            command: c"agi show channels",
            usage: c"Usage: agi show channels\n       Lists the channels in Async AGI: owner, queued commands, the command running\n       and for how long, and how long the channel has been parked.\n",
            complete: no_completion,
            exec: agi_show_channels_run,
        },
        call,
    )
}

fn agi_show_channels_run(exec: &CliExec) -> CliOut {
    if exec.args().len() != 3 {
        return CliOut::show_usage();
    }
    let parked = crate::manager::parked_channels();
    exec.print(&format!("{:<40} {:<16} {:>6} {:>8} {:>7}  {}\n", "Channel", "Owner", "Queued", "Parked", "Running", "Command"));
    for p in &parked {
        let st = &p.status;
        let owner = st.owner.as_ref().map(|o| String::from_utf8_lossy(o).into_owned()).unwrap_or_else(|| "-".into());
        let (cmd, secs) = match &st.running {
            Some((line, secs)) => (String::from_utf8_lossy(line).into_owned(), format!("{secs:.1}s")),
            None => (String::new(), "-".into()),
        };
        exec.print(&format!("{:<40} {:<16} {:>6} {:>7.0}s {:>7}  {}\n", p.name, owner, st.queued, st.parked_secs, secs, cmd));
    }
    exec.print(&format!("{} channel{} in Async AGI\n", parked.len(), if parked.len() == 1 { "" } else { "s" }));
    CliOut::success()
}

/// `agi claim <channel> [owner]`: AGIClaim from the CLI. An administrator: the present owner
/// is replaced (or, without an owner, the channel is released) whoever it is.
pub fn agi_claim(call: CliCall) -> CliOut {
    dispatch(
        &CliCommand {
            command: c"agi claim",
            usage: c"Usage: agi claim <channel name> [owner]\n       Makes a channel in Async AGI belong to <owner> (its AGI events then carry\n       Owner: <owner>, and AMI clients must name it); without <owner>, releases it.\n",
            complete: |gen| if gen.pos() == 2 { gen.complete_channels(2) } else { CliOut::none() },
            exec: agi_claim_run,
        },
        call,
    )
}

fn agi_claim_run(exec: &CliExec) -> CliOut {
    let args = exec.args();
    if args.len() < 3 || args.len() > 4 {
        return CliOut::show_usage();
    }
    let Some((chan, session)) = cli_target(exec, &args[2]) else { return CliOut::failure() };
    match args.get(3) {
        Some(owner) => {
            session.owner().set(Some(owner.clone()));
            exec.print(&format!("Channel {} claimed by {}\n", chan.name(), String::from_utf8_lossy(owner)));
        }
        None => {
            session.owner().set(None);
            exec.print(&format!("Channel {} released\n", chan.name()));
        }
    }
    CliOut::success()
}

/// `agi show memory`: the module's own heap (counted by its allocator) beside glibc's totals
/// for the whole Asterisk process, to tell our memory from the rest when RSS grows.
pub fn agi_show_memory(call: CliCall) -> CliOut {
    dispatch(
        &CliCommand {
            command: c"agi show memory",
            usage: c"Usage: agi show memory\n       Shows the memory res_agi_rs holds now (bytes and blocks, allocations since\n       load) and glibc malloc's totals for the whole Asterisk process.\n",
            complete: no_completion,
            exec: agi_show_memory_run,
        },
        call,
    )
}

fn agi_show_memory_run(exec: &CliExec) -> CliOut {
    if exec.args().len() != 3 {
        return CliOut::show_usage();
    }
    let h = crate::ffi::alloc::module_heap();
    let p = crate::ffi::alloc::process_malloc();
    exec.print(&format!("res_agi_rs heap: {} bytes in {} blocks ({} allocations since load)\n", h.live_bytes, h.live_blocks, h.allocations));
    exec.print(&format!(
        "Process malloc: {} bytes in use, {} bytes free but kept, {} bytes from the system in arenas, {} bytes in mmaps\n",
        p.in_use_bytes, p.free_bytes, p.arena_bytes, p.mmapped_bytes
    ));
    CliOut::success()
}

/// `agi show stats`: the counters the metrics endpoint serves (issue 21).
pub fn agi_show_stats(call: CliCall) -> CliOut {
    dispatch(
        &CliCommand {
            command: c"agi show stats",
            usage: c"Usage: agi show stats\n       Shows res_agi_rs's counters: calls in Async AGI, queued commands, cancellations,\n       interrupts and flushes, sessions by outcome, FastAGI connections, and the\n       commands run by mode with their mean duration (as the metrics endpoint serves\n       them, when metrics = yes in res_agi_rs.conf).\n",
            complete: no_completion,
            exec: agi_show_stats_run,
        },
        call,
    )
}

fn agi_show_stats_run(exec: &CliExec) -> CliOut {
    if exec.args().len() != 3 {
        return CliOut::show_usage();
    }
    let m = crate::config::metrics();
    // What is really served: a bad auth setting or a path another URI has keeps it off.
    let endpoint = match (m.enabled, &m.refused, crate::ffi::http::is_linked()) {
        (false, _, _) => "off (metrics = no)".to_string(),
        (true, Some(why), _) => format!("not served: {why}"),
        (true, None, true) => format!("{} on Asterisk's HTTP server{}", m.path, if m.auth.is_some() { ", with Basic authentication" } else { "" }),
        (true, None, false) => format!("not served: {} is taken on Asterisk's HTTP server (see the log)", m.path),
    };
    exec.print(&format!("Metrics endpoint: {endpoint}\n"));
    exec.print(&crate::metrics::summary(&crate::commands::metric_name));
    CliOut::success()
}
