#!/usr/bin/python3
"""A Python AGI script for the tests: reads the environment, sends each line of the command
file (argument 1) and writes every response line to the transcript file (argument 2)."""
import re
import sys


def main():
    cmds, out = sys.argv[1], sys.argv[2]
    with open(out, "a") as o:
        for line in sys.stdin:
            line = line.rstrip("\n")
            if not line:
                break
            o.write(f"env {line}\n")
        with open(cmds) as c:
            for cmd in c.read().splitlines():
                sys.stdout.write(cmd + "\n")
                sys.stdout.flush()
                while True:
                    r = sys.stdin.readline()
                    if not r:
                        o.write(f"{cmd} -> EOF\ndone\n")
                        return
                    r = r.rstrip("\n")
                    o.write(f"{cmd} -> {r}\n")
                    if re.match(r"^\d{3}(?: |$)", r):
                        break
        o.write("done\n")


main()
