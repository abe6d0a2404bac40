# A small filesystem filled with files and directories until ENOSPC: no oops, no partial items
# (fsck clean). On the full filesystem unlink still works (the reserve pool); one empty file frees
# no whole block, so removing one directory of files is what makes room, and then creating works
# again. statfs's free count matches what fsck computes from the trees. And df's "available" is
# space a user can fill (fstests' generic/103 preallocates all of it but 512 KiB): the reserve pool
# is free but not available. On that full filesystem, punching a hole in and truncating a file of
# 300 extents still work: a step that cannot reserve a whole batch's worst case goes one item at a
# time, each freeing space for the next.
. tests/vm/lib.sh
need_tools
expect "$MKFS" -f -s 16m "$TEST_DEV" >/dev/null
load_ferrofs
[ "$(mount_errno "$TEST_DEV" rw)" = OK ] || fail "mount"
err=$(python3 - "$MNT" <<'PY'
import errno, os, sys
root = sys.argv[1]
n = 0
try:
    while True:
        d = os.path.join(root, "d%04d" % (n // 500))
        if n % 500 == 0:
            os.mkdir(d)
        with open(os.path.join(d, "f%06d-%s" % (n, "x" * 150)), "w"):
            pass
        os.setxattr(os.path.join(d, "f%06d-%s" % (n, "x" * 150)), "user.pad", b"p" * 1000)
        n += 1
except OSError as e:
    print(errno.errorcode.get(e.errno, e.errno), n)
PY
)
echo "filled: $err"
set -- $err
[ "$1" = ENOSPC ] || fail "filling stopped with $1, not ENOSPC"
[ "$2" -gt 100 ] || fail "only $2 files fit"
victim=$(find "$MNT" -type f | head -1)
expect rm "$victim"
touch "$MNT/still-full" 2>/dev/null && fail "a create succeeded although removing one empty file freed no block"
expect rm -r "$MNT/d0000"
expect touch "$MNT/after-enospc"
expect sync
free=$(stat -f -c %f "$MNT")
expect umount "$MNT"
# fsck checks the superblock's free count against the extent tree; statfs must have said the same.
"$FSCK" -n "$TEST_DEV" || fail "fsck.ferrofs -n after ENOSPC (exit $?)"
sb_free=$(python3 tests/vm/lib/fsimg.py sb-field "$TEST_DEV" free-blocks)
[ "$free" = "$sb_free" ] || fail "statfs said $free free blocks, the checked superblock $sb_free"
expect "$MKFS" -f -s 64m "$TEST_DEV" >/dev/null
[ "$(mount_errno "$TEST_DEV" rw)" = OK ] || fail "mount the 64 MiB filesystem"
args=()
for i in $(seq 0 299); do args+=(-c "pwrite -q $((i * 8192)) 4k"); done
expect xfs_io -f "${args[@]}" -c fsync "$MNT/frag"
n=$(xfs_io -c "fiemap" "$MNT/frag" | grep -c "^[[:space:]]*[0-9]*: \[.*\]: [0-9]")
[ "$n" -ge 250 ] || fail "test set-up: the fragmented file has $n extents, not 300"
read -r avail free <<<"$(stat -f -c '%a %f' "$MNT")"
[ "$avail" -lt "$free" ] || fail "statfs: $avail blocks available of $free free: the reserve pool counted as available"
expect xfs_io -f -c "falloc 0 $(( avail * 4 - 512 ))k" "$MNT/spc"
expect xfs_io -c "fpunch 0 1m" "$MNT/frag"
[ "$(stat -c %b "$MNT/frag")" -le $(( (300 - 128) * 8 )) ] || fail "the hole punched on the full filesystem freed too little: $(stat -c %b "$MNT/frag") sectors left"
expect truncate -s 0 "$MNT/frag"
[ "$(stat -c %b "$MNT/frag")" = 0 ] || fail "the truncate on the full filesystem left $(stat -c %b "$MNT/frag") sectors"
expect umount "$MNT"
"$FSCK" -n "$TEST_DEV" || fail "fsck.ferrofs -n after preallocating the available space (exit $?)"
exit 0
