# Inode flags (chattr/lsattr, FS_IOC_GETFLAGS/SETFLAGS and xfs_io's FS_IOC_FSSETXATTR): immutable
# files refuse every change, also through descriptors opened before (write, direct write, ftruncate,
# shared mmap writes get SIGBUS); append-only files take appends only; noatime keeps the atime;
# statx shows i, a and d as attributes; the flags survive unmount, fsck.ferrofs -n and mount;
# flags ferrofs lacks are EOPNOTSUPP. A dirsync directory's new names are on disk when the call
# returns (dm-flakey drops every later write).
. tests/vm/lib.sh
need_tools
DM=ferrofs-chattr
expect "$MKFS" -f "$TEST_DEV" >/dev/null
load_ferrofs
flakey_create "$DM"
mkdir -p "$MNT"
expect mount -t ferrofs -o strictatime "/dev/mapper/$DM" "$MNT"

flags() { lsattr -d "$1" | awk '{print $1}'; }
echo data > "$MNT/imm"
expect chattr +i "$MNT/imm"
[[ "$(flags "$MNT/imm")" =~ ^----i-+$ ]] || fail "lsattr of +i: $(flags "$MNT/imm")"
python3 - "$MNT/imm" <<'PY' || fail "immutable file accepted a change"
import errno, mmap, os, subprocess, sys
f = sys.argv[1]
def refused(what, fn):
    try:
        fn()
    except OSError as e:
        assert e.errno == errno.EPERM, (what, e)
        return
    raise AssertionError(what + " worked on an immutable file")
refused("open for writing", lambda: open(f, "a"))
refused("unlink", lambda: os.unlink(f))
refused("rename", lambda: os.rename(f, f + ".x"))
refused("link", lambda: os.link(f, f + ".l"))
refused("chmod", lambda: os.chmod(f, 0o600))
refused("utime", lambda: os.utime(f, (1, 1)))
refused("truncate", lambda: os.truncate(f, 0))
refused("setxattr", lambda: os.setxattr(f, "user.x", b"1"))
# Descriptors and mappings from before chattr +i.
subprocess.check_call(["chattr", "-i", f])
fd = os.open(f, os.O_RDWR)
dfd = os.open(f, os.O_RDWR | os.O_DIRECT)
m = mmap.mmap(fd, 4096 if os.fstat(fd).st_size >= 4096 else os.fstat(fd).st_size)
subprocess.check_call(["chattr", "+i", f])
refused("write through an old descriptor", lambda: os.pwrite(fd, b"x", 0))
buf = mmap.mmap(-1, 4096)
refused("direct write through an old descriptor", lambda: os.pwritev(dfd, [buf], 0))
refused("ftruncate through an old descriptor", lambda: os.ftruncate(fd, 0))
pid = os.fork()
if pid == 0:
    m[0:1] = b"y"
    m.flush()
    os._exit(0)
_, status = os.waitpid(pid, 0)
assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == 7, ("shared mapping write", status)
assert open(f).read() == "data\n", open(f).read()
PY
[ "$(cat "$MNT/imm")" = data ] || fail "the immutable file changed"

echo one > "$MNT/app"
expect chattr +a "$MNT/app"
echo two >> "$MNT/app" || fail "append to an append-only file"
(echo three > "$MNT/app") 2>/dev/null && fail "overwrite of an append-only file"
truncate -s 0 "$MNT/app" 2>/dev/null && fail "truncate of an append-only file"
rm -f "$MNT/app" 2>/dev/null; [ -e "$MNT/app" ] || fail "unlink of an append-only file"
[ "$(cat "$MNT/app")" = "$(printf 'one\ntwo')" ] || fail "append-only file: $(cat "$MNT/app")"

echo x > "$MNT/noat"
expect chattr +A "$MNT/noat"
a0=$(stat -c %X "$MNT/noat"); t0=$(date +%s)
while [ "$(date +%s)" = "$t0" ]; do :; done
cat "$MNT/noat" > /dev/null
[ "$(stat -c %X "$MNT/noat")" = "$a0" ] || fail "atime changed on a noatime file (strictatime mount)"

touch "$MNT/many"
expect chattr +d +S "$MNT/many"
xfs_io -c "chattr +A" "$MNT/many" || fail "xfs_io chattr (FS_IOC_FSSETXATTR)"
f=$(flags "$MNT/many"); [[ $f == *S* && $f == *d* && $f == *A* ]] || fail "lsattr of +dSA: $f"
out=$(chattr +c "$MNT/many" 2>&1) && fail "chattr +c (compression) worked"
echo "$out" | grep -q "Operation not supported" || fail "chattr +c: $out"
python3 - "$MNT/many" <<'PY' || fail "FS_IOC_FSSETXATTR with an extent size hint (XFS only) was not EOPNOTSUPP"
import errno, fcntl, os, struct, sys
fd = os.open(sys.argv[1], os.O_RDONLY)
FS_IOC_FSSETXATTR, FS_XFLAG_EXTSIZE = 0x401C5820, 0x800
try:
    fcntl.ioctl(fd, FS_IOC_FSSETXATTR, struct.pack("=5I8x", FS_XFLAG_EXTSIZE, 65536, 0, 0, 0))
    sys.exit(1)
except OSError as e:
    sys.exit(0 if e.errno == errno.EOPNOTSUPP else 1)
PY

# statx reports immutable (0x10), append-only (0x20) and nodump (0x40) as attributes (fstests
# generic/424), in its attributes mask for every file.
# A read-only open (-r): xfs_io opens read-write by default, which immutable and append-only
# files refuse.
stx() { xfs_io -r -c "statx -r" "$1" | awk -v k="stat.$2" '$1 == k {print $3}'; }
check_statx() {
    local f want a m
    for f in imm:0x10 app:0x20 noat:0x0 many:0x40; do
        want=$(( ${f#*:} ))
        a=$(stx "$MNT/${f%%:*}" attributes); m=$(stx "$MNT/${f%%:*}" attributes_mask)
        [ -n "$a" ] && [ -n "$m" ] || fail "$1: no statx attributes for ${f%%:*}"
        [ $(( a & 0x70 )) = "$want" ] || fail "$1: statx attributes of ${f%%:*}: $a, want $want of 0x70"
        [ $(( m & 0x70 )) = $((0x70)) ] || fail "$1: statx attributes_mask of ${f%%:*}: $m"
    done
}
check_statx "after chattr"

# Survives unmount, fsck and mount.
before=$(cd "$MNT" && lsattr imm app noat many)
expect umount "$MNT"
"$FSCK" -n "/dev/mapper/$DM" || fail "fsck.ferrofs -n with inode flags (exit $?)"
expect mount -t ferrofs "/dev/mapper/$DM" "$MNT"
[ "$(cd "$MNT" && lsattr imm app noat many)" = "$before" ] || fail "flags changed across mount: $(cd "$MNT" && lsattr imm app noat many)"
(echo data > "$MNT/imm") 2>/dev/null && fail "the immutable flag was lost at mount"
check_statx "after mount"
expect chattr -i -a "$MNT/imm" "$MNT/app"
echo new > "$MNT/imm" || fail "write after chattr -i"
expect rm "$MNT/app"

# dirsync: the new name is committed before mkdir/creat/rename return.
mkdir "$MNT/ds" && expect chattr +D "$MNT/ds"
expect sync
touch "$MNT/ds/created"
mkdir "$MNT/ds/subdir"
echo moved > "$MNT/ds/tmp" && mv "$MNT/ds/tmp" "$MNT/ds/renamed"
flakey_mode "$DM" drop_writes
expect umount "$MNT"
flakey_restore "$DM"
expect mount -t ferrofs "/dev/mapper/$DM" "$MNT"
[ -f "$MNT/ds/created" ] && [ -d "$MNT/ds/subdir" ] && [ -e "$MNT/ds/renamed" ] && [ ! -e "$MNT/ds/tmp" ] \
    || fail "dirsync directory lost names after a crash: $(ls -la "$MNT/ds")"
expect umount "$MNT"
"$FSCK" -n "/dev/mapper/$DM" || fail "fsck.ferrofs -n at the end (exit $?)"
echo "chattr: immutable, append-only, noatime, nodump, sync, dirsync"
