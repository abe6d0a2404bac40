# fio --verify with direct=1: psync, libaio and io_uring (queue depth 16), block sizes 4 KiB to
# 1 MiB, several jobs on one file; then one file written at once by a direct job, a buffered job
# and an mmap job (each in its own region, each verifying its own). Every scenario's data is
# verified again after drop_caches and after a remount, and fsck.ferrofs -n is clean. Sizes are
# bounded (tens of MiB).
. tests/vm/lib.sh
need_tools
command -v fio >/dev/null || fail "fio is not installed"
expect "$MKFS" -f -s 512m "$TEST_DEV" >/dev/null
load_ferrofs
[ "$(mount_errno "$TEST_DEV" rw)" = OK ] || fail "mount"
D=$MNT/fio
mkdir -p "$D"
FIO_COMMON="--directory=$D --group_reporting --minimal --invalidate=0 --verify_state_save=0 --fallocate=none"
fio_verified psync-seq --direct=1 --ioengine=psync --rw=write --bs=1m --size=16m --verify=crc32c
fio_verified psync-rand --direct=1 --ioengine=psync --rw=randwrite --bs=4k --size=8m --verify=crc32c --randrepeat=1
fio_verified libaio-rand --direct=1 --ioengine=libaio --iodepth=16 --rw=randwrite --bsrange=4k-64k --size=8m --verify=crc32c --randrepeat=1
fio_verified uring-rand --direct=1 --ioengine=io_uring --iodepth=16 --rw=randwrite --bs=16k --size=8m --verify=crc32c --randrepeat=1
fio_verified uring-seq --direct=1 --ioengine=io_uring --iodepth=16 --rw=write --bs=256k --size=16m --verify=crc32c
fio_verified jobs --direct=1 --ioengine=libaio --iodepth=8 --rw=randwrite --bs=8k --filename=shared --size=8m --offset_increment=8m --numjobs=4 --verify=crc32c --randrepeat=1
# One file, three kinds of writers at once, each in its own 8 MiB region. The mmap job has the
# first one: with --offset, fio 3.33's mmap engine wrote its blocks exactly 16 MiB early (into
# the direct job's region, whose verify then failed, and the other way round); at offset 0 it
# is right.
mixed="--filename=mixed --size=8m --rw=randwrite --bs=4k --verify=crc32c --randrepeat=1"
echo "--- mixed"
fio $FIO_COMMON --name=direct $mixed --offset=16m --direct=1 --ioengine=libaio --iodepth=8 --do_verify=1 \
    --name=buffered $mixed --offset=8m --ioengine=psync --do_verify=1 \
    --name=mmap $mixed --offset=0 --ioengine=mmap --do_verify=1 > /tmp/fio.out 2>&1 || { cat /tmp/fio.out; fail "mixed: fio"; }
echo 3 > /proc/sys/vm/drop_caches
fio $FIO_COMMON --name=direct $mixed --offset=16m --verify_only --name=buffered $mixed --offset=8m --verify_only \
    --name=mmap $mixed --offset=0 --verify_only > /tmp/fio.out 2>&1 || { cat /tmp/fio.out; fail "mixed: verify after drop_caches"; }
expect umount "$MNT"
"$FSCK" -n "$TEST_DEV" || fail "mixed: fsck -n (exit $?)"
exit 0
