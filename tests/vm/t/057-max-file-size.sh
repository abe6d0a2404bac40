# Files up to loff_t's limit (s_maxbytes = 2^63 - 1, what XFS and btrfs allow; fstests generic/303
# and 304 clone and dedupe there): the same operations at the edge on ferrofs and on XFS in the same
# boot give the same output (sizes, bytes read back, errors):
#   truncate to 2^63 - 1; a buffered write of the last byte; writes across and at the limit
#   (EINVAL); a direct
#   write of the last whole block; cp --reflink of a file ending there and of a sparse one that
#   size; FICLONERANGE from the last 64 KiB to a low offset and one past the limit (refused);
#   SEEK_DATA/SEEK_HOLE; fallocate up to the limit; a hole punched in the last block; mmap reads of
#   the last page a mapping can cover; an insert range that would grow the file past the limit
#   (EFBIG); the reads again after drop_caches.
# On ferrofs, an insert range that would move preallocated space past the limit is refused and
# changes nothing. Then fsck.ferrofs -n is clean, and after a remount every read gives the same
# bytes.
. tests/vm/lib.sh
need_tools
expect "$MKFS" -f -s 256m "$TEST_DEV" >/dev/null
load_ferrofs
[ "$(mount_errno "$TEST_DEV" rw)" = OK ] || fail "mount"
mount_xfs_ref

MAX=9223372036854775807           # 2^63 - 1
LAST=$((MAX - 1))                 # the last byte a file can hold
LASTBLK=9223372036854771712       # 2^63 - 4096
LAST64K=9223372036854710272       # 2^63 - 65536
# Each step prints what it saw; errors go to the output too (xfs_io prints the strerror).
changes() {
    xfs_io -f -c "truncate $MAX" f0; stat -c "f0 %s" f0
    xfs_io -f -c "pwrite -S 0x61 $LAST 1" f1 >/dev/null; stat -c "f1 %s" f1
    # Writes reaching past 2^63 - 1 are refused (EINVAL: the end does not fit a loff_t).
    xfs_io -f -c "pwrite -S 0x62 $((LAST - 1)) 4" -c "pwrite -S 0x62 $MAX 1" f1b 2>&1 | grep -v 'ops/sec' | sed 's/^/f1b: /'
    stat -c "f1b %s" f1b
    xfs_io -f -d -c "pwrite -S 0x63 -b 4096 $((LASTBLK - 4096)) 4096" f2 >/dev/null; stat -c "f2 %s" f2
    cp --reflink=always f1 f3 || echo "f3: cp failed"; stat -c "f3 %s" f3
    cp --reflink=always f0 f4 || echo "f4: cp failed"; stat -c "f4 %s" f4
    xfs_io -f -c "reflink f1 $LAST64K 1048576 65535" f6 2>&1 | grep -v '^linked\|^[0-9.]* [KMG]*iB\|ops/sec'; stat -c "f6 %s" f6
    xfs_io -f -c "reflink f1 0 4611686018427322368 $MAX" f5 2>&1 | grep -v '^linked\|ops/sec' | sed 's/^/f5: /'; stat -c "f5 %s" f5
    xfs_io -f -c "falloc $LAST64K 65535" f7 2>&1; stat -c "f7 %s" f7
    xfs_io -f -c "pwrite -S 0x64 $LASTBLK 4095" -c "fpunch $LASTBLK 4095" f8 >/dev/null; stat -c "f8 %s" f8
    # An insert range that would grow the file past the limit (fstests generic/485): EFBIG.
    xfs_io -f -c "falloc 0 8192" -c "falloc $((LASTBLK - 4096)) 4096" -c "finsert 0 8192" f9 2>&1; stat -c "f9 %s" f9
}
reads() {
    for f in f1 f3; do echo "$f:"; xfs_io -c "pread -v $((LAST - 15)) 16" "$f" | grep -v '^read\|ops/sec'; done
    echo "f2:"; xfs_io -c "pread -v $((LASTBLK - 16)) 32" f2 | grep -v '^read\|ops/sec'
    echo "f0/f4:"; for f in f0 f4; do xfs_io -c "pread -v $((LAST - 7)) 8" "$f" | grep -v '^read\|ops/sec'; done
    echo "f6:"; xfs_io -c "pread -v 1114096 15" f6 | grep -v '^read\|ops/sec'
    echo "f7/f8:"; for f in f7 f8; do xfs_io -c "pread -v $((LAST - 7)) 8" "$f" | grep -v '^read\|ops/sec'; done
    for f in f0 f1 f2 f6 f7 f8; do echo "$f seek:"; xfs_io -c "seek -d 0" -c "seek -h 0" -c "seek -d $LASTBLK" "$f"; done
    # The last whole page a mapping may cover ends at 2^63 - 4096 (file_mmap_ok).
    echo "f2 mmap:"; xfs_io -c "mmap -r $((LASTBLK - 4096)) 4096" -c "mread -v $((LASTBLK - 16)) 16" f2
}
both() { # STEP: run it in each filesystem's test directory, compare
    (cd "$MNT/d" && "$1") > /tmp/max.ferrofs 2>&1
    (cd "$REF/d" && "$1") > /tmp/max.xfs 2>&1
    sed -i "s#$REF#MNT#g" /tmp/max.xfs
    sed -i "s#$MNT#MNT#g" /tmp/max.ferrofs
    diff -u /tmp/max.xfs /tmp/max.ferrofs || fail "$2: ferrofs (+) differs from xfs (-)"
    cat /tmp/max.ferrofs
}
mkdir -p "$MNT/d" "$REF/d"
both changes "the changes"
grep -q "^fallocate: File too large" /tmp/max.ferrofs || fail "an insert range past the limit was not refused"
# The same with the last block preallocated past the size (KEEP_SIZE): the file could grow, but
# the block would move past the largest file. ferrofs refuses that too (EFBIG) and changes
# nothing (XFS moves it; fstests does not look).
out=$(xfs_io -f -c "falloc 0 8192" -c "falloc -k $((LASTBLK - 4096)) 4096" -c "finsert 0 8192" "$MNT/d/f10" 2>&1)
[ "$out" = "fallocate: File too large" ] || fail "an insert moving preallocated space past the limit: '$out'"
[ "$(stat -c %s "$MNT/d/f10")" = 8192 ] || fail "the refused insert changed the size: $(stat -c %s "$MNT/d/f10")"
xfs_io -c "fiemap" "$MNT/d/f10" | grep -q "$(( (LASTBLK - 4096) / 512 ))\.\." || fail "the refused insert moved the preallocated block: $(xfs_io -c fiemap "$MNT/d/f10")"
grep -q "^f1 $MAX\$" /tmp/max.ferrofs || fail "f1's size is not 2^63 - 1"
[ "$(grep -c "^f1b: pwrite: Invalid argument" /tmp/max.ferrofs)" = 2 ] || fail "writes past the limit were not refused"
both reads "reads"
cp /tmp/max.ferrofs /tmp/max.before
grep -A1 "^f2 mmap:" /tmp/max.ferrofs | grep -q "63 63 63 63" || fail "the mapped page before the limit did not read back"
b=$(python3 -c 'import os,sys; print(os.pread(os.open(sys.argv[1], os.O_RDONLY), 1, int(sys.argv[2])).hex())' "$MNT/d/f1" "$LAST")
[ "$b" = 61 ] || fail "the last byte reads back as '$b', not 61"
echo 3 > /proc/sys/vm/drop_caches
both reads "reads after drop_caches"
expect umount "$MNT"
"$FSCK" -n "$TEST_DEV" || fail "fsck.ferrofs -n after the edge-of-file operations (exit $?)"
[ "$(mount_errno "$TEST_DEV" rw)" = OK ] || fail "remount"
(cd "$MNT/d" && reads) > /tmp/max.after 2>&1
sed -i "s#$MNT#MNT#g" /tmp/max.after
diff -u /tmp/max.before /tmp/max.after || fail "reads after a remount differ"
expect umount "$REF"
echo "max file size: ferrofs matches xfs at 2^63 - 1, fsck clean, same after remount"
