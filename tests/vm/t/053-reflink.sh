# Reflink and dedupe, checked against XFS (reflink=1) doing the same in the same boot:
# 1. cp --reflink=always (FICLONE): equal contents, no data space used (statfs), both files' FIEMAP
#    extents flagged shared and on the same device sectors.
# 2. The first write to a shared range is copy-on-write: buffered, direct and mmap overwrites of
#    the clone leave the original byte for byte as it was; the rewritten ranges are no longer
#    shared.
# 3. FICLONERANGE into the middle of a file, past its end (the size moves), and of an unaligned
#    length ending at the source's end of file; an unaligned range elsewhere is EINVAL; a clone of
#    preallocated space reads as zeros.
# 4. FIDEDUPERANGE shares equal ranges and refuses different ones (leaving them as they were);
#    copy_file_range clones (FIEMAP shared).
# 5. Deleting the original leaves the clone intact and unshared; deleting both gives the space
#    back; contents after drop_caches and after a remount; fsck -n clean.
# 6. A clone through an O_SYNC file or into a chattr +S file is on disk when the call returns
#    (fstests generic/628): a shutdown without flush right after keeps it, while a plain clone
#    made after them is lost (the periodic commit is off).
# 7. On a full filesystem (written until ENOSPC) a clone still works (it needs metadata space
#    only; fstests generic/546), and so does deleting the filler.
. tests/vm/lib.sh
need_tools
expect "$MKFS" -f -s 256m "$TEST_DEV" >/dev/null
load_ferrofs
[ "$(mount_errno "$TEST_DEV" rw)" = OK ] || fail "mount"
mount_xfs_ref
MiB=1048576
FILES=""

echo "--- 1. FICLONE"
on_both 'xfs_io -f -c "pwrite -S 0x41 -b 1m 0 8m" -c fsync src >/dev/null'
expect sync
free0=$(stat -f -c %f "$MNT")
on_both 'cp --reflink=always src dst'
expect sync
free1=$(stat -f -c %f "$MNT")
[ $((free0 - free1)) -lt 64 ] || fail "the clone used $((free0 - free1)) blocks (8 MiB of data shared)"
FILES="src dst"
compare_ref "clone"
for f in src dst; do
    fiemap_flags "$MNT/$f" > /tmp/fm
    [ -s /tmp/fm ] || fail "FIEMAP shows no extent of $f"
    while read -r s e fl; do [ $(( fl & 0x2000 )) -ne 0 ] || fail "$f: extent $s..$e not flagged shared (flags $fl)"; done < /tmp/fm
done
[ "$(phys_at "$MNT/src" $((3 * MiB)))" = "$(phys_at "$MNT/dst" $((3 * MiB)))" ] || fail "the clone does not map to the original's sectors"

echo "--- 2. copy-on-write of shared ranges"
on_both 'xfs_io -c "pwrite -S 0x42 1m 1m" -c fsync dst >/dev/null'
on_both 'xfs_io -d -c "pwrite -S 0x43 4m 1m" dst >/dev/null'
on_both 'xfs_io -c "mmap -rw 6m 1m" -c "mwrite -S 0x44 6m 1m" -c "msync 6m 1m" -c munmap -c fsync dst >/dev/null'
compare_ref "overwrites of the clone"
check_fill "$MNT/src" 65 $((8 * MiB))
expect sync
shared_at "$MNT/dst" $((1 * MiB)) && fail "the rewritten range at 1m is still shared"
shared_at "$MNT/dst" $((4 * MiB)) && fail "the rewritten range at 4m is still shared"
shared_at "$MNT/dst" $((3 * MiB)) || fail "the untouched range at 3m is no longer shared"
[ "$(phys_at "$MNT/src" $((1 * MiB)))" != "$(phys_at "$MNT/dst" $((1 * MiB)))" ] || fail "the overwrite of the clone did not move"

echo "--- 3. FICLONERANGE"
on_both 'xfs_io -f -c "pwrite -S 0x45 0 4m" -c fsync mid >/dev/null && xfs_io -c "reflink src 2m 1m 1m" mid >/dev/null'
on_both 'xfs_io -f -c "pwrite -S 0x46 0 10000" -c fsync short >/dev/null && xfs_io -f -c "reflink short 0 1m 10000" past >/dev/null'
on_both 'xfs_io -f -c "reflink src 0 12m 2m" mid >/dev/null'
FILES="src dst mid short past"
compare_ref "clone ranges"
[ "$(stat -c %s "$MNT/past")" = $((MiB + 10000)) ] || fail "size after an unaligned clone at the end: $(stat -c %s "$MNT/past")"
out=$(xfs_io -c "reflink $MNT/src 1000 0 4096" "$MNT/mid" 2>&1)
echo "$out" | grep -q "Invalid argument" || fail "an unaligned clone: $out"
compare_ref "after a refused clone"
on_both 'xfs_io -f -c "falloc 0 1m" -c "pwrite -S 0x47 0 4k" -c fsync pre >/dev/null && xfs_io -f -c "reflink pre 0 0 1m" fromPre >/dev/null'
FILES="$FILES pre fromPre"
compare_ref "clone of preallocated space"

echo "--- 4. dedupe and copy_file_range"
on_both 'xfs_io -f -c "pwrite -S 0x41 0 1m" -c "pwrite -S 0x48 1m 1m" -c fsync same >/dev/null && xfs_io -c "dedupe src 3m 0 1m" same >/dev/null'
shared_at "$MNT/same" 0 || fail "dedupe of equal ranges did not share them"
out=$(xfs_io -c "dedupe $MNT/src 0 1m 1m" "$MNT/same" 2>&1)
echo "$out" | grep -qi "did not match\|differ" || fail "dedupe of different ranges: $out"
shared_at "$MNT/same" $((1 * MiB)) && fail "a refused dedupe shared the range"
on_both 'xfs_io -f -c "copy_range -s 0 -d 0 -l 4m src" cfr >/dev/null'
shared_at "$MNT/cfr" 0 || fail "copy_file_range did not clone"
FILES="$FILES same cfr"
compare_ref "dedupe and copy_file_range"
# A clone of part of a file with dirty data around it: the source is written back whole, so
# its data is one extent (flagged shared, as btrfs reports sharing per extent) and not split at
# the clone's edge (fstests' _require_scratch_explicit_shared_extents probe).
expect xfs_io -f -c "pwrite -S 0x49 0 128k" "$MNT/half" >/dev/null
expect xfs_io -f -c "reflink $MNT/half 0 0 64k" "$MNT/halfc" >/dev/null
n=$(xfs_io -r -c fiemap "$MNT/half" | tail -n +2 | grep -vc hole)
[ "$n" = 1 ] || fail "the partly cloned file has $n extents (1 expected): $(xfs_io -r -c 'fiemap -v' "$MNT/half")"
shared_at "$MNT/half" 100000 || fail "the partly cloned file's extent is not flagged shared"
check_fill "$MNT/half" 73 131072
expect rm "$MNT/half" "$MNT/halfc"

echo "--- 5. deletes, remount"
on_both 'rm src'
FILES="dst mid short past pre fromPre same cfr"
expect sync
compare_ref "after deleting the original"
echo 3 > /proc/sys/vm/drop_caches
compare_ref "after drop_caches"
expect umount "$MNT"
"$FSCK" -n "$TEST_DEV" || fail "fsck -n (exit $?)"
[ "$(mount_errno "$TEST_DEV" rw)" = OK ] || fail "remount"
compare_ref "after remount"
for f in $FILES; do expect rm "$MNT/$f"; done
expect sync
free2=$(stat -f -c %f "$MNT")
[ "$free2" -ge $((free0 + 2048 - 64)) ] || fail "free blocks after deleting everything: $free2 (before the clone, with 8 MiB in use: $free0)"

echo "--- 6. synchronous clones"
expect umount "$MNT"
[ "$(mount_errno "$TEST_DEV" rw commit=86400)" = OK ] || fail "mount commit=86400"
expect xfs_io -f -c "pwrite -q -S 0x58 0 1m" "$MNT/sa"
expect touch "$MNT/sb" "$MNT/sc" "$MNT/sd"
expect chattr +S "$MNT/sc"
expect sync
expect xfs_io -s -c "reflink $MNT/sa" "$MNT/sb" >/dev/null
expect xfs_io -c "reflink $MNT/sa" "$MNT/sc" >/dev/null
expect xfs_io -x -c "reflink $MNT/sa" -c shutdown "$MNT/sd" >/dev/null
expect umount "$MNT"
"$FSCK" -n "$TEST_DEV" || fail "fsck -n after the shutdown (exit $?)"
[ "$(mount_errno "$TEST_DEV" rw)" = OK ] || fail "mount after the shutdown"
cmp "$MNT/sb" "$MNT/sa" || fail "a clone into an O_SYNC file was lost by a shutdown right after it"
cmp "$MNT/sc" "$MNT/sa" || fail "a clone into a chattr +S file was lost by a shutdown right after it"
[ "$(stat -c %s "$MNT/sd")" = 0 ] || fail "a plain clone survived a shutdown without flush (no commit was due): the check above proves nothing"

echo "--- 7. a clone on a full filesystem"
expect xfs_io -f -c "pwrite -q -S 0x41 0 1m" -c fsync "$MNT/fsrc"
# (Made before: creating a file on a full filesystem is refused.)
expect touch "$MNT/fdst"
dd if=/dev/zero of="$MNT/fill" bs=1M status=none 2>/dev/null && fail "filling the filesystem did not end with ENOSPC"
expect sync -f "$MNT"
xfs_io -f -c "pwrite -q 0 64k" -c fsync "$MNT/more" 2>/dev/null && fail "the filesystem is not full: 64 KiB more fit"
expect xfs_io -c "reflink $MNT/fsrc 0 0 1m" "$MNT/fdst" >/dev/null
expect xfs_io -c "reflink $MNT/fsrc 0 1m 4k" "$MNT/fsrc" >/dev/null
cmp "$MNT/fsrc" "$MNT/fdst" -n 1048576 || fail "the clone made on a full filesystem differs"
expect rm "$MNT/fill"
expect sync -f "$MNT"
expect umount "$MNT"
expect umount "$REF"
"$FSCK" -n "$TEST_DEV" || fail "fsck -n at the end (exit $?)"
exit 0
