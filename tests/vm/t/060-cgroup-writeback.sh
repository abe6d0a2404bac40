# Writeback is charged to the cgroup that dirtied the pages, not to whoever writes it back
# (SB_I_CGROUPWB; fstests generic/563), and reads to the cgroup that reads:
# 1. 8 MiB written (not synced) in cgroup A, then fsynced from the root cgroup: A's io.stat
#    counts the 8 MiB written (within 5%); cgroup B, which did nothing, counts nothing.
# 2. The page cache dropped, the file read in B: B counts the 8 MiB read (within 5%), A no more
#    reads than a little metadata.
# Skipped when the kernel has no cgroup writeback (a KDIR= kernel without CONFIG_CGROUP_WRITEBACK).
. tests/vm/lib.sh
need_tools
CG=/sys/fs/cgroup
[ -d "$CG" ] || skip "the kernel has no cgroups (CONFIG_CGROUPS)"
grep -q " $CG cgroup2 " /proc/mounts || expect mount -t cgroup2 cgroup2 "$CG"
for c in io memory; do
    grep -qw "$c" "$CG/cgroup.controllers" || skip "no cgroup v2 $c controller (CONFIG_BLK_CGROUP, CONFIG_MEMCG)"
done
expect "$MKFS" -f -s 256m "$TEST_DEV" >/dev/null
load_ferrofs
[ "$(mount_errno "$TEST_DEV" rw)" = OK ] || fail "mount"
expect sh -c "echo '+io +memory' > $CG/cgroup.subtree_control"
expect mkdir -p "$CG/ferrofs-a" "$CG/ferrofs-b"
dev="$(( 0x$(stat -L -c %t "$TEST_DEV") )):$(( 0x$(stat -L -c %T "$TEST_DEV") ))"
SIZE=$((8 * 1048576))
# stat_of CGROUP rbytes|wbytes: the cgroup's count for the test device (0 when it has none).
stat_of() {
    awk -v d="$dev" -v k="$2" '$1 == d { for (i = 2; i <= NF; i++) { split($i, a, "="); if (a[1] == k) print a[2] } }' "$CG/$1/io.stat" |
        grep . || echo 0
}
# near WHAT GOT WANT: GOT within 5% of WANT.
near() {
    [ "$2" -ge $(( $3 * 95 / 100 )) ] && [ "$2" -le $(( $3 * 105 / 100 )) ] || fail "$1: $2 bytes, not $3 within 5%"
}
# in CGROUP COMMAND...: runs the command in the cgroup (a subshell moved there first).
in_cg() { local cg=$1; shift; ( echo "$BASHPID" > "$CG/$cg/cgroup.procs" && exec "$@" ) || fail "in $cg: $*"; }

echo "--- 1. writeback charged to the cgroup that dirtied"
in_cg ferrofs-a xfs_io -f -c "pwrite -q -b 4k 0 $SIZE" "$MNT/file"
expect xfs_io -c fsync "$MNT/file"
near "bytes written charged to A" "$(stat_of ferrofs-a wbytes)" $SIZE
[ "$(stat_of ferrofs-b wbytes)" = 0 ] || fail "B wrote nothing but is charged $(stat_of ferrofs-b wbytes) bytes written"

echo "--- 2. reads charged to the reader"
a_reads=$(stat_of ferrofs-a rbytes)
expect sh -c "echo 3 > /proc/sys/vm/drop_caches"
in_cg ferrofs-b xfs_io -c "pread -q 0 $SIZE" "$MNT/file"
near "bytes read charged to B" "$(stat_of ferrofs-b rbytes)" $SIZE
[ $(( $(stat_of ferrofs-a rbytes) - a_reads )) -le 65536 ] || fail "A read nothing but is charged $(stat_of ferrofs-a rbytes) bytes read"

expect rmdir "$CG/ferrofs-a" "$CG/ferrofs-b"
expect umount "$MNT"
"$FSCK" -n "$TEST_DEV" >/dev/null || fail "fsck.ferrofs -n (exit $?)"
exit 0
