# POSIX ACLs: the same setfacl/chmod/create scenario on ext4 (the reference) and on ferrofs gives
# the same `getfacl` of every inode and modes: access and default ACLs, inheritance by files, directories,
# special files and O_TMPFILE files (the umask applies only without a default ACL), the mask
# following chmod, setfacl -b/-k, an ACL equal to the mode stored as the mode alone. ACLs grant and
# deny access to other users; they survive unmount, fsck.ferrofs -n and mount; `noacl` turns
# them off (setfacl: EOPNOTSUPP, shown in /proc/mounts) and a remount with `acl` back on.
. tests/vm/lib.sh
need_tools

scenario() {
    local d=$1
    umask 022
    mkdir "$d/top" && cd "$d/top" || return 1
    mkdir plain && touch plain/f || return 1
    touch f_acl && setfacl -m u:1234:rw-,g:5678:r--,m::rw- f_acl || return 1
    touch f_eq && setfacl -m u::rw-,g::r--,o::--- f_eq || return 1
    mkdir inherit && setfacl -m u:1234:rwx inherit && setfacl -d -m u:1234:rw-,g:5678:r-x,o::--- inherit || return 1
    touch inherit/file && mkdir inherit/sub && touch inherit/sub/deeper || return 1
    mknod inherit/fifo p || return 1
    xfs_io -T -c "flink inherit/tmpfile" inherit || return 1
    touch chm && setfacl -m u:1234:rwx,g:5678:rwx chm && chmod 640 chm || return 1
    touch strip && setfacl -m u:1234:rwx strip && setfacl -b strip || return 1
    mkdir kdir && setfacl -d -m u:1234:rwx kdir && setfacl -k kdir || return 1
    # Owned by root, 0600, read access for uid 1234 only through its ACL entry.
    echo secret > private && chmod 600 private && setfacl -m u:1234:r-- private || return 1
    cd / || return 1
}

dump() {
    # In name order: the two filesystems' readdir orders differ.
    (cd "$1/top" && find . -print0 | sort -z | xargs -0 getfacl -p 2>&1 && find . -printf '%p %M\n' | sort)
}

expect mkfs.ext4 -q -F "$SCRATCH_DEV"
mkdir -p /tmp/ext4
expect mount "$SCRATCH_DEV" /tmp/ext4
scenario /tmp/ext4 || fail "the scenario fails on ext4 (the reference)"
dump /tmp/ext4 > /tmp/acl-want
expect umount /tmp/ext4

expect "$MKFS" -f "$TEST_DEV" >/dev/null
load_ferrofs
[ "$(mount_errno "$TEST_DEV" rw)" = OK ] || fail "read-write mount"
scenario "$MNT" || fail "the scenario fails on ferrofs"
dump "$MNT" > /tmp/acl-got
diff -u /tmp/acl-want /tmp/acl-got || fail "getfacl and modes differ from ext4"
grep -q "user:1234:rw-" /tmp/acl-got || fail "the reference dump has no ACL entries: $(head -20 /tmp/acl-got)"
# The ACL is what lets uid 1234 read; uid 1235 is refused; 1234 cannot write.
[ "$(setpriv --reuid=1234 --regid=1234 --clear-groups cat "$MNT/top/private")" = secret ] || fail "uid 1234 cannot read through its ACL entry"
setpriv --reuid=1235 --regid=1235 --clear-groups cat "$MNT/top/private" 2>/dev/null && fail "uid 1235 read a 0600 file"
setpriv --reuid=1234 --regid=1234 --clear-groups sh -c "echo x >> '$MNT/top/private'" 2>/dev/null && fail "uid 1234 wrote through a read-only ACL entry"
# Stored as extended attributes, as the other filesystems show them.
getfattr --absolute-names -m - "$MNT/top/f_acl" | grep -qx "system.posix_acl_access" || fail "listxattr does not show system.posix_acl_access"
getfattr --absolute-names -m - "$MNT/top/f_eq" | grep -q posix_acl && fail "an ACL equal to the mode was stored"

expect umount "$MNT"
"$FSCK" -n "$TEST_DEV" || fail "fsck.ferrofs -n after the ACL scenario (exit $?)"
[ "$(mount_errno "$TEST_DEV" rw)" = OK ] || fail "second mount"
dump "$MNT" > /tmp/acl-again
diff -u /tmp/acl-got /tmp/acl-again || fail "ACLs changed across unmount and mount"
[ "$(setpriv --reuid=1234 --regid=1234 --clear-groups cat "$MNT/top/private")" = secret ] || fail "uid 1234 cannot read after remount"

# noacl: off (setfacl fails, the ACL grants nothing), shown; a remount with acl turns them on.
expect mount -o remount,noacl "$MNT"
grep -q " $MNT ferrofs rw,.*noacl" /proc/mounts || fail "noacl is not in /proc/mounts: $(grep " $MNT " /proc/mounts)"
out=$(setfacl -m u:1234:rw- "$MNT/top/plain/f" 2>&1) && fail "setfacl worked under noacl"
echo "$out" | grep -q "Operation not supported" || fail "setfacl under noacl: $out"
expect mount -o remount,acl "$MNT"
grep -q " $MNT ferrofs .*noacl" /proc/mounts && fail "noacl still shown after remount,acl"
expect setfacl -m u:1234:rw- "$MNT/top/plain/f"
expect umount "$MNT"
"$FSCK" -n "$TEST_DEV" || fail "fsck.ferrofs -n at the end (exit $?)"
echo "ACLs: same as ext4, enforced, persistent, noacl/acl"
