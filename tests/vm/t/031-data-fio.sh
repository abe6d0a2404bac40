# fio --verify on ferrofs: sequential, random, sub-block and overlapping writes from several jobs,
# with crc32c and pattern verification; the data is verified again after drop_caches and after a
# remount, and fsck.ferrofs -n is clean after every scenario. Sizes are bounded (tens of MiB).
. tests/vm/lib.sh
need_tools
command -v fio >/dev/null || fail "fio is not installed"
expect "$MKFS" -f -s 512m "$TEST_DEV" >/dev/null
load_ferrofs
[ "$(mount_errno "$TEST_DEV" rw)" = OK ] || fail "mount"
D=$MNT/fio
mkdir -p "$D"
# The page cache is dropped by drop_caches (the test kernel has no fadvise); fio keeps no state
# files (the guest's working directory is read-only); no fallocate yet (the next issue).
common="--directory=$D --ioengine=psync --group_reporting --minimal --invalidate=0 --verify_state_save=0 --fallocate=none"
# run NAME ARGS...: write with verification, then verify the same files again after
# drop_caches and after a remount (--verify_only replays the written pattern).
run() {
    local name=$1; shift
    echo "--- $name"
    fio --name="$name" $common "$@" --do_verify=1 > /tmp/fio.out 2>&1 || { cat /tmp/fio.out; fail "$name: fio write+verify"; }
    expect sync
    echo 3 > /proc/sys/vm/drop_caches
    fio --name="$name" $common "$@" --verify_only > /tmp/fio.out 2>&1 || { cat /tmp/fio.out; fail "$name: verify after drop_caches"; }
    expect umount "$MNT"
    "$FSCK" -n "$TEST_DEV" || fail "$name: fsck -n (exit $?)"
    [ "$(mount_errno "$TEST_DEV" rw)" = OK ] || fail "$name: remount"
    fio --name="$name" $common "$@" --verify_only > /tmp/fio.out 2>&1 || { cat /tmp/fio.out; fail "$name: verify after remount"; }
}
run seq --rw=write --bs=1m --size=48m --verify=crc32c
run rand --rw=randwrite --bs=4k --size=16m --verify=crc32c --randrepeat=1 --norandommap=0
run subblock --rw=randwrite --bs=1536 --size=3m --verify=pattern --verify_pattern=0x5a --randrepeat=1
run sparse --rw=write:60k --bs=4k --size=24m --verify=crc32c --fallocate=truncate
run jobs --rw=randwrite --bs=16k --size=8m --numjobs=4 --verify=crc32c --randrepeat=1
# Several jobs writing one file at once, each in its own region, which it verifies.
run shared --rw=randwrite --bs=8k --filename=shared --size=8m --offset_increment=8m --numjobs=4 --verify=crc32c --randrepeat=1
expect rm -rf "$D"
expect umount "$MNT"
"$FSCK" -n "$TEST_DEV" || fail "fsck -n at the end (exit $?)"
exit 0
