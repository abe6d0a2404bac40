# fsx-style random operations against a model (tests/vm/lib/fsx.py, seeded and bounded, every
# operation logged): buffered, direct and mmap writes, reads of both kinds, truncate, fsync, page
# cache drops, every fallocate mode, clones and dedupes between ranges of the file, on three
# seeds (800 operations each); every 400 operations the file is closed, the filesystem unmounted, fsck -n run on it and
# mounted again, and the whole file compared with the model. Nothing may be refused with
# EOPNOTSUPP.
. tests/vm/lib.sh
need_tools
expect "$MKFS" -f -s 256m "$TEST_DEV" >/dev/null
load_ferrofs
[ "$(mount_errno "$TEST_DEV" rw)" = OK ] || fail "mount"
cycle="umount $MNT && $FSCK -n $TEST_DEV >/tmp/fsx-fsck.out 2>&1 || { cat /tmp/fsx-fsck.out; exit 1; }; $MNT_HELPER $TEST_DEV $MNT rw | grep -qx OK"
for seed in 1 2 3; do
    python3 tests/vm/lib/fsx.py "$MNT/fsx$seed" --seed "$seed" --ops 800 --max-size $((8 << 20)) \
        --log "/tmp/fsx$seed.log" --cycle-every 400 --cycle-cmd "$cycle" > /tmp/fsx.out 2>&1 \
        || { cat /tmp/fsx.out; fail "fsx seed $seed (log: /tmp/fsx$seed.log)"; }
    cat /tmp/fsx.out
    grep -q "not supported" /tmp/fsx.out && fail "fsx seed $seed: an operation was refused with EOPNOTSUPP"
    for op in falloc keepsize punch zero zero-keep collapse insert dwrite mwrite truncate clone dedupe; do
        grep -q "^[0-9]* $op " "/tmp/fsx$seed.log" || fail "fsx seed $seed never ran $op"
    done
done
expect umount "$MNT"
"$FSCK" -n "$TEST_DEV" || fail "fsck -n (exit $?)"
exit 0
