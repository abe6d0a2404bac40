# Swap files: swapon takes a fully written or preallocated ferrofs file and the kernel really swaps
# to it (MADV_PAGEOUT pushes 32 MiB of anonymous memory out; it reads back intact, and the pattern
# is in the file's blocks on the device); files with holes or shared (reflinked) extents are
# refused; while active, writes, truncate, fallocate and reflink of the file get ETXTBSY; after
# swapoff the file is an ordinary file again; fsck.ferrofs -n is clean.
. tests/vm/lib.sh
need_tools
grep -q "^SwapTotal" /proc/meminfo || fail "the test kernel has no swap (CONFIG_SWAP)"
expect "$MKFS" -f "$TEST_DEV" >/dev/null
load_ferrofs
[ "$(mount_errno "$TEST_DEV" rw)" = OK ] || fail "read-write mount"
SW=$MNT/swap
dd if=/dev/zero of="$SW" bs=1M count=64 status=none || fail "write the swap file"
chmod 600 "$SW"
expect mkswap -q "$SW"
expect swapon "$SW"
grep -q "^$SW " /proc/swaps || fail "swapon: not in /proc/swaps: $(cat /proc/swaps)"

python3 - "$SW" <<'PY' || fail "changing an active swap file was not refused with ETXTBSY"
import errno, fcntl, os, sys
f = sys.argv[1]
def busy(what, fn):
    try:
        fn()
    except OSError as e:
        assert e.errno == errno.ETXTBSY, (what, e)
        return
    raise AssertionError(what + " worked on an active swap file")
wfd = os.open(f, os.O_WRONLY)
busy("write", lambda: os.pwrite(wfd, b"x", 0))
busy("fallocate", lambda: os.posix_fallocate(wfd, 0, 1 << 20))
busy("truncate", lambda: os.truncate(f, 4096))
fd = os.open(f, os.O_RDONLY)
other = os.open(f + ".copy", os.O_RDWR | os.O_CREAT, 0o600)
FICLONE = 0x40049409
busy("reflink from it", lambda: fcntl.ioctl(other, FICLONE, fd))
PY

# Swap out 32 MiB of anonymous memory with a pattern, read it back.
python3 - "$SW" "$TEST_DEV" <<'PY' || fail "swapping to the ferrofs swap file"
import mmap, os, subprocess, sys
sw, dev = sys.argv[1], sys.argv[2]
def used():
    for line in open("/proc/swaps"):
        if line.split()[0] == sw:
            return int(line.split()[3])
    raise AssertionError("swap file gone from /proc/swaps")
size = 32 << 20
m = mmap.mmap(-1, size, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
tag = b"ferrofs-swap-page-%08d-"
for i in range(size // 4096):
    m[i * 4096:(i + 1) * 4096] = (tag % i) * (4096 // len(tag % i)) + b"\0" * (4096 % len(tag % i))
m.madvise(getattr(mmap, "MADV_PAGEOUT", 21))  # Python 3.11 lacks the name
u = used()
assert u >= 16 * 1024, "only %d KiB swapped out" % u
# The swapped pages are in the swap file's blocks on the device.
ext = subprocess.run(["xfs_io", "-r", "-c", "fiemap", sw], capture_output=True, text=True, check=True).stdout
found = 0
with open(dev, "rb", buffering=0) as d:
    for line in ext.splitlines()[1:]:
        parts = line.split()
        if len(parts) < 3 or parts[2] == "hole":
            continue
        a, b = parts[2].strip(".:").split("..")
        start, end = int(a) * 512, (int(b) + 1) * 512
        d.seek(start)
        found += d.read(end - start).count(b"ferrofs-swap-page-")
assert found > 1000, "pattern found %d times in the swap file's blocks" % found
for i in range(size // 4096):
    want = tag % i
    assert m[i * 4096:i * 4096 + len(want)] == want, "page %d came back wrong" % i
print("swapped out %d KiB; pattern in the file's blocks %d times; all pages back intact" % (u, found))
PY
expect swapoff "$SW"
echo normal >> "$SW" || fail "write after swapoff"
expect rm "$SW" "$SW.copy"

# Refused: a file with a hole, a file sharing its extents; accepted: a preallocated file.
truncate -s 16M "$MNT/holey" && dd if=/dev/zero of="$MNT/holey" bs=1M count=8 conv=notrunc status=none
chmod 600 "$MNT/holey" && expect mkswap -q "$MNT/holey"
swapon "$MNT/holey" 2>/dev/null && fail "swapon took a file with a hole"
dd if=/dev/zero of="$MNT/shared" bs=1M count=16 status=none && chmod 600 "$MNT/shared"
expect mkswap -q "$MNT/shared"
expect cp --reflink=always "$MNT/shared" "$MNT/shared2"
swapon "$MNT/shared" 2>/dev/null && fail "swapon took a file with shared extents"
expect fallocate -l 16M "$MNT/prealloc" && chmod 600 "$MNT/prealloc"
expect mkswap -q "$MNT/prealloc"
swapon "$MNT/prealloc" || fail "swapon refused a preallocated file"
expect swapoff "$MNT/prealloc"
expect umount "$MNT"
"$FSCK" -n "$TEST_DEV" || fail "fsck.ferrofs -n after the swap files (exit $?)"
echo "swap files: used for real, guarded while active, holes and shared extents refused"
