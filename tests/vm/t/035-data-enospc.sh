# ENOSPC comes at write(2), never at writeback: a 64 MiB filesystem is filled by buffered writes
# until write(2) fails with ENOSPC; writeback and the commit then succeed (no writeback error),
# every byte write(2) accepted is on disk after remount, fsck is clean; one write(2) bigger than
# the filesystem is short, the next gets ENOSPC; after deleting the files the space is back.
. tests/vm/lib.sh
need_tools
expect "$MKFS" -f -s 64m "$TEST_DEV" >/dev/null
load_ferrofs
[ "$(mount_errno "$TEST_DEV" rw)" = OK ] || fail "mount"
free0=$(stat -f -c %f "$MNT")
mark_dmesg
res=$(python3 - "$MNT/fill" <<'PY'
import errno, os, sys
fd = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT, 0o644)
chunk = bytes(range(256)) * 256  # 64 KiB
n = 0
try:
    while True:
        w = os.write(fd, chunk)
        n += w
        if w < len(chunk):
            continue
except OSError as e:
    print(errno.errorcode.get(e.errno, e.errno), n)
PY
)
echo "fill: $res"
set -- $res
[ "$1" = ENOSPC ] || fail "filling stopped with $1, not ENOSPC"
[ "$2" -gt $((40 << 20)) ] || fail "only $2 bytes fit in 64 MiB"
expect sync
dmesg_has "data write failed" && fail "writeback failed after write(2) accepted the data"
size=$(stat -c %s "$MNT/fill")
[ "$size" = "$2" ] || fail "size $size, write(2) accepted $2"
expect umount "$MNT"
"$FSCK" -n "$TEST_DEV" || fail "fsck -n on the full filesystem (exit $?)"
[ "$(mount_errno "$TEST_DEV" rw)" = OK ] || fail "remount"
python3 - "$MNT/fill" "$2" <<'PY' || fail "contents after remount"
import sys
chunk = bytes(range(256)) * 256
with open(sys.argv[1], "rb") as f:
    data = f.read()
n = int(sys.argv[2])
assert len(data) == n, (len(data), n)
for off in range(0, n, len(chunk)):
    part = data[off:off + len(chunk)]
    assert part == chunk[:len(part)], "mismatch at %d" % off
PY
expect rm "$MNT/fill"
expect sync
# One write(2) larger than the filesystem is short (it stops where the space ran out), and the
# next one gets ENOSPC.
python3 - "$MNT/big" <<'PY' || fail "a write larger than the filesystem"
import errno, os, sys
fd = os.open(sys.argv[1], os.O_WRONLY | os.O_CREAT, 0o644)
n = os.write(fd, b"b" * (80 << 20))
print("one 80 MiB write(2) wrote", n)
assert (40 << 20) < n < (64 << 20), n
try:
    os.write(fd, b"b" * (1 << 20))
    sys.exit("a write after the short one succeeded")
except OSError as e:
    assert e.errno == errno.ENOSPC, e
PY
expect sync
expect rm "$MNT/big"
expect sync
free1=$(stat -f -c %f "$MNT")
[ "$free0" = "$free1" ] || fail "free blocks $free1 after delete, $free0 before"
expect umount "$MNT"
"$FSCK" -n "$TEST_DEV" || fail "fsck -n at the end (exit $?)"
exit 0
