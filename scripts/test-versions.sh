#!/usr/bin/env bash
# make test-versions: the full suite on every Asterisk of the compatibility table — Debian
# sid's 22 package (deb) and each upstream tag given (built from ../shared/asterisk-src in
# the sandbox chroot, cached) — then docs/versions.md and the README's table from this run.
#
#   scripts/test-versions.sh TAG...            every target (deb first, then the tags)
#   scripts/test-versions.sh --report          rewrite the docs from the last run's results
#
# On a source target "the full suite" is every test that boots Asterisk except the Debian
# package's (deb_package) and the cross-release loads (cross_version, run once, on deb);
# tests that boot none (parsers, layers, fuzzing, TLS pinning, install) run on deb only.
set -uo pipefail
HERE=$(cd "$(dirname "$0")/.." && pwd)
cd "$HERE"
OUT=target/versions
mkdir -p "$OUT"
ALL_TARGETS="deb 20.20.1 22.10.1 23.4.1 certified-20.7-cert11 certified-22.8-cert4 22.10.1-nossl 22.10.1-noxmldoc"

# Test files that need no Asterisk, or only Debian's, or several targets at once.
TARGET_FREE="fuzz_parsers unit_layers unit_parse tls_pinning install"
DEB_ONLY="deb_package cross_version"

how_built() {
    case "$1" in
        deb) echo "Debian sid's package (TEST_FRAMEWORK on)" ;;
        *-nossl) echo "from source, \`./configure --without-ssl\`" ;;
        *-noxmldoc) echo "from source, \`./configure --disable-xmldoc\`" ;;
        *) echo "from source, default configure" ;;
    esac
}

# Test-name filters for the harness on target $1 (after `--`).
harness_args() {
    case "$1" in *-nossl) echo "--skip agis" ;; esac
}

suite_for() {
    local t=$1 args="" f name
    for f in tests/*.rs; do
        name=$(basename "$f" .rs)
        if [ "$t" != deb ]; then
            case " $TARGET_FREE $DEB_ONLY " in *" $name "*) continue ;; esac
        fi
        # TLS needs OpenSSL: without it, tests/build_options.rs checks the refusal instead
        # (fastagi_tls, and bench_smoke's agis:// rows; lifetime's agis:// scenarios are
        # skipped by name: harness_args).
        case "$t:$name" in *-nossl:fastagi_tls|*-nossl:bench_smoke) continue ;; esac
        args="$args --test $name"
    done
    echo "$args"
}

# Every target's Asterisk and module first: deb's suite loads the others' builds
# (tests/cross_version.rs).
build_target() {
    local t=$1
    echo "== $t: building Asterisk and the module =="
    if ! { make --no-print-directory module RS_TARGET="$t" && make --no-print-directory test-speech RS_TARGET="$t"; } >"$OUT/$t.build.log" 2>&1; then
        tail -20 "$OUT/$t.build.log"
        printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$t" "?" "build failed" 0 0 0 "$(date -u +%F)" >"$OUT/$t.result"
        return 1
    fi
}

run_target() {
    local t=$1 log="$OUT/$t.log" start end status version passed failed files
    start=$(date +%s)
    [ -f "$OUT/$t.build.log" ] && ! grep -q "build failed" "$OUT/$t.result" 2>/dev/null || return 1
    version=$(RS_TARGET=$t scripts/sandbox.sh version)
    local suite; suite=$(suite_for "$t")
    files=$(echo "$suite" | wc -w); files=$((files / 2))
    echo "== $t (Asterisk $version): $files test files =="
    rm -f "$OUT/selftest-$t.txt"
    RS_TARGET=$t RS_ALL_TARGETS=1 cargo test --release --no-fail-fast $suite -- --test-threads=2 $(harness_args "$t") >"$log" 2>&1
    status=$?
    end=$(date +%s)
    passed=$(grep -o '^test result: [A-Za-z]*\. [0-9]* passed' "$log" | awk '{s += $4} END {print s + 0}')
    failed=$(grep -o '; [0-9]* failed' "$log" | awk '{s += $2} END {print s + 0}')
    local verdict=pass
    [ "$status" -eq 0 ] || verdict=FAIL
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$t" "$version" "$verdict" "$files" "$passed" "$failed" "$(date -u +%F), $(git rev-parse --short HEAD), $(((end - start) / 60)) min" >"$OUT/$t.result"
    echo "== $t: $verdict ($passed passed, $failed failed, $(((end - start) / 60)) min; log $log) =="
    [ "$status" -eq 0 ] || grep -E '^test .* FAILED$|panicked at' "$log" | head -20
    return "$status"
}

report() {
    local table t
    for t in $ALL_TARGETS; do
        [ -f "$OUT/$t.result" ] || { echo "no result for $t in $OUT: run make test-versions" >&2; exit 1; }
    done
    table=$(
        echo "| target | how it is built | Asterisk | what ran | our tests inside Asterisk | result |"
        echo "|---|---|---|---|---|---|"
        for t in $ALL_TARGETS; do
            IFS=$'\t' read -r t version verdict files passed failed when <"$OUT/$t.result"
            local what="full suite: $passed tests in $files files"
            [ "$t" = deb ] || what="full suite less the Debian package's: $passed tests in $files files"
            case "$t" in *-nossl) what="full suite less the Debian package's and the TLS tests: $passed tests in $files files" ;; esac
            [ "$verdict" = "build failed" ] && what="—"
            local selftest; selftest=$(cat "$OUT/selftest-$t.txt" 2>/dev/null || echo "did not run")
            local fails=""; [ "$failed" != 0 ] && fails=", $failed failed"
            echo "| $t | $(how_built "$t") | $version | $what ($when) | $selftest | $verdict$fails |"
        done
    )
    {
        echo "# Supported Asterisk versions"
        echo
        echo "Written by \`make test-versions\` (scripts/test-versions.sh) from its last run; do not edit."
        echo "Each row: the module built against that Asterisk's own headers, then the test suite"
        echo "against that Asterisk, stock res_agi and ours side by side (the differential suite)."
        echo "\`make test\` (CI) runs Debian's 22 fully and the differential core on 20.20.1 and 23.4.1."
        echo
        echo "$table"
        echo
        echo "Logs of the run: target/versions/TARGET.log. Per-version differences of stock res_agi:"
        echo "[differences.md](differences.md#per-version)."
    } >docs/versions.md
    python3 - "$table" <<'PY'
import sys, re
table = sys.argv[1]
p = "README.md"
s = open(p).read()
begin, end = "<!-- versions:begin (make test-versions writes this table) -->", "<!-- versions:end -->"
block = begin + "\n" + table + "\n" + end
if begin in s:
    s = re.sub(re.escape(begin) + ".*?" + re.escape(end), lambda m: block, s, flags=re.S)
else:
    raise SystemExit("README.md has no versions table markers")
open(p, "w").write(s)
PY
    echo "wrote docs/versions.md and the README's table"
}

if [ "${1:-}" = "--report" ]; then report; exit 0; fi
# --only T...: run just those targets (their rows are replaced; the others stay from before).
if [ "${1:-}" = "--only" ]; then shift; targets="$*"; else targets="deb $*"; fi
rc=0
for t in $targets; do
    rm -f "$OUT/$t.result" "$OUT/$t.build.log"
    build_target "$t" || rc=1
done
# deb's cross-release tests need 20.20.1, 22.10.1 and 23.4.1 built, whatever --only says.
for t in 20.20.1 22.10.1 23.4.1; do
    [ -f "$HERE/build/$t/res_agi_rs.so" ] || build_target "$t" || rc=1
done
for t in $targets; do
    run_target "$t" || rc=1
done
report
exit $rc
