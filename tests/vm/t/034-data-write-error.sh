# A writeback I/O error on file data (dm-flakey failing writes while only the data is written,
# with sync_file_range): the ordered extent fails, so no extent is inserted and its new blocks are
# freed; fsync reports EIO once; reads never show stale data (the page cache's copy, or after
# drop_caches the old contents); the filesystem stays writable, unmount does not hang, and the
# next mount shows the old contents with fsck clean.
. tests/vm/lib.sh
need_tools
load_ferrofs
DM=ferrofs-derr
flakey_create "$DM"
DEV=/dev/mapper/$DM
expect "$MKFS" -f -s 128m "$DEV" >/dev/null
[ "$(mount_errno "$DEV" rw commit=86400)" = OK ] || fail "mount"
expect xfs_io -f -c "pwrite -S 0x50 0 1m" -c fsync "$MNT/f" >/dev/null
expect sync -f "$MNT"
free0=$(stat -f -c %f "$MNT")
mark_dmesg
# Open before the error: a writeback error is reported once to each file open when it happened.
exec 3<"$MNT/f"
expect xfs_io -c "pwrite -S 0x51 0 1m" "$MNT/f" >/dev/null
flakey_mode "$DM" error_writes
xfs_io -c "sync_range -w 0 1m" -c "sync_range -a 0 1m" "$MNT/f"
flakey_mode "$DM" pass
python3 - <<'PY' || fail "fsync error reporting"
import errno, os, sys
fd = 3
try:
    os.fsync(fd)
    sys.exit("fsync after a failed writeback succeeded")
except OSError as e:
    if e.errno != errno.EIO:
        sys.exit("fsync gave %s, not EIO" % errno.errorcode.get(e.errno))
os.fsync(fd)  # reported once
PY
dmesg_has "data write failed" || fail "no message about the failed data write"
# Never stale: the new bytes (still cached) or the old ones.
b=$(od -An -tx1 -N1 "$MNT/f" | tr -d ' ')
[ "$b" = 51 ] || [ "$b" = 50 ] || fail "read shows $b"
echo 3 > /proc/sys/vm/drop_caches
cmp -s "$MNT/f" <(head -c 1m /dev/zero | tr '\0' '\120') || fail "after drop_caches the old contents are not there"
# syncfs reports the filesystem's writeback error once too.
sync -f "$MNT" && fail "syncfs did not report the failed write"
expect sync -f "$MNT"
free1=$(stat -f -c %f "$MNT")
[ "$free0" = "$free1" ] || fail "the failed write's blocks were not freed ($free0 -> $free1)"
# Still writable.
expect xfs_io -f -c "pwrite -S 0x52 0 64k" -c fsync "$MNT/g" >/dev/null
exec 3<&-
expect umount "$MNT"
"$FSCK" -n "$DEV" || fail "fsck -n (exit $?)"
[ "$(mount_errno "$DEV" rw)" = OK ] || fail "mount after the error"
cmp -s "$MNT/f" <(head -c 1m /dev/zero | tr '\0' '\120') || fail "after remount the old contents are not there"
expect umount "$MNT"
expect dmsetup remove "$DM"
exit 0
