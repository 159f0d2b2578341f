#!/bin/sh
# The benchmark's trivial AGI script: reads the environment, runs one NOOP, exits.
while read -r line; do
    [ -z "$line" ] && break
done
echo "NOOP"
read -r resp
exit 0
