# I/O errors during direct writes (generic/250 and 276's shape, on copy-on-write overwrites; the
# first btrfs fix for seed 001 hung those tests on ordered extents that never finished): with
# every write failing (dm-flakey error_writes), direct overwrites, direct writes past the end, and
# an asynchronous one fail with EIO; the size does not grow; the old contents read back (page
# cache dropped); the failed writes' blocks are freed; the filesystem stays writable, unmount does
# not hang, fsck is clean and after a remount the old contents are there.
. tests/vm/lib.sh
need_tools
load_ferrofs
DIO=$H/dio
DM=ferrofs-dioerr
flakey_create "$DM"
DEV=/dev/mapper/$DM
expect "$MKFS" -f -s 128m "$DEV" >/dev/null
[ "$(mount_errno "$DEV" rw commit=86400)" = OK ] || fail "mount"
expect xfs_io -f -d -c "pwrite -S 0x50 -b 1m 0 2m" -c fsync "$MNT/f" >/dev/null
expect sync -f "$MNT"
free0=$(stat -f -c %f "$MNT")
mark_dmesg
flakey_mode "$DM" error_writes
python3 - "$MNT/f" <<'PY' || fail "the failing direct writes"
import errno, mmap, os, sys
fd = os.open(sys.argv[1], os.O_RDWR | os.O_DIRECT)
buf = mmap.mmap(-1, 1 << 20)
buf.write(b"\x51" * (1 << 20))
for off, what in ((0, "overwrite"), (1 << 20, "overwrite of the tail"), (2 << 20, "write past the end"), (8 << 20, "write after a hole")):
    try:
        n = os.pwrite(fd, buf, off)
        sys.exit("%s: returned %d, not EIO" % (what, n))
    except OSError as e:
        if e.errno != errno.EIO:
            sys.exit("%s: %s, not EIO" % (what, errno.errorcode.get(e.errno)))
if os.fstat(fd).st_size != 2 << 20:
    sys.exit("size is %d after failed writes" % os.fstat(fd).st_size)
PY
"$DIO" aioeio "$MNT/f" 1048576 || fail "asynchronous overwrite"
"$DIO" aioeio "$MNT/f" 2097152 || fail "asynchronous write past the end"
[ "$(stat -c %s "$MNT/f")" = 2097152 ] || fail "size is $(stat -c %s "$MNT/f") after failed asynchronous writes"
flakey_mode "$DM" pass
echo 3 > /proc/sys/vm/drop_caches
cmp -s "$MNT/f" <(head -c 2m /dev/zero | tr '\0' '\120') || fail "the old contents are not there"
# The failed writes' blocks were freed (never in a tree): after a commit (of the timestamp
# updates the writes made) the free count is back.
expect sync -f "$MNT"
free1=$(stat -f -c %f "$MNT")
[ "$free0" = "$free1" ] || fail "the failed writes' blocks were not freed ($free0 -> $free1)"
expect xfs_io -f -d -c "pwrite -S 0x52 0 64k" -c fsync "$MNT/g" >/dev/null
expect umount "$MNT"
"$FSCK" -n "$DEV" || fail "fsck -n (exit $?)"
[ "$(mount_errno "$DEV" rw)" = OK ] || fail "mount after the errors"
cmp -s "$MNT/f" <(head -c 2m /dev/zero | tr '\0' '\120') || fail "after remount the old contents are not there"
expect umount "$MNT"
expect dmsetup remove "$DM"
exit 0
