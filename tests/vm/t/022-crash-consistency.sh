# Crash consistency on dm-flakey: a seeded namespace workload with sync points (syncfs, fsync of a
# directory, sync) runs with periodic commits off; from a random operation on, every write is
# dropped. After unmount, a cache drop and a remount, the tree is exactly what the last sync point
# before the drop made durable: nothing of later operations, nothing half-done; fsck is clean. A
# drop point past the last operation checks a clean unmount instead.
# Three drop points per run; the seed is printed (FERROFS_SEED=N repeats a run).
. tests/vm/lib.sh
need_tools
load_ferrofs
DM=ferrofs-flakey
base=${FERROFS_SEED:-$RANDOM}
echo "seed $base"
for round in 1 2 3; do
    seed=$((base * 10 + round))
    drop_at=$(( (seed * 7919) % 70 ))
    echo "--- round $round: seed $seed, writes dropped from operation $drop_at of 60"
    flakey_create "$DM"
    expect "$MKFS" -f "/dev/mapper/$DM" >/dev/null
    [ "$(mount_errno "/dev/mapper/$DM" rw commit=86400)" = OK ] || fail "mount (round $round)"
    python3 tests/vm/lib/crashload.py "$MNT" "$DM" "$seed" 60 "$drop_at" /tmp/expected \
        || fail "workload failed (seed $seed)"
    expect umount "$MNT"
    flakey_restore "$DM"
    "$FSCK" -n "/dev/mapper/$DM" || fail "fsck.ferrofs -n after the drop (exit $?, seed $seed)"
    [ "$(mount_errno "/dev/mapper/$DM" rw)" = OK ] || fail "mount after the drop (seed $seed)"
    python3 tests/vm/lib/nsdump.py "$MNT/w" > /tmp/got || fail "dump"
    diff -u /tmp/expected /tmp/got || fail "the tree after the drop is not the last synced one (seed $seed)"
    expect umount "$MNT"
    expect dmsetup remove "$DM"
done
exit 0
