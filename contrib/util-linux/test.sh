#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Tests the ferrofs prober of a util-linux build patched with ferrofs-libblkid.patch: its own
# `blkid -p` must identify the fresh image ferrofs.img.xz (TYPE, UUID, LABEL, VERSION,
# BLOCK_SIZE), still identify it with the backup superblock damaged (the prober reads the
# primary), and not call it ferrofs with the primary damaged (a flipped byte: bad checksum;
# a flipped magic byte) or cut below the 16 MiB minimum.
#
#   UL_BUILD_DIR=/path/to/built/util-linux contrib/util-linux/test.sh
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
: "${UL_BUILD_DIR:?set UL_BUILD_DIR to a util-linux build tree (with ./blkid) patched with ferrofs-libblkid.patch}"
blkid=$UL_BUILD_DIR/blkid
[ -x "$blkid" ] || { echo "test.sh: no blkid built in $UL_BUILD_DIR" >&2; exit 1; }
# The expected values are the ones ferrofs.img.xz was made with:
#   mkfs.ferrofs -L "blkid test" -U 5eed0f5e-1234-4abc-8def-0123456789ab IMG 16m
WANT_UUID=5eed0f5e-1234-4abc-8def-0123456789ab
WANT_LABEL="blkid test"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
xz -dc "$here/ferrofs.img.xz" > "$tmp/fresh.img"
fails=0
ok() { echo "ok: $*"; }
bad() { echo "FAIL: $*"; fails=$((fails + 1)); }

tag() { # IMG TAG: the tag's value from blkid -p (empty when absent)
    "$blkid" -p -s "$2" -o value "$1" 2>/dev/null || true
}

expect_ferrofs() { # IMG WHAT
    local t u l v b
    t=$(tag "$1" TYPE) u=$(tag "$1" UUID) l=$(tag "$1" LABEL) v=$(tag "$1" VERSION) b=$(tag "$1" BLOCK_SIZE)
    [ "$t" = ferrofs ] && ok "$2: TYPE=ferrofs" || bad "$2: TYPE='$t', want ferrofs"
    [ "$u" = "$WANT_UUID" ] && ok "$2: UUID=$u" || bad "$2: UUID='$u', want $WANT_UUID"
    [ "$l" = "$WANT_LABEL" ] && ok "$2: LABEL=$l" || bad "$2: LABEL='$l', want '$WANT_LABEL'"
    [ "$v" = 1 ] && ok "$2: VERSION=1" || bad "$2: VERSION='$v', want 1"
    [ "$b" = 4096 ] && ok "$2: BLOCK_SIZE=4096" || bad "$2: BLOCK_SIZE='$b', want 4096"
    local usage; usage=$(tag "$1" USAGE)
    [ "$usage" = filesystem ] && ok "$2: USAGE=filesystem" || bad "$2: USAGE='$usage', want filesystem"
}

expect_not_ferrofs() { # IMG WHAT
    local rc=0 out
    out=$("$blkid" -p -o export "$1" 2>&1) || rc=$?
    if echo "$out" | grep -q '^TYPE=ferrofs$'; then
        bad "$2: blkid -p says ferrofs: $out"
    else
        ok "$2: not identified as ferrofs (blkid -p exit $rc)"
    fi
}

flip() { # IMG OFFSET: inverts one byte
    local b
    b=$(od -An -tu1 -j "$2" -N1 "$1" | tr -d ' ')
    printf "$(printf '\\%03o' $((255 - b)))" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}

echo "blkid: $("$blkid" -V | head -1)"
expect_ferrofs "$tmp/fresh.img" "fresh image"

cp "$tmp/fresh.img" "$tmp/backup-damaged.img"
flip "$tmp/backup-damaged.img" $((255 * 4096 + 300))
expect_ferrofs "$tmp/backup-damaged.img" "backup superblock damaged"

cp "$tmp/fresh.img" "$tmp/csum.img"
flip "$tmp/csum.img" $((16 * 4096 + 300))
expect_not_ferrofs "$tmp/csum.img" "primary superblock with a flipped byte (bad checksum)"

cp "$tmp/fresh.img" "$tmp/label.img"
flip "$tmp/label.img" $((16 * 4096 + 64))
expect_not_ferrofs "$tmp/label.img" "primary superblock with a flipped label byte (bad checksum)"

cp "$tmp/fresh.img" "$tmp/magic.img"
flip "$tmp/magic.img" $((16 * 4096 + 8))
expect_not_ferrofs "$tmp/magic.img" "primary superblock with a flipped magic byte"

head -c $((8 << 20)) "$tmp/fresh.img" > "$tmp/short.img"
expect_not_ferrofs "$tmp/short.img" "image cut to 8 MiB (below the 16 MiB minimum)"

if [ "$fails" -ne 0 ]; then
    echo "test.sh: $fails check(s) failed"
    exit 1
fi
echo "test.sh: all checks passed"
