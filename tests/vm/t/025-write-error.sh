# A metadata write that fails aborts the running transaction: the filesystem turns read-only with
# one message, later changes get EROFS, unmount works, and the next mount shows the last commit.
. tests/vm/lib.sh
need_tools
load_ferrofs
DM=ferrofs-err
flakey_create "$DM"
expect "$MKFS" -f "/dev/mapper/$DM" >/dev/null
[ "$(mount_errno "/dev/mapper/$DM" rw commit=86400)" = OK ] || fail "mount"
mkdir "$MNT/kept" && touch "$MNT/kept/a" || fail "first changes"
expect sync -f "$MNT"
mark_dmesg
flakey_mode "$DM" error_writes
mkdir "$MNT/lost" || fail "a change before the failing commit"
sync -f "$MNT" && fail "syncfs succeeded although every write fails"
dmesg_has "the filesystem is now read-only" || fail "no abort message"
[ "$(dmesg | tail -n +"$DMESG_START" | grep -c 'the filesystem is now read-only')" = 1 ] || fail "the abort message is not said exactly once"
touch "$MNT/after" 2>/dev/null && fail "a change succeeded after the abort"
grep -E " $MNT ferrofs ro[, ]" /proc/mounts || fail "/proc/mounts does not show the mount read-only"
expect umount "$MNT"
flakey_restore "$DM"
"$FSCK" -n "/dev/mapper/$DM" || fail "fsck.ferrofs -n after the failed commit (exit $?)"
[ "$(mount_errno "/dev/mapper/$DM" rw)" = OK ] || fail "mount after the failure"
[ -f "$MNT/kept/a" ] || fail "the last commit's file is missing"
[ -e "$MNT/lost" ] && fail "the failed transaction's directory exists"
expect umount "$MNT"
expect dmsetup remove "$DM"
exit 0
