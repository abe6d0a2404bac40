#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Crash-consistency workload for a ferrofs mount on dm-flakey.

    crashload.py MNT DMNAME SEED OPS DROP_AT EXPECTED_FILE

Runs OPS seeded namespace operations (mkdir, create with an xattr, symlink, link, rename, unlink,
rmdir, chmod) with a sync point (syncfs, or fsync of a directory or file) every few operations.
Before operation DROP_AT it makes dm-flakey drop every later write, silently. It writes the tree as
it was at the last sync point before the drop to EXPECTED_FILE: after a remount that is exactly
what must be on disk (the mount runs with periodic commits off, so sync points are the only commits).
With DROP_AT >= OPS nothing is dropped and the expected tree is the final one.
"""
import os
import random
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from nsdump import dump  # noqa: E402


def drop_writes(dm, feature="drop_writes"):
    size = subprocess.check_output(["blockdev", "--getsz", "/dev/mapper/" + dm], text=True).strip()
    table = subprocess.check_output(["dmsetup", "table", dm], text=True).split()
    dev = table[3]
    subprocess.check_call(["dmsetup", "suspend", "--nolockfs", dm])
    subprocess.check_call(["dmsetup", "load", dm, "--table", "0 %s flakey %s 0 0 1 1 %s" % (size, dev, feature)])
    subprocess.check_call(["dmsetup", "resume", dm])


def main(mnt, dm, seed, nops, drop_at, expected_file):
    rng = random.Random(seed)
    root = os.path.join(mnt, "w")
    os.mkdir(root)
    os.sync()
    expected = dump(root)
    names = []
    dirs = [root]
    for i in range(nops):
        if i == drop_at:
            drop_writes(dm)
            with open(expected_file, "w") as f:
                f.write(expected)
        op = rng.randrange(10)
        d = rng.choice(dirs)
        if os.environ.get("CRASHLOAD_TRACE"):
            print("op %d: %d in %s (names %s)" % (i, op, os.path.relpath(d, root), [os.path.relpath(n, root) for n in names]))
        try:
            if op == 0:
                p = os.path.join(d, "d%d" % i)
                os.mkdir(p, 0o750)
                dirs.append(p)
            elif op in (1, 2):
                p = os.path.join(d, "f%d" % i)
                with open(p, "w"):
                    pass
                os.setxattr(p, "user.n", str(i).encode())
                names.append(p)
            elif op == 3:
                p = os.path.join(d, "l%d" % i)
                os.symlink("target-%d" % i * (1 + i % 5), p)
                names.append(p)
            elif op == 4 and names:
                src = rng.choice(names)
                p = os.path.join(d, "h%d" % i)
                if os.path.isfile(src) and not os.path.islink(src):
                    os.link(src, p)
                    names.append(p)
            elif op == 5 and names:
                src = names.pop(rng.randrange(len(names)))
                p = os.path.join(rng.choice(dirs), "r%d" % i)
                os.rename(src, p)
                names.append(p)
            elif op == 6 and names:
                os.unlink(names.pop(rng.randrange(len(names))))
            elif op == 7 and len(dirs) > 1:
                p = dirs[-1]
                if not os.listdir(p):
                    os.rmdir(p)
                    dirs.pop()
            elif op == 8 and names:
                p = rng.choice(names)
                if not os.path.islink(p):
                    os.chmod(p, rng.randrange(0o1000))
        except OSError as e:
            print("op %d (%d) failed: %s" % (i, op, e))
            return 1
        if rng.randrange(4) == 0:
            how = rng.randrange(3)
            if how == 0:
                subprocess.check_call(["sync", "-f", mnt])  # syncfs(2)
            elif how == 1:
                fd = os.open(rng.choice(dirs), os.O_RDONLY | os.O_DIRECTORY)
                os.fsync(fd)
                os.close(fd)
            else:
                os.sync()
            if os.environ.get("CRASHLOAD_TRACE"):
                print("sync %d after op %d" % (how, i))
            if i < drop_at:
                expected = dump(root)
    if drop_at >= nops:
        # Nothing was dropped: the clean unmount commits everything.
        with open(expected_file, "w") as f:
            f.write(dump(root))
    return 0


if __name__ == "__main__":
    a = sys.argv
    sys.exit(main(a[1], a[2], int(a[3]), int(a[4]), int(a[5]), a[6]))
