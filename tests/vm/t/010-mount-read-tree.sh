# mkfs.ferrofs -d a generated tree, mount it, and compare every name, attribute and byte; then a
# remount read-write works on it.
. tests/vm/lib.sh
need_tools
SRC=/tmp/ferrofs-src
rm -rf "$SRC"
expect python3 tests/vm/lib/tree.py gen "$SRC"
expect "$MKFS" -f -L readtest -d "$SRC" "$TEST_DEV"
load_ferrofs
[ "$(mount_errno "$TEST_DEV")" = OK ] || fail "mount failed"
grep -E "^$TEST_DEV $MNT ferrofs ro[, ]" /proc/mounts || fail "/proc/mounts does not show a read-only ferrofs mount"
python3 tests/vm/lib/tree.py compare "$SRC" "$MNT" || fail "mounted tree differs from the source"

# readdir of the large directory with a tiny buffer and a restart: every entry exactly once.
"$H/getdents-small" "$MNT/bigdir" 256 > /tmp/names || fail "getdents-small failed"
dups=$(sort /tmp/names | uniq -d | head -3)
[ -z "$dups" ] || fail "readdir returned duplicates: $dups"
(echo .; echo ..; ls -A "$SRC/bigdir") | sort > /tmp/want
sort /tmp/names | diff -q - /tmp/want >/dev/null || fail "small-buffer readdir of bigdir differs from the source names"

# statfs reports the filesystem, not zeros.
read -r bsize blocks free <<<"$(stat -f -c '%S %b %f' "$MNT")"
[ "$bsize" = 4096 ] && [ "$blocks" -gt 0 ] && [ "$free" -gt 0 ] && [ "$free" -lt "$blocks" ] \
    || fail "statfs: bsize=$bsize blocks=$blocks free=$free"
[ "$(stat -f -c %T "$MNT")" != "" ] || fail "statfs type"

# FIEMAP through iomap: the sparse file has mapped extents and a hole between them.
fm=$(xfs_io -r -c "fiemap" "$MNT/sparse") || fail "fiemap failed"
echo "$fm"
echo "$fm" | grep -q hole || fail "fiemap shows no hole in the sparse file"
[ "$(echo "$fm" | grep -vc hole)" -ge 3 ] || fail "fiemap shows fewer than two data extents"

# The module is pinned while mounted. A read-only mount remounts read-write (loading the free-space
# map then) and keeps what it wrote.
rmmod ferrofs 2>/dev/null && fail "rmmod succeeded while mounted"
expect mount -o remount,rw "$MNT"
expect mkdir "$MNT/made-after-remount"
expect umount "$MNT"
expect "$FSCK" -n "$TEST_DEV"
[ "$(mount_errno "$TEST_DEV")" = OK ] || fail "mount after the remount-rw session"
[ -d "$MNT/made-after-remount" ] || fail "the directory made after remount,rw is missing"
rmdir "$MNT/made-after-remount" 2>/dev/null && fail "rmdir succeeded on a read-only mount"
[ -d "$MNT/bigdir" ] && [ -L "$MNT/link-rel" ] || fail "the source tree's objects are gone"
expect umount "$MNT"
expect rmmod ferrofs
exit 0
