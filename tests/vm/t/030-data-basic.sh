# File data through the page cache: sequential, sparse, sub-block, extending, overwriting and
# truncating writes with xfs_io, copy_file_range and sendfile (through splice); the contents equal
# a model written the same way on tmpfs, after drop_caches, after remount and after fsck; fsck -n
# is clean; i_blocks before writeback counts an overwrite once; statfs returns to the same free
# count after delete + sync.
. tests/vm/lib.sh
need_tools
expect "$MKFS" -f -s 256m "$TEST_DEV" >/dev/null
load_ferrofs
[ "$(mount_errno "$TEST_DEV" rw)" = OK ] || fail "mount"
free0=$(stat -f -c %f "$MNT")
ref=/tmp/ref030; rm -rf "$ref"; mkdir -p "$ref"
# do_io FILE XFS_IO_ARGS...: the same xfs_io commands on the ferrofs file and its model.
do_io() { local f=$1; shift; expect xfs_io -f "$@" "$MNT/$f" >/dev/null; expect xfs_io -f "$@" "$ref/$f" >/dev/null; }
do_io seq -c "pwrite -S 0x11 -b 1m 0 8m"
do_io sparse -c "pwrite -S 0x22 4096 4096" -c "pwrite -S 0x23 1m 12288" -c "pwrite -S 0x24 7m 1"
do_io sub -c "pwrite -S 0x31 100 200" -c "pwrite -S 0x32 5000 3" -c "pwrite -S 0x33 4095 2"
do_io ext -c "pwrite -S 0x41 0 10000" -c "pwrite -S 0x42 10000 10000" -c "pwrite -S 0x43 30000 5"
do_io over -c "pwrite -S 0x51 0 1m" -c "fsync" -c "pwrite -S 0x52 4096 8192" -c "pwrite -S 0x53 500000 100000"
do_io trunc -c "pwrite -S 0x61 0 100000" -c "fsync" -c "truncate 50001" -c "truncate 70000" -c "pwrite -S 0x62 90000 10"
# copy_file_range (the VFS's splice fallback) and sendfile (splice_write) from a ferrofs file.
for d in "$MNT" "$ref"; do
    expect xfs_io -f -c "copy_range -s 4096 -d 100 -l 1000000 $d/seq" "$d/copy" >/dev/null
    expect xfs_io -f -c "sendfile -i $d/ext 10 15000" "$d/sent" >/dev/null
done
compare() {
    for f in seq sparse sub ext over trunc copy sent; do
        cmp "$MNT/$f" "$ref/$f" || fail "$1: $f differs from its model"
        [ "$(stat -c %s "$MNT/$f")" = "$(stat -c %s "$ref/$f")" ] || fail "$1: size of $f"
    done
}
compare "page cache"
expect sync
echo 3 > /proc/sys/vm/drop_caches
compare "after drop_caches"
blocks=$(stat -c %b "$MNT/seq")
[ "$blocks" = 16384 ] || fail "seq: $blocks 512-byte blocks, not 16384"
# i_blocks before and after writeback (fstests generic/422's shape; writeback of files dirtied
# seconds ago does not start on its own): an overwrite of written blocks counts them once, blocks
# written into a hole count from the write on, writes into preallocated space add nothing.
expect xfs_io -f -c "pwrite -S 0x71 0 64k" -c fsync "$MNT/ib1" >/dev/null
expect xfs_io -f -c "pwrite -S 0x72 0 64k" -c "truncate 128k" -c fsync "$MNT/ib2" >/dev/null
expect xfs_io -f -c "falloc -k 0 128k" -c "pwrite -S 0x73 0 64k" -c fsync "$MNT/ib3" >/dev/null
expect xfs_io -c "pwrite -S 0x74 0 64k" "$MNT/ib1" >/dev/null
expect xfs_io -c "pwrite -S 0x75 64k 64k" "$MNT/ib2" >/dev/null
expect xfs_io -c "pwrite -S 0x76 64k 64k" "$MNT/ib3" >/dev/null
before=$(stat -c %b "$MNT/ib1" "$MNT/ib2" "$MNT/ib3" | tr '\n' ' ')
expect sync
after=$(stat -c %b "$MNT/ib1" "$MNT/ib2" "$MNT/ib3" | tr '\n' ' ')
[ "$before" = "128 256 256 " ] || fail "512-byte blocks of the overwritten, hole-filled and preallocated files before writeback: $before (128 256 256 expected)"
[ "$after" = "$before" ] || fail "512-byte blocks changed by writeback: $before -> $after"
expect umount "$MNT"
"$FSCK" -n "$TEST_DEV" || fail "fsck -n after writes (exit $?)"
[ "$(mount_errno "$TEST_DEV" rw)" = OK ] || fail "remount"
compare "after remount"
# SEEK_DATA/SEEK_HOLE see the sparse file's layout.
out=$(xfs_io -c "seek -a -r 0" "$MNT/sparse" | tr -s ' \t' ' ')
echo "$out"
echo "$out" | grep -q "DATA 4096" || fail "SEEK_DATA does not find data at 4096"
echo "$out" | grep -q "HOLE 8192" || fail "SEEK_HOLE does not find the hole at 8192"
expect rm "$MNT"/*
expect sync
free1=$(stat -f -c %f "$MNT")
[ "$free0" = "$free1" ] || fail "statfs free blocks $free1 after delete, $free0 before writing"
expect umount "$MNT"
"$FSCK" -n "$TEST_DEV" || fail "fsck -n after delete (exit $?)"
exit 0
