# generic/250's shape on preallocated space: the filesystem is filled with a pattern, the file
# deleted and committed (its blocks are free but still hold the pattern), then nearly all free
# space preallocated to a file, whose blocks are read from the raw device to prove they hold the
# old pattern. With every write failing (dm-flakey error_writes), a direct write into the
# preallocated range fails with EIO and a buffered one's writeback fails (fsync reports EIO after); the range reads as zeros then, after
# drop_caches, and after a remount (never the old pattern); fsck is clean; unmount does not hang;
# the blocks are still counted to the file and the filesystem takes writes again.
. tests/vm/lib.sh
need_tools
load_ferrofs
DM=ferrofs-fallocerr
flakey_create "$DM"
DEV=/dev/mapper/$DM
expect "$MKFS" -f -s 64m "$DEV" >/dev/null
[ "$(mount_errno "$DEV" rw commit=86400)" = OK ] || fail "mount"
MiB=1048576
avail=$(( $(stat -f -c '%a * %S' "$MNT") / MiB - 4 ))
expect xfs_io -f -d -c "pwrite -S 0x77 -b 1m 0 ${avail}m" -c fsync "$MNT/old" >/dev/null
expect rm "$MNT/old"
expect sync -f "$MNT"
# Headroom left free: on a nearly full filesystem a metadata reservation (the writes' timestamp
# updates) commits to get space back, and a commit under error_writes aborts the mount.
avail=$(( $(stat -f -c '%a * %S' "$MNT") / MiB - 12 ))
expect xfs_io -f -c "falloc 0 ${avail}m" -c fsync "$MNT/p" >/dev/null
expect sync -f "$MNT"
# The preallocated blocks, read from the device: the old pattern is in them.
stale=$(xfs_io -r -c "fiemap" "$MNT/p" | sed -n 's/.*: \[[0-9]*\.\.[0-9]*\]: \([0-9]*\)\.\.\([0-9]*\)$/\1 \2/p' | python3 -c '
import os, sys
fd = os.open(sys.argv[1], os.O_RDONLY)
for line in sys.stdin:
    a, b = (int(x) * 512 for x in line.split())
    for off in range(a, b + 512, 1 << 20):
        if b"\x77" in os.pread(fd, min(1 << 20, b + 512 - off), off):
            print(1); sys.exit()
print(0)' "$DEV")
[ $stale = 1 ] || fail "test set-up: the preallocated blocks do not hold the old pattern"
# Open before the errors: a writeback error is reported once to each file open when it happened.
exec 3<"$MNT/p"
mark_dmesg
flakey_mode "$DM" error_writes
# Written to the page cache only once writes fail: the flusher cannot write it back first (it did
# on a loaded machine, and the fsync below found no error to report).
expect xfs_io -c "pwrite -S 0x79 3m 1m" "$MNT/p" >/dev/null
dio_write_eio "$MNT/p" $((1 << 20)) "into preallocated space"
# The buffered write's writeback, only the data (a commit would fail too and abort the mount).
xfs_io -c "sync_range -w 3m 1m" -c "sync_range -a 3m 1m" "$MNT/p"
flakey_mode "$DM" pass
fsync_eio 3 "into preallocated space"
exec 3<&-
zeros() { cmp -n "$2" "$1" /dev/zero || fail "$3: the preallocated file does not read as zeros"; }
# The buffered write's pages were written (and failed); what the page cache still holds of them
# is not what the disk has: drop it before reading.
echo 3 > /proc/sys/vm/drop_caches
zeros "$MNT/p" $((avail * MiB)) "after the failed writes"
dmesg_has "data write failed" || fail "no message about the failed data write"
expect umount "$MNT"
flakey_restore "$DM"
"$FSCK" -n "$DEV" || fail "fsck -n (exit $?)"
[ "$(mount_errno "$DEV" rw)" = OK ] || fail "remount"
zeros "$MNT/p" $((avail * MiB)) "after remount"
[ "$(stat -c %b "$MNT/p")" -ge $((avail * 2048)) ] || fail "the preallocated blocks are no longer counted to the file"
expect xfs_io -c "pwrite -S 0x7a 0 1m" -c fsync "$MNT/p" >/dev/null
expect umount "$MNT"
"$FSCK" -n "$DEV" || fail "fsck -n at the end (exit $?)"
exit 0
