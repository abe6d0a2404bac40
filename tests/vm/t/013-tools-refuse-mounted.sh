# mkfs.ferrofs and a repairing fsck.ferrofs refuse a mounted device (exclusive open: the kernel says
# EBUSY) and name the mount point; a checking fsck reads it, with a warning. Mounted ext4 and mounted ferrofs.
. tests/vm/lib.sh
need_tools
expect mkfs.ext4 -q -F "$SCRATCH_DEV"
mkdir -p /tmp/ext4
expect mount "$SCRATCH_DEV" /tmp/ext4
out=$("$MKFS" -f "$SCRATCH_DEV" 2>&1) && fail "mkfs.ferrofs -f formatted a mounted ext4"
echo "$out"
echo "$out" | grep -q "mounted on /tmp/ext4" || fail "the message does not name the mount point: $out"
expect umount /tmp/ext4
blkid -p "$SCRATCH_DEV" | grep -q 'TYPE="ext4"' || fail "the ext4 on $SCRATCH_DEV was damaged"

expect "$MKFS" -f "$TEST_DEV" >/dev/null
load_ferrofs
[ "$(mount_errno "$TEST_DEV" rw)" = OK ] || fail "mount"
"$MKFS" -f "$TEST_DEV" >/dev/null 2>&1 && fail "mkfs.ferrofs -f formatted a mounted ferrofs"
"$FSCK" -y "$TEST_DEV"; rc=$?
[ $rc = 8 ] || fail "fsck.ferrofs -y on a mounted device: exit $rc, want 8"
out=$("$FSCK" -n "$TEST_DEV" 2>&1) || fail "fsck.ferrofs -n on a mounted ferrofs: exit $?: $out"
echo "$out" | grep -q "is mounted on .*checking it read-only" || fail "fsck.ferrofs -n on a mounted device gave no warning: $out"
expect umount "$MNT"
expect "$FSCK" -y "$TEST_DEV"
exit 0
