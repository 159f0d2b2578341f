//! CLI `agi exec <channel name> <app and arguments> [id]`, with stock's texts and
//! channel-name completion. Its result arrives as AsyncAGIExec like any other.
use crate::ffi::channel::ChannelRef;
use crate::ffi::cli::{CliCall, CliOut};
use crate::session::enqueue;

pub fn agi_exec(call: CliCall) -> CliOut {
    match call {
        CliCall::Init(mut init) => {
            init.set(
                c"agi exec",
                c"Usage: agi exec <channel name> <app and arguments> [id]\n       Add AGI command to the execute queue of the specified channel in Async AGI\n",
            );
            CliOut::none()
        }
        CliCall::Generate(gen) => {
            if gen.pos() == 2 {
                gen.complete_channels(2)
            } else {
                CliOut::none()
            }
        }
        CliCall::Exec(exec) => {
            let args = exec.args();
            if args.len() < 4 {
                return CliOut::show_usage();
            }
            let Some(chan) = ChannelRef::by_name(&args[2]) else {
                exec.print(&format!("Channel {} does not exist.\n", String::from_utf8_lossy(&args[2])));
                return CliOut::failure();
            };
            let id = args.get(4).cloned().unwrap_or_default();
            match enqueue(&chan, args[3].clone(), id) {
                Ok(()) => CliOut::success(),
                Err(_) => {
                    exec.print(&format!("Failed to add AGI command to queue of channel {}\n", chan.name()));
                    CliOut::failure()
                }
            }
        }
    }
}
