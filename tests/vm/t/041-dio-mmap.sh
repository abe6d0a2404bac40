# Direct writes from mapped buffers (generic/708's shape; the btrfs partial-write corruption of
# seed 001 read such a copy back as zeros): a 2 MiB file of random bytes is mapped with only its
# first page touched and written O_DIRECT into another file, so the write faults part-way and
# resumes; again with every page present but the middle ones dropped by madvise(MADV_DONTNEED)
# (the write faults in its middle); then a
# file's first half written from a mapping of that same range (the buffer is the destination),
# and its second half from a mapping of its first half. Every copy equals its source in the page
# cache, after drop_caches and after a remount; fsck clean; no lockdep report or hung task.
. tests/vm/lib.sh
need_tools
expect "$MKFS" -f -s 256m "$TEST_DEV" >/dev/null
load_ferrofs
[ "$(mount_errno "$TEST_DEV" rw)" = OK ] || fail "mount"
DIO=/tmp/dio
expect gcc -O2 -Wall -o "$DIO" tests/vm/lib/dio.c -lpthread
expect head -c 2m /dev/urandom > /tmp/src.ref
for f in src self cross; do expect cp /tmp/src.ref "$MNT/$f"; done
expect head -c 4m /dev/urandom > /tmp/big.ref
expect cp /tmp/big.ref "$MNT/big"
expect sync
echo 3 > /proc/sys/vm/drop_caches
"$DIO" mmapcopy "$MNT/src" "$MNT/first" first || fail "copy from a mapping touched on its first page"
"$DIO" mmapcopy "$MNT/big" "$MNT/holes" holes || fail "copy from a mapping whose middle pages were dropped (MADV_DONTNEED)"
"$DIO" selfcopy "$MNT/self" || fail "direct write from a mapping of the destination range"
"$DIO" crosscopy "$MNT/cross" || fail "direct write from a mapping of another range of the file"
check() {
    cmp "$MNT/first" /tmp/src.ref || fail "$1: first"
    cmp "$MNT/holes" /tmp/big.ref || fail "$1: holes"
    cmp "$MNT/self" /tmp/src.ref || fail "$1: self"
    cmp -n 1048576 "$MNT/cross" /tmp/src.ref || fail "$1: cross, first half"
    cmp -n 1048576 -i 1048576:0 "$MNT/cross" /tmp/src.ref || fail "$1: cross, second half"
}
check "page cache"
echo 3 > /proc/sys/vm/drop_caches
check "after drop_caches"
expect umount "$MNT"
"$FSCK" -n "$TEST_DEV" || fail "fsck -n (exit $?)"
[ "$(mount_errno "$TEST_DEV" rw)" = OK ] || fail "remount"
check "after remount"
expect umount "$MNT"
exit 0
