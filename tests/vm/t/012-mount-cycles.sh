# 20 mount/read/umount cycles and 20 insmod/rmmod cycles leave nothing behind: our inodes come from
# our own slab cache, which rmmod destroys after rcu_barrier(); a leaked inode makes
# kmem_cache_destroy() complain, which fails the test through the dmesg check. Also the
# norecovery option.
. tests/vm/lib.sh
need_tools
SRC=/tmp/cycle-src
rm -rf "$SRC"; mkdir -p "$SRC/a/b"
echo hello > "$SRC/a/b/f"; ln -s f "$SRC/a/b/l"; head -c 100000 /dev/urandom > "$SRC/data"
expect "$MKFS" -f -d "$SRC" "$TEST_DEV" >/dev/null
slab_active() { awk '$1 == "ferrofs_inode" {print $2}' /proc/slabinfo; }
load_ferrofs
for i in $(seq 20); do
    [ "$(mount_errno "$TEST_DEV")" = OK ] || fail "mount $i"
    find "$MNT" -type f -exec cat {} + > /dev/null || fail "read $i"
    readlink "$MNT/a/b/l" > /dev/null || fail "readlink $i"
    n=$(slab_active)
    [ -n "$n" ] && [ "$n" -ge 5 ] || fail "cycle $i: ferrofs_inode slab has '$n' active objects while mounted"
    expect umount "$MNT"
done
# norecovery (fstests mounts ro,norecovery): read-only mounts only, shown in /proc/mounts, and
# such a mount does not become read-write.
r=$(mount_errno "$TEST_DEV" rw norecovery); [ "$r" = EINVAL ] || fail "a read-write norecovery mount gave $r, not EINVAL"
[ "$(mount_errno "$TEST_DEV" ro norecovery)" = OK ] || fail "a read-only norecovery mount"
grep -q " $MNT ferrofs ro,.*norecovery" /proc/mounts || fail "norecovery is not in /proc/mounts: $(grep " $MNT " /proc/mounts)"
cmp "$MNT/data" "$SRC/data" || fail "read under norecovery"
mount -o remount,rw "$MNT" 2>/dev/null && fail "a norecovery mount was remounted read-write"
expect umount "$MNT"
# rmmod waits for the RCU-delayed inode frees, then destroys the cache: any inode still allocated
# makes kmem_cache_destroy() report it.
expect rmmod ferrofs
for i in $(seq 20); do
    expect insmod "$KO"
    expect rmmod ferrofs
done
grep -q ferrofs_inode /proc/slabinfo && fail "ferrofs_inode cache survived rmmod"
exit 0
