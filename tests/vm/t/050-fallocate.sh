# fallocate(2), each mode against ext4 doing the same in the same boot (on the scratch device):
# 1. mode 0 on a new file: the size moves, the blocks are allocated (st_blocks, statfs) and read as
#    zeros; FIEMAP shows them unwritten; buffered and direct writes into the middle read back with
#    zeros around them, and FIEMAP then shows those ranges written, in place (the same device
#    blocks as before), and the rest still unwritten.
# 2. KEEP_SIZE past the end: the size stays, the blocks are counted; a truncate up over them reads
#    zeros; fsck accepts preallocated extents past the end.
# 3. PUNCH_HOLE with partial blocks at both edges, over synced data, over dirty page cache never
#    written back and over pages dirtied through a mapping: the range reads zeros at once, after
#    drop_caches and after a remount; whole blocks are freed (st_blocks, SEEK_HOLE).
# 4. ZERO_RANGE with and without KEEP_SIZE, inside and past the end: zeros, space kept allocated.
# 5. COLLAPSE_RANGE and INSERT_RANGE (in the middle of extents, over holes and preallocated
#    space, across many items) move the rest of the file and change its size; misaligned ranges,
#    a collapse reaching the end and an insert at the end are EINVAL (UNSHARE_RANGE: 058).
# 6. A preallocation larger than the free space fails with ENOSPC and leaves the filesystem
#    usable; the space comes back when the file is deleted.
# 7. Space set aside is there: with the filesystem filled up after a preallocation, buffered,
#    mmap and direct writes into the preallocated range still succeed (and fsync).
# Contents are compared with ext4 after every stage, after drop_caches and after a remount;
# fsck -n is clean.
. tests/vm/lib.sh
need_tools
expect "$MKFS" -f -s 256m "$TEST_DEV" >/dev/null
load_ferrofs
[ "$(mount_errno "$TEST_DEV" rw)" = OK ] || fail "mount"
REF=/tmp/ext4
expect mkfs.ext4 -q -F "$SCRATCH_DEV"
mkdir -p "$REF"
expect mount -t ext4 "$SCRATCH_DEV" "$REF"
# both FILE XFS_IO_ARGS...: the same xfs_io commands on ferrofs and on ext4.
both() { local f=$1; shift; expect xfs_io -f "$@" "$MNT/$f" >/dev/null; expect xfs_io -f "$@" "$REF/$f" >/dev/null; }
FILES=""
compare() {
    for f in $FILES; do
        [ "$(stat -c %s "$MNT/$f")" = "$(stat -c %s "$REF/$f")" ] || fail "$1: $f is $(stat -c %s "$MNT/$f") bytes, ext4's $(stat -c %s "$REF/$f")"
        cmp "$MNT/$f" "$REF/$f" || fail "$1: $f differs from ext4's"
    done
}
blocks() { echo $(( $(stat -c %b "$MNT/$1") * 512 )); }
unwritten() { [ $(( $1 & 0x800 )) -ne 0 ]; }
MiB=1048576

echo "--- 1. mode 0"
free0=$(stat -f -c %f "$MNT")
both a -c "falloc 0 8m"
FILES=a
[ "$(stat -c %s "$MNT/a")" = $((8 * MiB)) ] || fail "size after falloc 0 8m: $(stat -c %s "$MNT/a")"
[ "$(blocks a)" = $((8 * MiB)) ] || fail "st_blocks after falloc 0 8m: $(blocks a) bytes"
free1=$(stat -f -c %f "$MNT")
[ $((free0 - free1)) -ge 2048 ] || fail "statfs free blocks went from $free0 to $free1 (8 MiB preallocated)"
compare "falloc"
fiemap_flags "$MNT/a" > /tmp/fm
[ -s /tmp/fm ] || fail "FIEMAP shows no extent of a preallocated file"
while read -r s e fl; do unwritten "$fl" || fail "preallocated extent $s..$e not unwritten (flags $fl)"; done < /tmp/fm
p2=$(phys_at "$MNT/a" $((2 * MiB))); p5=$(phys_at "$MNT/a" $((5 * MiB)))
[ -n "$p2" ] && [ -n "$p5" ] || fail "FIEMAP does not map the preallocated file"
both a -c "pwrite -S 0x61 2m 1m"
both a -d -c "pwrite -S 0x62 5m 1m"
compare "writes into preallocated space"
expect sync
[ "$(phys_at "$MNT/a" $((2 * MiB)))" = "$p2" ] || fail "the buffered write into preallocated space moved it (sector $p2, now $(phys_at "$MNT/a" $((2 * MiB))))"
[ "$(phys_at "$MNT/a" $((5 * MiB)))" = "$p5" ] || fail "the direct write into preallocated space moved it (sector $p5, now $(phys_at "$MNT/a" $((5 * MiB))))"
# A second write there is copy-on-write again (the blocks hold data now).
both a -c "pwrite -S 0x6b 2m 4k" -c fsync
[ "$(phys_at "$MNT/a" $((2 * MiB)))" != "$p2" ] || fail "an overwrite of written data was not copy-on-write"
compare "overwrite of converted space"
fiemap_flags "$MNT/a" > /tmp/fm
cat /tmp/fm
while read -r s e fl; do
    if [ "$s" -lt $((6 * MiB)) ] && [ "$e" -gt $((5 * MiB)) ] || { [ "$s" -lt $((3 * MiB)) ] && [ "$e" -gt $((2 * MiB)) ]; }; then
        unwritten "$fl" && fail "written range $s..$e still unwritten (flags $fl)"
    else
        unwritten "$fl" || fail "range $s..$e outside the writes not unwritten (flags $fl)"
    fi
done < /tmp/fm
[ "$(blocks a)" = $((8 * MiB)) ] || fail "st_blocks after writing into preallocated space: $(blocks a) bytes"

echo "--- 2. KEEP_SIZE past the end"
both a -c "falloc -k 8m 4m"
[ "$(stat -c %s "$MNT/a")" = $((8 * MiB)) ] || fail "size after falloc -k: $(stat -c %s "$MNT/a")"
[ "$(blocks a)" = $((12 * MiB)) ] || fail "st_blocks after falloc -k 8m 4m: $(blocks a) bytes"
both b -c "pwrite -S 0x63 0 10000" -c "falloc -k 0 1m" -c "truncate 600000"
FILES="a b"
compare "keep-size preallocation"
# generic/092's shape: a truncate to the same size frees what is preallocated past the end (ext4
# and XFS do; ferrofs kept it), and the written part stays.
both k -c "falloc -k 0 1m" -c "pwrite -S 0x64 0 256k" -c "truncate 256k"
for d in "$MNT" "$REF"; do
    [ "$(( $(stat -c %b "$d/k") * 512 ))" = $((256 * 1024)) ] || fail "st_blocks of $d/k after a truncate to its size: $(( $(stat -c %b "$d/k") * 512 )) bytes, expected 256 KiB"
done
FILES="a b k"
compare "truncate to the same size"

echo "--- 3. PUNCH_HOLE"
both c -c "pwrite -S 0x64 0 4m" -c fsync
FILES="a b c k"
both c -c "fpunch 1000 100000"
both c -c "fpunch 2m 1m"
compare "punch over synced data"
[ "$(blocks c)" -le $((3 * MiB)) ] || fail "st_blocks after punching 1 MiB and more of 4 MiB: $(blocks c) bytes"
hole=$(xfs_io -r -c "seek -h 2m" "$MNT/c" | awk '/^HOLE/ {print $2}')
[ "$hole" = $((2 * MiB)) ] || fail "SEEK_HOLE from 2m: $hole"
# Dirty page cache, never written back, then punched.
both d -c "pwrite -S 0x65 0 1m" -c fsync -c "pwrite -S 0x66 0 1m" -c "fpunch 4095 500001"
# Pages dirtied through a mapping, then punched.
both e -c "pwrite -S 0x67 0 1m" -c fsync -c "mmap -rw 0 1m" -c "mwrite -S 0x68 0 1m" -c "fpunch 8192 65536" -c "munmap"
# Over a preallocated range and past the end.
both a -c "fpunch 7m 3m"
FILES="a b c d e k"
compare "punch"
echo 3 > /proc/sys/vm/drop_caches
compare "punch, after drop_caches"

echo "--- 4. ZERO_RANGE"
both f -c "pwrite -S 0x69 0 2m" -c fsync -c "fzero 100 200000" -c "fzero -k 1m 3m" -c "fzero 3m 1m"
both c -c "fzero 3000 5000" -c "fzero 4m 123457"
FILES="a b c d e f k"
compare "zero range"
[ "$(stat -c %s "$MNT/f")" = $((4 * MiB)) ] || fail "size after fzero 3m 1m: $(stat -c %s "$MNT/f")"
[ "$(blocks f)" -ge $((4 * MiB)) ] || fail "st_blocks after zeroing 4 MiB: $(blocks f) bytes (zeroing keeps space allocated)"

echo "--- 5. collapse, insert"
both h -c "pwrite -S 0x70 -b 64k 0 1m" -c fsync -c "falloc 1m 1m" -c "pwrite -S 0x71 3m 1m" -c fsync
both h -c "fcollapse 64k 128k" -c "finsert 200k 64k" -c "fcollapse 1m 512k" -c "finsert 0 4k"
# Many items: every other 4 KiB block written, then the middle collapsed and the start shifted.
many=(); for k in $(seq 0 2 500); do many+=(-c "pwrite -S 0x72 $((k * 4))k 4k"); done
both i -c "truncate 2m" "${many[@]}" -c fsync
both i -c "fcollapse 400k 800k" -c "finsert 4k 1m"
FILES="a b c d e f h i k"
compare "collapse and insert"
# generic/064's shape: 50 one-block inserts into a 100-block extent, then 50 collapses of the
# holes: the file is one contiguous range again, and FIEMAP says so in one extent, as on ext4
# (ferrofs keeps 50 items that continue each other in one disk extent; FIEMAP merges them).
both j -c "pwrite -S 0x73 0 400k" -c fsync
ins=(); col=(); for k in $(seq 0 49); do ins+=(-c "finsert $((k * 8))k 4k"); col+=(-c "fcollapse $((k * 4))k 4k"); done
both j "${ins[@]}"
n=$(xfs_io -r -c fiemap "$MNT/j" | tail -n +2 | grep -vc hole)
[ "$n" -ge 47 ] && [ "$n" -le 53 ] || fail "FIEMAP after 50 inserts: $n extents, expected about 50"
both j "${col[@]}"
FILES="a b c d e f h i j k"
compare "generic/064's inserts and collapses"
for d in "$MNT" "$REF"; do
    n=$(xfs_io -r -c fiemap "$d/j" | tail -n +2 | grep -vc hole)
    [ "$n" = 1 ] || fail "FIEMAP of $d/j after the collapses: $n extents, expected 1"
done
python3 - "$MNT/h" <<'PY' || fail "refused modes"
import ctypes, errno, os, sys
libc = ctypes.CDLL(None, use_errno=True)
libc.fallocate.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_long, ctypes.c_long]
fd = os.open(sys.argv[1], os.O_RDWR)
size = os.fstat(fd).st_size
for name, mode, off, ln, want in (("COLLAPSE_RANGE misaligned", 8, 1000, 4096, errno.EINVAL),
                                  ("COLLAPSE_RANGE to the end", 8, size - 4096, 4096, errno.EINVAL),
                                  ("INSERT_RANGE at the end", 0x20, size, 4096, errno.EINVAL),
                                  ("INSERT_RANGE misaligned", 0x20, 4096, 100, errno.EINVAL)):
    r = libc.fallocate(fd, mode, off, ln)
    e = ctypes.get_errno()
    if r == 0 or e != want:
        sys.exit("%s: %s, not %s" % (name, "success" if r == 0 else errno.errorcode.get(e), errno.errorcode[want]))
if os.fstat(fd).st_size != size:
    sys.exit("a refused mode changed the size")
PY

echo "--- 6. ENOSPC"
# statfs counts blocks freed since the last commit as used (they are reusable only after it) and a
# preallocation short of space commits to get them back: commit first, so the free count is all.
expect sync -f "$MNT"
free=$(stat -f -c '%a * %S' "$MNT")
free=$((free))
# (xfs_io's exit status does not say whether a command failed: its message does.)
out=$(xfs_io -f -c "falloc 0 $((free + 16 * MiB))" "$MNT/big" 2>&1)
echo "$out" | grep -q "No space left" || fail "a preallocation larger than the free space: ${out:-succeeded}"
rm -f "$MNT/big"
expect xfs_io -f -c "pwrite -S 0x6a 0 1m" -c fsync "$MNT/after-enospc" >/dev/null
expect rm "$MNT/after-enospc"
expect sync

echo "--- 7. preallocated space is there on a full filesystem"
both g -c "falloc 0 8m"
FILES="a b c d e f h i j k g"
dd if=/dev/zero of="$MNT/filler" bs=1M status=none 2>/dev/null && fail "filling the filesystem did not end in ENOSPC"
dd if=/dev/zero of="$MNT/filler" bs=4k oflag=append conv=notrunc status=none 2>/dev/null
expect sync
out=$(xfs_io -f -c "pwrite 0 64k" "$MNT/more" 2>&1)
echo "$out" | grep -q "No space left" || fail "the filesystem is not full: a 64 KiB write gave ${out:-no error}"
rm -f "$MNT/more"
both g -c "pwrite -S 0x6c 0 2m" -c fsync
both g -d -c "pwrite -S 0x6d 2m 2m" -c fsync
both g -c "mmap -rw 4m 2m" -c "mwrite -S 0x6e 4m 2m" -c "msync 4m 2m" -c munmap -c fsync
compare "writes into preallocated space on a full filesystem"
expect rm "$MNT/filler"
expect sync

echo "--- remount"
expect umount "$MNT"
"$FSCK" -n "$TEST_DEV" || fail "fsck -n (exit $?)"
[ "$(mount_errno "$TEST_DEV" rw)" = OK ] || fail "remount"
compare "after remount"
[ "$(blocks a)" -ge $((9 * MiB)) ] || fail "st_blocks of a after remount: $(blocks a) bytes"
for f in $FILES; do expect rm "$MNT/$f"; done
expect sync
free2=$(stat -f -c %f "$MNT")
[ "$free2" -ge $((free0 - 64)) ] || fail "free blocks after deleting everything: $free2, $free0 at the start"
expect umount "$MNT"
expect umount "$REF"
"$FSCK" -n "$TEST_DEV" || fail "fsck -n at the end (exit $?)"
exit 0
