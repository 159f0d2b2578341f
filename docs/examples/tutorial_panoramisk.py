#!/usr/bin/env python3
"""Async AGI tutorial, Python: the seed scenario with panoramisk (docs/tutorial-async-agi.md).

A caller is parked in AGI(agi:async); a prompt plays with music on hold queued behind it; an
agent frees up: one AGIInterrupt with Flush: yes stops the prompt and drops the music; then
the call is connected with EXEC Dial.

    pip install panoramisk==1.4
    python3 docs/examples/tutorial_panoramisk.py PORT [USER SECRET]
"""
import asyncio
import sys
from urllib.parse import unquote

from panoramisk import Manager


async def main(port, user, secret):
    manager = Manager(loop=asyncio.get_running_loop(), host="127.0.0.1", port=port,
                      username=user, secret=secret)
    starts, execs = asyncio.Queue(), asyncio.Queue()
    manager.register_event("AsyncAGIStart", lambda m, e: starts.put_nowait(e))
    manager.register_event("AsyncAGIExec", lambda m, e: execs.put_nowait(e))
    await manager.connect()

    # 1. A caller arrives (here a Local channel into the dialplan's AGI(agi:async)).
    await manager.send_action({"Action": "Originate", "Channel": "Local/park@agi",
                               "Application": "Wait", "Data": "60", "Async": "true"}, as_list=False)
    start = await asyncio.wait_for(starts.get(), 15)
    channel = start.Channel
    print("parked:", channel)

    async def agi(command, command_id):
        r = await manager.send_action({"Action": "AGI", "Channel": channel, "Command": command,
                                       "CommandID": command_id}, as_list=False)
        assert r.Response == "Success", r

    # 2. The welcome prompt, then music on hold until an agent is free.
    await agi('STREAM FILE tt-monkeys ""', "prompt")
    await agi("EXEC MusicOnHold default,600", "hold")
    await asyncio.sleep(1.0)

    # 3. An agent is free: stop the prompt and drop the queued music in one action.
    r = await manager.send_action({"Action": "AGIInterrupt", "Channel": channel, "Flush": "yes"},
                                  as_list=False)
    print("AGIInterrupt:", r.Response)
    for _ in range(2):
        e = await asyncio.wait_for(execs.get(), 15)
        how = "interrupted" if e.get("Interrupted") == "yes" else "cancelled: " + e.get("Cancelled", "-")
        print("%s: %s (%s)" % (e.CommandId, unquote(e.Result).strip(), how))

    # 4. Connect the caller to the agent.
    await agi("EXEC Dial Local/agent@agi,10,g", "dial")
    e = await asyncio.wait_for(execs.get(), 30)
    print("dial:", unquote(e.Result).strip())
    await manager.send_action({"Action": "Hangup", "Channel": channel}, as_list=False)
    manager.close()


if __name__ == "__main__":
    user, secret = (sys.argv[2], sys.argv[3]) if len(sys.argv) > 3 else ("admin", "admin")
    asyncio.run(main(int(sys.argv[1]), user, secret))
