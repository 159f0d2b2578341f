//! EXEC application [options]: runs a dialplan application; `200 result=<its return>`, or
//! -2 when there is no such application. With AGIEXECFULL true the options go through
//! variable substitution first. As in stock, the application's return value is also the
//! command's status ("users are depending upon this result").
use crate::context::{Ctx, Status};
use crate::ffi::{channel::find_app, cstring, log, misc};
use std::ffi::CString;

pub fn run(ctx: &mut Ctx, argv: &[CString]) -> Status {
    if argv.len() < 2 {
        return Status::ShowUsage;
    }
    let options = argv.get(2).map(|o| o.to_bytes()).unwrap_or(b"");
    let mut line = b"AGI Script Executing Application: (".to_vec();
    line.extend_from_slice(argv[1].to_bytes());
    line.extend_from_slice(b") Options: (");
    line.extend_from_slice(options);
    line.extend_from_slice(b")\n");
    log::verb(3, &line);

    let res = match find_app(&argv[1]) {
        Some(app) => {
            let chan = ctx.chan;
            let had_flag = chan.disable_workarounds();
            let full = chan.get_var(c"AGIEXECFULL").is_some_and(|v| misc::is_true(&v));
            let data = if argv.len() == 2 {
                CString::default()
            } else if full {
                cstring(chan.substitute(&argv[2]).unwrap_or_default())
            } else {
                argv[2].clone()
            };
            let res = chan.exec_app(&app, &data);
            if !had_flag {
                chan.enable_workarounds();
            }
            res
        }
        None => {
            crate::ast_log!(Warning, "Could not find application ({})", argv[1].to_string_lossy());
            -2
        }
    };
    if res < 0 && ctx.was_interrupted() {
        // AGIInterrupt made the application return as on hangup; the channel is still up.
        ctx.reply("200 result=0 (interrupted)\n");
        return Status::Success;
    }
    ctx.result(res);
    Status::from_code(res)
}
