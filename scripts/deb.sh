#!/bin/sh
# make deb: a Debian package of the module (cargo-deb), for the Debian Asterisk whose headers
# it was built against. It depends on exactly that asterisk version: Asterisk refuses a
# module whose build-options checksum differs, and the version pins the headers.
# The module in the package is stripped as dh_strip does; its debug symbols go into a
# separate asterisk-res-agi-rs-dbgsym package (/usr/lib/debug/.build-id/xx/yyyy.debug, found
# by the module's build-id and by its .gnu_debuglink). Both packages are checked by lintian,
# and an error (E:) fails the script.
#   ASTERISK_VERSION      the Debian version of asterisk (default: the sandbox chroot's)
#   DEBFULLNAME, DEBEMAIL the Maintainer (default: res_agi_rs developers, with no public
#                         address: lintian's bogus-mail-host is then skipped, and said so)
#   SOURCE_DATE_EPOCH     the packages' timestamps (default: the last commit's)
# Output (the last two lines of stdout): build/asterisk-res-agi-rs-dbgsym_<version>_amd64.deb,
# then build/asterisk-res-agi-rs_<version>_amd64.deb
set -eu
HERE=$(cd "$(dirname "$0")/.." && pwd)
cd "$HERE"
umask 022
[ -f build/res_agi_rs.so ] || { echo "build/res_agi_rs.so missing: run make module" >&2; exit 1; }
if [ -z "${ASTERISK_VERSION:-}" ]; then
    ROOT=$(scripts/sandbox.sh root)
    ASTERISK_VERSION=$(chroot "$ROOT" dpkg-query -W -f '${Version}' asterisk)
fi
command -v cargo-deb >/dev/null 2>&1 || cargo install --locked --quiet cargo-deb@3.8.0
for tool in objcopy strip readelf dpkg-deb dpkg-shlibdeps lintian; do
    command -v $tool >/dev/null 2>&1 && continue
    echo "installing binutils, dpkg-dev and lintian for make deb" >&2
    { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
        binutils dpkg-dev lintian; } >&2
    break
done
if [ -z "${SOURCE_DATE_EPOCH:-}" ]; then
    SOURCE_DATE_EPOCH=$(git log -1 --format=%ct 2>/dev/null || date +%s)
fi
export SOURCE_DATE_EPOCH
VERSION=$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)
REVISION=1
DEBVERSION="$VERSION-$REVISION"
NAME=asterisk-res-agi-rs
MAINTAINER="${DEBFULLNAME:-res_agi_rs developers} <${DEBEMAIL:-res_agi_rs@localhost}>"
MODDIR=usr/lib/x86_64-linux-gnu/asterisk/modules
D=build/deb
rm -rf "$D"
mkdir -p "$D"

# 1. Strip as dh_strip does: the debug sections (compressed) into the .debug file, the module
#    stripped of them and of its static symbol table (--strip-unneeded keeps .dynsym, all that
#    dlopen() and Asterisk's loader use: the module registers itself from its constructor),
#    then a .gnu_debuglink to the .debug file (name and CRC).
BUILD_ID=$(readelf -n build/res_agi_rs.so | sed -n 's/^ *Build ID: *\([0-9a-f]*\)$/\1/p' | head -1)
if [ -n "$BUILD_ID" ]; then
    DEBUG_PATH=usr/lib/debug/.build-id/$(echo "$BUILD_ID" | cut -c1-2)/$(echo "$BUILD_ID" | cut -c3-).debug
else
    # No GNU build-id note (linker without --build-id): found by the debuglink alone.
    echo "build/res_agi_rs.so has no build-id: the debug file is found by its .gnu_debuglink only" >&2
    DEBUG_PATH=usr/lib/debug/$MODDIR/res_agi_rs.so.debug
fi
DEBUG_FILE="$D/$(basename "$DEBUG_PATH")"
objcopy --only-keep-debug --compress-debug-sections build/res_agi_rs.so "$DEBUG_FILE"
chmod 0644 "$DEBUG_FILE"
strip --remove-section=.comment --remove-section=.note --strip-unneeded -o "$D/res_agi_rs.so" build/res_agi_rs.so
(cd "$D" && objcopy --add-gnu-debuglink="$(basename "$DEBUG_FILE")" res_agi_rs.so)
chmod 0644 "$D/res_agi_rs.so"
if readelf -S "$D/res_agi_rs.so" | grep -q '\.debug_'; then
    echo "$D/res_agi_rs.so still has debug sections" >&2; exit 1
fi

# 2. Debian's changelog and a machine-readable copyright file.
DATE=$(LC_ALL=C date -u -R -d "@$SOURCE_DATE_EPOCH")
YEAR=$(date -u +%Y -d "@$SOURCE_DATE_EPOCH")
cat > "$D/changelog" <<EOF
$NAME ($DEBVERSION) unstable; urgency=medium

  * res_agi_rs $VERSION, built for asterisk $ASTERISK_VERSION.

 -- $MAINTAINER  $DATE
EOF
cat > "$D/copyright" <<EOF
Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/
Upstream-Name: res_agi_rs
Comment: res_agi_rs.so is a Rust cdylib. Statically linked into it are the Rust
 standard library and the crates libc and percent-encoding (their stanzas name
 them by their source: the Rust toolchain's library/ tree and the crates' own
 sources from crates.io). Its C shim includes Asterisk's headers.

Files: *
Copyright: $YEAR res_agi_rs developers
License: GPL-2

Files: asterisk-headers/*
Copyright: $YEAR res_agi_rs developers
License: GPL-2
Comment: The shim includes Asterisk's headers (Copyright (C) 1999 - 2008, Digium,
 Inc., and later Asterisk developers, GPL-2) and so compiles their inline
 functions and macros into res_agi_rs.so.

Files: rust/library/*
Copyright: The Rust Project Developers
License: Expat or Apache-2.0

Files: crates/libc-*/*
Copyright: The Rust Project Developers
License: Expat or Apache-2.0

Files: crates/percent-encoding-*/*
Copyright: The rust-url developers
License: Expat or Apache-2.0

License: GPL-2
 This program is free software; you can redistribute it and/or modify it
 under the terms of the GNU General Public License version 2 as published by
 the Free Software Foundation.
 .
 This program is distributed in the hope that it will be useful, but WITHOUT
 ANY WARRANTY; without even the implied warranty of MERCHANTABILITY or FITNESS
 FOR A PARTICULAR PURPOSE. See the GNU General Public License for more details.
 .
 On Debian systems, the complete text of the GNU General Public License
 version 2 can be found in "/usr/share/common-licenses/GPL-2".

License: Expat
 Permission is hereby granted, free of charge, to any person obtaining a copy
 of this software and associated documentation files (the "Software"), to deal
 in the Software without restriction, including without limitation the rights
 to use, copy, modify, merge, publish, distribute, sublicense, and/or sell
 copies of the Software, and to permit persons to whom the Software is
 furnished to do so, subject to the following conditions:
 .
 The above copyright notice and this permission notice shall be included in
 all copies or substantial portions of the Software.
 .
 THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
 IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
 FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
 AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
 LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
 OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE
 SOFTWARE.

License: Apache-2.0
 On Debian systems, the complete text of the Apache License version 2.0 can be
 found in "/usr/share/common-licenses/Apache-2.0".
EOF

# 3. Lintian overrides, for tags that do not apply, each with its reason.
{
    echo "# Not a Debian upload: there is no ITP bug for the first changelog entry to close."
    echo "$NAME: initial-upload-closes-no-bugs *"
} > "$D/lintian-overrides"

# 4. The package: cargo-deb, from a generated manifest.
docs=""
for f in README.md docs/*.md; do
    docs="$docs    [\"$HERE/$f\", \"usr/share/doc/$NAME/\", \"644\"],
"
done
cat > "$D/Cargo.toml" <<TOML
# Generated by scripts/deb.sh: only the package's metadata (the module is built by make).
[package]
name = "$NAME"
version = "$VERSION"
edition = "2021"
description = "Async AGI, AGI scripts and FastAGI for Asterisk, in Rust (replaces res_agi)"
license = "GPL-2.0-only"
authors = ["$MAINTAINER"]
publish = false

[lib]
path = "lib.rs"

[workspace]

[package.metadata.deb]
maintainer = "$MAINTAINER"
depends = "\$auto, asterisk (= $ASTERISK_VERSION)"
section = "comm"
priority = "optional"
revision = "$REVISION"
changelog = "changelog"
extended-description = """\\
res_agi_rs.so replaces Asterisk's res_agi.so: AGI(), EAGI() and DeadAGI() with local \\
scripts, FastAGI (agi://), HAGI (hagi://) and Async AGI (agi:async, AMI Action: AGI). \\
Load it with noload => res_agi.so and load => res_agi_rs.so in modules.conf. \\
Built for asterisk $ASTERISK_VERSION exactly."""
assets = [
    ["$HERE/$D/res_agi_rs.so", "$MODDIR/res_agi_rs.so", "644"],
    ["$HERE/$D/copyright", "usr/share/doc/$NAME/copyright", "644"],
    ["$HERE/docs/xml/res_agi_rs-en_US.xml", "usr/share/asterisk/documentation/thirdparty/res_agi_rs-en_US.xml", "644"],
    ["$HERE/conf/res_agi_rs.conf.sample", "usr/share/doc/$NAME/examples/res_agi_rs.conf.sample", "644"],
    ["$HERE/$D/lintian-overrides", "usr/share/lintian/overrides/$NAME", "644"],
$docs]
TOML
: > "$D/lib.rs"
DEB="build/${NAME}_${DEBVERSION}_amd64.deb"
DBGSYM_DEB="build/${NAME}-dbgsym_${DEBVERSION}_amd64.deb"
rm -f "$DEB" "$DBGSYM_DEB"
cargo deb --no-build --no-strip --manifest-path "$D/Cargo.toml" --output "$DEB" --quiet >&2
# cargo-deb writes no DEBIAN/md5sums, which dpkg --verify and debsums read: add it, as
# dh_md5sums does, and pack the package again with dpkg-deb.
M="$D/main"
dpkg-deb -R "$DEB" "$M"
(cd "$M" && find usr -type f -print0 | LC_ALL=C sort -z | xargs -0 md5sum) > "$M/DEBIAN/md5sums"
chmod 0644 "$M/DEBIAN/md5sums"
touch -d "@$SOURCE_DATE_EPOCH" "$M/DEBIAN/md5sums"
dpkg-deb --root-owner-group -Zxz --build "$M" "$DEB" >&2

# 5. The -dbgsym package, as dh_strip and dh_gencontrol make them (dpkg-deb).
R="$D/dbgsym"
mkdir -p "$R/DEBIAN" "$R/$(dirname "$DEBUG_PATH")" "$R/usr/share/doc"
cp "$DEBUG_FILE" "$R/$DEBUG_PATH"
ln -s "$NAME" "$R/usr/share/doc/$NAME-dbgsym"
{
    echo "Package: $NAME-dbgsym"
    echo "Source: $NAME"
    echo "Version: $DEBVERSION"
    echo "Auto-Built-Package: debug-symbols"
    echo "Architecture: amd64"
    echo "Maintainer: $MAINTAINER"
    echo "Installed-Size: $(du -sk --exclude=DEBIAN "$R" | cut -f1)"
    echo "Depends: $NAME (= $DEBVERSION)"
    echo "Section: debug"
    echo "Priority: optional"
    echo "Description: debug symbols for $NAME"
    [ -z "$BUILD_ID" ] || echo "Build-Ids: $BUILD_ID"
} > "$R/DEBIAN/control"
(cd "$R" && find usr -type f -print0 | LC_ALL=C sort -z | xargs -0 md5sum) > "$R/DEBIAN/md5sums"
chmod 0644 "$R/DEBIAN/control" "$R/DEBIAN/md5sums"
find "$R" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
dpkg-deb --root-owner-group -Zxz --build "$R" "$DBGSYM_DEB" >&2

# 6. Lintian: an error fails make deb; warnings and infos are shown (docs/migrating.md says
#    why the remaining ones stay). The default Maintainer has no public mail address: lintian
#    is right to call it bogus (E: bogus-mail-host), so that tag is skipped, and said so, only
#    when DEBEMAIL is not set; a package to distribute is built with DEBEMAIL.
suppress=""
if [ -z "${DEBEMAIL:-}" ]; then
    suppress="--suppress-tags bogus-mail-host,bogus-mail-host-in-debian-changelog"
    echo "N: DEBEMAIL not set: Maintainer $MAINTAINER; lintian's bogus-mail-host not checked" >&2
fi
echo "lintian $DEB $DBGSYM_DEB:" >&2
# shellcheck disable=SC2086
lintian --display-info --fail-on error $suppress "$DEB" "$DBGSYM_DEB" >&2 || {
    echo "lintian reported errors (E:) on the packages" >&2; exit 1; }

echo "$DBGSYM_DEB"
echo "$DEB"
