//! AMI `Action: AGI` (Channel, Command, optional CommandID): queues a command on a channel
//! in Async AGI. The ActionID is answered now, at queue time; the CommandID comes back in
//! the AsyncAGIExec of the command when it has run. Texts as stock res_agi's.
use crate::ffi::channel::ChannelRef;
use crate::ffi::manager::Action;
use crate::session::{enqueue, EnqueueError};

pub const ACTION: &std::ffi::CStr = c"AGI";

pub fn action_agi(action: &Action) -> i32 {
    let channel = action.header(c"Channel");
    let command = action.header(c"Command");
    let command_id = action.header(c"CommandID");
    if channel.is_empty() || command.is_empty() {
        action.send_error("Both, Channel and Command are *required*");
        return 0;
    }
    crate::failpoint::hit(&command, "_TEST PANIC ACTION");
    let Some(chan) = ChannelRef::by_name(&channel) else {
        action.send_error(&format!("Channel {} does not exist.", String::from_utf8_lossy(&channel)));
        return 0;
    };
    match enqueue(&chan, command, command_id) {
        Ok(()) => action.send_ack("Added AGI command to queue"),
        Err(EnqueueError::NotInAsyncAgi) => {
            action.send_error(&format!("Failed to add AGI command to channel {} queue", chan.name()))
        }
    }
    0
}
