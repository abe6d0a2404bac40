# FITRIM (fstrim) on a dm-thin volume, where a discarded block really goes back to the pool and
# reads as zeros: deleting 192 MiB and trimming returns it to the pool, while every block still
# in use (file data, metadata) is untouched: files written before and during concurrent trims
# read back intact, also after a remount, and fsck.ferrofs -n is clean. Range checks as ext4 and
# XFS (EINVAL for a range shorter than a block or past the end; a minimum length larger than any
# free run trims nothing); EROFS on a read-only mount. Then the discard mount option: with it a
# commit gives the blocks it freed back to the pool by itself (no fstrim), it shows in
# /proc/mounts, a remount turns it off (freed blocks then stay in the pool's use) and on again,
# and the data left reads back intact, fsck clean.
. tests/vm/lib.sh
need_tools
sz=$(blockdev --getsz "$TEST_DEV")
meta=65536   # 32 MiB of pool metadata at the start of the test device
expect dmsetup create ferrofs-tmeta --table "0 $meta linear $TEST_DEV 0"
expect dmsetup create ferrofs-tdata --table "0 $((sz - meta)) linear $TEST_DEV $meta"
expect dd if=/dev/zero of=/dev/mapper/ferrofs-tmeta bs=4096 count=1 status=none
# 64 KiB pool blocks; discards pass down; a 1 GiB thin volume.
expect dmsetup create ferrofs-tpool --table "0 $((sz - meta)) thin-pool /dev/mapper/ferrofs-tmeta /dev/mapper/ferrofs-tdata 128 0"
expect dmsetup message /dev/mapper/ferrofs-tpool 0 "create_thin 0"
expect dmsetup create ferrofs-thin --table "0 2097152 thin /dev/mapper/ferrofs-tpool 0"
THIN=/dev/mapper/ferrofs-thin
pool_used() { dmsetup status ferrofs-tpool | awk '{split($6, a, "/"); print a[1]}'; }
cleanup_thin() {
    mountpoint -q "$MNT" && umount "$MNT"
    for d in ferrofs-thin ferrofs-tpool ferrofs-tdata ferrofs-tmeta; do dmsetup remove "$d" 2>/dev/null; done
}
trap cleanup_thin EXIT

expect "$MKFS" -f "$THIN" >/dev/null
load_ferrofs
mkdir -p "$MNT"
expect mount -t ferrofs "$THIN" "$MNT"
head -c $((48 << 20)) /dev/urandom > "$MNT/keep" || fail "write keep"
mkdir "$MNT/d" && for i in $(seq 200); do echo "small file $i" > "$MNT/d/f$i"; done
dd if=/dev/urandom of="$MNT/junk" bs=1M count=192 status=none || fail "write junk"
expect sync
sum_keep=$(sha256sum < "$MNT/keep")
u1=$(pool_used)
expect rm "$MNT/junk"
expect sync   # the commit that frees junk's blocks; they are free (not pinned) after it
out=$(fstrim -v "$MNT") || fail "fstrim: $out"
trimmed=$(echo "$out" | sed -n 's/.*(\([0-9]*\) bytes) trimmed.*/\1/p')
[ -n "$trimmed" ] && [ "$trimmed" -ge $((192 << 20)) ] || fail "fstrim trimmed less than the deleted 192 MiB: $out"
u2=$(pool_used)
# 192 MiB is 3072 pool blocks of 64 KiB; most of them must be back in the pool.
[ $((u1 - u2)) -ge 2800 ] || fail "the pool got $((u1 - u2)) blocks back (used $u1 -> $u2)"
echo "fstrim: $out; pool blocks used $u1 -> $u2"

# Trims racing writers: new files written while fstrim runs again and again read back intact.
python3 - "$MNT" <<'PY' || fail "files written during concurrent fstrim runs"
import hashlib, os, subprocess, sys
mnt = sys.argv[1]
os.mkdir(mnt + "/race")
trims = [subprocess.Popen(["sh", "-c", "for i in 1 2 3 4 5 6; do fstrim %s || exit 1; done" % mnt])]
sums = {}
for i in range(48):
    data = os.urandom(256 << 10)
    p = "%s/race/f%d" % (mnt, i)
    with open(p, "wb") as f:
        f.write(data)
    sums[p] = hashlib.sha256(data).hexdigest()
    if i % 8 == 7:
        os.sync()
    if i % 3 == 0 and i > 0:
        os.unlink("%s/race/f%d" % (mnt, i - 1))
        del sums["%s/race/f%d" % (mnt, i - 1)]
assert trims[0].wait() == 0, "fstrim failed during the race"
os.sync()
with open("/proc/sys/vm/drop_caches", "w") as f:
    f.write("3")
for p, want in sums.items():
    got = hashlib.sha256(open(p, "rb").read()).hexdigest()
    assert got == want, p + " changed"
print("%d files written during 6 trims: intact" % len(sums))
PY
echo 3 > /proc/sys/vm/drop_caches
[ "$(sha256sum < "$MNT/keep")" = "$sum_keep" ] || fail "keep changed after fstrim"
for i in $(seq 200); do [ "$(cat "$MNT/d/f$i")" = "small file $i" ] || fail "d/f$i changed after fstrim"; done

# Range checks (struct fstrim_range through the ioctl).
python3 - "$MNT" <<'PY' || fail "FITRIM range checks"
import errno, fcntl, os, struct, sys
FITRIM = 0xC0185879
fd = os.open(sys.argv[1], os.O_RDONLY)
def trim(start, length, minlen):
    buf = bytearray(struct.pack("=QQQ", start, length, minlen))
    fcntl.ioctl(fd, FITRIM, buf)
    return struct.unpack("=QQQ", buf)[1]
def einval(*a):
    try:
        trim(*a)
    except OSError as e:
        assert e.errno == errno.EINVAL, e
        return
    raise AssertionError("no EINVAL for %r" % (a,))
einval(0, 100, 0)
einval(1 << 40, 1 << 20, 0)
assert trim(0, 1 << 62, 1 << 30) == 0, "a 1 GiB minimum length trimmed something"
n = trim(0, 1 << 62, 0)
assert n > 0, n
PY
expect umount "$MNT"
"$FSCK" -n "$THIN" || fail "fsck.ferrofs -n after fstrim (exit $?)"
expect mount -t ferrofs -o ro "$THIN" "$MNT"
[ "$(sha256sum < "$MNT/keep")" = "$sum_keep" ] || fail "keep changed across remount"
out=$(fstrim "$MNT" 2>&1) && fail "fstrim worked on a read-only mount"
echo "$out" | grep -q "Read-only file system" || fail "fstrim on a read-only mount: $out"
expect umount "$MNT"
echo "FITRIM: space back to the thin pool, data and metadata intact"

# The discard mount option. u_before/u_after: pool blocks used around "write 64 MiB, sync, rm,
# sync"; 64 MiB is 1024 pool blocks.
churn() {
    dd if=/dev/urandom of="$MNT/churn" bs=1M count=64 status=none || fail "write churn"
    expect sync
    u_before=$(pool_used)
    expect rm "$MNT/churn"
    expect sync   # the commit that frees churn's blocks discards them before it returns
    u_after=$(pool_used)
}
expect mount -t ferrofs -o discard "$THIN" "$MNT"
grep -q "^$THIN $MNT ferrofs .*[,]discard" /proc/mounts || fail "discard not in /proc/mounts: $(grep " $MNT " /proc/mounts)"
churn
[ $((u_before - u_after)) -ge 900 ] || fail "mounted with discard, the pool got $((u_before - u_after)) blocks back from a deleted 64 MiB file (used $u_before -> $u_after)"
echo "discard: pool blocks used $u_before -> $u_after after deleting 64 MiB"
expect mount -o remount,nodiscard "$MNT"
grep " $MNT " /proc/mounts | grep -q discard && fail "nodiscard remount left discard in /proc/mounts"
churn
[ $((u_before - u_after)) -le 64 ] || fail "remounted nodiscard, the pool still got $((u_before - u_after)) blocks back"
expect mount -o remount,discard "$MNT"
grep -q "^$THIN $MNT ferrofs .*[,]discard" /proc/mounts || fail "discard not back in /proc/mounts after remount"
churn
[ $((u_before - u_after)) -ge 900 ] || fail "remounted with discard, the pool got $((u_before - u_after)) blocks back (used $u_before -> $u_after)"
echo 3 > /proc/sys/vm/drop_caches
[ "$(sha256sum < "$MNT/keep")" = "$sum_keep" ] || fail "keep changed with the discard mount option"
for i in $(seq 200); do [ "$(cat "$MNT/d/f$i")" = "small file $i" ] || fail "d/f$i changed with the discard mount option"; done
expect umount "$MNT"
"$FSCK" -n "$THIN" || fail "fsck.ferrofs -n after discard mounts (exit $?)"
echo "discard mount option: freed blocks back to the pool at commit, remountable, data intact"

# A device that takes no discards (a loop device over a ramfs file: ramfs cannot punch holes):
# discard is turned off with a warning, as XFS and ext4 do, and the mount works.
mkdir -p /tmp/ferrofs-ramfs && expect mount -t ramfs none /tmp/ferrofs-ramfs
expect truncate -s 128m /tmp/ferrofs-ramfs/img
LOOP=$(losetup -f --show /tmp/ferrofs-ramfs/img) || fail "losetup"
[ "$(cat /sys/block/${LOOP#/dev/}/queue/discard_max_bytes)" = 0 ] || fail "the loop device over ramfs takes discards"
expect "$MKFS" -f "$LOOP" >/dev/null
expect mount -t ferrofs -o discard "$LOOP" "$MNT"
grep " $MNT " /proc/mounts | grep -q discard && fail "discard shown in /proc/mounts for a device without discard"
dmesg | grep -q "${LOOP#/dev/}: mounting with \"discard\", but the device does not support discard" || fail "no warning for discard on a device without it"
echo hello > "$MNT/f" && expect sync && expect rm "$MNT/f" && expect sync
expect umount "$MNT"
expect losetup -d "$LOOP"
expect umount /tmp/ferrofs-ramfs
echo "discard on a device without discard: turned off with a warning"
