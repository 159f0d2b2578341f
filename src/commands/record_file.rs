//! RECORD FILE filename format escape_digits timeout [offset_samples] [BEEP] [s=silence]:
//! records until a digit, the timeout (ms, -1: none), silence or hangup;
//! `200 result=<…> (dtmf|timeout|hangup|…) endpos=<sample>`.
use crate::parse::{atoi, scan_int, scan_long};
use crate::context::{Ctx, Status};
use crate::ffi::record::{RecordRequest, Recorded};
use std::ffi::CString;

pub fn run(ctx: &mut Ctx, argv: &[CString]) -> Status {
    if argv.len() < 6 {
        return Status::ShowUsage;
    }
    let Some(timeout_ms) = scan_int(argv[5].to_bytes()) else {
        return Status::ShowUsage;
    };
    // "s=N" in any of the three optional places: silence of N seconds ends the recording.
    let mut silence_ms = 0;
    if let Some(s) = argv.iter().skip(6).take(3).find_map(|a| a.to_bytes().iter().position(|&b| b == b's').map(|i| &a.to_bytes()[i..])) {
        if s.len() > 2 && s.starts_with(b"s=") {
            let secs = atoi(&s[2..]);
            if secs > 0 {
                silence_ms = secs * 1000;
            }
        }
    }
    let a6 = argv.get(6).map(|a| a.to_bytes());
    let offset = a6.and_then(scan_long);
    // Stock: a 7th argument that is neither an offset nor "s=…", or any 8th that is not
    // "s=…", asks for a beep.
    let beep = (a6.is_some_and(|a| offset.is_none() && !a.starts_with(b"s=")))
        || argv.get(7).is_some_and(|a| !a.to_bytes().starts_with(b"s="));
    let request = RecordRequest {
        file: &argv[2],
        format: &argv[3],
        escape: &argv[4],
        timeout_ms,
        offset: offset.unwrap_or(0),
        beep,
        silence_ms,
    };
    match ctx.chan.record_file(&request) {
        Recorded::ReadFormat(res) => {
            ctx.result(res);
            Status::Failure
        }
        Recorded::NoDsp => {
            ctx.result(-1);
            Status::Failure
        }
        Recorded::RandomError { res, endpos } => {
            ctx.reply(format!("200 result={res} (randomerror) endpos={endpos}\n"));
            Status::Success
        }
        Recorded::WriteFile => {
            ctx.reply("200 result=-1 (writefile)\n");
            Status::Failure
        }
        Recorded::WaitFor { res, endpos } => {
            ctx.reply(format!("200 result={res} (waitfor) endpos={endpos}\n"));
            Status::Failure
        }
        // Stopped by AGIInterrupt (which makes the recording end as on hangup): the file
        // is kept, as for a digit.
        Recorded::Hangup { endpos } if ctx.was_interrupted() => {
            ctx.reply(format!("200 result=0 (interrupted) endpos={endpos}\n"));
            Status::Success
        }
        Recorded::Hangup { endpos } => {
            ctx.reply(format!("200 result=-1 (hangup) endpos={endpos}\n"));
            Status::Failure
        }
        Recorded::Dtmf { digit, endpos } => {
            ctx.reply(format!("200 result={digit} (dtmf) endpos={endpos}\n"));
            Status::Success
        }
        Recorded::Timeout { res, endpos } => {
            ctx.reply(format!("200 result={res} (timeout) endpos={endpos}\n"));
            Status::Success
        }
    }
}
