# O_DSYNC direct writes under the inode lock (seed 000: btrfs deadlocked when iomap's completion
# called its fsync, which takes the inode lock the writer holds). Synchronous writes on an O_DSYNC
# file, with RWF_DSYNC, and asynchronous ones (io_submit, eight in flight) on an O_DSYNC file and
# with RWF_DSYNC complete whole, without hang or lockdep report; every write is dropped on
# dm-flakey right after they returned or completed, and after a remount each file is there in
# full: durable when reported. The mount's commit interval is a day, so only the sync can have
# made it durable.
. tests/vm/lib.sh
need_tools
load_ferrofs
DIO=$H/dio
DM=ferrofs-dsync
flakey_create "$DM"
DEV=/dev/mapper/$DM
expect "$MKFS" -f -s 256m "$DEV" >/dev/null
for mode in odsync rwf aio aio-rwf; do
    echo "--- $mode"
    [ "$(mount_errno "$DEV" rw commit=86400)" = OK ] || fail "$mode: mount"
    # The file exists on disk before (its creation is not what is tested).
    expect touch "$MNT/$mode"
    expect sync -f "$MNT"
    "$DIO" dsync "$MNT/$mode" "$mode" || fail "$mode: the writes"
    flakey_mode "$DM" drop_writes
    expect umount "$MNT"
    flakey_restore "$DM"
    [ "$(mount_errno "$DEV" rw commit=86400)" = OK ] || fail "$mode: mount after the drop"
    case $mode in aio*) size=$((8 << 20)) ;; *) size=$((4 << 20)) ;; esac
    check_fill "$MNT/$mode" $((0xd1)) $size
    expect umount "$MNT"
    "$FSCK" -n "$DEV" || fail "$mode: fsck -n (exit $?)"
done
expect dmsetup remove "$DM"
exit 0
