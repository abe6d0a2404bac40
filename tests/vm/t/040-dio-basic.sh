# Direct I/O basics: O_DIRECT opens; RWF_NOWAIT; aligned direct writes and reads (new files, overwrites, past
# the end, into holes) against a model file on tmpfs; misaligned ones, which go through the page
# cache, read back the same; direct reads of holes and of data still in the page cache; the
# copy-on-write of a direct overwrite (FIEMAP moves); STATX_DIOALIGN; everything the same after
# drop_caches and after a remount, fsck clean.
. tests/vm/lib.sh
need_tools
expect "$MKFS" -f -s 256m "$TEST_DEV" >/dev/null
load_ferrofs
[ "$(mount_errno "$TEST_DEV" rw)" = OK ] || fail "mount"
DIO=$H/dio
M=/tmp/model
mkdir -p "$M"
# The model is on tmpfs, which has no O_DIRECT: it gets the same writes buffered.
model() {
    local f=$1; shift
    xfs_io -f "$@" "$M/$f" >/dev/null || fail "model: xfs_io $*"
}
dw() { local f=$1; shift; xfs_io -f -d -c "$*" "$MNT/$f" >/dev/null || fail "direct: $* on $f"; model "$f" -c "$*"; }
same_all() {
    for f in a b c d e; do
        cmp "$MNT/$f" "$M/$f" || fail "$1: $f differs from the model"
        # Direct reads too (block-aligned sizes are read whole, the rest through the page cache).
        xfs_io -d -c "pread -b 1m 0 $(stat -c %s "$M/$f")" "$MNT/$f" >/dev/null || fail "$1: direct read of $f"
    done
}
dw a "pwrite -S 0x61 -b 1m 0 4m"                  # new file, 1 MiB writes
dw a "pwrite -S 0x62 -b 64k 1m 256k"              # overwrite in the middle
dw a "pwrite -S 0x63 -b 4k 8m 12k"                # past the end: a hole between
dw b "pwrite -S 0x64 -b 128k 0 1m"
dw b "pwrite -S 0x65 -b 4k 4096 8192"             # overwrite, block aligned
dw b "pwrite -S 0x66 -b 512 100352 1536"          # 512-aligned: through the page cache
dw b "pwrite -S 0x67 -b 1000 5000 3000"           # misaligned in every way
dw c "pwrite -S 0x68 -b 4k 1m 4k"                 # only a block, after a hole
# RWF_NOWAIT: an aligned direct write is done whole, or refused with EAGAIN when it would block
# (the timestamp update alone needs a transaction when the time moved on); a misaligned one
# would have to go through the page cache and wait for writeback: always EAGAIN. Nothing is
# written by a refused one.
out=$(xfs_io -d -c "pwrite -N -V 1 -S 0x6d 0 4k" "$MNT/c" 2>&1)
if echo "$out" | grep -q "wrote 4096/4096"; then model c -c "pwrite -S 0x6d 0 4k";
else echo "$out" | grep -q "Resource temporarily unavailable" || fail "aligned RWF_NOWAIT direct write: $out"; fi
out=$(xfs_io -d -c "pwrite -N -V 1 -S 0x6e 512 1024" "$MNT/c" 2>&1)
echo "$out" | grep -q "Resource temporarily unavailable" || fail "misaligned RWF_NOWAIT direct write: $out"
# Buffered data, then direct: the direct write must see (and replace) the page cache.
xfs_io -f -c "pwrite -S 0x69 0 64k" "$MNT/d" >/dev/null; model d -c "pwrite -S 0x69 0 64k"
dw d "pwrite -S 0x6a -b 16k 16k 16k"
# Buffered data not written back yet, then a direct read: it sees the new data.
xfs_io -f -c "pwrite -S 0x6b 0 128k" "$MNT/e" >/dev/null; model e -c "pwrite -S 0x6b 0 128k"
got=$(xfs_io -d -c "pread -v 65536 16" "$MNT/e" | head -1 | awk '{print $2}')
[ "$got" = 6b ] || fail "a direct read does not see buffered data ($got)"
same_all "written"
# Direct reads of a hole read zeros.
xfs_io -d -c "pread -v 4194304 16" "$MNT/a" | grep -q "00 00 00 00" || fail "hole does not read as zeros"
# A direct overwrite is copy-on-write: the extent moves.
before=$(xfs_io -c "fiemap" "$MNT/b" | awk 'NR==2 {print $3}')
expect xfs_io -d -c "pwrite -S 0x6c 0 64k" "$MNT/b" >/dev/null; model b -c "pwrite -S 0x6c 0 64k"
after=$(xfs_io -c "fiemap" "$MNT/b" | awk 'NR==2 {print $3}')
[ -n "$before" ] && [ "$before" != "$after" ] || fail "direct overwrite did not move the extent ($before -> $after)"
# STATX_DIOALIGN says what O_DIRECT accepts: the device's logical block size (requests not
# aligned to the filesystem block finish through the page cache, checked above).
lbs=$(blockdev --getss "$TEST_DEV")
[ "$("$DIO" statx "$MNT/a")" = "$lbs $lbs" ] || fail "STATX_DIOALIGN: $("$DIO" statx "$MNT/a"), not the logical block size $lbs"
echo 3 > /proc/sys/vm/drop_caches
same_all "after drop_caches"
expect umount "$MNT"
"$FSCK" -n "$TEST_DEV" || fail "fsck -n (exit $?)"
[ "$(mount_errno "$TEST_DEV" rw)" = OK ] || fail "remount"
same_all "after remount"
expect umount "$MNT"
exit 0
