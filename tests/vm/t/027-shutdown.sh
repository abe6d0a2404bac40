# FS_IOC_SHUTDOWN (xfs_io's `shutdown`, fstests' godown; the ioctl behind XFS_IOC_GOINGDOWN and
# EXT4_IOC_SHUTDOWN) in its three modes, with the periodic commit out of the way (commit=86400):
# after the call nothing reaches the disk, changes fail, unmount does not hang, fsck is clean, and
# the next mount finds the last commit: with the log flush (1) the changes made before the call,
# without it (2) only what fsync made durable, in the default mode (0) the buffered data too
# (the device is frozen, that is synced, around the shutdown). Also: not for an unprivileged
# caller (EPERM), an unknown mode is EINVAL, a second shutdown is harmless, reads fail with EIO
# after it (cached data too), and a shutdown while a buffered and a direct writer are running
# leaves them failing, not hanging.
. tests/vm/lib.sh
need_tools
expect "$MKFS" -f -s 512m "$TEST_DEV" >/dev/null
load_ferrofs
# shut MODE [PATH]: the ioctl on PATH (default the mount point); prints OK or the errno name.
shut() {
    python3 - "${2:-$MNT}" "$1" "${SHUT_AS:-}" <<'PY'
import errno, fcntl, os, struct, sys
fd = os.open(sys.argv[1], os.O_RDONLY)
if sys.argv[3]:
    os.setgid(65534)
    os.setuid(65534)
try:
    fcntl.ioctl(fd, 0x8004587D, struct.pack("I", int(sys.argv[2])))  # _IOR('X', 125, __u32)
    print("OK")
except OSError as e:
    print(errno.errorcode.get(e.errno, e.errno))
PY
}
remount() {
    expect umount "$MNT"
    "$FSCK" -n "$TEST_DEV" >/dev/null || fail "fsck.ferrofs -n after shutdown mode $1 (exit $?)"
    [ "$(mount_errno "$TEST_DEV" rw commit=86400)" = OK ] || fail "mount after shutdown mode $1"
}
[ "$(mount_errno "$TEST_DEV" rw commit=86400)" = OK ] || fail "mount"

# Refused: an unprivileged caller, an unknown mode. Nothing is shut down by them.
expect head -c 1m /dev/urandom > /tmp/durable.ref
expect xfs_io -f -c "pwrite -q -i /tmp/durable.ref 0 1m" -c fsync "$MNT/durable"
r=$(SHUT_AS=nobody shut 1); [ "$r" = EPERM ] || fail "an unprivileged FS_IOC_SHUTDOWN gave $r, not EPERM"
r=$(shut 3); [ "$r" = EINVAL ] || fail "FS_IOC_SHUTDOWN mode 3 gave $r, not EINVAL"
expect touch "$MNT/still-writable"

# Mode 1, log flush: the changes made before the call are committed, nothing after.
expect mkdir "$MNT/logged"
expect touch "$MNT/logged/file"
r=$(shut 1); [ "$r" = OK ] || fail "FS_IOC_SHUTDOWN mode 1: $r"
touch "$MNT/after" 2>/dev/null && fail "a create succeeded after the shutdown"
dd if=/dev/zero of="$MNT/durable" bs=4k count=1 conv=notrunc,fsync status=none 2>/dev/null && fail "a write and fsync succeeded after the shutdown"
r=$(shut 1); [ "$r" = OK ] || fail "a second shutdown: $r"
# Reads fail too, cached or not, as on XFS and ext4 (fstests generic/730: the device went away):
# buffered, direct, splice, a new mapping, a directory listing.
expect_eio() { # WHAT COMMAND...
    local what=$1 out; shift
    out=$("$@" 2>&1 >/dev/null)
    echo "$out" | grep -q "Input/output error" || fail "$what after the shutdown printed '$out', not EIO"
}
expect_eio "a buffered read" xfs_io -r -c "pread -q 0 4k" "$MNT/durable"
expect_eio "a direct read" xfs_io -r -d -c "pread -q 0 4k" "$MNT/durable"
expect_eio "a splice read" xfs_io -f -c "sendfile -i $MNT/durable 0 4k" /tmp/sendfile.out
expect_eio "a new mapping" xfs_io -r -c "mmap -r 0 4k" "$MNT/durable"
expect_eio "a directory listing" ls "$MNT/logged"
expect_eio "FIEMAP" xfs_io -r -c "fiemap" "$MNT/durable"
remount 1
# A mapping made before the shutdown reads no more from the disk: a fault on a page that is not
# cached kills the reader (SIGBUS), as on XFS; a page read before stays readable (its dump is
# line buffered so that it is out before the signal).
expect dd if=/dev/zero of="$MNT/premapped" bs=1M count=4 oflag=direct status=none
remount "1 (premapped written)"
out=$(sh -c 'ulimit -c 0; exec stdbuf -oL xfs_io -x -r -c "mmap -r 0 4m" -c "madvise -r 0 4m" -c "mread 0 4k" -c shutdown -c "mread -v 0 16" -c "mread 2m 4k" "$1"' sh "$MNT/premapped" 2>&1)
rc=$?
echo "$out" | grep -q "^00000000:  00 00" || fail "a page read through a mapping before the shutdown is not readable after it: '$out'"
[ $rc = 135 ] || fail "a read fault through a mapping made before the shutdown: xfs_io exited $rc, not killed by SIGBUS ('$out')"
remount "2 (premapped)"
cmp "$MNT/durable" /tmp/durable.ref || fail "mode 1: the fsynced file changed"
[ -f "$MNT/logged/file" ] || fail "mode 1: the changes before the shutdown were not committed"
[ -e "$MNT/after" ] && fail "mode 1: a create after the shutdown reached the disk"

# Mode 2, no log flush: the disk keeps the last commit (the remount's), so what was not fsynced
# since is gone.
expect mkdir "$MNT/lost"
expect xfs_io -f -c "pwrite -q 0 64k" "$MNT/lost/data"
r=$(shut 2); [ "$r" = OK ] || fail "FS_IOC_SHUTDOWN mode 2: $r"
remount 2
[ -e "$MNT/lost" ] && fail "mode 2: changes made after the last commit survived a shutdown without flush"
cmp "$MNT/durable" /tmp/durable.ref || fail "mode 2: the fsynced file changed"

# Mode 0, default: everything, buffered data included, reaches the disk first.
expect head -c 3m /dev/urandom > /tmp/synced.ref
expect cp /tmp/synced.ref "$MNT/synced"
r=$(shut 0); [ "$r" = OK ] || fail "FS_IOC_SHUTDOWN mode 0: $r"
touch "$MNT/after0" 2>/dev/null && fail "a create succeeded after the default shutdown"
remount 0
cmp "$MNT/synced" /tmp/synced.ref || fail "mode 0: the buffered data did not reach the disk before the shutdown"

# Data dirtied through a mapping before a shutdown can no longer be written: fsync reports EIO
# (as XFS, fstests generic/623; the page stays dirty in memory, nothing reaches the disk). A write
# fault after the shutdown, on a page mapped clean before it, kills the writer (SIGBUS) rather
# than dirtying the page (xfs_io 6.1 has no `echo`: the exit status tells the signal, 128 + 7).
expect xfs_io -f -c "pwrite -q 0 4k" -c fsync "$MNT/mapped"
cp "$MNT/mapped" /tmp/mapped.ref
out=$(sh -c 'ulimit -c 0; exec xfs_io -x -c "mmap 0 4k" -c "mwrite -S 0x77 0 4k" -c shutdown -c fsync "$1"' sh "$MNT/mapped" 2>&1)
echo "$out" | grep -qx "fsync: Input/output error" || fail "fsync of mapped data after a shutdown printed '$out', not EIO"
remount "2 with mapped data"
cmp "$MNT/mapped" /tmp/mapped.ref || fail "data dirtied through a mapping before a shutdown reached the disk after it"
out=$(sh -c 'ulimit -c 0; exec xfs_io -x -c "mmap 0 4k" -c "mread 0 4k" -c shutdown -c "mwrite -S 0x77 0 4k" "$1"' sh "$MNT/mapped" 2>&1)
rc=$?
[ $rc = 135 ] || fail "a write fault after the shutdown: xfs_io exited $rc, not killed by SIGBUS ('$out')"
remount "2 after a write fault"
cmp "$MNT/mapped" /tmp/mapped.ref || fail "a write fault after the shutdown changed the file"
cmp "$MNT/durable" /tmp/durable.ref || fail "mapped: the fsynced file changed"

# Writers running through the shutdown fail or finish; none hangs, unmount does not either.
xfs_io -f -c "pwrite -q -b 1m 0 64m" "$MNT/buffered" 2>/dev/null &
bpid=$!
xfs_io -f -d -c "pwrite -q -b 1m 0 64m" "$MNT/direct" 2>/dev/null &
dpid=$!
r=$(shut 2); [ "$r" = OK ] || fail "FS_IOC_SHUTDOWN mode 2 under writers: $r"
wait "$bpid"; wait "$dpid"
remount "2 under writers"
cmp "$MNT/durable" /tmp/durable.ref || fail "under writers: the fsynced file changed"
expect umount "$MNT"
"$FSCK" -n "$TEST_DEV" >/dev/null || fail "fsck.ferrofs -n at the end (exit $?)"
exit 0
