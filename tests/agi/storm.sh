#!/bin/sh
# The script of `make stress`'s script storms: a long prompt, then three NOOPs, each sent when
# the one before got its answer; every line it sends and gets goes to the file named by its
# second argument. SIGHUP is ignored so that what happens after a hangup is counted too.
trap '' HUP
out=${2:-/dev/null}
while read -r line; do
    [ -z "$line" ] && break
    case "$line" in agi_channel:*) echo "channel ${line#agi_channel: }" >> "$out" ;; esac
done
for cmd in 'STREAM FILE tt-monkeys ""' NOOP NOOP NOOP; do
    echo "sent $cmd" >> "$out"
    echo "$cmd" || break
    while :; do
        if ! read -r resp; then
            echo "eof" >> "$out"
            exit 0
        fi
        case "$resp" in
            HANGUP) echo "hangup" >> "$out" ;;
            *) echo "got $resp" >> "$out"; break ;;
        esac
    done
done
echo "end" >> "$out"
