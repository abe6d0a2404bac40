#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Install the ferrofs tools under their fsck(8)/mkfs(8) names, and their man pages.
# Cargo cannot name a binary "mkfs.ferrofs" (a '.' is invalid in a crate
# name), so the cargo targets are mkfs-ferrofs / fsck-ferrofs / tune-ferrofs.
# usage: tools/install.sh [DESTDIR/sbin] [profile-dir] [mandir]
#   (defaults: /usr/local/sbin, target/release, no man pages)
set -eu
dest=${1:-/usr/local/sbin}
bindir=${2:-$(dirname "$0")/../target/release}
mandir=${3:-}
install -d "$dest"
install -m 0755 "$bindir/mkfs-ferrofs" "$dest/mkfs.ferrofs"
install -m 0755 "$bindir/fsck-ferrofs" "$dest/fsck.ferrofs"
install -m 0755 "$bindir/tune-ferrofs" "$dest/tune.ferrofs"
if [ -n "$mandir" ]; then
    install -d "$mandir/man8"
    "$bindir/ferrofs-mangen" "$mandir/man8"
fi
