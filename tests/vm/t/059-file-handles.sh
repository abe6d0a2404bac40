# File handles (name_to_handle_at/open_by_handle_at, what NFS export stands on; fstests generic/426,
# 467, 477): handles of files and directories open the same inode after the dentry and inode caches
# were dropped and after a remount; an opened directory is connected to its place in the tree
# (its /proc/self/fd link names the path: get_parent); a renamed file still opens; a deleted file
# gives ESTALE, a deleted file still open does not; forged handles (unknown inode, wrong
# generation, foreign type, short) give ESTALE, never another file or an error in the log.
. tests/vm/lib.sh
need_tools
mark_dmesg
expect "$MKFS" -f -s 256m "$TEST_DEV" >/dev/null
load_ferrofs
[ "$(mount_errno "$TEST_DEV" rw)" = OK ] || fail "mount"
mkdir -p "$MNT/d/s/t"
for i in 0 1 2 3 4 5; do echo "file $i" > "$MNT/d/f$i"; done
echo "deep" > "$MNT/d/s/t/deep"
python3 - "$MNT" <<'PY' || fail "file handles"
import ctypes, errno, os, struct, sys
mnt = sys.argv[1]
libc = ctypes.CDLL(None, use_errno=True)
libc.name_to_handle_at.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_void_p, ctypes.POINTER(ctypes.c_int), ctypes.c_int]
libc.open_by_handle_at.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_int]
MAX = 128

def handle(path):
    buf = ctypes.create_string_buffer(8 + MAX)
    struct.pack_into("=Ii", buf, 0, MAX, 0)
    mid = ctypes.c_int()
    if libc.name_to_handle_at(-100, path.encode(), buf, ctypes.byref(mid), 0) != 0:
        raise OSError(ctypes.get_errno(), f"name_to_handle_at {path}")
    nbytes, htype = struct.unpack_from("=Ii", buf, 0)
    return htype, buf.raw[8:8 + nbytes]

def open_handle(h, flags=os.O_RDONLY):
    htype, data = h
    buf = ctypes.create_string_buffer(struct.pack("=Ii", len(data), htype) + data)
    mfd = os.open(mnt, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fd = libc.open_by_handle_at(mfd, buf, flags)
        if fd < 0:
            raise OSError(ctypes.get_errno(), "open_by_handle_at")
        return fd
    finally:
        os.close(mfd)

def estale(h, what):
    try:
        fd = open_handle(h)
    except OSError as e:
        if e.errno != errno.ESTALE:
            sys.exit(f"{what}: {errno.errorcode.get(e.errno, e.errno)}, not ESTALE")
        return
    sys.exit(f"{what}: opened ({os.readlink(f'/proc/self/fd/{fd}')})")

def drop_caches():
    with open("/proc/sys/vm/drop_caches", "w") as f:
        f.write("3")

files = {f"d/f{i}": f"file {i}\n" for i in range(6)}
files["d/s/t/deep"] = "deep\n"
hs = {p: handle(f"{mnt}/{p}") for p in files}
dirs = {p: handle(f"{mnt}/{p}") for p in ["d", "d/s", "d/s/t"]}
for p, (htype, data) in list(hs.items()) + list(dirs.items()):
    if htype != 0x81 or len(data) != 12:
        sys.exit(f"{p}: handle type {htype:#x}, {len(data)} bytes (FILEID_INO64_GEN, 12 expected)")
    ino = struct.unpack_from("=Q", data)[0]
    if ino != os.stat(f"{mnt}/{p}").st_ino:
        sys.exit(f"{p}: the handle's inode {ino} is not the file's {os.stat(f'{mnt}/{p}').st_ino}")

def check_all(when, skip=()):
    for p, want in files.items():
        if p in skip:
            continue
        fd = open_handle(hs[p])
        got = os.read(fd, 100).decode()
        os.close(fd)
        if got != want:
            sys.exit(f"{when}: {p} by handle reads {got!r}, not {want!r}")
    for p, h in dirs.items():
        fd = open_handle(h, os.O_RDONLY | os.O_DIRECTORY)
        link = os.readlink(f"/proc/self/fd/{fd}")
        names = sorted(os.listdir(fd))
        os.close(fd)
        if link != f"{mnt}/{p}":
            sys.exit(f"{when}: directory {p} by handle is connected at {link!r}")
        if names != sorted(os.listdir(f"{mnt}/{p}")):
            sys.exit(f"{when}: directory {p} by handle lists {names}")

drop_caches()
check_all("after drop_caches")
check_all("cached")

# A renamed file keeps its handle; a deleted one is stale; one deleted while open is not.
os.rename(f"{mnt}/d/f3", f"{mnt}/d/s/g3")
kept = os.open(f"{mnt}/d/f2", os.O_RDONLY)
os.unlink(f"{mnt}/d/f2")
os.unlink(f"{mnt}/d/f1")
drop_caches()
check_all("after rename and unlink", skip=("d/f1", "d/f2"))
estale(hs["d/f1"], "the handle of a deleted file")
fd = open_handle(hs["d/f2"])
if os.read(fd, 100) != b"file 2\n":
    sys.exit("a deleted file still open reads wrong by handle")
os.close(fd)
os.close(kept)

# Forged handles.
htype, data = hs["d/f0"]
ino, gen = struct.unpack_from("=QI", data)
estale((0x81, struct.pack("=QI", 999999, gen)), "a handle of an inode that never existed")
estale((0x81, struct.pack("=QI", 2, 0)), "a handle of a tree object")
estale((0x81, struct.pack("=QI", ino, gen ^ 1)), "a handle with the wrong generation")
estale((0x1, data), "a handle of a foreign type")
estale((0x81, data[:8]), "a short handle")

# Handles survive for the next mount (written to a file for after the remount).
with open("/tmp/handles", "w") as f:
    for p in ["d/f0", "d/f4", "d/s/t/deep"]:
        f.write(f"{p} {hs[p][0]} {hs[p][1].hex()}\n")
print("handles: open after drop_caches, rename, keep-open unlink; ESTALE for deleted and forged")
PY
expect umount "$MNT"
"$FSCK" -n "$TEST_DEV" || fail "fsck.ferrofs -n (exit $?)"
[ "$(mount_errno "$TEST_DEV" rw)" = OK ] || fail "remount"
python3 - "$MNT" <<'PY' || fail "file handles after a remount"
import ctypes, os, struct, sys
mnt = sys.argv[1]
libc = ctypes.CDLL(None, use_errno=True)
libc.open_by_handle_at.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_int]
mfd = os.open(mnt, os.O_RDONLY | os.O_DIRECTORY)
for line in open("/tmp/handles"):
    p, htype, data = line.split()
    data = bytes.fromhex(data)
    buf = ctypes.create_string_buffer(struct.pack("=Ii", len(data), int(htype)) + data)
    fd = libc.open_by_handle_at(mfd, buf, os.O_RDONLY)
    if fd < 0:
        sys.exit(f"{p}: open_by_handle_at after a remount: {os.strerror(ctypes.get_errno())}")
    got = os.read(fd, 100)
    if got != open(f"{mnt}/{p}", "rb").read():
        sys.exit(f"{p}: reads {got!r} by handle after a remount")
    os.close(fd)
print("handles: valid across a remount")
PY
dmesg_has "missing inode" && fail "a forged handle made the filesystem report corruption"
expect umount "$MNT"
exit 0
