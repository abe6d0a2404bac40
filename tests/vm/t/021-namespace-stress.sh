# Four processes create, link, rename (plain, NOREPLACE, EXCHANGE, WHITEOUT), unlink and rmdir in
# shared directories for a bounded time while commits run (commit=1); each checks the tree against
# the model of its successful operations. Then: fsck clean, and the tree unchanged across unmount
# and mount. Lockdep, hung-task and the dmesg checker watch throughout.
. tests/vm/lib.sh
need_tools
expect "$MKFS" -f "$TEST_DEV" >/dev/null
load_ferrofs
[ "$(mount_errno "$TEST_DEV" rw commit=1)" = OK ] || fail "mount"
grep -q "commit=1" /proc/mounts || fail "commit=1 not shown in /proc/mounts"
seed=${FERROFS_SEED:-$RANDOM}
echo "seed $seed"
"$H/nsstress" "$MNT" 4 20 "$seed" || fail "stress run failed (seed $seed)"
python3 tests/vm/lib/nsdump.py "$MNT" > /tmp/before || fail "dump"
expect umount "$MNT"
"$FSCK" -n "$TEST_DEV" || fail "fsck.ferrofs -n after the stress run (exit $?, seed $seed)"
[ "$(mount_errno "$TEST_DEV" rw)" = OK ] || fail "remount"
python3 tests/vm/lib/nsdump.py "$MNT" > /tmp/after || fail "dump after remount"
diff -u /tmp/before /tmp/after || fail "tree changed across unmount and mount"
expect umount "$MNT"
exit 0
