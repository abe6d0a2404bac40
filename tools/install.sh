#!/bin/sh
# Install the ferrofs tools under their fsck(8)/mkfs(8) names.
# Cargo cannot name a binary "mkfs.ferrofs" (a '.' is invalid in a crate
# name), so the cargo targets are mkfs-ferrofs / fsck-ferrofs.
# usage: tools/install.sh [DESTDIR/sbin] [profile-dir]   (defaults: /usr/local/sbin, target/release)
set -eu
dest=${1:-/usr/local/sbin}
bindir=${2:-$(dirname "$0")/../target/release}
install -d "$dest"
install -m 0755 "$bindir/mkfs-ferrofs" "$dest/mkfs.ferrofs"
install -m 0755 "$bindir/fsck-ferrofs" "$dest/fsck.ferrofs"
