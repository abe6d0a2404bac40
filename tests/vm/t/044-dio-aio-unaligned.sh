# generic/240's shape (seed 004: gfs2 left asynchronous direct writes short, and applications
# expect a whole write or an error): two threads io_submit 4 KiB O_DIRECT writes at offsets
# misaligned by 512 bytes into a sparse file on a 512-byte-sector device. ferrofs does those
# through the page cache; every write completes whole and the file holds exactly what was
# written, no zeroed portion, also after drop_caches and a remount.
. tests/vm/lib.sh
need_tools
[ "$(blockdev --getss "$TEST_DEV")" = 512 ] || fail "the test device's sectors are not 512 bytes"
expect "$MKFS" -f -s 256m "$TEST_DEV" >/dev/null
load_ferrofs
[ "$(mount_errno "$TEST_DEV" rw)" = OK ] || fail "mount"
DIO=$H/dio
for i in 1 2 3; do
    "$DIO" aio240 "$MNT/f$i" || fail "round $i"
done
expect cp "$MNT/f1" /tmp/f1.ref
echo 3 > /proc/sys/vm/drop_caches
cmp "$MNT/f1" /tmp/f1.ref || fail "after drop_caches"
expect umount "$MNT"
"$FSCK" -n "$TEST_DEV" || fail "fsck -n (exit $?)"
[ "$(mount_errno "$TEST_DEV" rw)" = OK ] || fail "remount"
cmp "$MNT/f1" /tmp/f1.ref || fail "after remount"
expect umount "$MNT"
exit 0
