# A metadata write that fails aborts the running transaction: the filesystem turns read-only with
# one message, later changes get EROFS, unmount works, and the next mount shows the last commit.
. tests/vm/lib.sh
need_tools
load_ferrofs
DM=ferrofs-err
sz=$(blockdev --getsz "$TEST_DEV")
pass_table="0 $sz flakey $TEST_DEV 0 3600 0"
expect dmsetup create "$DM" --table "$pass_table"
expect "$MKFS" -f "/dev/mapper/$DM" >/dev/null
[ "$(mount_errno "/dev/mapper/$DM" rw commit=86400)" = OK ] || fail "mount"
mkdir "$MNT/kept" && touch "$MNT/kept/a" || fail "first changes"
expect sync -f "$MNT"
mark_dmesg
expect dmsetup suspend --nolockfs "$DM"
expect dmsetup load "$DM" --table "0 $sz flakey $TEST_DEV 0 0 1 1 error_writes"
expect dmsetup resume "$DM"
mkdir "$MNT/lost" || fail "a change before the failing commit"
sync -f "$MNT" && fail "syncfs succeeded although every write fails"
dmesg_has "the filesystem is now read-only" || fail "no abort message"
[ "$(dmesg | tail -n +"$DMESG_START" | grep -c 'the filesystem is now read-only')" = 1 ] || fail "the abort message is not said exactly once"
touch "$MNT/after" 2>/dev/null && fail "a change succeeded after the abort"
grep -E " $MNT ferrofs ro[, ]" /proc/mounts || fail "/proc/mounts does not show the mount read-only"
expect umount "$MNT"
expect dmsetup suspend "$DM"
expect dmsetup load "$DM" --table "$pass_table"
expect dmsetup resume "$DM"
expect blockdev --flushbufs "/dev/mapper/$DM"
echo 3 > /proc/sys/vm/drop_caches
"$FSCK" -n "/dev/mapper/$DM" || fail "fsck.ferrofs -n after the failed commit (exit $?)"
[ "$(mount_errno "/dev/mapper/$DM" rw)" = OK ] || fail "mount after the failure"
[ -f "$MNT/kept/a" ] || fail "the last commit's file is missing"
[ -e "$MNT/lost" ] && fail "the failed transaction's directory exists"
expect umount "$MNT"
expect dmsetup remove "$DM"
exit 0
