# SPDX-License-Identifier: GPL-2.0
# Helpers for VM tests (sourced). Tests run as root in the guest, from the repository root.
KO="$FERROFS_ROOT/ferrofs.ko"
TEST_DEV=/dev/vda
SCRATCH_DEV=/dev/vdb
MNT=/tmp/ferrofs-mnt

fail() { echo "FAIL: $*" >&2; exit 1; }
skip() { echo "$*"; exit 77; }
# expect CMD...: run it, fail the test when it fails.
expect() { "$@" || fail "command failed: $*"; }
load_ferrofs() { grep -qw ferrofs /proc/modules || insmod "$KO" || fail "insmod $KO"; }
cleanup_ferrofs() {
    fsfreeze -u "$MNT" 2>/dev/null
    for m in $(awk '$3 == "ferrofs" {print $2}' /proc/mounts 2>/dev/null); do umount "$m" 2>/dev/null; done
    mountpoint -q /tmp/ext4 2>/dev/null && umount /tmp/ext4
    # The reference filesystem tests compare against (mkfs.xfs of the next test would fail).
    mountpoint -q "$REF" 2>/dev/null && umount "$REF"
    # dm devices a test made over the test device (named ferrofs-*), if it stopped early.
    for d in $(dmsetup ls 2>/dev/null | awk '$1 ~ /^ferrofs-/ {print $1}'); do dmsetup remove --force "$d" 2>/dev/null; done
    grep -qw ferrofs /proc/modules 2>/dev/null && rmmod ferrofs 2>/dev/null
    return 0
}
MKFS="$FERROFS_ROOT/out/bin/mkfs.ferrofs"
FSCK="$FERROFS_ROOT/out/bin/fsck.ferrofs"
need_tools() { [ -x "$MKFS" ] && [ -x "$FSCK" ] || fail "tools not built (make tools)"; }
# mount_errno DEV [ro|rw] [OPTIONS]: mount on $MNT, print OK or the errno name.
# The C helpers of tests/vm/lib, built on the host by scripts/vm: $H/mnt, $H/dio, ...
H=${FERROFS_HELPERS:-$FERROFS_ROOT/out/vm-helpers}
MNT_HELPER=$H/mnt
mount_errno() {
    [ -x "$MNT_HELPER" ] || fail "no $MNT_HELPER (scripts/vm builds it)"
    mkdir -p "$MNT"
    "$MNT_HELPER" "$1" "$MNT" "${2:-ro}" ${3:+"$3"}
}
# dmesg_has TEXT: the kernel log since the test began contains TEXT.
dmesg_has() { dmesg | tail -n +"${DMESG_START:-1}" | grep -qF -- "$1"; }
mark_dmesg() { DMESG_START=$(( $(dmesg | wc -l) + 1 )); }
# dm-flakey over the test device, for crash and I/O error tests (dm devices named ferrofs-* are
# removed after every test). flakey_mode NAME pass|drop_writes|error_writes switches the table with
# `dmsetup suspend --nolockfs`, so a mounted filesystem is not frozen (a freeze would commit).
# flakey_restore NAME goes back to pass-through after unmount and drops the device's page cache,
# so nothing cached of the lost writes is read again.
flakey_table() {
    local sz; sz=$(blockdev --getsz "$TEST_DEV")
    case $1 in
        pass) echo "0 $sz flakey $TEST_DEV 0 3600 0" ;;
        *) echo "0 $sz flakey $TEST_DEV 0 0 1 1 $1" ;;
    esac
}
flakey_create() { expect dmsetup create "$1" --table "$(flakey_table pass)"; }
flakey_mode() {
    expect dmsetup suspend --nolockfs "$1"
    expect dmsetup load "$1" --table "$(flakey_table "$2")"
    expect dmsetup resume "$1"
}
flakey_restore() {
    flakey_mode "$1" pass
    expect blockdev --flushbufs "/dev/mapper/$1"
    echo 3 > /proc/sys/vm/drop_caches
}
# check_fill FILE BYTE SIZE: FILE is exactly SIZE bytes of BYTE.
check_fill() {
    [ "$(stat -c %s "$1")" = "$3" ] || fail "$1: size $(stat -c %s "$1"), not $3"
    cmp -s "$1" <(head -c "$3" /dev/zero | tr '\0' "\\$(printf '%03o' "$2")") || fail "$1: not $3 bytes of $2"
}
# fio_verified NAME FIO_ARGS...: a fio job with verification on a mounted $TEST_DEV (options in
# $FIO_COMMON), then the same data verified again after sync + drop_caches and after a remount, with
# fsck.ferrofs -n in between (--verify_only replays the written pattern).
fio_verified() {
    local name=$1; shift
    echo "--- $name"
    fio --name="$name" $FIO_COMMON "$@" --do_verify=1 > /tmp/fio.out 2>&1 || { cat /tmp/fio.out; fail "$name: fio write+verify"; }
    expect sync
    echo 3 > /proc/sys/vm/drop_caches
    fio --name="$name" $FIO_COMMON "$@" --verify_only > /tmp/fio.out 2>&1 || { cat /tmp/fio.out; fail "$name: verify after drop_caches"; }
    expect umount "$MNT"
    "$FSCK" -n "$TEST_DEV" || fail "$name: fsck -n (exit $?)"
    [ "$(mount_errno "$TEST_DEV" rw)" = OK ] || fail "$name: remount"
    fio --name="$name" $FIO_COMMON "$@" --verify_only > /tmp/fio.out 2>&1 || { cat /tmp/fio.out; fail "$name: verify after remount"; }
}
# fiemap_flags FILE: "start_byte end_byte flags" per extent FIEMAP reports (holes left out).
fiemap_flags() {
    xfs_io -r -c "fiemap -v" "$1" | awk 'NR > 2 && $3 != "hole" { split($2, r, /[\[\].:]+/); print r[2] * 512, (r[3] + 1) * 512, $5 }'
}
# phys_at FILE OFFSET: the device sector FIEMAP maps the file offset to.
phys_at() {
    xfs_io -r -c fiemap "$1" | awk -v o=$(( $2 / 512 )) '
        { if (match($0, /\[[0-9]+\.\.[0-9]+\]: [0-9]+\.\.[0-9]+/)) {
            split(substr($0, RSTART, RLENGTH), r, /[\[\].: ]+/)
            if (o >= r[2] && o <= r[3]) { print r[4] + o - r[2]; exit } } }'
}
# dio_write_eio FILE OFFSET WHAT: a 1 MiB direct write at OFFSET fails with EIO (a test fails
# writes with dm-flakey first).
dio_write_eio() {
    python3 - "$@" <<'PY' || fail "$3: the direct write"
import errno, mmap, os, sys
buf = mmap.mmap(-1, 1 << 20)
buf.write(b"\x5a" * (1 << 20))
fd = os.open(sys.argv[1], os.O_RDWR | os.O_DIRECT)
try:
    n = os.pwrite(fd, buf, int(sys.argv[2]))
    sys.exit("%s: the direct write returned %d, not EIO" % (sys.argv[3], n))
except OSError as e:
    if e.errno != errno.EIO:
        sys.exit("%s: the direct write gave %s, not EIO" % (sys.argv[3], errno.errorcode.get(e.errno)))
PY
}
# fsync_eio FD WHAT: fsync of the open descriptor FD reports EIO (a writeback error it saw).
fsync_eio() {
    python3 - "$@" <<'PY' || fail "$2: fsync error reporting"
import errno, os, sys
try:
    os.fsync(int(sys.argv[1]))
    sys.exit("%s: fsync after a failed writeback succeeded" % sys.argv[2])
except OSError as e:
    if e.errno != errno.EIO:
        sys.exit("%s: fsync gave %s, not EIO" % (sys.argv[2], errno.errorcode.get(e.errno)))
PY
}

# The reference some tests compare ferrofs with: XFS with reflink on the scratch device, mounted
# at $REF (cleanup_ferrofs unmounts it).
REF=/tmp/xfsref
mount_xfs_ref() {
    expect mkfs.xfs -q -f -m reflink=1 "$SCRATCH_DEV"
    mkdir -p "$REF"
    expect mount -t xfs "$SCRATCH_DEV" "$REF"
}
# on_both CMD: the shell command CMD in $MNT, then in $REF (each the current directory).
on_both() { (cd "$MNT" && eval "$1") || fail "on ferrofs: $1"; (cd "$REF" && eval "$1") || fail "on xfs: $1"; }
# compare_ref WHAT: each file named in $FILES has the same size and bytes in $MNT as in $REF.
compare_ref() {
    local f
    for f in $FILES; do
        [ "$(stat -c %s "$MNT/$f")" = "$(stat -c %s "$REF/$f")" ] || fail "$1: $f is $(stat -c %s "$MNT/$f") bytes, xfs's $(stat -c %s "$REF/$f")"
        cmp "$MNT/$f" "$REF/$f" || fail "$1: $f differs from xfs's"
    done
}
# shared_at FILE OFFSET: whether FIEMAP flags the extent at OFFSET shared.
shared_at() {
    local s e fl
    while read -r s e fl; do
        if [ "$s" -le "$2" ] && [ "$2" -lt "$e" ]; then [ $(( fl & 0x2000 )) -ne 0 ]; return; fi
    done < <(fiemap_flags "$1")
    return 1
}

# Helpers of the tests that race a read against the reuse of the blocks it mapped (047, 048).
# fill_bytes HEX N: N bytes of value HEX on stdout.
fill_bytes() { python3 -c "import sys; sys.stdout.buffer.write(bytes([int(sys.argv[1], 16)]) * int(sys.argv[2]))" "$@"; }
# physical FILE: "first last" 512-byte sectors on the device, one line per extent (FIEMAP).
physical() {
    xfs_io -r -c fiemap "$1" | sed -n 's/.*: \[[0-9]*\.\.[0-9]*\]: \([0-9]*\)\.\.\([0-9]*\)$/\1 \2/p'
}
# sectors_overlap A B: whether two physical() listings share a sector.
sectors_overlap() {
    python3 - "$1" "$2" <<'PY'
import sys
def ranges(t):
    return [tuple(map(int, l.split())) for l in t.splitlines() if l.strip()]
a, b = ranges(sys.argv[1]), ranges(sys.argv[2])
sys.exit(0 if any(s <= be and bs <= e for s, e in a for bs, be in b) else 1)
PY
}
# blocks_of FILE BYTES HEX...: FILE has BYTES bytes, each 4 KiB block all of one of the values HEX.
blocks_of() {
    python3 - "$@" <<'PY'
import sys
d = open(sys.argv[1], "rb").read()
assert len(d) == int(sys.argv[2]), len(d)
ok = [bytes([int(h, 16)]) * 4096 for h in sys.argv[3:]]
bad = [i for i in range(0, len(d), 4096) if d[i:i + 4096] not in ok]
if bad:
    print("blocks at", bad[:8], "hold", d[bad[0]:bad[0] + 4].hex(), file=sys.stderr)
    sys.exit(1)
PY
}
# free_bytes: the bytes statfs says are available in $MNT.
free_bytes() { echo $(( $(stat -f -c '%a * %S' "$MNT") )); }
# fill_fs_leaving BYTES NAME: a file NAME in $MNT of whole MiB so that about BYTES stay free.
fill_fs_leaving() {
    local free fillsz
    free=$(free_bytes)
    fillsz=$(( (free - $1) / 1048576 ))
    [ "$fillsz" -gt 0 ] || fail "no room for the filler ($free bytes free)"
    expect dd if=/dev/zero of="$MNT/$2" bs=1M count="$fillsz" oflag=direct status=none
}
# reuse_setup: /tmp/a1, /tmp/a2 and /tmp/bb (4 MiB of 0xa1, 0xa2, 0xbb), $MNT/a written with a1
# and committed, the filesystem then filled so that what is left is an overwrite's 4 MiB and 1.5
# MiB for metadata (a 4 MiB file written after a's overwrite can only go into the blocks it
# freed); $old is a's physical() listing, $MiB 1048576.
reuse_setup() {
    MiB=1048576
    expect fill_bytes a1 $((4 * MiB)) > /tmp/a1
    expect fill_bytes a2 $((4 * MiB)) > /tmp/a2
    expect fill_bytes bb $((4 * MiB)) > /tmp/bb
    expect dd if=/tmp/a1 of="$MNT/a" bs=4M oflag=direct status=none
    expect sync
    fill_fs_leaving $((4 * MiB + 3 * MiB / 2)) filler
    expect sync
    old=$(physical "$MNT/a") || fail "fiemap a"
    [ -n "$old" ] || fail "fiemap shows no extent of a"
    echo "a's blocks: $old"
}
