#!/usr/bin/env bash
# make install: builds the module against the headers of the Asterisk it goes into and
# installs it there. Finds that Asterisk from (first that applies):
#   ASTERISK_PREFIX   a source build's prefix (./configure --prefix, default /usr): headers in
#                     PREFIX/include, binary PREFIX/sbin/asterisk
#   ASTERISK          the command that runs that Asterisk's CLI (default: PREFIX/sbin/asterisk,
#                     else asterisk); when it is running, `core show settings` gives the module,
#                     config and data directories, its version and its build options
#   ASTERISK_INCLUDE_DIR, ASTERISK_MODDIR, ASTERISK_ETCDIR, ASTERISK_DATADIR  override each
#   DESTDIR           staging root, prepended to every installed path
# Refuses at build time what it can see would not load: headers whose ABI build options
# (AST_BUILDOPTS: TEST_FRAMEWORK…) or major release differ from the running Asterisk's.
set -euo pipefail
HERE=$(cd "$(dirname "$0")/.." && pwd)
cd "$HERE"
die() { printf 'make install: error: %s\n' "$*" >&2; exit 1; }
say() { printf 'make install: %s\n' "$*" >&2; }

PREFIX=${ASTERISK_PREFIX:-}
if [ -n "$PREFIX" ]; then
    [ -f "$PREFIX/include/asterisk.h" ] || die "no $PREFIX/include/asterisk.h: is ASTERISK_PREFIX the prefix of an Asterisk installed with 'make install install-headers'?"
fi
if [ -z "${ASTERISK:-}" ]; then
    if [ -n "$PREFIX" ] && [ -x "$PREFIX/sbin/asterisk" ]; then ASTERISK="$PREFIX/sbin/asterisk"; else ASTERISK=asterisk; fi
fi

# What the running Asterisk says of itself (empty when it is not running).
settings=$($ASTERISK -rx 'core show settings' 2>/dev/null || true)
setting() { printf '%s\n' "$settings" | sed -n "s/^ *$1: *//p" | head -1; }
run_version=$(setting 'Version')
run_opts=$(setting 'ABI related Build Options')
[ -n "$settings" ] && say "the running Asterisk: $run_version, build options: $run_opts" \
    || say "no running Asterisk answered '$ASTERISK -rx \"core show settings\"': directories from the prefix, no build-time check"

# The headers: only asterisk.h and asterisk/ (bindgen reads nothing else).
if [ -z "${ASTERISK_INCLUDE_DIR:-}" ]; then
    if [ -n "$PREFIX" ]; then
        ASTERISK_INCLUDE_DIR=$HERE/build/install-include
        rm -rf "$ASTERISK_INCLUDE_DIR"; mkdir -p "$ASTERISK_INCLUDE_DIR"
        ln -s "$PREFIX/include/asterisk.h" "$ASTERISK_INCLUDE_DIR/asterisk.h"
        ln -s "$PREFIX/include/asterisk" "$ASTERISK_INCLUDE_DIR/asterisk"
    else
        ASTERISK_INCLUDE_DIR=$(scripts/sandbox.sh include-dir)
    fi
fi
opts_h="$ASTERISK_INCLUDE_DIR/asterisk/buildopts.h"
[ -f "$opts_h" ] || die "no $opts_h"
hdr_opts=$(sed -n 's/^#define AST_BUILDOPTS "\(.*\)"$/\1/p' "$opts_h")

# Its release: ASTERISK_VERSION, else the binary's -V, else the running one's.
if [ -z "${ASTERISK_VERSION:-}" ]; then
    if [ -n "$PREFIX" ] && [ -x "$PREFIX/sbin/asterisk" ]; then
        ASTERISK_VERSION=$("$PREFIX/sbin/asterisk" -V 2>/dev/null | sed 's/^Asterisk //' || true)
    fi
    ASTERISK_VERSION=${ASTERISK_VERSION:-$run_version}
fi

if [ -n "$settings" ]; then
    [ "$hdr_opts" = "$run_opts" ] || [ "$hdr_opts" = "" -a "$run_opts" = "(none)" ] || die "the headers in $ASTERISK_INCLUDE_DIR were built with options '$hdr_opts', the running Asterisk ($run_version) with '$run_opts': Asterisk would refuse the module (build-options checksum). Build against that Asterisk's own headers (ASTERISK_PREFIX=its prefix)."
    major() { printf '%s\n' "$1" | sed -e 's/^certified[-/]//' -e 's/[^0-9].*//'; }
    if [ -n "$ASTERISK_VERSION" ] && [ "$(major "$ASTERISK_VERSION")" != "$(major "$run_version")" ]; then
        die "the headers are Asterisk $ASTERISK_VERSION's, the running Asterisk is $run_version: build against its own headers"
    fi
fi

MODDIR=${ASTERISK_MODDIR:-$(setting 'Module directory')}
ETCDIR=${ASTERISK_ETCDIR:-$(setting 'Configuration directory')}
DATADIR=${ASTERISK_DATADIR:-$(setting 'Data directory')}
if [ -n "$PREFIX" ]; then
    MODDIR=${MODDIR:-$PREFIX/lib/asterisk/modules}
    ETCDIR=${ETCDIR:-$([ "$PREFIX" = /usr ] && echo /etc/asterisk || echo "$PREFIX/etc/asterisk")}
    DATADIR=${DATADIR:-$([ "$PREFIX" = /usr ] && echo /var/lib/asterisk || echo "$PREFIX/var/lib/asterisk")}
fi
MODDIR=${MODDIR:-/usr/lib/x86_64-linux-gnu/asterisk/modules}
ETCDIR=${ETCDIR:-/etc/asterisk}
DATADIR=${DATADIR:-/usr/share/asterisk}

# Built in a target dir of its own, keyed by the headers' path (no rebuild of the sandbox's).
key=$(printf '%s' "$(readlink -f "$ASTERISK_INCLUDE_DIR/asterisk.h")" | sha256sum | cut -c1-12)
tdir=$HERE/target/install-$key
say "building against $ASTERISK_INCLUDE_DIR (Asterisk ${ASTERISK_VERSION:-of unknown release}, options '${hdr_opts}')"
ASTERISK_INCLUDE_DIR=$ASTERISK_INCLUDE_DIR ASTERISK_VERSION=$ASTERISK_VERSION CARGO_TARGET_DIR=$tdir \
    ${CARGO:-cargo} build --release --quiet
DEST=${DESTDIR:-}
install -D -m 0755 "$tdir/release/libres_agi_rs.so" "$DEST$MODDIR/res_agi_rs.so"
install -D -m 0644 conf/res_agi_rs.conf.sample "$DEST$ETCDIR/res_agi_rs.conf.sample"
install -D -m 0644 docs/xml/res_agi_rs-en_US.xml "$DEST$DATADIR/documentation/thirdparty/res_agi_rs-en_US.xml"
say "installed $DEST$MODDIR/res_agi_rs.so"
echo "$DEST$MODDIR/res_agi_rs.so"
