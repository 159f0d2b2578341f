#!/bin/sh
# Coverage-guided fuzzing of the parsers (fuzz/, libFuzzer through cargo-fuzz, stable Rust:
# no sanitizer, `-s none`; the targets are pure safe Rust). Usage: scripts/fuzz.sh RUNS [report]
#   RUNS    inputs per target (make fuzz: 10,000,000; make test: 20,000)
#   report  write docs/fuzzing.md with the figures
# Every target starts from its checked-in corpus (fuzz/corpus/<target>/), and adds what it
# finds there; a crash, a hang (> 10 s) or more than 1 GB of memory fails the run.
#   FUZZ_TARGETS  which targets (default: all five); FUZZ_ROWS=<file>: also append each
#                 target's table row there (runs in parallel, then: scripts/fuzz.sh --report FILE)
set -eu
HERE0=$(cd "$(dirname "$0")/.." && pwd)
if [ "${1:-}" = "--report" ]; then
    REPORT_ONLY="$(cat "${2:?rows file}")
"
    RUNS=0
    REPORT=report
else
    REPORT_ONLY=""
    RUNS=${1:?runs}
    REPORT=${2:-}
fi
HERE=$(cd "$(dirname "$0")/.." && pwd)
cd "$HERE/fuzz"
command -v cargo-fuzz >/dev/null 2>&1 || cargo install --locked --quiet cargo-fuzz@0.13.2
TARGETS=${FUZZ_TARGETS:-"command_line uri_encode ami_fields environment line_reader"}
[ -n "$REPORT_ONLY" ] && TARGETS=""
[ -n "$TARGETS" ] && { cargo fuzz build -s none -O >/dev/null 2>&1 || cargo fuzz build -s none -O; }
rows="$REPORT_ONLY"
for t in $TARGETS; do
    mkdir -p "corpus/$t"
    start=$(date +%s)
    log=$(mktemp)
    echo "[fuzz] $t: $RUNS inputs" >&2
    # The long run adds what it finds to the checked-in corpus (minimized after); the short
    # run keeps its finds in a scratch directory and leaves the tree as it was.
    if [ -n "$REPORT" ]; then dirs="corpus/$t"; else scratch=$(mktemp -d); dirs="$scratch corpus/$t"; fi
    if ! cargo fuzz run -s none -O "$t" $dirs -- -runs="$RUNS" -max_len=4096 -timeout=10 -rss_limit_mb=1024 -print_final_stats=1 >"$log" 2>&1; then
        tail -40 "$log" >&2
        echo "[fuzz] $t FAILED (the input is in fuzz/artifacts/$t/)" >&2
        exit 1
    fi
    secs=$(( $(date +%s) - start ))
    done_line=$(grep -E "^#[0-9]+[[:space:]]+DONE" "$log" | tail -1)
    cov=$(echo "$done_line" | sed -n 's/.*cov: \([0-9]*\).*/\1/p')
    ft=$(echo "$done_line" | sed -n 's/.*ft: \([0-9]*\).*/\1/p')
    rss=$(grep -E "stat::peak_rss_mb" "$log" | awk '{print $2}')
    files=$(ls "corpus/$t" | wc -l)  # (before cmin)
    echo "[fuzz] $t: $RUNS inputs in ${secs} s, coverage $cov edges ($ft features), peak RSS ${rss} MB, corpus $files files" >&2
    rows="$rows| $t | $RUNS | $secs | $cov | $ft | $rss | $files |
"
    [ -n "${FUZZ_ROWS:-}" ] && echo "| $t | $RUNS | $secs | $cov | $ft | $rss | $files |" >> "$FUZZ_ROWS"
    rm -f "$log"
    if [ -n "$REPORT" ]; then
        cargo fuzz cmin -s none -O "$t" "corpus/$t" >/dev/null 2>&1 || true
    else
        rm -rf "$scratch"
    fi
done
if [ -n "$REPORT" ]; then
    {
        echo "# Fuzzing"
        echo
        echo "Latest \`make fuzz\` run ($(date -u '+%Y-%m-%d %H:%M UTC')): coverage-guided (libFuzzer through cargo-fuzz on stable Rust, no sanitizer: the targets are safe Rust; a panic, an assertion, a hang over 10 s or 1 GB of memory fails), each target from its checked-in corpus in fuzz/corpus/. The targets build the module's own files (src/parse.rs, src/interrupt.rs, src/encode.rs, src/env.rs, src/lines.rs), not copies."
        echo
        echo "| target | inputs | seconds | coverage (edges) | features | peak RSS (MB) | corpus files |"
        echo "|---|---:|---:|---:|---:|---:|---:|"
        printf '%s' "$rows"
        echo
        echo "What each target checks:"
        echo
        echo "- **command_line**: the AGI command-line parser (every line from AMI, the CLI, a script or a FastAGI server), the AGIInterrupt classifier and the numeric scanners: at most MAX_ARGS - 1 words, never more bytes than the line."
        echo "- **uri_encode**: AsyncAGIExec's Result and AsyncAGIStart's Env encoding: printable ASCII only, and decoding gives the input back."
        echo "- **ami_fields**: AMI event bodies from client values (CommandID, Channel, Owner…): each field exactly one header line, whatever CR, LF or other bytes the value holds."
        echo "- **environment**: the AGI environment from hostile channel facts and arguments: well formed, every argument present in order."
        echo "- **line_reader**: what a script or FastAGI server sends, in reads of any size: lines of at most 8,191 bytes, nothing lost or added."
        echo
        echo "Found and fixed by these runs (each with a regression test in \`make test\`):"
        echo
        echo "- command_line: a word opened by a quote was not bounded by MAX_ARGS (a line of 200 quoted words gave 200 words). Stock res_agi's parse_args has the same gap and writes past its \`argv[MAX_ARGS]\` array on the stack: one \`Action: AGI\` with \`NOOP\` and 300 \` \"\"\` kills Asterisk 22.10.1 with stock (docs/differences.md). Regression tests: tests/unit_parse.rs \`quoted_words_are_bounded_too\`, tests/hostile_input.rs (ours answers the line; stock dies)."
        echo "- line_reader: a line sent a byte at a time was rescanned from its start on every byte (quadratic: 33 million byte comparisons for one 8 KB line); the reader now remembers how far it looked. tests/fuzz_parsers.rs covers the behaviour."
        echo
        echo "\`make test\` runs a short pass (20,000 inputs per target) from the same corpus. The property tests of tests/fuzz_parsers.rs (proptest) also run there, 10,000 cases each."
    } > "$HERE/docs/fuzzing.md"
    echo "[fuzz] wrote docs/fuzzing.md" >&2
fi
