# fallocate(FALLOC_FL_UNSHARE_RANGE) (xfs_io funshare; fstests generic/156, 264, 734), checked
# against XFS (reflink=1) doing the same in the same boot:
# 1. Unsharing half of a reflinked clone copies that half only: FIEMAP flags it unshared, on
#    other sectors than the original, the rest still shared; the space used grows by that half;
#    the original's bytes do not change.
# 2. Unsharing the other clones fully leaves the original alone with its extent: unsharing it
#    then uses no space; every file keeps its bytes.
# 3. Unshare of a range the page cache holds (read, and written but not yet flushed: the
#    generic/264 and 734 shapes) keeps the cached bytes.
# 4. Past the end of file: KEEP_SIZE keeps the size; without it the size moves like a
#    preallocation, and the new range reads as zeros (same sizes as XFS).
# 5. fsck.ferrofs -n clean; after a remount every file reads the same as XFS's.
. tests/vm/lib.sh
need_tools
expect "$MKFS" -f -s 256m "$TEST_DEV" >/dev/null
load_ferrofs
[ "$(mount_errno "$TEST_DEV" rw)" = OK ] || fail "mount"
mount_xfs_ref
MiB=1048576
FILES=""
# funshare_keep FILE OFFSET LEN: fallocate(UNSHARE_RANGE | KEEP_SIZE) (xfs_io's funshare has no -k).
funshare_keep() {
    python3 - "$@" <<'PY'
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
libc.fallocate.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_long, ctypes.c_long]
fd = os.open(sys.argv[1], os.O_RDWR)
if libc.fallocate(fd, 0x40 | 0x01, int(sys.argv[2]), int(sys.argv[3])) != 0:
    sys.exit(f"fallocate(UNSHARE_RANGE|KEEP_SIZE): {os.strerror(ctypes.get_errno())}")
PY
}
used() { expect sync; echo $(( $(stat -f -c %b "$MNT") - $(stat -f -c %f "$MNT") )); }

echo "--- 1. unshare half of a clone (at ${SECONDS}s)"
on_both 'xfs_io -f -c "pwrite -S 0x41 -b 1m 0 4m" -c fsync f1 >/dev/null && cp --reflink=always f1 f2 && cp --reflink=always f1 f3'
FILES="f1 f2 f3"
u0=$(used)
on_both 'xfs_io -c "funshare 0 2m" f2'
u1=$(used)
d=$((u1 - u0))
[ "$d" -ge 512 ] && [ "$d" -lt 560 ] || fail "unsharing 2 MiB used $d blocks (512 expected)"
shared_at "$MNT/f2" $((1 * MiB)) && fail "f2 at 1m is still shared after the unshare"
shared_at "$MNT/f2" $((3 * MiB)) || fail "f2 at 3m (not unshared) is no longer shared"
shared_at "$MNT/f1" $((1 * MiB)) || fail "f1 at 1m is no longer shared (f3 shares it)"
[ "$(phys_at "$MNT/f1" $((1 * MiB)))" != "$(phys_at "$MNT/f2" $((1 * MiB)))" ] || fail "the unshared range did not move"
check_fill "$MNT/f1" 65 $((4 * MiB))
compare_ref "after unsharing half of f2"

echo "--- 2. unshare every clone, then the original (at ${SECONDS}s)"
on_both 'xfs_io -c "funshare 0 4m" f2 && xfs_io -c "funshare 0 4m" f3'
u2=$(used)
d=$((u2 - u1))
[ "$d" -ge $((512 + 1024)) ] && [ "$d" -lt 1650 ] || fail "unsharing the rest of f2 and all of f3 used $d blocks (1536 expected)"
for f in f1 f2 f3; do
    for o in 0 $((3 * MiB)); do shared_at "$MNT/$f" "$o" && fail "$f at $o is still shared"; done
done
on_both 'xfs_io -c "funshare 0 4m" f1'
u3=$(used)
[ "$u3" -le $((u2 + 8)) ] || fail "unsharing a file that shares nothing used $((u3 - u2)) blocks"
compare_ref "after unsharing everything"

echo "--- 3. unshare over cached and dirty pages (at ${SECONDS}s)"
on_both 'cp --reflink=always f1 c1 && cp --reflink=always f1 c2'
expect umount "$MNT"
[ "$(mount_errno "$TEST_DEV" rw)" = OK ] || fail "remount"
on_both 'cat c1 > /dev/null && xfs_io -c "funshare 0 4m" c1'
on_both 'xfs_io -c "pwrite -S 0x42 -b 192k 64k 192k" -c "funshare 128k 64k" c2 >/dev/null'
on_both 'xfs_io -c "pwrite -S 0x43 1m 5000" -c "funshare 1m 2m" -c fsync c2 >/dev/null'
FILES="f1 f2 f3 c1 c2"
compare_ref "after unsharing over the page cache"
shared_at "$MNT/c2" $((2 * MiB)) && fail "c2 at 2m is still shared"
shared_at "$MNT/c2" $((3 * MiB + 4096)) || fail "c2 at 3m (not unshared) is no longer shared"

echo "--- 4. past the end of file (at ${SECONDS}s)"
on_both "funshare_keep c2 $((3 * MiB)) $((4 * MiB)) && xfs_io -c 'funshare 3m 4m' f3"
compare_ref "after unsharing past the end"
[ "$(stat -c %s "$MNT/c2")" = $((4 * MiB)) ] || fail "KEEP_SIZE changed the size: $(stat -c %s "$MNT/c2")"
[ "$(stat -c %s "$MNT/f3")" = $((7 * MiB)) ] || fail "unshare past EOF did not move the size: $(stat -c %s "$MNT/f3")"

echo "--- 5. fsck, remount (at ${SECONDS}s)"
expect umount "$MNT"
"$FSCK" -n "$TEST_DEV" || fail "fsck.ferrofs -n after the unshares (exit $?)"
[ "$(mount_errno "$TEST_DEV" rw)" = OK ] || fail "remount"
compare_ref "after a remount"
check_fill "$MNT/f1" 65 $((4 * MiB))
expect umount "$REF"
echo "funshare: copies only shared blocks, keeps data (cached, dirty), sizes as xfs; fsck clean"
