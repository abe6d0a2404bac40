# A metadata write that fails aborts the running transaction: the filesystem turns read-only with
# one message, later changes get EROFS, unmount works, and the next mount shows the last commit.
# Before that, the block device's own writeback under errors leaves the running transaction alone.
. tests/vm/lib.sh
need_tools
load_ferrofs
DM=ferrofs-err
flakey_create "$DM"
expect "$MKFS" -f "/dev/mapper/$DM" >/dev/null
[ "$(mount_errno "/dev/mapper/$DM" rw commit=86400)" = OK ] || fail "mount"
mkdir "$MNT/kept" && touch "$MNT/kept/a" || fail "first changes"
expect sync -f "$MNT"
# The running transaction's tree blocks are the commit's to write, never the block device's own
# writeback's: an fsync of the device (which writes its page cache back and does not commit)
# while every write fails leaves them intact in memory, so lookups after drop_caches still work
# and the commit after the errors writes them. (Were they dirty buffers of the device, as they
# were until 2026-12-03, that write would fail, drop their contents, and the lookups read stale
# blocks: EUCLEAN. The flusher did the same on its own in 045 and 052 on slow machines.)
mkdir "$MNT/pre" || fail "mkdir pre"
for i in $(seq 1 200); do echo "$i" > "$MNT/pre/f$i" || fail "creating pre/f$i"; done
mark_dmesg
flakey_mode "$DM" error_writes
# (Its own status is EIO or not as the device's cache flush fails: not what is tested.)
xfs_io -c fsync "/dev/mapper/$DM" 2>/dev/null
dmesg_has "lost async page write" && fail "the device's writeback wrote blocks of the running transaction"
echo 3 > /proc/sys/vm/drop_caches
[ "$(ls "$MNT/pre" | wc -l)" = 200 ] || fail "lookups after the device's writeback failed: $(ls "$MNT/pre" 2>&1 | head -3)"
[ "$(cat "$MNT/pre/f77")" = 77 ] || fail "pre/f77 after the device's writeback failed"
flakey_mode "$DM" pass
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
[ "$(ls "$MNT/pre" | wc -l)" = 200 ] && [ "$(cat "$MNT/pre/f200")" = 200 ] || fail "the files committed after the device's failed writeback are not all there"
[ -e "$MNT/lost" ] && fail "the failed transaction's directory exists"
expect umount "$MNT"
expect dmsetup remove "$DM"
exit 0
