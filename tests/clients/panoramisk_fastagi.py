"""panoramisk's FastAGI server (unmodified library), used by tests/classic_agi.rs.

Listens on 127.0.0.1:<port>, route "lib": runs a few commands through Request.send_command
and prints each parsed result as one JSON line; prints "listening" when ready and exits after
one request.
"""
import asyncio
import json
import sys

from panoramisk.fast_agi import Application


async def main(port):
    loop = asyncio.get_running_loop()
    done = loop.create_future()
    app = Application(loop=loop)

    async def lib(request):
        out = {"request": request.headers.get("agi_network_script"), "arg_1": request.headers.get("agi_arg_1")}
        print(json.dumps({"headers": out}), flush=True)
        for cmd in ["ANSWER", "SET VARIABLE FROMLIB yes", "GET VARIABLE FROMLIB", "EXEC Set Y=z",
                    "GET FULL VARIABLE ${Y}", "STREAM FILE beep \"\"", "NO SUCH COMMAND",
                    "GOSUB subs greet 1 lib", "GET VARIABLE GOSUB_RETVAL"]:
            res = await request.send_command(cmd)
            print(json.dumps({"command": cmd, "result": res}, sort_keys=True), flush=True)
        if not done.done():
            done.set_result(True)

    app.add_route("lib", lib)
    server = await asyncio.start_server(app.handler, "127.0.0.1", port)
    print("listening", flush=True)
    await asyncio.wait_for(done, 30)
    server.close()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1])))
