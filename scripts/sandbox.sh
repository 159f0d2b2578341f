#!/usr/bin/env bash
# Sandbox Asterisk 22 for res_agi_rs: provisions Debian sid's Asterisk in a debootstrap
# chroot (cached, idempotent), writes the project's own configs for one instance, and
# starts/stops it. Used by `make`, the tests, the demo and the benchmark.
#
#   scripts/sandbox.sh provision               install host tools + the chroot (cached)
#   scripts/sandbox.sh include-dir             print the header dir for bindgen/cc
#   scripts/sandbox.sh prepare NAME PORT ours|stock   write configs for instance NAME
#   scripts/sandbox.sh start NAME PORT ours|stock     prepare, boot (daemon), wait fully booted
#   scripts/sandbox.sh cli NAME 'command'      run a CLI command on instance NAME
#   scripts/sandbox.sh stop NAME               stop instance NAME
#   scripts/sandbox.sh run-foreground NAME     exec Asterisk in the foreground (for harnesses)
#   scripts/sandbox.sh destroy                 unmount and delete the chroot
#
# Environment: RES_AGI_RS_CACHE (default /var/cache/res_agi_rs) holds the chroot; it must
# stay outside the git work tree. MODULE (default build/res_agi_rs.so) is the module copied
# into the chroot for the "ours" flavour.
set -euo pipefail

HERE=$(cd "$(dirname "$0")/.." && pwd)
CACHE=${RES_AGI_RS_CACHE:-/var/cache/res_agi_rs}
ROOT=$CACHE/sid
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
MODULE=${MODULE:-$HERE/build/res_agi_rs.so}
MODDIR=/usr/lib/x86_64-linux-gnu/asterisk/modules
INST_BASE=/srv/res_agi_rs     # inside the chroot

# Also in the chroot: Debian's Perl AGI library (tests run it unmodified as an AGI script)
# and Python (a Python AGI script); valgrind (make memcheck) and heaptrack (make heap).
EXTRAS="libasterisk-agi-perl python3-minimal valgrind heaptrack"
EXTRAS_VERSION=4

log() { printf '[sandbox] %s\n' "$*" >&2; }

# Runs "$@" and says every 10 s that it still runs (the first provisioning takes minutes;
# nothing should be silent for long). The command's own output is redirected by the caller
# inside "$@" (sh -c), so the ticks still reach the terminal.
ticking() {
    local what=$1; shift
    "$@" &
    local pid=$! t=0
    while kill -0 "$pid" 2>/dev/null; do
        sleep 1
        t=$((t + 1))
        if [ $((t % 10)) -eq 0 ] && kill -0 "$pid" 2>/dev/null; then log "$what: still running (${t} s)"; fi
    done
    wait "$pid"
}
die() { printf '[sandbox] error: %s\n' "$*" >&2; exit 1; }

need_root() { [ "$(id -u)" = 0 ] || die "must run as root (debootstrap, chroot)"; }

host_tools() {
    local missing=()
    command -v debootstrap >/dev/null || missing+=(debootstrap)
    command -v clang >/dev/null || missing+=(clang)
    ls /usr/lib/llvm-*/lib/libclang.so* >/dev/null 2>&1 || ls /usr/lib/x86_64-linux-gnu/libclang*.so* >/dev/null 2>&1 || missing+=(libclang-dev)
    if [ ${#missing[@]} -gt 0 ]; then
        log "installing host packages: ${missing[*]}"
        apt-get update -q >/dev/null
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
    fi
}

mount_proc() {
    mountpoint -q "$ROOT/proc" || mount -t proc proc "$ROOT/proc"
}

umount_proc() {
    local r=$1
    if mountpoint -q "$r/proc"; then umount "$r/proc" || umount -l "$r/proc"; fi
}

provision() {
    need_root
    host_tools
    case "$CACHE" in "$HERE"|"$HERE"/*) die "RES_AGI_RS_CACHE ($CACHE) must be outside the work tree";; esac
    if [ ! -f "$ROOT/.res_agi_rs-provisioned" ]; then
        mkdir -p "$CACHE"
        local tmp=$ROOT.tmp
        if [ -d "$tmp" ]; then umount_proc "$tmp"; rm -rf --one-file-system "$tmp"; fi
        log "debootstrap sid into $tmp (about 25 s)"
        ticking "debootstrap" sh -c 'debootstrap --variant=minbase sid "$1" "$2" >"$3" 2>&1' sh "$tmp" "$MIRROR" "$CACHE/debootstrap.log" \
            || { tail -20 "$CACHE/debootstrap.log" >&2; die "debootstrap failed"; }
        mount -t proc proc "$tmp/proc"
        log "installing asterisk, asterisk-dev, asterisk-core-sounds-en-gsm in the chroot"
        if ! ticking "apt-get in the chroot" sh -c 'chroot "$1" sh -c "apt-get -q -o Acquire::Check-Valid-Until=false update &&
             DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
                 asterisk asterisk-dev asterisk-core-sounds-en-gsm $2" >"$3" 2>&1' sh "$tmp" "$EXTRAS" "$CACHE/apt.log"; then
            umount_proc "$tmp"; tail -20 "$CACHE/apt.log" >&2; die "apt-get in chroot failed"
        fi
        umount_proc "$tmp"
        touch "$tmp/.res_agi_rs-provisioned" "$tmp/.res_agi_rs-extras-$EXTRAS_VERSION"
        mv "$tmp" "$ROOT"
    fi
    # Packages added after a cache was made (AGI libraries the tests run in the chroot).
    if [ ! -f "$ROOT/.res_agi_rs-extras-$EXTRAS_VERSION" ]; then
        log "installing in the chroot: $EXTRAS"
        mount_proc
        ticking "apt-get in the chroot" sh -c 'chroot "$1" sh -c "apt-get -q -o Acquire::Check-Valid-Until=false update &&
             DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $2" >"$3" 2>&1' sh "$ROOT" "$EXTRAS" "$CACHE/apt-extras.log" \
            || { tail -20 "$CACHE/apt-extras.log" >&2; die "apt-get in chroot failed"; }
        touch "$ROOT/.res_agi_rs-extras-$EXTRAS_VERSION"
    fi
    # Header dir holding only asterisk.h and asterisk/ (the chroot's glibc headers clash).
    mkdir -p "$CACHE/include"
    ln -sfn "$ROOT/usr/include/asterisk.h" "$CACHE/include/asterisk.h"
    ln -sfn "$ROOT/usr/include/asterisk" "$CACHE/include/asterisk"
    mount_proc
    log "ready: $(chroot "$ROOT" asterisk -V)"
}

include_dir() { echo "$CACHE/include"; }

inst_dir() { echo "$INST_BASE/$1"; }   # path inside the chroot

install_module() {
    [ -f "$MODULE" ] || die "module $MODULE not built: run make"
    # Atomic and only when changed: other instances may have it mapped right now.
    if ! cmp -s "$MODULE" "$ROOT$MODDIR/res_agi_rs.so"; then
        local tmpmod; tmpmod=$(mktemp "$ROOT$MODDIR/.res_agi_rs.XXXXXX")
        install -m 0644 "$MODULE" "$tmpmod"
        mv -f "$tmpmod" "$ROOT$MODDIR/res_agi_rs.so"
    fi
    # Asterisk's help for the actions beyond stock (read at startup from thirdparty/).
    local xml="$HERE/docs/xml/res_agi_rs-en_US.xml" docdir="$ROOT/usr/share/asterisk/documentation/thirdparty"
    if ! cmp -s "$xml" "$docdir/res_agi_rs-en_US.xml"; then
        mkdir -p "$docdir"
        local tmpxml; tmpxml=$(mktemp "$docdir/.res_agi_rs.XXXXXX")
        install -m 0644 "$xml" "$tmpxml"
        mv -f "$tmpxml" "$docdir/res_agi_rs-en_US.xml"
    fi
}

prepare() {
    local name=$1 port=$2 flavour=$3
    [ -f "$ROOT/.res_agi_rs-provisioned" ] || die "no sandbox at $ROOT: run '$0 provision' (or make sandbox)"
    mount_proc
    local d; d=$(inst_dir "$name")
    local host_d=$ROOT$d
    rm -rf "$host_d"
    mkdir -p "$host_d"/{etc,run,log,db,spool,cache,agi}
    # The tests' AGI scripts, in astagidir.
    install -m 0755 "$HERE"/tests/agi/* "$host_d/agi/"
    local agi_load agi_noload
    case "$flavour" in
        ours)
            install_module
            agi_load="load => res_agi_rs.so"; agi_noload="noload => res_agi.so" ;;
        stock)
            agi_load="load => res_agi.so"; agi_noload="noload => res_agi_rs.so" ;;
        packaged)
            # Ours as the Debian package installed it (make deb; tests/deb_package.rs): the
            # module and its XML help are the package's, not copied here.
            agi_load="load => res_agi_rs.so"; agi_noload="noload => res_agi.so" ;;
        stock+ours)
            # Stock loaded, ours present but not loaded (a test loads it by hand beside stock).
            install_module
            agi_load="load => res_agi.so"; agi_noload="noload => res_agi_rs.so" ;;
        *) die "flavour must be ours, stock, packaged or stock+ours, not '$flavour'" ;;
    esac
    # The tests' speech engine, when built (make test), is loaded with either flavour.
    local speech="; no test speech engine (make build/test_speech.so)"
    if [ -f "$HERE/build/test_speech.so" ]; then
        if ! cmp -s "$HERE/build/test_speech.so" "$ROOT$MODDIR/test_speech.so"; then
            local tmpsp; tmpsp=$(mktemp "$ROOT$MODDIR/.test_speech.XXXXXX")
            install -m 0644 "$HERE/build/test_speech.so" "$tmpsp"
            mv -f "$tmpsp" "$ROOT$MODDIR/test_speech.so"
        fi
        speech="load => test_speech.so"
    fi
    # SANDBOX_TIMING=no leaves out the timing module: every channel then holds one descriptor
    # less (the scale benchmark needs that where the open-files limit cannot be raised).
    local timing="load => res_timing_timerfd.so"
    [ "${SANDBOX_TIMING:-yes}" = no ] && timing="; no timing module (SANDBOX_TIMING=no)"
    local f
    for f in "$HERE"/sandbox/conf/*.conf; do
        sed -e "s|@DIR@|$d|g" -e "s|@PORT@|$port|g" \
            -e "s|@AGI_LOAD@|$agi_load|g" -e "s|@AGI_NOLOAD@|$agi_noload|g" -e "s|@TIMING@|$timing|g" -e "s|@TEST_SPEECH@|$speech|g" \
            "$f" >"$host_d/etc/$(basename "$f")"
    done
    echo "$d/etc/asterisk.conf"
}

conf_of() { echo "$(inst_dir "$1")/etc/asterisk.conf"; }

cli() {
    local name=$1; shift
    chroot "$ROOT" asterisk -C "$(conf_of "$name")" -rx "$*"
}

start() {
    local name=$1 port=$2 flavour=$3
    prepare "$name" "$port" "$flavour" >/dev/null
    chroot "$ROOT" asterisk -C "$(conf_of "$name")"
    wait_booted "$name"
    log "instance $name ($flavour) up, AMI on 127.0.0.1:$port"
}

wait_booted() {
    local name=$1 i
    for i in $(seq 1 150); do
        if cli "$name" "core waitfullybooted" >/dev/null 2>&1; then return 0; fi
        sleep 0.1
    done
    tail -30 "$ROOT$(inst_dir "$name")/log/messages.log" >&2 2>/dev/null || true
    die "instance $name did not boot"
}

stop() {
    local name=$1
    cli "$name" "core stop now" >/dev/null 2>&1 || true
}

run_foreground() {
    local name=$1
    exec chroot "$ROOT" asterisk -f -C "$(conf_of "$name")"
}

destroy() {
    need_root
    umount_proc "$ROOT"
    umount_proc "$ROOT.tmp" 2>/dev/null || true
    rm -rf --one-file-system "$ROOT" "$ROOT.tmp" "$CACHE/include"
}

cmd=${1:-}; shift || true
case "$cmd" in
    provision) provision ;;
    include-dir) include_dir ;;
    root) echo "$ROOT" ;;
    prepare) prepare "$@" ;;
    start) start "$@" ;;
    stop) stop "$@" ;;
    cli) cli "$@" ;;
    wait-booted) wait_booted "$@" ;;
    run-foreground) run_foreground "$@" ;;
    destroy) destroy ;;
    *) sed -n '2,17p' "$0"; exit 2 ;;
esac
