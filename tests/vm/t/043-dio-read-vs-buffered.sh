# Direct reads racing buffered writes and writeback of the same range (seed 003: btrfs deadlocked
# when a direct read waited for a buffered write's ordered extent while a writer held the page
# lock). For a bounded time, one task does direct reads of a file into a buffer mapped from the
# same file while another does buffered writes of whole 64 KiB chunks, each of one byte value,
# and sync_file_range on them. No hang (the hung-task detector is on, and the run is bounded),
# no lockdep report; every chunk a direct read returns is one written version (never a mix
# within a 4 KiB block, never garbage), and so is the file after drop_caches and a remount.
. tests/vm/lib.sh
need_tools
expect "$MKFS" -f -s 256m "$TEST_DEV" >/dev/null
load_ferrofs
[ "$(mount_errno "$TEST_DEV" rw)" = OK ] || fail "mount"
expect xfs_io -f -c "pwrite -S 0x01 0 4m" -c fsync "$MNT/f" >/dev/null
timeout 120 python3 - "$MNT/f" <<'PY' || fail "direct reads vs buffered writes"
import mmap, os, sys, time, threading
path = sys.argv[1]
CH, SIZE = 65536, 4 << 20
stop = time.monotonic() + 20
errors = []
# Chunks written and read: all but the last two, which are the readers' buffers.
NCH = SIZE // CH - 2
def writer():
    fd = os.open(path, os.O_WRONLY)
    v = 2
    while time.monotonic() < stop and not errors:
        off = (v * 7 % NCH) * CH
        os.pwrite(fd, bytes([v % 250 + 2]) * CH, off)
        os.sync_file_range(fd, off, CH, os.SYNC_FILE_RANGE_WRITE) if hasattr(os, "sync_file_range") else None
        v += 1
    os.close(fd)
def reader(i):
    fd = os.open(path, os.O_RDONLY | os.O_DIRECT)
    mfd = os.open(path, os.O_RDWR)
    # The destination buffer: a mapping of one of the file's last chunks (this reader's own).
    m = mmap.mmap(mfd, CH, offset=SIZE - (i + 1) * CH)
    n = 0
    while time.monotonic() < stop and not errors:
        off = (n * 13 % NCH) * CH
        got = os.preadv(fd, [m], off)
        if got != CH:
            errors.append("short direct read %d at %d" % (got, off)); break
        data = m[:]
        for b in range(0, CH, 4096):
            blk = data[b:b + 4096]
            if blk.count(blk[0]) != 4096 or blk[0] == 0:
                errors.append("torn or garbage block at %d" % (off + b)); break
        n += 1
    m.close(); os.close(fd); os.close(mfd)
    print("direct reads:", n)
ts = [threading.Thread(target=writer), threading.Thread(target=reader, args=(0,)), threading.Thread(target=reader, args=(1,))]
for t in ts: t.start()
for t in ts: t.join()
if errors:
    sys.exit(errors[0])
PY
check_blocks() {
    python3 - "$MNT/f" <<'PY' || fail "$1: the file holds a torn block"
import sys
data = open(sys.argv[1], "rb").read()
for b in range(0, len(data) - 65536, 4096):
    blk = data[b:b + 4096]
    if blk.count(blk[0]) != 4096 or blk[0] == 0:
        sys.exit("block at %d" % b)
PY
}
check_blocks "page cache"
echo 3 > /proc/sys/vm/drop_caches
check_blocks "after drop_caches"
expect umount "$MNT"
"$FSCK" -n "$TEST_DEV" || fail "fsck -n (exit $?)"
[ "$(mount_errno "$TEST_DEV" rw)" = OK ] || fail "remount"
check_blocks "after remount"
expect umount "$MNT"
exit 0
