#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Test-only poking at ferrofs images (docs/FORMAT.md), to build the bad images the VM tests mount.

    fsimg.py set-incompat DEV BIT        set an unknown incompat bit in both superblocks, re-checksummed
    fsimg.py corrupt-sb DEV BLOCK        flip a byte of the superblock copy at BLOCK (checksum now wrong)
    fsimg.py corrupt-root DEV fs|extent  flip a byte in the root node of that tree; prints its block number
    fsimg.py corrupt-leaf-of DEV INO TYPE  flip a byte in a reachable fs-tree leaf holding only items of
                                         INO with key type TYPE (96 = DIR_INDEX); prints the block number
    fsimg.py corrupt-leaf-with DEV INO TYPE  the same for the leaf holding the first item of INO with key
                                         type TYPE (108 = EXTENT_DATA), whatever else it holds
    fsimg.py sb-field DEV NAME           print a field of the primary superblock (generation,
                                         free-blocks, used-blocks, next-inode)
"""
import struct
import sys

BS = 4096
SB_BLOCKS = (16, 255)


def _table():
    t = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ 0x82F63B78 if c & 1 else c >> 1
        t.append(c)
    return t


_T = _table()


def crc32c(data):
    c = 0xFFFFFFFF
    for b in data:
        c = _T[(c ^ b) & 0xFF] ^ (c >> 8)
    return c ^ 0xFFFFFFFF


assert crc32c(b"123456789") == 0xE3069283


def rd(f, blk):
    f.seek(blk * BS)
    return bytearray(f.read(BS))


def wr(f, blk, buf):
    f.seek(blk * BS)
    f.write(bytes(buf))


def reseal(buf):
    struct.pack_into("<I", buf, 0, crc32c(bytes(buf[4:])))


def set_incompat(dev, bit):
    with open(dev, "r+b") as f:
        for blk in SB_BLOCKS:
            b = rd(f, blk)
            inc = struct.unpack_from("<Q", b, 40)[0] | (1 << bit)
            struct.pack_into("<Q", b, 40, inc)
            reseal(b)
            wr(f, blk, b)


def corrupt_sb(dev, blk):
    with open(dev, "r+b") as f:
        b = rd(f, blk)
        b[300] ^= 0xFF
        wr(f, blk, b)


def corrupt_root(dev, which):
    with open(dev, "r+b") as f:
        sb = rd(f, 16)
        blk = struct.unpack_from("<Q", sb, 152 if which == "fs" else 168)[0]
        b = rd(f, blk)
        b[BS - 8] ^= 0xFF
        wr(f, blk, b)
        print(blk)


def leaves(f, blk, level):
    b = rd(f, blk)
    nr = struct.unpack_from("<H", b, 4)[0]
    if level == 0:
        keys = [struct.unpack_from("<QBQ", b, 40 + i * 21) for i in range(nr)]
        yield blk, keys
        return
    for i in range(nr):
        child = struct.unpack_from("<Q", b, 40 + i * 33 + 17)[0]
        yield from leaves(f, child, level - 1)


def corrupt_leaf_of(dev, ino, ty, only=True):
    with open(dev, "r+b") as f:
        sb = rd(f, 16)
        root = struct.unpack_from("<Q", sb, 152)[0]
        level = sb[184]
        for blk, keys in leaves(f, root, level):
            mine = [k[0] == ino and k[1] == ty for k in keys]
            if keys and (all(mine) if only else any(mine)):
                b = rd(f, blk)
                b[BS - 8] ^= 0xFF
                wr(f, blk, b)
                print(blk)
                return 0
    print("no leaf holds only items of type %d of inode %d" % (ty, ino), file=sys.stderr)
    return 1


def sb_field(dev, name):
    """A superblock summary field of the primary copy (docs/FORMAT.md section 2)."""
    offsets = {"generation": 144, "free-blocks": 200, "used-blocks": 208, "next-inode": 192}
    with open(dev, "rb") as f:
        sb = rd(f, 16)
    return struct.unpack_from("<Q", sb, offsets[name])[0]


def main(argv):
    cmd = argv[1]
    if cmd == "set-incompat":
        set_incompat(argv[2], int(argv[3]))
    elif cmd == "corrupt-sb":
        corrupt_sb(argv[2], int(argv[3]))
    elif cmd == "corrupt-root":
        corrupt_root(argv[2], argv[3])
    elif cmd == "corrupt-leaf-of":
        return corrupt_leaf_of(argv[2], int(argv[3]), int(argv[4]))
    elif cmd == "corrupt-leaf-with":
        return corrupt_leaf_of(argv[2], int(argv[3]), int(argv[4]), only=False)
    elif cmd == "sb-field":
        print(sb_field(argv[2], argv[3]))
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
