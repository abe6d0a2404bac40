# generic/276's shape: a file reflinked to a second one; the second overwritten, direct and
# buffered (its writeback), while every write fails (dm-flakey error_writes): EIO from the write
# and from fsync; then the second deleted. The
# first file's contents and the free-space count are intact after a remount, fsck is clean, and
# unmount does not hang.
. tests/vm/lib.sh
need_tools
load_ferrofs
DM=ferrofs-reflinkerr
flakey_create "$DM"
DEV=/dev/mapper/$DM
expect "$MKFS" -f -s 128m "$DEV" >/dev/null
[ "$(mount_errno "$DEV" rw commit=86400)" = OK ] || fail "mount"
MiB=1048576
expect xfs_io -f -c "pwrite -S 0x51 -b 1m 0 4m" -c fsync "$MNT/a" >/dev/null
expect cp --reflink=always "$MNT/a" "$MNT/b"
expect sync -f "$MNT"
free0=$(stat -f -c %f "$MNT")
mark_dmesg
exec 3<"$MNT/b"
expect xfs_io -c "pwrite -S 0x53 2m 1m" "$MNT/b" >/dev/null
flakey_mode "$DM" error_writes
dio_write_eio "$MNT/b" $((1 << 20)) "overwrite of a shared range"
# The buffered overwrite's writeback, only the data (a commit would fail too and abort the mount).
xfs_io -c "sync_range -w 2m 1m" -c "sync_range -a 2m 1m" "$MNT/b"
flakey_mode "$DM" pass
fsync_eio 3 "overwrite of a shared range"
exec 3<&-
dmesg_has "data write failed" || fail "no message about the failed data write"
echo 3 > /proc/sys/vm/drop_caches
check_fill "$MNT/a" 81 $((4 * MiB))
expect rm "$MNT/b"
expect umount "$MNT"
flakey_restore "$DM"
"$FSCK" -n "$DEV" || fail "fsck -n (exit $?)"
[ "$(mount_errno "$DEV" rw)" = OK ] || fail "remount"
check_fill "$MNT/a" 81 $((4 * MiB))
free1=$(stat -f -c %f "$MNT")
[ "$free1" -ge $((free0 - 16)) ] && [ "$free1" -le $((free0 + 64)) ] || fail "free blocks: $free1 after deleting the clone, $free0 before the failed writes (a's 4 MiB still in use)"
expect xfs_io -c "pwrite -S 0x54 0 1m" -c fsync "$MNT/a" >/dev/null
expect umount "$MNT"
"$FSCK" -n "$DEV" || fail "fsck -n at the end (exit $?)"
exit 0
