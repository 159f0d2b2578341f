"""Drives res_agi_rs with panoramisk, an AMI client written for stock res_agi, unchanged.

Usage: panoramisk_client.py PORT. Prints one `key=value` line per fact it observed; the
Rust test (tests/panoramisk.rs) checks them.
"""
import asyncio
import sys
from urllib.parse import unquote

import logging, os
if os.environ.get("PM_DEBUG"): logging.basicConfig(level=logging.DEBUG)
from panoramisk import Manager
from panoramisk.utils import parse_agi_result


async def main(port):
    loop = asyncio.get_running_loop()
    manager = Manager(loop=loop, host="127.0.0.1", port=port, username="admin", secret="admin")
    starts = asyncio.Queue()
    execs = asyncio.Queue()
    ends = asyncio.Queue()
    manager.register_event("AsyncAGIStart", lambda m, e: starts.put_nowait(e))
    manager.register_event("AsyncAGIExec", lambda m, e: execs.put_nowait(e))
    manager.register_event("AsyncAGIEnd", lambda m, e: ends.put_nowait(e))
    await manager.connect()

    resp = await manager.send_action({
        "Action": "Originate", "Channel": "Local/park@agi", "Application": "Wait",
        "Data": "3600", "Timeout": "3600000", "Async": "true",
        "Variable": "AGIARGS=from-panoramisk",
    }, as_list=False)
    print("originate=" + resp.Response)
    start = await asyncio.wait_for(starts.get(), 10)
    channel = start.Channel
    env = dict(line.split(": ", 1) for line in unquote(start.Env).splitlines() if ": " in line)
    print("agi_request=" + env["agi_request"])
    print("agi_arg_1=" + env["agi_arg_1"])
    print("channel_matches=" + str(env["agi_channel"] == channel))

    # panoramisk's send_agi_command() waits for the Asterisk 11 event (AsyncAGI/SubEvent:
    # Exec) and hangs on any Asterisk since 12, stock res_agi included; panoramisk's
    # send_action with as_list=False is what works with both.
    async def agi(command, command_id):
        return await manager.send_action({"Action": "AGI", "Channel": channel, "Command": command,
                                          "CommandID": command_id}, as_list=False)

    resp = await agi("SET VARIABLE PM hello", "pm-set")
    print("ack=" + resp.Message)
    ev = await asyncio.wait_for(execs.get(), 10)
    print("set=" + parse_agi_result(ev.Result.strip())["result"][0])

    # With a CommandID, as stock documents it.
    resp = await agi("GET VARIABLE PM", "pm-get")
    ev = await asyncio.wait_for(execs.get(), 10)
    parsed = parse_agi_result(ev.Result.strip())
    print("get_id=" + ev.CommandId)
    print("get_code=" + str(parsed["status_code"]))
    print("get_value=" + parsed["result"][1])

    resp = await agi("NO SUCH COMMAND", "pm-bad")
    ev = await asyncio.wait_for(execs.get(), 10)
    print("unknown=" + ev.Result.strip())

    resp = await manager.send_action({"Action": "AGI", "Channel": "Nobody/none", "Command": "NOOP"},
                                     as_list=False)
    print("missing=" + resp.Message)

    await agi("ASYNCAGI BREAK", "pm-break")
    await asyncio.wait_for(execs.get(), 10)
    end = await asyncio.wait_for(ends.get(), 10)
    print("end_channel_matches=" + str(end.Channel == channel))
    manager.close()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1])))
