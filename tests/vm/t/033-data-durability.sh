# Data durability and copy-on-write, on dm-flakey:
# 1. fsync durability: files written and fsync'd, then more written without fsync, then every
#    write dropped from that point: after remount each fsync'd file is exactly there; a file never
#    synced is missing or empty, never garbage; an unsynced overwrite of a synced file leaves the
#    old contents.
# 2. COW proof: overwriting a file moves its data (FIEMAP before and after differ), the old
#    blocks come back after the commit (statfs), and a crash after the new data reached the disk
#    but before the commit leaves the old contents intact.
. tests/vm/lib.sh
need_tools
load_ferrofs
DM=ferrofs-dur
flakey_create "$DM"
DEV=/dev/mapper/$DM
expect "$MKFS" -f -s 256m "$DEV" >/dev/null
[ "$(mount_errno "$DEV" rw commit=86400)" = OK ] || fail "mount"
for i in 1 2 3; do
    expect xfs_io -f -c "pwrite -S 0x1$i 0 $((i * 300000))" -c fsync "$MNT/synced$i" >/dev/null
done
expect xfs_io -f -c "pwrite -S 0x20 0 1m" -c fsync "$MNT/over" >/dev/null
expect sync -f "$MNT"
expect xfs_io -f -c "pwrite -S 0x21 0 1m" "$MNT/over" >/dev/null
expect xfs_io -f -c "pwrite -S 0x30 0 200000" "$MNT/unsynced" >/dev/null
expect xfs_io -f -c "pwrite -S 0x14 0 123456" -c fsync "$MNT/synced4" >/dev/null
flakey_mode "$DM" drop_writes
expect xfs_io -f -c "pwrite -S 0x31 0 300000" -c fsync "$MNT/dropped" >/dev/null
expect xfs_io -c "pwrite -S 0x22 0 1m" "$MNT/over" >/dev/null
expect umount "$MNT"
flakey_restore "$DM"
"$FSCK" -n "$DEV" || fail "fsck -n after the crash (exit $?)"
[ "$(mount_errno "$DEV" rw commit=86400)" = OK ] || fail "mount after the crash"
for i in 1 2 3; do check_fill "$MNT/synced$i" $((0x10 + i)) $((i * 300000)); done
check_fill "$MNT/synced4" $((0x14)) 123456
# The synced4 fsync committed the running transaction: the 0x21 overwrite of "over" and the
# unsynced file may be in it, as whole writes; nothing else is allowed.
if cmp -s "$MNT/over" <(head -c 1m /dev/zero | tr '\0' '\041'); then echo "over: the committed overwrite";
else check_fill "$MNT/over" $((0x20)) 1048576; fi
if [ -e "$MNT/unsynced" ]; then
    s=$(stat -c %s "$MNT/unsynced")
    [ "$s" = 0 ] || check_fill "$MNT/unsynced" $((0x30)) 200000
fi
[ -e "$MNT/dropped" ] && fail "a file created after the drop point exists"

echo "--- COW proof"
expect xfs_io -f -c "pwrite -S 0x40 0 2m" -c fsync "$MNT/cow" >/dev/null
expect sync -f "$MNT"
before=$(xfs_io -c "fiemap" "$MNT/cow" | tail -n +2)
free_before=$(stat -f -c %f "$MNT")
expect xfs_io -c "pwrite -S 0x41 0 2m" -c "sync_range -w 0 2m" -c "sync_range -a 0 2m" "$MNT/cow" >/dev/null
after=$(xfs_io -c "fiemap" "$MNT/cow" | tail -n +2)
echo "before: $before"; echo "after: $after"
[ -n "$before" ] && [ -n "$after" ] || fail "no FIEMAP output"
[ "$before" != "$after" ] || fail "the overwrite did not move the data"
# Crash now: the new data is on disk, its extent only in the running transaction.
flakey_mode "$DM" drop_writes
expect umount "$MNT"
flakey_restore "$DM"
"$FSCK" -n "$DEV" || fail "fsck -n after the COW crash (exit $?)"
[ "$(mount_errno "$DEV" rw commit=86400)" = OK ] || fail "mount after the COW crash"
check_fill "$MNT/cow" $((0x40)) 2097152
[ "$(xfs_io -c "fiemap" "$MNT/cow" | tail -n +2)" = "$before" ] || fail "the crash did not leave the old extents"
# Again, committed: the old blocks are freed by the commit.
expect xfs_io -c "pwrite -S 0x42 0 2m" -c fsync "$MNT/cow" >/dev/null
expect sync -f "$MNT"
free_after=$(stat -f -c %f "$MNT")
echo "free blocks: $free_before before, $free_after after the committed overwrite"
[ $((free_before - free_after)) -lt 16 ] && [ $((free_after - free_before)) -lt 16 ] || fail "the old blocks did not come back ($free_before -> $free_after)"
check_fill "$MNT/cow" $((0x42)) 2097152
expect umount "$MNT"
"$FSCK" -n "$DEV" || fail "fsck -n at the end (exit $?)"
expect dmsetup remove "$DM"
exit 0
