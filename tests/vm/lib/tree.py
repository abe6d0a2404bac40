#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Generate a test tree and compare a mounted copy of it with the source, name by name, attribute by
attribute, byte by byte.

    tree.py gen DIR          nested dirs, a dir with 3000 entries, files of sizes 0, 1, 4095, 4096,
                             4097, 1 MiB + 3 with random data, a sparse file, symlinks, modes, owners,
                             nanosecond timestamps
    tree.py compare SRC DST  exit 1 naming every difference
"""
import hashlib
import os
import random
import stat
import sys


def gen(root):
    rng = random.Random(708)
    os.makedirs(root)
    files = {"empty": 0, "one": 1, "b4095": 4095, "b4096": 4096, "b4097": 4097, "big": (1 << 20) + 3}
    for name, size in files.items():
        with open(os.path.join(root, name), "wb") as f:
            f.write(rng.randbytes(size))
    # A sparse file: data, a 1 MiB hole, data, and a hole at the end.
    with open(os.path.join(root, "sparse"), "wb") as f:
        f.write(rng.randbytes(5000))
        f.seek(5000 + (1 << 20))
        f.write(rng.randbytes(8192))
        f.truncate(4 << 20)
    d = root
    for depth in range(6):
        d = os.path.join(d, "level%d" % depth)
        os.mkdir(d)
        with open(os.path.join(d, "file%d" % depth), "wb") as f:
            f.write(rng.randbytes(rng.randrange(1, 20000)))
    big = os.path.join(root, "bigdir")
    os.mkdir(big)
    for i in range(3000):
        with open(os.path.join(big, "entry-%05d-%s" % (i, "x" * (i % 40))), "wb") as f:
            if i % 100 == 0:
                f.write(rng.randbytes(i))
    os.symlink("one", os.path.join(root, "link-rel"))
    os.symlink("/nonexistent/target/" + "y" * 200, os.path.join(root, "link-dangling"))
    os.symlink("level0/level1", os.path.join(root, "link-dir"))
    os.symlink("z" * 3000, os.path.join(root, "link-long"))
    modes = os.path.join(root, "modes")
    os.mkdir(modes)
    for i, m in enumerate([0o600, 0o644, 0o755, 0o4755, 0o2711, 0o1777, 0o000, 0o444]):
        p = os.path.join(modes, "m%o" % m)
        with open(p, "wb") as f:
            f.write(b"mode %o\n" % m)
        os.chown(p, 1000 + i, 2000 + i)
        os.chmod(p, m)
    os.link(os.path.join(root, "one"), os.path.join(root, "one-hardlink"))
    # Nanosecond timestamps on everything, deepest first so parents keep theirs.
    for dirpath, dirnames, filenames in os.walk(root, topdown=False):
        for n in filenames + dirnames:
            p = os.path.join(dirpath, n)
            t = rng.randrange(10**9, 2 * 10**9) * 10**9 + rng.randrange(10**9)
            os.utime(p, ns=(t + 17, t), follow_symlinks=False)
    os.utime(root, ns=(1234567890123456789, 1234567890987654321))


def digest(p):
    h = hashlib.sha256()
    with open(p, "rb") as f:
        while True:
            b = f.read(1 << 16)
            if not b:
                break
            h.update(b)
    return h.hexdigest()


def compare(src, dst):
    errs = []
    n = 0
    for dirpath, dirnames, filenames in os.walk(src):
        rel = os.path.relpath(dirpath, src)
        ddir = os.path.join(dst, rel)
        want = sorted(os.listdir(dirpath))
        try:
            got = os.listdir(ddir)
        except OSError as e:
            errs.append("%s: listdir: %s" % (rel, e))
            continue
        if sorted(got) != want or len(got) != len(set(got)):
            errs.append("%s: entries differ: missing %s, extra %s, %d listed for %d names" % (
                rel, sorted(set(want) - set(got))[:5], sorted(set(got) - set(want))[:5], len(got), len(set(got))))
        for name in [""] + want:
            s = os.path.join(dirpath, name) if name else dirpath
            d = os.path.join(ddir, name) if name else ddir
            what = os.path.join(rel, name)
            try:
                a, b = os.lstat(s), os.lstat(d)
            except OSError as e:
                errs.append("%s: lstat: %s" % (what, e))
                continue
            n += 1
            # Directory nlink is 2 + subdirectories in ferrofs, as in the source tree's tmpfs.
            for f in ("st_mode", "st_uid", "st_gid", "st_nlink", "st_mtime_ns"):
                if getattr(a, f) != getattr(b, f):
                    errs.append("%s: %s %r != %r" % (what, f, getattr(a, f), getattr(b, f)))
            if not stat.S_ISDIR(a.st_mode) and a.st_size != b.st_size:
                errs.append("%s: size %d != %d" % (what, a.st_size, b.st_size))
            if stat.S_ISLNK(a.st_mode):
                if os.readlink(s) != os.readlink(d):
                    errs.append("%s: symlink target differs" % what)
            elif stat.S_ISREG(a.st_mode):
                if b.st_blocks * 512 < a.st_size and name != "sparse":
                    errs.append("%s: st_blocks %d too small for size %d" % (what, b.st_blocks, a.st_size))
                if digest(s) != digest(d):
                    errs.append("%s: contents differ" % what)
    for e in errs[:50]:
        print(e)
    print("compared %d objects, %d differences" % (n, len(errs)))
    return 1 if errs else 0


if __name__ == "__main__":
    if sys.argv[1] == "gen":
        gen(sys.argv[2])
        sys.exit(0)
    if sys.argv[1] == "compare":
        sys.exit(compare(sys.argv[2], sys.argv[3]))
    print(__doc__, file=sys.stderr)
    sys.exit(2)
