#!/usr/bin/env python3
"""The seed scenario of res_agi_rs's Async AGI extensions, runnable against the sandbox.

A caller waits in Async AGI: a prompt plays, music on hold is queued behind it. An agent
frees up: the client interrupts the prompt and flushes the queue in one action
(AGIInterrupt with Flush: yes), then EXECs Dial to the agent. With stock res_agi the only
way was a Redirect to an extension that parks the call again (a dialplan round trip that
loses the queue and races).

    python3 docs/examples/seed_scenario.py PORT [USER SECRET]

Plain sockets, no library: every AMI client library can send these actions.
"""
import socket
import sys
import time
import urllib.parse


class Ami:
    def __init__(self, port, user, secret):
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.buf = b""
        self.pending = []
        self.sock.recv(1024)  # banner
        self.n = 0
        self.action({"Action": "Login", "Username": user, "Secret": secret})

    def _message(self):
        while b"\r\n\r\n" not in self.buf:
            data = self.sock.recv(65536)
            if not data:
                raise EOFError("AMI closed")
            self.buf += data
        raw, self.buf = self.buf.split(b"\r\n\r\n", 1)
        msg = {}
        for line in raw.decode(errors="replace").split("\r\n"):
            k, _, v = line.partition(": ")
            msg.setdefault(k, v)
        return msg

    def send(self, headers):
        self.n += 1
        headers = dict(headers, ActionID="seed%d" % self.n)
        self.sock.sendall("".join("%s: %s\r\n" % kv for kv in headers.items()).encode() + b"\r\n")
        return headers["ActionID"]

    def action(self, headers):
        aid = self.send(headers)
        return self.wait(lambda m: m.get("ActionID") == aid and "Response" in m)

    def wait(self, pred, timeout=15):
        deadline = time.time() + timeout
        for i, m in enumerate(self.pending):
            if pred(m):
                return self.pending.pop(i)
        while time.time() < deadline:
            m = self._message()
            if pred(m):
                return m
            self.pending.append(m)
        raise TimeoutError("no matching AMI message")


def main():
    port = int(sys.argv[1])
    user, secret = (sys.argv[2], sys.argv[3]) if len(sys.argv) > 3 else ("admin", "admin")
    ami = Ami(port, user, secret)
    # A caller arrives and is parked in AGI(agi:async) (here: a Local channel).
    ami.action({"Action": "Originate", "Channel": "Local/park@agi", "Application": "Wait",
                "Data": "60", "Async": "true", "ChannelId": "seed-1", "OtherChannelId": "seed-2"})
    start = ami.wait(lambda m: m.get("Event") == "AsyncAGIStart" and m.get("Uniqueid") == "seed-2")
    chan = start["Channel"]
    print("parked:", chan)

    def agi(command, cid):
        r = ami.action({"Action": "AGI", "Channel": chan, "Command": command, "CommandID": cid})
        assert r["Response"] == "Success", r

    # The welcome prompt, then music on hold until an agent frees up.
    agi('STREAM FILE tt-monkeys ""', "prompt")
    agi("EXEC MusicOnHold default,600", "hold")
    ami.wait(lambda m: m.get("Event") == "AGIExecStart" and m.get("Uniqueid") == "seed-2")
    time.sleep(1.0)

    # An agent is free: stop the prompt and drop the music in one action.
    t = time.time()
    r = ami.action({"Action": "AGIInterrupt", "Channel": chan, "Flush": "yes"})
    print("AGIInterrupt:", r["Response"], "-", r["Message"])
    for cid in ("prompt", "hold"):
        e = ami.wait(lambda m: m.get("Event") == "AsyncAGIExec" and m.get("CommandId") == cid)
        how = "interrupted" if e.get("Interrupted") == "yes" else "cancelled: " + e.get("Cancelled", "-")
        print("%s: %s (%s) after %.1f ms" % (cid, urllib.parse.unquote(e["Result"]).strip(), how,
                                              (time.time() - t) * 1000))

    # Connect the caller to the agent.
    agi("EXEC Dial Local/agent@agi,10,g", "dial")
    e = ami.wait(lambda m: m.get("Event") == "AsyncAGIExec" and m.get("CommandId") == "dial", timeout=30)
    print("dial:", urllib.parse.unquote(e["Result"]).strip())
    ami.action({"Action": "Hangup", "Channel": chan})


if __name__ == "__main__":
    main()
