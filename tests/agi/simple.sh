#!/bin/sh
# A plain shell AGI script: reads the environment, runs a few one-line commands and writes
# what it got to the file named by its second argument (the first is unused).
out=${2:-/dev/null}
while read -r line; do
    [ -z "$line" ] && break
    echo "env $line" >> "$out"
done
# What stock gives a script: the AST_* variables, and no descriptor but 0, 1, 2 (and the
# shell's own).
for v in AST_CONFIG_DIR AST_CONFIG_FILE AST_MODULE_DIR AST_SPOOL_DIR AST_MONITOR_DIR AST_VAR_DIR AST_DATA_DIR AST_LOG_DIR AST_AGI_DIR AST_KEY_DIR AST_RUN_DIR; do
    eval "val=\$$v"
    echo "$v ends in $(basename "$val")" >> "$out"
done
# Listed by ls itself into a file: a command substitution or a pipe would race with the shell
# closing its own end of that pipe after the fork (seen under load: an extra fd 4).
if [ "$out" != /dev/null ]; then
    ls /proc/$$/fd > "$out.fds"
    echo "fds: $(sort -n "$out.fds" | tr '\n' ' ')" >> "$out"
    rm -f "$out.fds"
fi
for cmd in "NOOP" "GET VARIABLE AGISCRIPTVAR" "SET VARIABLE FROMSH yes" "GET VARIABLE FROMSH" "EXEC Set X=1" "NO SUCH COMMAND" "VERBOSE \"from sh\" 1"; do
    echo "$cmd"
    read -r resp
    echo "$cmd -> $resp" >> "$out"
done
echo "done" >> "$out"
exit 0
