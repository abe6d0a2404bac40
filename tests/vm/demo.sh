# SPDX-License-Identifier: GPL-2.0
# Guest side of `make demo`: what ferrofs can do today, shown step by step.
set -u
. tests/vm/lib.sh
step() { echo; echo "\$ $*"; "$@"; }
echo "guest kernel: $(uname -r), lockdep: $(grep -o 'debug_locks: *1' /proc/lockdep_stats >/dev/null && echo on || echo off)"

# Something to put on the filesystem: a few files, a directory, a symlink, a sparse file.
SRC=/tmp/demo-src
rm -rf "$SRC"; mkdir -p "$SRC/docs/deep"
cp "$FERROFS_ROOT/README.md" "$SRC/docs/"
echo "hello from ferrofs" > "$SRC/hello.txt"
ln -s docs/README.md "$SRC/readme-link"
head -c 300000 /dev/urandom > "$SRC/docs/deep/random.bin"
truncate -s 8M "$SRC/sparse.img"; echo data | dd of="$SRC/sparse.img" bs=1 seek=4M conv=notrunc status=none

step insmod "$KO" || exit 1
step grep -w ferrofs /proc/filesystems
step "$MKFS" -f -L demo -d "$SRC" "$TEST_DEV" || exit 1
mkdir -p "$MNT"
step mount -t ferrofs -o ro "$TEST_DEV" "$MNT" || exit 1
step grep " ferrofs " /proc/mounts
step df -h "$MNT"
step ls -laR "$MNT"
step cat "$MNT/hello.txt"
step readlink "$MNT/readme-link"
step stat "$MNT/docs/deep/random.bin"
echo; echo "\$ cmp: every byte of the copy against the source"
cmp "$SRC/docs/deep/random.bin" "$MNT/docs/deep/random.bin" && echo identical
step xfs_io -r -c fiemap "$MNT/sparse.img"
step mount -o remount,rw "$MNT" || exit 1
echo; echo "# Namespace changes run in COW transactions; sync commits them (superblock written last, with FUA)."
step mkdir -p "$MNT/made-in-vm/sub"
step touch "$MNT/made-in-vm/empty-file"
step ln -s ../hello.txt "$MNT/made-in-vm/link-to-hello"
step ln "$MNT/hello.txt" "$MNT/made-in-vm/hardlink-to-hello"
step mv "$MNT/docs/deep" "$MNT/made-in-vm/moved-deep"
step setfattr -n user.note -v "set in the VM" "$MNT/made-in-vm"
step mknod "$MNT/made-in-vm/fifo" p
step sync -f "$MNT"
step umount "$MNT"
step "$FSCK" -n "$TEST_DEV" || exit 1
step mount -t ferrofs "$TEST_DEV" "$MNT" || exit 1
step ls -laR "$MNT/made-in-vm"
step getfattr -d "$MNT/made-in-vm"
step stat -c '%n: %h links' "$MNT/hello.txt"
step rm -r "$MNT/made-in-vm"
echo; echo "# File data: write(2) fills the page cache (space reserved now); writeback puts it in new blocks"
echo "# under an ordered extent, whose completion on the workqueue inserts the file extent; fsync waits."
head -c 5000000 /dev/urandom > /tmp/demo-data
step dd if=/tmp/demo-data of="$MNT/written.bin" bs=64k conv=fsync status=none
step xfs_io -c fiemap "$MNT/written.bin"
echo; echo "# Every write is copy-on-write: overwriting the first MiB moves it."
step dd if=/dev/zero of="$MNT/written.bin" bs=1M count=1 conv=notrunc,fsync status=none
dd if=/dev/zero of=/tmp/demo-data bs=1M count=1 conv=notrunc status=none
step xfs_io -c fiemap "$MNT/written.bin"
step sync -f "$MNT"
step umount "$MNT"
step "$FSCK" -n "$TEST_DEV" || exit 1
step mount -t ferrofs "$TEST_DEV" "$MNT" || exit 1
echo; echo "\$ cmp: the file after remount against what was written"
cmp /tmp/demo-data "$MNT/written.bin" && echo identical
step stat -c '%n: %s bytes, %b blocks' "$MNT/written.bin"
echo; echo "# Direct I/O. A copy written O_DIRECT from a mapping of another file with only its first page"
echo "# touched: the write faults part-way, faults the rest in and resumes in the same ordered extent,"
echo "# which finishes once (generic/708). Then O_DSYNC direct writes: the inode lock is held, yet"
echo "# nothing deadlocks, and they are durable when they return (dio.c writes 4 MiB of 0xd1)."
DIO=$FERROFS_HELPERS/dio   # built on the host by scripts/vm
head -c 2M /dev/urandom > /tmp/demo-dio-src
cp /tmp/demo-dio-src "$MNT/dio-src"
sync; echo 3 > /proc/sys/vm/drop_caches
step "$DIO" mmapcopy "$MNT/dio-src" "$MNT/dio-copy" first && echo "copy equals source"
step "$DIO" dsync "$MNT/dio-dsync" odsync && echo "every O_DSYNC write complete"
echo; echo "# One extent: the pass that faulted and its retry wrote into the same ordered extent."
step xfs_io -c fiemap "$MNT/dio-copy"
step umount "$MNT"
step "$FSCK" -n "$TEST_DEV" || exit 1
step mount -t ferrofs "$TEST_DEV" "$MNT" || exit 1
echo; echo "\$ cmp: the direct copy after remount against the source, and the O_DSYNC file"
cmp /tmp/demo-dio-src "$MNT/dio-copy" && echo identical
cmp "$MNT/dio-dsync" <(head -c 4M /dev/zero | tr '\0' '\321') && echo "identical: 4 MiB of 0xd1"
step xfs_io -d -c "pread -v 0 16" "$MNT/dio-dsync"
step umount "$MNT"
step "$FSCK" -n "$TEST_DEV" || exit 1
step rmmod ferrofs
echo
echo "fallocate, reflink, dedupe, FIEMAP and the rest are shown by make check (VM tests 050-058)."
exit 0
