# Direct writes from mapped buffers (generic/708's shape; the btrfs partial-write corruption of
# seed 001 read such a copy back as zeros): a 2 MiB file of random bytes is mapped with only its
# first page touched and written O_DIRECT into another file, so the write faults part-way and
# resumes; again with no page touched (the first pass stops at its first page and ends with
# nothing written: the write loop faults in and retries); again with every page present but the
# middle ones dropped by madvise(MADV_DONTNEED) (the write faults in its middle); then a
# file's first half written from a mapping of that same range (the buffer is the destination),
# and its second half from a mapping of its first half. Every copy equals its source in the page
# cache, after drop_caches and after a remount; fsck clean; no lockdep report or hung task. All of
# it twice: with the module's dio_prefault_kib window off, so that the first two copies must take
# the retry path (the dio_retries counter says they did), and with the default window, which
# faults the buffer in before the write. Then asynchronous requests with IOCB_NOWAIT (io_uring's
# first try, aio with RWF_NOWAIT) into and from buffers with only the first page present
# (generic/678's shape): each completes whole (or aio's is refused with EAGAIN), never short.
. tests/vm/lib.sh
need_tools
expect "$MKFS" -f -s 256m "$TEST_DEV" >/dev/null
load_ferrofs
[ "$(mount_errno "$TEST_DEV" rw)" = OK ] || fail "mount"
DIO=$H/dio
expect head -c 2m /dev/urandom > /tmp/src.ref
for f in src self cross; do expect cp /tmp/src.ref "$MNT/$f"; done
expect head -c 4m /dev/urandom > /tmp/big.ref
expect cp /tmp/big.ref "$MNT/big"
expect sync
echo 3 > /proc/sys/vm/drop_caches
PAR=/sys/module/ferrofs/parameters
[ -f $PAR/dio_prefault_kib ] && [ -f $PAR/dio_retries ] || fail "no dio_prefault_kib/dio_retries module parameters"
WIN=$(cat $PAR/dio_prefault_kib)
# copies SUFFIX: the four copies, into files named with SUFFIX.
copies() {
    local s=$1 r
    r=$(cat $PAR/dio_retries)
    "$DIO" mmapcopy "$MNT/src" "$MNT/first$s" first || fail "copy from a mapping touched on its first page ($s)"
    retried_first=$(( $(cat $PAR/dio_retries) - r )); r=$(cat $PAR/dio_retries)
    "$DIO" mmapcopy "$MNT/src" "$MNT/none$s" none || fail "copy from a mapping with no page touched ($s)"
    retried_none=$(( $(cat $PAR/dio_retries) - r )); r=$(cat $PAR/dio_retries)
    "$DIO" mmapcopy "$MNT/big" "$MNT/holes$s" holes || fail "copy from a mapping whose middle pages were dropped (MADV_DONTNEED, $s)"
    retried_holes=$(( $(cat $PAR/dio_retries) - r ))
    "$DIO" selfcopy "$MNT/self$s" || fail "direct write from a mapping of the destination range ($s)"
    "$DIO" crosscopy "$MNT/cross$s" || fail "direct write from a mapping of another range of the file ($s)"
}
# First with the prefault window off: the first two writes end a pass short on a fault and
# resume (the retry path, counted by dio_retries); then with the default window, which faults
# the buffers in before the write.
for f in self cross; do expect cp "$MNT/$f" "$MNT/${f}-r"; done
echo 0 > $PAR/dio_prefault_kib
copies -r
echo "$WIN" > $PAR/dio_prefault_kib
[ "$retried_first" -ge 1 ] || fail "the copy from a mapping touched on its first page never took the retry path"
[ "$retried_none" -ge 1 ] || fail "the copy from a mapping with no page touched never took the retry path"
[ "$retried_holes" -ge 1 ] || fail "the copy from a mapping with dropped middle pages never took the retry path"
echo "retry path taken: $retried_first times (first), $retried_none (none), $retried_holes (holes)"
copies ""
"$DIO" nowaitfault "$MNT/nowait" || fail "asynchronous NOWAIT direct I/O with unfaulted buffers"
check() {
    local s
    for s in "" -r; do
        cmp "$MNT/first$s" /tmp/src.ref || fail "$1: first$s"
        cmp "$MNT/none$s" /tmp/src.ref || fail "$1: none$s"
        cmp "$MNT/holes$s" /tmp/big.ref || fail "$1: holes$s"
        cmp "$MNT/self$s" /tmp/src.ref || fail "$1: self$s"
        cmp -n 1048576 "$MNT/cross$s" /tmp/src.ref || fail "$1: cross$s, first half"
        cmp -n 1048576 -i 1048576:0 "$MNT/cross$s" /tmp/src.ref || fail "$1: cross$s, second half"
    done
}
check "page cache"
echo 3 > /proc/sys/vm/drop_caches
check "after drop_caches"
expect umount "$MNT"
"$FSCK" -n "$TEST_DEV" || fail "fsck -n (exit $?)"
[ "$(mount_errno "$TEST_DEV" rw)" = OK ] || fail "remount"
check "after remount"
expect umount "$MNT"
exit 0
