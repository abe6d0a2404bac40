# Bad images and bad mounts get a clear error and no oops. A backup superblock a generation behind
# (a crash between the commit's two superblock writes) is rewritten by a read-write mount, even one
# that changes nothing, and left alone by a read-only one.
. tests/vm/lib.sh
need_tools
load_ferrofs
case_() { echo "--- $*"; mark_dmesg; }
want() { # want EXPECTED GOT WHAT
    [ "$1" = "$2" ] || fail "$3: expected $1, got $2"
}

case_ "wrong magic"
dd if=/dev/zero of="$TEST_DEV" bs=1M count=4 conv=fsync status=none
want EINVAL "$(mount_errno "$TEST_DEV")" "zeroed device"
dmesg_has "not a ferrofs filesystem" || fail "no 'not a ferrofs filesystem' message"

case_ "both superblocks fail their checksum"
expect "$MKFS" -f "$TEST_DEV" >/dev/null
expect python3 tests/vm/lib/fsimg.py corrupt-sb "$TEST_DEV" 16
expect python3 tests/vm/lib/fsimg.py corrupt-sb "$TEST_DEV" 255
want EUCLEAN "$(mount_errno "$TEST_DEV")" "both superblocks corrupt"
dmesg_has "superblock checksum mismatch in block 16" || fail "no checksum message naming block 16"

case_ "primary superblock corrupt: the backup is used, and said so"
expect "$MKFS" -f "$TEST_DEV" >/dev/null
expect python3 tests/vm/lib/fsimg.py corrupt-sb "$TEST_DEV" 16
want OK "$(mount_errno "$TEST_DEV")" "primary corrupt, backup good"
dmesg_has "using the backup at block 255" || fail "no message about using the backup"
ls "$MNT" >/dev/null || fail "ls after mounting from the backup"
expect umount "$MNT"

case_ "backup superblock corrupt: mounted from the primary, and the backup's state is said"
expect "$MKFS" -f "$TEST_DEV" >/dev/null
expect python3 tests/vm/lib/fsimg.py corrupt-sb "$TEST_DEV" 255
want OK "$(mount_errno "$TEST_DEV")" "backup corrupt, primary good"
dmesg_has "backup superblock (block 255) unusable" || fail "no message about the unusable backup"
expect umount "$MNT"
"$FSCK" -y "$TEST_DEV"; [ $? = 1 ] || fail "fsck -y did not report the backup superblock as corrected"
expect "$FSCK" -n "$TEST_DEV"

case_ "backup superblock a generation behind (a crash between the commit's two superblock writes)"
expect "$MKFS" -f "$TEST_DEV" >/dev/null
expect dd if="$TEST_DEV" of=/tmp/sb255 bs=4096 skip=255 count=1 status=none
want OK "$(mount_errno "$TEST_DEV" rw)" "read-write mount of a new filesystem"
mkdir "$MNT/kept" || fail "mkdir"
expect xfs_io -x -c "shutdown -f" "$MNT"   # one commit (both copies a generation on), then no more
expect umount "$MNT"
g16=$(python3 tests/vm/lib/fsimg.py sb-field "$TEST_DEV" generation)
expect dd if=/tmp/sb255 of="$TEST_DEV" bs=4096 seek=255 count=1 conv=notrunc,fsync status=none
[ "$g16" = 2 ] || fail "the primary is at generation $g16 after mkfs and one commit, not 2"
# A crash state, not damage: fsck -n says so in a note and exits 0.
out=$("$FSCK" -n "$TEST_DEV") || fail "fsck -n with the backup a generation behind: exit $?: $out"
echo "$out" | grep -q "^note: backup superblock (block 255) one generation behind" || fail "fsck -n gives no note: $out"
want OK "$(mount_errno "$TEST_DEV")" "read-only mount, copies apart"
expect umount "$MNT"
"$FSCK" -n "$TEST_DEV" | grep -q "^note: backup superblock" || fail "a read-only mount rewrote a superblock"
want OK "$(mount_errno "$TEST_DEV" rw)" "read-write mount, copies apart"
[ -d "$MNT/kept" ] || fail "the directory made before is not there"
expect umount "$MNT"   # nothing changed, but the copies are rewritten
out=$("$FSCK" -n "$TEST_DEV") || fail "fsck -n after the read-write mount: exit $?: $out"
echo "$out" | grep -q "^note:" && fail "the read-write mount left the copies apart: $out"
# The same state again: a read-only mount remounted read-write rewrites the copies too.
expect dd if="$TEST_DEV" of=/tmp/sb255 bs=4096 skip=255 count=1 status=none
want OK "$(mount_errno "$TEST_DEV" rw)" "read-write mount (to part the copies again)"
mkdir "$MNT/kept2" || fail "mkdir kept2"
expect xfs_io -x -c "shutdown -f" "$MNT"
expect umount "$MNT"
expect dd if=/tmp/sb255 of="$TEST_DEV" bs=4096 seek=255 count=1 conv=notrunc,fsync status=none
"$FSCK" -n "$TEST_DEV" | grep -q "^note: backup superblock (block 255) one generation behind" || fail "the copies are not one generation apart again"
want OK "$(mount_errno "$TEST_DEV")" "read-only mount, copies apart (to remount)"
expect mount -o remount,rw "$MNT"
[ -d "$MNT/kept2" ] || fail "the directory made before is not there after the remount"
expect umount "$MNT"   # nothing changed, but the copies are rewritten
out=$("$FSCK" -n "$TEST_DEV") || fail "fsck -n after the remount read-write: exit $?: $out"
echo "$out" | grep -q "^note:" && fail "a remount read-write left the copies apart: $out"

case_ "unknown incompat feature"
expect "$MKFS" -f "$TEST_DEV" >/dev/null
expect python3 tests/vm/lib/fsimg.py set-incompat "$TEST_DEV" 5
want EINVAL "$(mount_errno "$TEST_DEV")" "unknown incompat bit"
dmesg_has "unknown incompat feature bit 5" || fail "no message naming the incompat bit"

case_ "corrupt tree roots are found at mount"
for tree in fs extent; do
    mark_dmesg
    expect "$MKFS" -f "$TEST_DEV" >/dev/null
    rblk=$(python3 tests/vm/lib/fsimg.py corrupt-root "$TEST_DEV" $tree) || fail "corrupt-root $tree"
    want EUCLEAN "$(mount_errno "$TEST_DEV")" "corrupt $tree tree root"
    dmesg_has "cannot load the $tree tree root at block $rblk" || fail "no message naming the $tree root block $rblk"
done

case_ "device smaller than the recorded size"
rm -f /tmp/small.img; truncate -s 128M /tmp/small.img
expect "$MKFS" -f /tmp/small.img >/dev/null
truncate -s 64M /tmp/small.img
loop=$(losetup -f --show /tmp/small.img) || fail "losetup"
want EINVAL "$(mount_errno "$loop")" "truncated device"
losetup -d "$loop"
dmesg_has "blocks but the filesystem records" || fail "no message about the device size"

case_ "unknown or bad options refused"
expect "$MKFS" -f "$TEST_DEV" >/dev/null
want EINVAL "$(mount_errno "$TEST_DEV" rw commit=abc)" "commit=abc"
want EINVAL "$(mount_errno "$TEST_DEV" rw commit=999999)" "commit=999999"
want EINVAL "$(mount_errno "$TEST_DEV" ro bogus_option)" "unknown mount option"
dmesg_has "bogus_option" || fail "no message naming the unknown option"

case_ "sb= mount option picks the superblock copy and shows in /proc/mounts"
expect "$MKFS" -f "$TEST_DEV" >/dev/null
want OK "$(mount_errno "$TEST_DEV" ro sb=backup)" "sb=backup"
grep -E "^$TEST_DEV $MNT ferrofs ro,.*sb=backup" /proc/mounts || fail "/proc/mounts does not show sb=backup"
expect umount "$MNT"
want OK "$(mount_errno "$TEST_DEV" ro sb=auto)" "sb=auto"
grep "sb=" /proc/mounts && fail "/proc/mounts shows the default sb=auto"
expect umount "$MNT"
want EINVAL "$(mount_errno "$TEST_DEV" ro sb=sideways)" "sb=sideways"
expect python3 tests/vm/lib/fsimg.py corrupt-sb "$TEST_DEV" 16
want EUCLEAN "$(mount_errno "$TEST_DEV" ro sb=primary)" "sb=primary with a corrupt primary"

case_ "a corrupted tree node fails only the operations that meet it"
SRC=/tmp/ferrofs-src
[ -d "$SRC" ] || expect python3 tests/vm/lib/tree.py gen "$SRC"
expect "$MKFS" -f -d "$SRC" "$TEST_DEV" >/dev/null
want OK "$(mount_errno "$TEST_DEV")" "clean image"
ino=$(stat -c %i "$MNT/bigdir")
want_sum=$(sha256sum < "$MNT/big")
expect umount "$MNT"
# A leaf of the directory's DIR_INDEX items (96), which readdir walks.
blk=$(python3 tests/vm/lib/fsimg.py corrupt-leaf-of "$TEST_DEV" "$ino" 96) || fail "could not corrupt a leaf of inode $ino"
echo "corrupted leaf block $blk of inode $ino"
# And a leaf of its DIR_ENTRY items (84, by name hash), which lookup walks.
blk2=$(python3 tests/vm/lib/fsimg.py corrupt-leaf-of "$TEST_DEV" "$ino" 84) || fail "could not corrupt a name-hash leaf"
echo "corrupted leaf block $blk2 of inode $ino"
want OK "$(mount_errno "$TEST_DEV")" "mount with a corrupt leaf"
for i in 1 2; do
    err=$(ls "$MNT/bigdir" 2>&1 >/dev/null)
    echo "$err" | grep -q "Structure needs cleaning" || fail "readdir of the corrupt directory: '$err'"
done
dmesg_has "block $blk" || fail "no message naming block $blk"
# Messages are rate-limited per mount (a burst of 10): readdir's few come first, then the lookups'.
# Lookups of the names hashed into the corrupt leaf fail with EUCLEAN; all others succeed.
(cd "$SRC/bigdir" && ls -A) | sed "s|^|$MNT/bigdir/|" | xargs stat -c %i > /tmp/lookups.out 2> /tmp/lookups.err
bad=$(grep -c "Structure needs cleaning" /tmp/lookups.err)
other=$(grep -vc "Structure needs cleaning" /tmp/lookups.err)
good=$(wc -l < /tmp/lookups.out)
echo "lookups: $good ok, $bad EUCLEAN, $other other errors"
[ "$bad" -gt 0 ] && [ "$good" -gt 0 ] && [ "$other" = 0 ] || fail "lookups through a corrupt name-hash leaf"
dmesg_has "block $blk2" || fail "no message naming block $blk2"
[ "$(sha256sum < "$MNT/big")" = "$want_sum" ] || fail "other files unreadable after meeting corruption"
ls "$MNT/level0/level1" >/dev/null || fail "other directories unreadable after meeting corruption"
expect umount "$MNT"

case_ "a corrupted extent leaf fails the file read that meets it, not the mount"
# The same image: only two leaves of bigdir are damaged so far. A new mount has a fresh
# message budget.
want OK "$(mount_errno "$TEST_DEV")" "image with one corrupt leaf"
ino=$(stat -c %i "$MNT/big")
exec 3<"$MNT/big"   # the inode is read now; no data is read before the corruption
blk=$(python3 tests/vm/lib/fsimg.py corrupt-leaf-with "$TEST_DEV" "$ino" 108) || fail "could not corrupt the extent leaf"
echo "corrupted leaf block $blk holding the extents of inode $ino"
# The write went through the device's page cache, where the mount already holds that leaf
# checksum-verified (a node is verified once per read from disk): push it to the disk (sync(2)
# writes block devices back; BLKFLSBUF alone only syncs the read-only mount) and drop the cached
# copy, so the read meets the corruption the way it would come from the disk.
expect sync
expect blockdev --flushbufs "$TEST_DEV"
err=$(cat <&3 2>&1 >/dev/null)
exec 3<&-
echo "$err" | grep -q "Structure needs cleaning" || fail "read through a corrupt extent leaf: '$err'"
dmesg_has "block $blk" || fail "no message naming block $blk"
expect umount "$MNT"
expect rmmod ferrofs
exit 0
