# Every namespace operation and its errors (tests/vm/lib/nsops.c) on ferrofs and, in the same boot,
# on ext4: the trees compare equal (names, types, modes, owners, link counts, sizes, device numbers,
# symlink targets, xattrs); the tree survives unmount + fsck.ferrofs -n + mount unchanged; the
# O_TMPFILE and open-unlinked inodes left no orphans and no leaked space behind.
. tests/vm/lib.sh
need_tools
NSOPS=$H/nsops

# The reference: ext4 on the scratch device.
expect mkfs.ext4 -q -F "$SCRATCH_DEV"
mkdir -p /tmp/ext4
expect mount "$SCRATCH_DEV" /tmp/ext4
mkdir /tmp/ext4/t
"$NSOPS" /tmp/ext4/t || fail "the scenario fails on ext4 (the reference)"
python3 tests/vm/lib/nsdump.py /tmp/ext4/t > /tmp/want || fail "dump ext4"
expect umount /tmp/ext4

expect "$MKFS" -f "$TEST_DEV" >/dev/null
load_ferrofs
[ "$(mount_errno "$TEST_DEV" rw)" = OK ] || fail "read-write mount"
grep -E "^$TEST_DEV $MNT ferrofs rw[, ]" /proc/mounts || fail "/proc/mounts does not show a read-write ferrofs mount"
free0=$(stat -f -c %f "$MNT")
mkdir "$MNT/t" || fail "mkdir t"
"$NSOPS" "$MNT/t" --ferrofs || fail "the scenario fails on ferrofs"
python3 tests/vm/lib/nsdump.py "$MNT/t" > /tmp/got || fail "dump ferrofs"
diff -u /tmp/want /tmp/got || fail "ferrofs and ext4 differ after the same operations"
# The tools people use see the same.
[ "$(readlink "$MNT/t/ln-short")" = d1/f1 ] || fail "readlink"
[ "$(stat -c "%F %a %u %g" "$MNT/t/d1/f2")" = "regular empty file 4755 1234 5678" ] || fail "stat of d1/f2"
getfattr --absolute-names -n user.color --only-values "$MNT/t/d1/f1" | grep -qx green || fail "getfattr user.color"
ls -la "$MNT/t" > /dev/null || fail "ls -la"

expect umount "$MNT"
"$FSCK" -n "$TEST_DEV" || fail "fsck.ferrofs -n after the scenario (exit $?)"
[ "$(mount_errno "$TEST_DEV" rw)" = OK ] || fail "second mount"
python3 tests/vm/lib/nsdump.py "$MNT/t" > /tmp/again || fail "dump after remount"
diff -u /tmp/got /tmp/again || fail "the tree changed across unmount and mount"

# Deleting everything gives back every block but those of the empty root directory's tree.
rm -rf "$MNT/t" || fail "rm -rf"
expect sync
free1=$(stat -f -c %f "$MNT")
[ "$free1" -eq "$free0" ] || fail "free blocks: $free0 before, $free1 after creating and deleting everything"
expect umount "$MNT"
"$FSCK" -n "$TEST_DEV" || fail "fsck.ferrofs -n after deleting everything (exit $?)"
exit 0
