# Idmapped mounts (FS_ALLOW_IDMAP): a ferrofs mount cloned with open_tree() and given a user
# namespace mapping ids 0-999 to 10000-10999 (mount_setattr MOUNT_ATTR_IDMAP) shows on-disk owners
# shifted; what host uid 10000 creates there (file, directory, symlink, fifo, O_TMPFILE) is owned
# by 0 on disk; chown and ACL entries through it are stored unshifted; a caller whose ids have no
# mapping cannot create (EOVERFLOW). Everything survives unmount and fsck.ferrofs -n.
. tests/vm/lib.sh
need_tools
[ -e /proc/self/ns/user ] || fail "the test kernel has no user namespaces (CONFIG_USER_NS)"
expect "$MKFS" -f "$TEST_DEV" >/dev/null
load_ferrofs
[ "$(mount_errno "$TEST_DEV" rw)" = OK ] || fail "read-write mount"
mkdir "$MNT/shared" && chmod 1777 "$MNT/shared" && echo root > "$MNT/shared/rootfile"
chown 5:6 "$MNT/shared/rootfile"
IDM=/tmp/ferrofs-idmapped
mkdir -p "$IDM"

python3 - "$MNT" "$IDM" <<'PY' || fail "idmapped mount"
import ctypes, errno, os, stat, subprocess, sys, time
mnt, idm = sys.argv[1], sys.argv[2]
libc = ctypes.CDLL(None, use_errno=True)
SYS_open_tree, SYS_move_mount, SYS_mount_setattr = 428, 429, 442
OPEN_TREE_CLONE, OPEN_TREE_CLOEXEC = 1, 0o2000000
AT_FDCWD, AT_EMPTY_PATH, MOVE_MOUNT_F_EMPTY_PATH = -100, 0x1000, 4
MOUNT_ATTR_IDMAP, CLONE_NEWUSER = 0x00100000, 0x10000000

class MountAttr(ctypes.Structure):
    _fields_ = [("attr_set", ctypes.c_uint64), ("attr_clr", ctypes.c_uint64),
                ("propagation", ctypes.c_uint64), ("userns_fd", ctypes.c_uint64)]

def check(r, what):
    if r < 0:
        e = ctypes.get_errno()
        raise OSError(e, "%s: %s" % (what, os.strerror(e)))
    return r

# A user namespace mapping 0-999 to 10000-10999, held by a child until we have its fd.
r, w = os.pipe()
pid = os.fork()
if pid == 0:
    check(libc.unshare(CLONE_NEWUSER), "unshare")
    os.write(w, b"x")
    time.sleep(60)
    os._exit(0)
os.read(r, 1)
for f in ("uid_map", "gid_map"):
    with open("/proc/%d/%s" % (pid, f), "w") as m:
        m.write("0 10000 1000\n")
userns = os.open("/proc/%d/ns/user" % pid, os.O_RDONLY)

tree = check(libc.syscall(SYS_open_tree, AT_FDCWD, mnt.encode(), OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC), "open_tree")
attr = MountAttr(MOUNT_ATTR_IDMAP, 0, 0, userns)
check(libc.syscall(SYS_mount_setattr, tree, b"", AT_EMPTY_PATH, ctypes.byref(attr), ctypes.sizeof(attr)), "mount_setattr(MOUNT_ATTR_IDMAP)")
check(libc.syscall(SYS_move_mount, tree, b"", AT_FDCWD, idm.encode(), MOVE_MOUNT_F_EMPTY_PATH), "move_mount")
os.kill(pid, 9)
os.waitpid(pid, 0)

st = os.stat(idm + "/shared/rootfile")
assert (st.st_uid, st.st_gid) == (10005, 10006), ("on-disk 5:6 through the idmapped mount", st.st_uid, st.st_gid)

def as_user(uid, fn):
    p = os.fork()
    if p == 0:
        try:
            os.setgroups([])
            os.setresgid(uid, uid, uid)
            os.setresuid(uid, uid, uid)
            fn()
            os._exit(0)
        except OSError as e:
            os._exit(100 + e.errno)
        except BaseException:
            os._exit(99)
    _, s = os.waitpid(p, 0)
    return os.waitstatus_to_exitcode(s)

def make_all():
    d = idm + "/shared/"
    open(d + "file", "w").write("idmapped\n")
    os.mkdir(d + "dir")
    os.symlink("file", d + "link")
    os.mkfifo(d + "fifo")
    fd = os.open(d, os.O_TMPFILE | os.O_WRONLY, 0o600)
    # A directory fd makes Python use linkat(AT_SYMLINK_FOLLOW) rather than link().
    dfd = os.open(d, os.O_RDONLY | os.O_DIRECTORY)
    os.link("/proc/self/fd/%d" % fd, "tmp", dst_dir_fd=dfd, follow_symlinks=True)

rc = as_user(10000, make_all)
assert rc == 0, "uid 10000 creating through the idmapped mount: exit %d" % rc
for n in ("file", "dir", "link", "fifo", "tmp"):
    on_disk = os.lstat(mnt + "/shared/" + n)
    shown = os.lstat(idm + "/shared/" + n)
    assert (on_disk.st_uid, on_disk.st_gid) == (0, 0), (n, "on disk", on_disk.st_uid, on_disk.st_gid)
    assert (shown.st_uid, shown.st_gid) == (10000, 10000), (n, "shown", shown.st_uid, shown.st_gid)

# A caller whose uid has no mapping in the mount cannot create (the owner is not representable).
rc = as_user(20000, lambda: open(idm + "/shared/unmapped", "w"))
assert rc == 100 + errno.EOVERFLOW, "uid 20000 creating: exit %d" % rc

# chown and an ACL entry through the idmapped mount are stored in on-disk ids.
os.chown(idm + "/shared/file", 10007, 10008)
st = os.stat(mnt + "/shared/file")
assert (st.st_uid, st.st_gid) == (7, 8), ("chown through it", st.st_uid, st.st_gid)
subprocess.check_call(["setfacl", "-m", "u:10001:rwx", idm + "/shared/file"])
plain = subprocess.check_output(["getfacl", "-n", "-p", mnt + "/shared/file"], text=True)
shifted = subprocess.check_output(["getfacl", "-n", "-p", idm + "/shared/file"], text=True)
assert "user:1:rwx" in plain, plain
assert "user:10001:rwx" in shifted, shifted
print("idmapped mount: owners, creation, chown and ACLs shifted as mapped")
PY
expect umount "$IDM"
expect umount "$MNT"
"$FSCK" -n "$TEST_DEV" || fail "fsck.ferrofs -n after the idmapped mount (exit $?)"
[ "$(mount_errno "$TEST_DEV" rw)" = OK ] || fail "mount again"
[ "$(stat -c %u:%g "$MNT/shared/file")" = 7:8 ] || fail "owner of shared/file after remount: $(stat -c %u:%g "$MNT/shared/file")"
[ "$(stat -c %u:%g "$MNT/shared/dir")" = 0:0 ] || fail "owner of shared/dir after remount"
expect umount "$MNT"
echo "idmapped mounts: ids shifted in both directions, persistent"
