# Remount ro <-> rw and commit= by remount; an unlinked-but-open file whose deletion never reached
# the disk (writes dropped by dm-flakey) is an orphan that fsck accepts and the next read-write
# mount deletes, giving its space back.
. tests/vm/lib.sh
need_tools
load_ferrofs
expect "$MKFS" -f "$TEST_DEV" >/dev/null
[ "$(mount_errno "$TEST_DEV" rw)" = OK ] || fail "mount"
expect mkdir "$MNT/a"
expect mount -o remount,ro "$MNT"
grep -E " $MNT ferrofs ro[, ]" /proc/mounts || fail "not read-only after remount,ro"
mkdir "$MNT/b" 2>/dev/null && fail "mkdir on a read-only remount"
[ -d "$MNT/a" ] || fail "a is gone after remount,ro"
expect mount -o remount,rw,commit=7 "$MNT"
grep -E " $MNT ferrofs rw,.*commit=7" /proc/mounts || fail "rw,commit=7 not shown after remount"
expect mkdir "$MNT/b"
expect mount -o remount,commit=0 "$MNT"
grep -q "commit=" <(grep " $MNT " /proc/mounts) && fail "commit=0 (the default) still shown"
expect umount "$MNT"
expect "$FSCK" -n "$TEST_DEV"

# An orphan left by a "crash".
DM=ferrofs-orphan
flakey_create "$DM"
[ "$(mount_errno "/dev/mapper/$DM" rw commit=86400)" = OK ] || fail "mount on flakey"
free0=$(stat -f -c %f "$MNT")
python3 - "$MNT" "$DM" <<'PY' || fail "orphan workload"
import os, subprocess, sys
sys.path.insert(0, "tests/vm/lib")
from crashload import drop_writes
mnt, dm = sys.argv[1], sys.argv[2]
names = []
for i in range(50):
    p = os.path.join(mnt, "big-%02d-%s" % (i, "x" * 200))
    with open(p, "w"):
        pass
    os.setxattr(p, "user.fill", b"f" * 1800)
    names.append(p)
keep = os.open(os.path.join(mnt, names[0]), os.O_RDONLY)
fd = os.open(mnt, os.O_RDONLY)
tmp = os.open(mnt, os.O_TMPFILE | os.O_RDWR, 0o600)
for p in names:
    os.unlink(p)
subprocess.check_call(["sync", "-f", mnt])
drop_writes(dm)
os.close(keep)
os.close(tmp)
os.close(fd)
PY
expect umount "$MNT"
flakey_restore "$DM"
"$FSCK" -n "/dev/mapper/$DM" || fail "fsck.ferrofs -n with orphans on disk (exit $?)"
mark_dmesg
[ "$(mount_errno "/dev/mapper/$DM" rw)" = OK ] || fail "mount with orphans"
dmesg_has "deleted 2 orphaned inode(s)" || fail "the orphans were not deleted at mount"
expect sync -f "$MNT"
free1=$(stat -f -c %f "$MNT")
[ "$free1" -ge "$free0" ] || fail "free blocks $free1 after orphan deletion, $free0 before the files existed"
expect umount "$MNT"
expect "$FSCK" -n "/dev/mapper/$DM"
expect dmsetup remove "$DM"
exit 0
