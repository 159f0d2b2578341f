#!/bin/sh
# A hostile local AGI script (tests/hostile_input.rs): 200 quoted arguments, every byte
# value, a line past the 8 KB buffer, a command sent a byte at a time, each byte value after
# "NOOP x", "NOOP\0x", then an exit in the middle of a line. Writes each answer to the file
# named by its second argument.
out=${2:-/dev/null}
while read -r line; do
    [ -z "$line" ] && break
done
ask() {
    read -r resp
    echo "$1 -> $resp" >> "$out"
}
i=0; words=""
while [ $i -lt 200 ]; do words="$words \"q$i\""; i=$((i + 1)); done
echo "NOOP$words"
ask quoted
# Every byte value but newline (a shell string cannot hold a NUL: printf writes it; the
# NUL ends the command line there, as in a C string).
printf 'NOOP '; i=0
while [ $i -lt 256 ]; do
    [ $i -ne 10 ] && printf "\\$(printf '%03o' $i)"
    i=$((i + 1))
done
printf '\n'
ask bytes
# 9,000 bytes: the first 8,191 are one command line (NOOP), the rest another (unknown).
printf 'NOOP '; head -c 8995 /dev/zero | tr '\0' 'y'; printf '\n'
ask long1
ask long2
# One byte every 50 ms.
for c in N O O P; do printf '%s' "$c"; sleep 0.05; done
printf '\n'
ask slow
# "NOOP x" and each byte value, one line each (byte 10 is the line's own end).
i=0
while [ $i -lt 256 ]; do
    if [ $i -eq 10 ]; then printf 'NOOP x\n'; else printf "NOOP x\\$(printf '%03o' $i)\\n"; fi
    ask "byte$i"
    i=$((i + 1))
done
printf 'NOOP\000x\n'
ask nul
printf 'GET VARIA'
exit 0
