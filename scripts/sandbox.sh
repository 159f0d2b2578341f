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
#   scripts/sandbox.sh build TAG               build Asterisk TAG from ../shared/asterisk-src
#                                              in the chroot (cached by the tarball's checksum)
#   scripts/sandbox.sh targets                 list the targets (deb and every source tag)
#
# Environment: RES_AGI_RS_CACHE (default /var/cache/res_agi_rs) holds the chroot; it must
# stay outside the git work tree. MODULE (default build/res_agi_rs.so, build/TAG/res_agi_rs.so
# for a source target) is the module copied into the chroot for the "ours" flavour.
# RS_TARGET selects the Asterisk: "deb" (default: Debian sid's package) or a source tag
# (20.20.1, 22.10.1, 23.4.1, certified-20.7-cert11, certified-22.8-cert4), built by `build`
# under /opt/asterisk/TAG in the chroot with a default configure.
# SANDBOX_HTTP_PORT=N turns Asterisk's HTTP server on (127.0.0.1:N); with it, SANDBOX_ARI=yes
# loads ARI (a Stasis application's modules; user bench/bench, sandbox/conf/ari.conf).
set -euo pipefail

HERE=$(cd "$(dirname "$0")/.." && pwd)
CACHE=${RES_AGI_RS_CACHE:-/var/cache/res_agi_rs}
ROOT=$CACHE/sid
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
INST_BASE=/srv/res_agi_rs     # inside the chroot
SRC_DIR=${ASTERISK_SRC_DIR:-$HERE/../shared/asterisk-src}
SOURCE_TAGS="20.20.1 22.10.1 23.4.1 certified-20.7-cert11 certified-22.8-cert4 22.10.1-nossl 22.10.1-noxmldoc"
# A tag with a suffix is its release built with one option off (issue 27): -nossl is
# `./configure --without-ssl` (an Asterisk without OpenSSL), -noxmldoc `--disable-xmldoc`.
tag_release() { case "$1" in *-nossl) echo "${1%-nossl}";; *-noxmldoc) echo "${1%-noxmldoc}";; *) echo "$1";; esac; }
tag_configure() { case "$1" in *-nossl) echo "--without-ssl";; *-noxmldoc) echo "--disable-xmldoc";; esac; }
# Bump when the way a source target is built changes (its cache is then rebuilt).
BUILD_VERSION=4

# Where the target's Asterisk lives inside the chroot.
TARGET=${RS_TARGET:-deb}
case "$TARGET" in
    deb)
        PREFIX=
        MODDIR=/usr/lib/x86_64-linux-gnu/asterisk/modules
        DATADIR=/usr/share/asterisk
        VARLIBDIR=/var/lib/asterisk
        SBINDIR=/usr/sbin
        MODULE=${MODULE:-$HERE/build/res_agi_rs.so}
        SPEECH_MODULE=$HERE/build/test_speech.so ;;
    *)
        case " $SOURCE_TAGS " in *" $TARGET "*) ;; *) printf '[sandbox] error: RS_TARGET=%s: not deb nor one of %s\n' "$TARGET" "$SOURCE_TAGS" >&2; exit 1;; esac
        PREFIX=/opt/asterisk/$TARGET
        MODDIR=$PREFIX/lib/asterisk/modules
        DATADIR=$PREFIX/var/lib/asterisk
        VARLIBDIR=$PREFIX/var/lib/asterisk
        SBINDIR=$PREFIX/sbin
        MODULE=${MODULE:-$HERE/build/$TARGET/res_agi_rs.so}
        SPEECH_MODULE=$HERE/build/$TARGET/test_speech.so ;;
esac

# Also in the chroot: Debian's Perl AGI library (tests run it unmodified as an AGI script)
# and Python (a Python AGI script); valgrind (make memcheck) and heaptrack (make heap); gdb
# (tests call into the running Asterisk with it: the host's gdb 13 cannot on this kernel);
# SIPp (Debian's sip-tester: the SIP callers of tests/sip_calls.rs, with its RFC 4733 pcaps);
# Prometheus and promtool (tests/metrics.rs scrapes the metrics endpoint with a real server).
EXTRAS="libasterisk-agi-perl python3-minimal valgrind heaptrack gdb sip-tester prometheus promtool"
EXTRAS_VERSION=7

# No package's maintainer script starts a service in the chroot (prometheus's would).
no_services() {
    printf '#!/bin/sh\nexit 101\n' >"$1/usr/sbin/policy-rc.d"
    chmod 755 "$1/usr/sbin/policy-rc.d"
}

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
    # The tests close descriptors inside a running Asterisk with it (tests/classic_agi.rs).
    command -v gdb >/dev/null || missing+=(gdb)
    # bench --sched traces wake-ups with perf sched (tools/bench_sched.rs, issue 28).
    command -v perf >/dev/null || missing+=(linux-perf)
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
        no_services "$tmp"
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
        no_services "$ROOT"
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

include_dir() {
    if [ -z "$PREFIX" ]; then echo "$CACHE/include"; else echo "$ROOT$PREFIX/include"; fi
}

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
    local xml="$HERE/docs/xml/res_agi_rs-en_US.xml" docdir="$ROOT$DATADIR/documentation/thirdparty"
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
    [ -z "$PREFIX" ] || [ -x "$ROOT$SBINDIR/asterisk" ] || die "Asterisk $TARGET is not built: run '$0 build $TARGET' (or make asterisk-$TARGET)"
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
    if [ -f "$SPEECH_MODULE" ]; then
        if ! cmp -s "$SPEECH_MODULE" "$ROOT$MODDIR/test_speech.so"; then
            local tmpsp; tmpsp=$(mktemp "$ROOT$MODDIR/.test_speech.XXXXXX")
            install -m 0644 "$SPEECH_MODULE" "$tmpsp"
            mv -f "$tmpsp" "$ROOT$MODDIR/test_speech.so"
        fi
        speech="load => test_speech.so"
    fi
    # SANDBOX_TIMING=no leaves out the timing module: every channel then holds one descriptor
    # less (the scale benchmark needs that where the open-files limit cannot be raised).
    local timing="load => res_timing_timerfd.so"
    [ "${SANDBOX_TIMING:-yes}" = no ] && timing="; no timing module (SANDBOX_TIMING=no)"
    # SANDBOX_SIP_PORT=N: chan_pjsip on 127.0.0.1:N (UDP) and RTP on SANDBOX_RTP_START and the
    # SANDBOX_RTP_PORTS (default 200; two a call) above it, for the tests' SIPp callers (Debian's Asterisk only: a default source build has no
    # pjproject, hence no chan_pjsip).
    local sip="; no SIP (SANDBOX_SIP_PORT unset)"
    if [ -n "${SANDBOX_SIP_PORT:-}" ]; then
        [ "$TARGET" = deb ] || die "SANDBOX_SIP_PORT: chan_pjsip is only in Debian's Asterisk (RS_TARGET=deb), not in $TARGET"
        local rtp_start=${SANDBOX_RTP_START:-20000}
        sip=$(tr '\n' '\001' <"$HERE/sandbox/sip/modules-sip.conf")
        sed -e "s|@SIP_PORT@|$SANDBOX_SIP_PORT|g" "$HERE/sandbox/sip/pjsip.conf" >"$host_d/etc/pjsip.conf"
        sed -e "s|@RTP_START@|$rtp_start|g" -e "s|@RTP_END@|$((rtp_start + ${SANDBOX_RTP_PORTS:-200} - 1))|g" "$HERE/sandbox/sip/rtp.conf" >"$host_d/etc/rtp.conf"
    fi
    # SANDBOX_HTTP_PORT=N: Asterisk's HTTP server on 127.0.0.1:N (the metrics endpoint).
    local http_enabled=no http_port=8088
    if [ -n "${SANDBOX_HTTP_PORT:-}" ]; then http_enabled=yes; http_port=$SANDBOX_HTTP_PORT; fi
    # res_prometheus (issue 27): loaded where the target has it (a source build; Debian's
    # package has none), its endpoint on (prometheus.conf): res_agi_rs's metrics join its scrape.
    local prometheus="; no res_prometheus (Debian's package has none)"
    if [ "$TARGET" != deb ] && [ -f "$ROOT$MODDIR/res_prometheus.so" ]; then prometheus="load => res_prometheus.so"; fi
    # SANDBOX_METRICS=yes|no: res_agi_rs.conf's metrics from the start (tests/metrics.rs: at
    # boot res_prometheus loads after res_agi_rs).
    local metrics="; metrics: off unless a test turns them on"
    if [ -n "${SANDBOX_METRICS:-}" ]; then metrics="metrics = $SANDBOX_METRICS"; fi
    # SANDBOX_ARI=yes (issue 28): ARI's modules (sandbox/ari/modules-ari.conf: a Stasis
    # application with channel variables, playback and hangup, its events' websocket), on the
    # HTTP server of SANDBOX_HTTP_PORT (required), user bench/bench (sandbox/conf/ari.conf).
    local ari="; no ARI (SANDBOX_ARI unset)"
    if [ "${SANDBOX_ARI:-no}" = yes ]; then
        [ -n "${SANDBOX_HTTP_PORT:-}" ] || die "SANDBOX_ARI=yes needs SANDBOX_HTTP_PORT (ARI is served by Asterisk's HTTP server)"
        [ -f "$ROOT$MODDIR/res_ari.so" ] || die "SANDBOX_ARI=yes: $TARGET's Asterisk has no res_ari.so"
        ari=$(tr '\n' '\001' <"$HERE/sandbox/ari/modules-ari.conf")
    fi
    local f
    for f in "$HERE"/sandbox/conf/*.conf; do
        sed -e "s|@HTTP_ENABLED@|$http_enabled|g" -e "s|@HTTP_PORT@|$http_port|g" -e "s|@DIR@|$d|g" -e "s|@PORT@|$port|g" -e "s|@SIP@|$sip|g" \
            -e "s|@PROMETHEUS@|$prometheus|g" -e "s|@METRICS@|$metrics|g" -e "s|@ARI@|$ari|g" \
            -e "s|@AGI_LOAD@|$agi_load|g" -e "s|@AGI_NOLOAD@|$agi_noload|g" -e "s|@TIMING@|$timing|g" -e "s|@TEST_SPEECH@|$speech|g" \
            -e "s|@MODDIR@|$MODDIR|g" -e "s|@DATADIR@|$DATADIR|g" -e "s|@VARLIBDIR@|$VARLIBDIR|g" -e "s|@SBINDIR@|$SBINDIR|g" \
            "$f" | tr '\001' '\n' >"$host_d/etc/$(basename "$f")"
    done
    echo "$d/etc/asterisk.conf"
}

conf_of() { echo "$(inst_dir "$1")/etc/asterisk.conf"; }

cli() {
    local name=$1; shift
    chroot "$ROOT" "$SBINDIR/asterisk" -C "$(conf_of "$name")" -rx "$*"
}

start() {
    local name=$1 port=$2 flavour=$3
    prepare "$name" "$port" "$flavour" >/dev/null
    chroot "$ROOT" "$SBINDIR/asterisk" -C "$(conf_of "$name")"
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
    exec chroot "$ROOT" "$SBINDIR/asterisk" -f -C "$(conf_of "$name")"
}

destroy() {
    need_root
    umount_proc "$ROOT"
    umount_proc "$ROOT.tmp" 2>/dev/null || true
    rm -rf --one-file-system "$ROOT" "$ROOT.tmp" "$CACHE/include"
}

# ---- Asterisk built from the upstream tags (issue 17) ----
# Build dependencies in the chroot: a default configure's (libedit, jansson, libxml2, sqlite,
# uuid, OpenSSL) and the compiler.
BUILD_DEPS="build-essential pkg-config libedit-dev libjansson-dev libxml2-dev libsqlite3-dev uuid-dev libssl-dev zlib1g-dev"
BUILD_DEPS_VERSION=1
# The modules the tests load (sandbox/conf/modules.conf), res_agi for stock, and the
# optional API (a default build has it; --disable-all turns it off with -march=native).
BUILD_MODULES="OPTIONAL_API pbx_config res_timing_timerfd format_gsm format_wav format_pcm format_sln
codec_gsm codec_ulaw codec_alaw codec_resample app_playback app_userevent app_stack app_dial app_milliwatt
bridge_simple bridge_native_rtp bridge_holding app_directed_pickup app_verbose app_exec app_echo func_strings
func_channel func_callerid func_db app_senddtmf res_speech res_agi app_controlplayback app_read res_musiconhold
res_prometheus func_shell"

tarball_sum() {
    local tag f
    tag=$(tag_release "$1"); f="$SRC_DIR/asterisk-$tag.tar.gz"
    [ -f "$f" ] || die "no tarball $f (ASTERISK_SRC_DIR=$SRC_DIR)"
    local want got
    want=$(awk -v f="asterisk-$tag.tar.gz" '$2 == f { print $1 }' "$SRC_DIR/SHA256SUMS")
    [ -n "$want" ] || die "asterisk-$tag.tar.gz is not in $SRC_DIR/SHA256SUMS"
    got=$(sha256sum "$f" | cut -d' ' -f1)
    [ "$want" = "$got" ] || die "asterisk-$tag.tar.gz: checksum $got, SHA256SUMS says $want"
    echo "$got"
}

build_source() {
    local tag=$1
    need_root
    [ -f "$ROOT/.res_agi_rs-provisioned" ] || provision
    case " $SOURCE_TAGS " in *" $tag "*) ;; *) die "unknown tag $tag (one of: $SOURCE_TAGS)";; esac
    local sum; sum=$(tarball_sum "$tag")
    local prefix=/opt/asterisk/$tag
    local stamp="$ROOT$prefix/.built-$sum-$BUILD_VERSION"
    if [ -f "$stamp" ]; then log "Asterisk $tag: cached in $ROOT$prefix"; return 0; fi
    mount_proc
    if [ ! -f "$ROOT/.res_agi_rs-builddeps-$BUILD_DEPS_VERSION" ]; then
        log "installing build dependencies in the chroot: $BUILD_DEPS"
        ticking "apt-get in the chroot" sh -c 'chroot "$1" sh -c "apt-get -q -o Acquire::Check-Valid-Until=false update &&
             DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $2" >"$3" 2>&1' sh "$ROOT" "$BUILD_DEPS" "$CACHE/apt-builddeps.log" \
            || { tail -20 "$CACHE/apt-builddeps.log" >&2; die "apt-get in chroot failed"; }
        touch "$ROOT/.res_agi_rs-builddeps-$BUILD_DEPS_VERSION"
    fi
    local release; release=$(tag_release "$tag")
    local src=/build/asterisk-$tag log="$CACHE/build-$tag.log"
    rm -rf --one-file-system "$ROOT$src" "$ROOT$prefix" "$ROOT/build/asterisk-$release.unpack"
    mkdir -p "$ROOT/build/asterisk-$release.unpack"
    tar -xzf "$SRC_DIR/asterisk-$release.tar.gz" -C "$ROOT/build/asterisk-$release.unpack"
    [ -d "$ROOT/build/asterisk-$release.unpack/asterisk-$release" ] || die "asterisk-$release.tar.gz did not unpack to asterisk-$release/"
    mv "$ROOT/build/asterisk-$release.unpack/asterisk-$release" "$ROOT$src"
    rmdir "$ROOT/build/asterisk-$release.unpack"
    local jobs; jobs=$(nproc)
    log "building Asterisk $tag in the chroot ($src -> $prefix, log $log; several minutes)"
    # A default configure, except: no pjproject (configure would download it), and menuselect
    # --disable-all (no sound downloads, no -march=native) with the tests' modules enabled.
    # sid's gcc turns some old warnings into errors: -Wno-error keeps the older tags building.
    local enable="" m
    for m in $BUILD_MODULES; do enable="$enable --enable $m"; done
    cat >"$ROOT/build/build-$tag.sh" <<EOF
set -e
cd $src
./configure --prefix=$prefix --without-pjproject-bundled --without-pjproject $(tag_configure "$tag")
make menuselect.makeopts
menuselect/menuselect --disable-all $enable menuselect.makeopts
make -j$jobs ASTCFLAGS="-Wno-error"
make install
make install-headers
# Debian's sounds (asterisk-core-sounds-en-gsm) in the prefix's data dir: the tarballs have none.
rm -rf $prefix/var/lib/asterisk/sounds
ln -s /usr/share/asterisk/sounds $prefix/var/lib/asterisk/sounds
EOF
    if ! ticking "building Asterisk $tag" sh -c 'chroot "$1" sh "/build/build-$2.sh" >"$3" 2>&1' sh "$ROOT" "$tag" "$log"; then
        tail -40 "$log" >&2
        die "building Asterisk $tag failed (log: $log)"
    fi
    rm -rf --one-file-system "$ROOT$src"
    touch "$stamp"
    log "Asterisk $tag built: $(chroot "$ROOT" "$prefix/sbin/asterisk" -V)"
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
    build) build_source "$@" ;;
    targets) echo "deb $SOURCE_TAGS" ;;
    sbin) echo "$SBINDIR" ;;
    version) chroot "$ROOT" "$SBINDIR/asterisk" -V | sed 's/^Asterisk //' ;;
    moddir) echo "$MODDIR" ;;
    *) sed -n '2,17p' "$0"; exit 2 ;;
esac
