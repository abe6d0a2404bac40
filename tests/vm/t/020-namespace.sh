# Every namespace operation and its errors (tests/vm/lib/nsops.c) on ferrofs and, in the same boot,
# on ext4: the trees compare equal (names, types, modes, owners, link counts, sizes, device numbers,
# symlink targets, xattrs); the tree survives unmount + fsck.ferrofs -n + mount unchanged; the
# O_TMPFILE and open-unlinked inodes left no orphans and no leaked space behind. 3000 hard links of
# one file in one directory survive unmount, fsck and mount, and half of them can be removed. The
# creation time (statx btime) is set at creation and kept by later changes and a remount.
# readdir of a directory whose names are each renamed away and back as they are read (generic/736's
# shape) ends, having returned each name at most once; the next pass (rewinddir) sees names added
# since.
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
# Creation time (statx's btime, fstests generic/528): set at creation, kept by later changes.
t0=$(date +%s)
expect mkdir "$MNT/born"
expect touch "$MNT/born/f"
t1=$(date +%s)
for f in "$MNT/born" "$MNT/born/f"; do
    b=$(stat -c %W "$f")
    [ "$b" -ge $((t0 - 1)) ] && [ "$b" -le "$t1" ] || fail "btime of new $f: $b (created between $t0 and $t1)"
done
born=$(stat -c %w "$MNT/born/f")
expect touch -d "2001-02-03 04:05:06" "$MNT/born/f"
expect chmod 600 "$MNT/born/f"
expect sh -c "echo data >> '$MNT/born/f'"
[ "$(stat -c %w "$MNT/born/f")" = "$born" ] || fail "btime changed with times, mode and data: $(stat -c %w "$MNT/born/f"), was $born"

expect umount "$MNT"
"$FSCK" -n "$TEST_DEV" || fail "fsck.ferrofs -n after the scenario (exit $?)"
[ "$(mount_errno "$TEST_DEV" rw)" = OK ] || fail "second mount"
python3 tests/vm/lib/nsdump.py "$MNT/t" > /tmp/again || fail "dump after remount"
diff -u /tmp/got /tmp/again || fail "the tree changed across unmount and mount"
[ "$(stat -c %w "$MNT/born/f")" = "$born" ] || fail "btime after remount: $(stat -c %w "$MNT/born/f"), was $born"

# 3000 hard links of one file in one directory (fstests generic/040 and 041; ferrofs refused the
# 96th with EMLINK before extended inode refs): every name survives unmount, fsck and mount, and
# removing every other one (names in INODE_REF and in INODE_EXTREF items alike) leaves the rest.
python3 - "$MNT/t/many" <<'PY' || fail "3000 hard links in one directory"
import os, sys
d = sys.argv[1]
os.mkdir(d)
f = os.path.join(d, "target")
with open(f, "w") as o:
    o.write("linked\n")
for i in range(3000):
    os.link(f, os.path.join(d, "link_%04d" % i))
assert os.stat(f).st_nlink == 3001, os.stat(f).st_nlink
PY
expect umount "$MNT"
"$FSCK" -n "$TEST_DEV" || fail "fsck.ferrofs -n after 3000 hard links (exit $?)"
[ "$(mount_errno "$TEST_DEV" rw)" = OK ] || fail "mount after 3000 hard links"
python3 - "$MNT/t/many" <<'PY' || fail "the 3000 hard links after remount, then removing half"
import os, sys
d = sys.argv[1]
f = os.path.join(d, "target")
assert os.stat(f).st_nlink == 3001, os.stat(f).st_nlink
names = sorted(os.listdir(d))
assert names == ["link_%04d" % i for i in range(3000)] + ["target"], len(names)
for i in range(0, 3000, 2):
    os.unlink(os.path.join(d, "link_%04d" % i))
assert os.stat(f).st_nlink == 1501, os.stat(f).st_nlink
for i in range(1, 3000, 2):
    with open(os.path.join(d, "link_%04d" % i)) as o:
        assert o.read() == "linked\n", i
PY

# readdir while renaming: each name read is renamed away and back, which gives it a new, higher
# directory index; the pass must still end, each name at most once; a rewound pass sees a name
# added after the first pass began.
python3 - "$MNT" <<'PY' || fail "readdir while renaming the names it returns"
import os, sys
d = os.path.join(sys.argv[1], "rd736")
os.mkdir(d)
os.chdir(d)
N = 2000
for i in range(1, N + 1):
    open(str(i), "w").close()
seen = []
with os.scandir(".") as it:
    for e in it:
        seen.append(e.name)
        assert len(seen) <= 3 * N, "readdir does not end"
        if e.name == "1":
            open("late", "w").close()   # added during the pass: not part of it
        os.rename(e.name, "TEMPFILE")
        os.rename("TEMPFILE", e.name)
assert len(seen) == len(set(seen)), "a name came back %d times" % max(seen.count(n) for n in seen)
assert "late" not in seen and "TEMPFILE" not in seen, seen[-5:]
want = sorted([str(i) for i in range(1, N + 1)] + ["late"])
fd = os.open(".", os.O_RDONLY | os.O_DIRECTORY)
assert sorted(os.listdir(fd)) == want, "first pass on an open directory"
open("later", "w").close()
# os.listdir(fd) rewinds the shared offset when done: this pass starts again at the first name.
assert sorted(os.listdir(fd)) == sorted(want + ["later"]), "a rewound pass misses a name added before it"
os.close(fd)
print("readdir while renaming: %d of %d names returned once each, then all" % (len(seen), N))
PY
rm -rf "$MNT/rd736"

# Deleting everything gives back every block but those of the empty root directory's tree.
rm -rf "$MNT/t" "$MNT/born" || fail "rm -rf"
expect sync
free1=$(stat -f -c %f "$MNT")
[ "$free1" -eq "$free0" ] || fail "free blocks: $free0 before, $free1 after creating and deleting everything"
expect umount "$MNT"
"$FSCK" -n "$TEST_DEV" || fail "fsck.ferrofs -n after deleting everything (exit $?)"
exit 0
