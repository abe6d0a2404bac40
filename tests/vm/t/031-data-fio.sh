# fio --verify on ferrofs: sequential, random, sub-block and sparse writes, several jobs on one file,
# with crc32c and pattern verification; the data is verified again after drop_caches and after a
# remount, and fsck.ferrofs -n is clean after every scenario; then overlapping writers on one
# file. Sizes are bounded (tens of MiB).
. tests/vm/lib.sh
need_tools
command -v fio >/dev/null || fail "fio is not installed"
expect "$MKFS" -f -s 512m "$TEST_DEV" >/dev/null
load_ferrofs
[ "$(mount_errno "$TEST_DEV" rw)" = OK ] || fail "mount"
D=$MNT/fio
mkdir -p "$D"
# The page cache is dropped by drop_caches (--invalidate=0: one way for every run); fio keeps no state
# files (the guest's working directory is read-only); no fallocate yet (the next issue).
FIO_COMMON="--directory=$D --ioengine=psync --group_reporting --minimal --invalidate=0 --verify_state_save=0 --fallocate=none"
fio_verified seq --rw=write --bs=1m --size=16m --verify=crc32c
fio_verified rand --rw=randwrite --bs=4k --size=8m --verify=crc32c --randrepeat=1 --norandommap=0
fio_verified subblock --rw=randwrite --bs=1536 --size=3m --verify=pattern --verify_pattern=0x5a --randrepeat=1
fio_verified sparse --rw=write:60k --bs=4k --size=8m --verify=crc32c --fallocate=truncate
fio_verified jobs --rw=randwrite --bs=16k --size=8m --numjobs=4 --verify=crc32c --randrepeat=1
# Several jobs writing one file at once, each in its own region, which it verifies.
fio_verified shared --rw=randwrite --bs=8k --filename=shared --size=8m --offset_increment=8m --numjobs=4 --verify=crc32c --randrepeat=1
# Several writers overlapping on one file at once (fio cannot verify that): every block written
# holds one writer's whole pattern (a write(2) is atomic under the inode lock), never zeros or a
# torn mix, and the file reads back the same after drop_caches and after remount.
python3 - "$D/overlap" > /tmp/overlap.sum <<'PY' || fail "overlapping writers"
import hashlib, os, random, sys, threading
path = sys.argv[1]; B = 4096; N = 2048
fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
def writer(tag):
    r = random.Random(tag)
    for _ in range(400):
        start = r.randrange(N - 64); n = r.randrange(1, 64)
        os.pwrite(fd, bytes([tag]) * (n * B), start * B)
ts = [threading.Thread(target=writer, args=(t,)) for t in (0xa1, 0xa2, 0xa3, 0xa4)]
[t.start() for t in ts]; [t.join() for t in ts]
os.fsync(fd)
data = os.pread(fd, N * B, 0)
for i in range(0, len(data), B):
    blk = data[i:i + B]
    if blk.count(blk[0]) != B or blk[0] not in (0, 0xa1, 0xa2, 0xa3, 0xa4):
        sys.exit("block %d is torn or garbage" % (i // B))
print(hashlib.sha256(data).hexdigest())
PY
echo 3 > /proc/sys/vm/drop_caches
[ "$(head -c $((2048 * 4096)) "$D/overlap" | sha256sum | cut -d' ' -f1)" = "$(cat /tmp/overlap.sum)" ] || fail "overlap: differs after drop_caches"
expect umount "$MNT"
"$FSCK" -n "$TEST_DEV" || fail "overlap: fsck -n (exit $?)"
[ "$(mount_errno "$TEST_DEV" rw)" = OK ] || fail "overlap: remount"
[ "$(head -c $((2048 * 4096)) "$D/overlap" | sha256sum | cut -d' ' -f1)" = "$(cat /tmp/overlap.sum)" ] || fail "overlap: differs after remount"
expect rm -rf "$D"
expect umount "$MNT"
"$FSCK" -n "$TEST_DEV" || fail "fsck -n at the end (exit $?)"
exit 0
