#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""fsx-style random file operations against an in-memory model (written for ferrofs).

    fsx.py FILE --seed S --ops N [--max-size BYTES] [--log FILE] [--cycle-every K --cycle-cmd CMD]
           [--only OP,OP...]

Runs N seeded random operations on FILE and the same on a bytearray model: buffered and direct
writes and reads, truncate, mmap writes, fsync, fallocate (allocate, KEEP_SIZE, PUNCH_HOLE,
ZERO_RANGE, COLLAPSE_RANGE, INSERT_RANGE), clones and dedupes between ranges of the file
(FICLONERANGE, FIDEDUPERANGE), page cache drops. Every read is compared with the model; every --cycle-every operations the file is closed, CMD runs (say: unmount, fsck, mount)
and the whole file is compared. Each operation is logged before it runs, so a failure names the
sequence that led to it; the same seed replays it. A mode the filesystem refuses with EOPNOTSUPP
is logged once and not tried again (the caller asserts what must be supported). Exit 0 when the
file always matched, 1 with the first difference otherwise.
"""
import argparse, ctypes, errno, fcntl, mmap, os, random, struct, subprocess, sys

BS = 4096
FALLOC_FL_KEEP_SIZE, FALLOC_FL_PUNCH_HOLE = 1, 2
FALLOC_FL_COLLAPSE_RANGE, FALLOC_FL_ZERO_RANGE, FALLOC_FL_INSERT_RANGE = 8, 0x10, 0x20
FICLONERANGE = 0x4020940D  # _IOW(0x94, 13, struct file_clone_range)
FIDEDUPERANGE = 0xC0189436  # _IOWR(0x94, 54, struct file_dedupe_range)
FILE_DEDUPE_RANGE_DIFFERS = 1
libc = ctypes.CDLL(None, use_errno=True)
libc.fallocate.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_long, ctypes.c_long]


def fallocate(fd, mode, off, length):
    if libc.fallocate(fd, mode, off, length) != 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e))


class Fail(Exception):
    pass


class Fsx:
    def __init__(self, path, seed, max_size, log):
        self.path, self.max = path, max_size
        self.rnd = random.Random(seed)
        self.model = bytearray()
        self.log = log
        self.hist = []
        self.unsupported = set()
        self.open()

    def open(self):
        self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_TRUNC if not hasattr(self, "fd") else os.O_RDWR, 0o644)
        self.dfd = os.open(self.path, os.O_RDWR | os.O_DIRECT)

    def close(self):
        os.close(self.fd)
        os.close(self.dfd)

    def note(self, n, text):
        line = "%d %s" % (n, text)
        self.hist.append(line)
        del self.hist[:-30]
        if self.log:
            self.log.write(line + "\n")
            self.log.flush()

    def fail(self, what):
        raise Fail("%s\nlast operations:\n  %s" % (what, "\n  ".join(self.hist)))

    def compare(self, off, got, what):
        want = bytes(self.model[off:off + len(got)])
        if len(got) != len(want):
            self.fail("%s at %#x: read %d bytes, the model has %d" % (what, off, len(got), len(want)))
        if got != want:
            i = next(i for i in range(len(got)) if got[i] != want[i])
            self.fail("%s at %#x: byte %#x is %#04x, the model has %#04x" % (what, off, off + i, got[i], want[i]))

    def check_all(self, what):
        size = os.fstat(self.fd).st_size
        if size != len(self.model):
            self.fail("%s: size %d, the model has %d" % (what, size, len(self.model)))
        off = 0
        while off < size:
            self.compare(off, os.pread(self.fd, min(1 << 20, size - off), off), what)
            off += 1 << 20

    def grow(self, end):
        if end > len(self.model):
            self.model.extend(bytes(end - len(self.model)))

    def zero(self, a, b):
        b = min(b, len(self.model))
        if a < b:
            self.model[a:b] = bytes(b - a)

    def rand_range(self, align=1, max_len=1 << 16):
        off = self.rnd.randrange(0, self.max) // align * align
        length = max(align, self.rnd.randrange(1, max_len + 1) // align * align)
        return off, min(length, self.max - off) if off + length > self.max else length

    def falloc(self, n, name, mode, off, length, apply):
        if name in self.unsupported:
            return
        self.note(n, "%s %#x +%#x" % (name, off, length))
        try:
            fallocate(self.fd, mode, off, length)
        except OSError as e:
            if e.errno == errno.EOPNOTSUPP:
                self.note(n, "%s: EOPNOTSUPP, not tried again" % name)
                self.unsupported.add(name)
                return
            if e.errno == errno.EINVAL and name in ("collapse", "insert"):
                return  # a range the operation refuses (past EOF, unaligned)
            self.fail("%s %#x +%#x: %s" % (name, off, length, e))
        apply()

    def step(self, n, ops):
        op = self.rnd.choice(ops)
        size = len(self.model)
        if op == "write":
            off, length = self.rand_range()
            data = self.rnd.randbytes(length)
            self.note(n, "write %#x +%#x" % (off, length))
            if os.pwrite(self.fd, data, off) != length:
                self.fail("short write")
            self.grow(off + length)
            self.model[off:off + length] = data
        elif op == "dwrite":
            off, length = self.rand_range(BS)
            buf = mmap.mmap(-1, length)
            buf.write(self.rnd.randbytes(length))
            self.note(n, "dwrite %#x +%#x" % (off, length))
            if os.pwrite(self.dfd, buf, off) != length:
                self.fail("short direct write")
            self.grow(off + length)
            self.model[off:off + length] = buf[:]
        elif op == "read":
            off, length = self.rand_range()
            self.note(n, "read %#x +%#x" % (off, length))
            self.compare(off, os.pread(self.fd, length, off), "read")
        elif op == "dread":
            off, length = self.rand_range(BS)
            buf = mmap.mmap(-1, length)
            self.note(n, "dread %#x +%#x" % (off, length))
            got = os.preadv(self.dfd, [buf], off)
            self.compare(off, buf[:got], "direct read")
        elif op == "truncate":
            new = self.rnd.randrange(0, self.max)
            self.note(n, "truncate %#x" % new)
            os.ftruncate(self.fd, new)
            if new < size:
                del self.model[new:]
            else:
                self.grow(new)
        elif op == "mwrite":
            if size == 0:
                return
            off = self.rnd.randrange(0, size)
            length = min(self.rnd.randrange(1, 1 << 15), size - off)
            data = self.rnd.randbytes(length)
            self.note(n, "mwrite %#x +%#x" % (off, length))
            base = off - off % mmap.PAGESIZE
            m = mmap.mmap(self.fd, off + length - base, offset=base)
            m[off - base:off - base + length] = data
            m.flush()
            m.close()
            self.model[off:off + length] = data
        elif op == "fsync":
            self.note(n, "fsync")
            os.fsync(self.fd)
        elif op == "dropcache":
            self.note(n, "dropcache")
            os.fsync(self.fd)
            with open("/proc/sys/vm/drop_caches", "w") as f:
                f.write("3\n")
        elif op == "falloc":
            off, length = self.rand_range(1, 1 << 18)
            self.falloc(n, "falloc", 0, off, length, lambda: self.grow(off + length))
        elif op == "keepsize":
            off, length = self.rand_range(1, 1 << 18)
            self.falloc(n, "keepsize", FALLOC_FL_KEEP_SIZE, off, length, lambda: None)
        elif op == "punch":
            off, length = self.rand_range(1, 1 << 18)
            self.falloc(n, "punch", FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, off, length, lambda: self.zero(off, off + length))
        elif op == "zero":
            off, length = self.rand_range(1, 1 << 18)
            keep = self.rnd.random() < 0.5
            mode = FALLOC_FL_ZERO_RANGE | (FALLOC_FL_KEEP_SIZE if keep else 0)

            def apply():
                self.zero(off, off + length)
                if not keep:
                    self.grow(off + length)
            self.falloc(n, "zero" + ("-keep" if keep else ""), mode, off, length, apply)
        elif op == "collapse":
            if size <= BS:
                return
            off = self.rnd.randrange(0, size) // BS * BS
            length = max(BS, self.rnd.randrange(1, size - off + 1) // BS * BS)
            if off + length >= size:
                return

            def apply():
                del self.model[off:off + length]
            self.falloc(n, "collapse", FALLOC_FL_COLLAPSE_RANGE, off, length, apply)
        elif op == "insert":
            if size == 0:
                return
            off = self.rnd.randrange(0, size) // BS * BS
            length = max(BS, self.rnd.randrange(1, 1 << 16) // BS * BS)
            if size + length > self.max:
                return

            def apply():
                self.model[off:off] = bytes(length)
            self.falloc(n, "insert", FALLOC_FL_INSERT_RANGE, off, length, apply)
        elif op in ("clone", "dedupe"):
            if op in self.unsupported or size < 2 * BS:
                return
            length = max(BS, self.rnd.randrange(1, min(size // 2, 1 << 18) + 1) // BS * BS)
            src = self.rnd.randrange(0, (size - length) // BS + 1) * BS
            dst = self.rnd.randrange(0, (self.max - length) // BS + 1) * BS
            if src < dst + length and dst < src + length:
                return  # overlapping ranges of one file are refused
            if op == "dedupe" and self.rnd.random() < 0.7:
                # Make the two ranges equal first, so the dedupe shares them.
                data = bytes(self.model[src:src + length])
                self.note(n, "write %#x +%#x (dedupe set-up)" % (dst, length))
                os.pwrite(self.fd, data, dst)
                self.grow(dst + length)
                self.model[dst:dst + length] = data
            if op == "dedupe" and dst + length > len(self.model):
                return
            self.note(n, "%s %#x -> %#x +%#x" % (op, src, dst, length))
            try:
                if op == "clone":
                    fcntl.ioctl(self.fd, FICLONERANGE, struct.pack("=qQQQ", self.fd, src, length, dst))
                else:
                    arg = bytearray(struct.pack("=QQHHI", src, length, 1, 0, 0) + struct.pack("=qQQiI", self.fd, dst, 0, 0, 0))
                    fcntl.ioctl(self.fd, FIDEDUPERANGE, arg)
                    _, _, done, status, _ = struct.unpack("=qQQiI", arg[24:])
                    same = self.model[src:src + length] == self.model[dst:dst + length]
                    if status < 0:
                        self.fail("dedupe: status %s" % errno.errorcode.get(-status, status))
                    if same and (status != 0 or done != length):
                        self.fail("dedupe of equal ranges: status %d, %d bytes" % (status, done))
                    if not same and status != FILE_DEDUPE_RANGE_DIFFERS:
                        self.fail("dedupe of different ranges: status %d, not FILE_DEDUPE_RANGE_DIFFERS" % status)
                    return
            except OSError as e:
                if e.errno == errno.EOPNOTSUPP:
                    self.note(n, "%s: EOPNOTSUPP, not tried again" % op)
                    self.unsupported.add(op)
                    return
                self.fail("%s %#x -> %#x +%#x: %s" % (op, src, dst, length, e))
            data = bytes(self.model[src:src + length])
            self.grow(dst + length)
            self.model[dst:dst + length] = data
        else:
            raise SystemExit("unknown operation " + op)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("file")
    ap.add_argument("--seed", type=int, required=True)
    ap.add_argument("--ops", type=int, required=True)
    ap.add_argument("--max-size", type=int, default=4 << 20)
    ap.add_argument("--log")
    ap.add_argument("--cycle-every", type=int, default=0)
    ap.add_argument("--cycle-cmd")
    ap.add_argument("--only", default="write,dwrite,read,dread,truncate,mwrite,fsync,dropcache,falloc,keepsize,punch,zero,collapse,insert,clone,dedupe")
    a = ap.parse_args()
    ops = a.only.split(",")
    log = open(a.log, "w") if a.log else None
    fsx = Fsx(a.file, a.seed, a.max_size, log)
    try:
        for n in range(1, a.ops + 1):
            fsx.step(n, ops)
            if a.cycle_every and n % a.cycle_every == 0:
                fsx.check_all("before cycle at op %d" % n)
                fsx.close()
                fsx.note(n, "cycle: " + a.cycle_cmd)
                r = subprocess.run(a.cycle_cmd, shell=True)
                if r.returncode != 0:
                    fsx.fail("cycle command exited %d" % r.returncode)
                fsx.open()
                fsx.check_all("after cycle at op %d" % n)
        fsx.check_all("at the end")
    except Fail as e:
        print("fsx (seed %d): %s" % (a.seed, e), file=sys.stderr)
        return 1
    except OSError as e:
        print("fsx (seed %d): %s\nlast operations:\n  %s" % (a.seed, e, "\n  ".join(fsx.hist)), file=sys.stderr)
        return 1
    print("fsx: %d operations (seed %d) matched the model%s" % (
        a.ops, a.seed, "; not supported: " + ",".join(sorted(fsx.unsupported)) if fsx.unsupported else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
