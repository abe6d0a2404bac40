# mmap writes through page_mkwrite: a mapped file written and msync'd reads back through read(2),
# after drop_caches and after remount; a write fault past a hole allocates; a file written at once
# by a mapping (even pages) and by write(2) (odd pages), then overwritten by both in turn, keeps
# every byte of the last writer.
. tests/vm/lib.sh
need_tools
expect "$MKFS" -f -s 128m "$TEST_DEV" >/dev/null
load_ferrofs
[ "$(mount_errno "$TEST_DEV" rw)" = OK ] || fail "mount"
ref=/tmp/ref032; rm -rf "$ref"; mkdir -p "$ref"
both() { local f=$1; shift; expect xfs_io -f "$@" "$MNT/$f" >/dev/null; expect xfs_io -f "$@" "$ref/$f" >/dev/null; }
both m1 -c "truncate 4m" -c "mmap -rw 0 4m" -c "mwrite -S 0x71 0 4m" -c "msync 0 4m"
both m2 -c "pwrite -S 0x72 0 64k" -c "truncate 1m" -c "mmap -rw 0 1m" -c "mwrite -S 0x73 500000 10000" -c "msync -s 0 1m"
both m3 -c "truncate 10000" -c "mmap -rw 0 10000" -c "mwrite -S 0x74 9000 1000" -c "munmap" -c "pwrite -S 0x75 4000 10"
python3 - "$MNT/mix" "$ref/mix" <<'PY' || fail "mixed mmap/write(2) writer"
import mmap, os, sys, threading
P = 4096; N = 256
for path in sys.argv[1:]:
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    os.ftruncate(fd, N * P)
    m = mmap.mmap(fd, N * P)
    def mapped(byte, pages):
        for i in pages:
            m[i * P:(i + 1) * P] = bytes([byte]) * P
    def written(byte, pages):
        for i in pages:
            os.pwrite(fd, bytes([byte]) * P, i * P)
    # At once: the mapping takes the even pages, write(2) the odd ones.
    t = threading.Thread(target=mapped, args=(0x81, range(0, N, 2)))
    t.start(); written(0x82, range(1, N, 2)); t.join()
    m.flush()
    # In turn over the same pages: the last writer of each page wins.
    written(0x83, range(0, N, 3)); mapped(0x84, range(0, N, 5)); written(0x85, range(0, N, 7))
    m.flush(); m.close(); os.fsync(fd); os.close(fd)
PY
compare() {
    for f in m1 m2 m3 mix; do
        cmp "$MNT/$f" "$ref/$f" || fail "$1: $f differs from its model"
    done
}
compare "page cache"
expect sync
echo 3 > /proc/sys/vm/drop_caches
compare "after drop_caches"
expect umount "$MNT"
"$FSCK" -n "$TEST_DEV" || fail "fsck -n (exit $?)"
[ "$(mount_errno "$TEST_DEV" rw)" = OK ] || fail "remount"
compare "after remount"
expect umount "$MNT"
exit 0
