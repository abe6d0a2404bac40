#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Print a tree's namespace, one line per object in name order: path, type, mode, owner, link count,
size (not for directories, whose sizes differ between filesystems), device number, symlink target
and extended attributes. Two filesystems given the same operations print the same text.

    nsdump.py DIR
"""
import os
import stat
import sys


def xattrs(p):
    try:
        names = sorted(os.listxattr(p, follow_symlinks=False))
    except OSError:
        return ""
    return " ".join("%s=%s" % (n, os.getxattr(p, n, follow_symlinks=False).hex()) for n in names)


def dump(root):
    out = []
    for dirpath, dirnames, filenames in os.walk(root):
        if dirpath == root and "lost+found" in dirnames:
            dirnames.remove("lost+found")
        for n in sorted(dirnames + filenames):
            p = os.path.join(dirpath, n)
            st = os.lstat(p)
            rel = os.path.relpath(p, root)
            line = "%s %o %d:%d nlink=%d" % (rel, st.st_mode, st.st_uid, st.st_gid, st.st_nlink)
            if not stat.S_ISDIR(st.st_mode):
                line += " size=%d" % st.st_size
            if stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode):
                line += " rdev=%d:%d" % (os.major(st.st_rdev), os.minor(st.st_rdev))
            if stat.S_ISLNK(st.st_mode):
                line += " -> %s" % os.readlink(p)
            line += " " + xattrs(p)
            out.append(line.rstrip())
    st = os.lstat(root)
    out.append(". nlink=%d %s" % (st.st_nlink, xattrs(root)))
    return "\n".join(sorted(out)) + "\n"


if __name__ == "__main__":
    sys.stdout.write(dump(sys.argv[1]))
