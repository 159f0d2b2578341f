#!/usr/bin/env python3
"""A FastAGI server over TLS, for the FastAGI-over-TLS tests.

Usage:
  python3 tests/tls/tls_fastagi.py --port PORT --cert CERT --key KEY [--client-ca CA.pem]
      [--stall] [--commands 'NOOP' --commands 'GET VARIABLE X' ...] --log LOGFILE

It listens on 127.0.0.1:PORT (0 picks a free port) and on [::1] at the same port and prints one line, "LISTENING <port>",
once it is ready. For each connection it reads the AGI environment up to the empty line,
sends each --commands value (default: one NOOP) and reads one response line after each, then
closes the connection. With --client-ca the client must present a certificate signed by that
CA (mutual TLS). With --no-close-notify it ends each session by dropping the TCP connection
without a TLS close_notify, as the common simple server does (an ssl socket close()d without
unwrap()).

With --plain it is the same FastAGI server without TLS (make bench compares agi:// and agis://
through the same server). With --stall it speaks no TLS at all: it accepts the TCP connection, reads and throws away
whatever the client sends (its ClientHello) and keeps the socket open for up to 60 seconds,
like a server that stalls in the middle of the handshake.

Every event is appended to LOGFILE as one line, written at once:
  CONNECT            a TCP connection was accepted
  ENV <line>         one environment line, e.g. "ENV agi_network: yes"
  SENT <command>     a command was sent
  GOT <line>         the client's response line, without its newline
  STALL              (--stall) the server will not answer
  ERROR <text>       a failed TLS handshake (the OpenSSL reason, e.g.
                     PEER_DID_NOT_RETURN_A_CERTIFICATE) or any other error
  CLOSE              the server closed the connection
The server keeps serving after a failed connection, and exits cleanly on SIGTERM.
"""
import argparse
import asyncio
import signal
import ssl
import sys

STALL_SECONDS = 60
READ_TIMEOUT = 30


class Log:
    def __init__(self, path):
        self.file = open(path, "a", encoding="utf-8")

    def __call__(self, line):
        self.file.write(line.replace("\n", " ") + "\n")
        self.file.flush()


def short_error(exc):
    if isinstance(exc, ssl.SSLError) and exc.reason:
        return exc.reason
    return str(exc) or type(exc).__name__


async def readline(reader):
    line = await asyncio.wait_for(reader.readline(), READ_TIMEOUT)
    if not line:
        raise EOFError("connection closed by client")
    return line.decode("utf-8", "replace").rstrip("\r\n")


async def serve_agi(reader, writer, ctx, commands, log, no_close_notify=False):
    log("CONNECT")
    tls_up = False
    try:
        # The handshake is done here rather than by start_server(ssl=ctx): asyncio drops a
        # failed handshake of start_server(ssl=...) silently, and the test needs the ERROR.
        if ctx is not None:
            await writer.start_tls(ctx, ssl_handshake_timeout=10)
        tls_up = True
        while line := await readline(reader):
            log("ENV " + line)
        for cmd in commands:
            writer.write(cmd.encode() + b"\n")
            await writer.drain()
            log("SENT " + cmd)
            log("GOT " + await readline(reader))
    except asyncio.CancelledError:
        pass  # SIGTERM: just close (re-raising makes asyncio print a traceback)
    except Exception as exc:
        log("ERROR " + short_error(exc))
    finally:
        if no_close_notify and tls_up:
            writer.transport.abort()  # no close_notify: the socket just closes
        else:
            await close(writer, wait=tls_up)
        log("CLOSE")


async def serve_stall(reader, writer, log):
    log("CONNECT")
    log("STALL")
    try:
        async with asyncio.timeout(STALL_SECONDS):
            while await reader.read(4096):
                pass
    except (TimeoutError, asyncio.CancelledError):
        pass
    except Exception as exc:
        log("ERROR " + short_error(exc))
    finally:
        await close(writer)
        log("CLOSE")


async def close(writer, wait=True):
    writer.close()
    if not wait:
        return  # after a failed handshake asyncio has already dropped the socket
    try:
        await asyncio.wait_for(writer.wait_closed(), 5)
    except (Exception, asyncio.CancelledError):
        pass  # the client may be gone, or SIGTERM came: nothing to report


def tls_context(args):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(args.cert, args.key)
    if args.client_ca:
        ctx.verify_mode = ssl.CERT_REQUIRED
        ctx.load_verify_locations(args.client_ca)
    return ctx


async def main(args):
    log = Log(args.log)
    if args.stall:
        handler = lambda r, w: serve_stall(r, w, log)
    else:
        ctx = None if args.plain else tls_context(args)
        commands = args.commands or ["NOOP"]
        handler = lambda r, w: serve_agi(r, w, ctx, commands, log, args.no_close_notify)

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)

    server = await asyncio.start_server(handler, "127.0.0.1", args.port)
    port = server.sockets[0].getsockname()[1]
    # "localhost" is also ::1: the same port there, so a client that tries ::1 first (as
    # Asterisk's resolver does) is served at once rather than refused.
    try:
        server6 = await asyncio.start_server(handler, "::1", port)
    except OSError:
        server6 = None
    print(f"LISTENING {port}", flush=True)
    await stop.wait()
    server.close()
    if server6 is not None:
        server6.close()


if __name__ == "__main__":
    p = argparse.ArgumentParser(description="FastAGI server over TLS, for tests")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--cert")
    p.add_argument("--key")
    p.add_argument("--client-ca")
    p.add_argument("--stall", action="store_true")
    p.add_argument("--plain", action="store_true", help="no TLS at all (make bench: agi:// beside agis://)")
    p.add_argument("--commands", action="append")
    p.add_argument("--no-close-notify", action="store_true", help="end sessions without a TLS close_notify")
    p.add_argument("--log", required=True)
    args = p.parse_args()
    if not args.stall and not args.plain and not (args.cert and args.key):
        p.error("--cert and --key are required (except with --stall)")
    asyncio.run(main(args))
    sys.exit(0)
