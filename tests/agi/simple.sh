#!/bin/sh
# A plain shell AGI script: reads the environment, runs a few one-line commands and writes
# what it got to the file named by its first argument.
out=$1
while read -r line; do
    [ -z "$line" ] && break
    echo "env $line" >> "$out"
done
for cmd in "NOOP" "GET VARIABLE AGISCRIPTVAR" "SET VARIABLE FROMSH yes" "GET VARIABLE FROMSH" "EXEC Set X=1" "NO SUCH COMMAND" "VERBOSE \"from sh\" 1"; do
    echo "$cmd"
    read -r resp
    echo "$cmd -> $resp" >> "$out"
done
echo "done" >> "$out"
exit 0
