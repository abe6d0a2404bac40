# SPDX-License-Identifier: GPL-2.0
# Guest side of `make bench`: the same fio jobs on ferrofs, ext4, XFS and btrfs, one after the
# other on the same disk in this one boot. Writes $FERROFS_OUT/bench.json; scripts/bench prints the
# table and draws the chart. A report, not a test: it fails only when a job cannot run.
set -u
. tests/vm/lib.sh
need_tools
load_ferrofs
OUT=${FERROFS_OUT:?}
SEQ_SIZE=${FERROFS_BENCH_SEQ:-1536m}   # larger than the guest's page cache share (2 GiB guest)
RT=${FERROFS_BENCH_RUNTIME:-20}
DRT=${FERROFS_BENCH_DIO_RUNTIME:-10}
DIO=/tmp/dio
gcc -O2 -Wall -o "$DIO" tests/vm/lib/dio.c -lpthread || fail "building tests/vm/lib/dio.c"
mkdir -p "$MNT"
# job FS NAME FIO_ARGS...: one fio job on the mounted filesystem; records MiB/s.
job() {
    local fs=$1 name=$2; shift 2
    echo 3 > /proc/sys/vm/drop_caches
    local target=--directory="$MNT"
    [ "$fs" = raw ] && target=--filename="$TEST_DEV"
    fio --name="$name" "$target" --output-format=json --output=/tmp/bench.json --invalidate=0 --fallocate=none "$@" > /tmp/bench.err 2>&1 \
        || { cat /tmp/bench.err; fail "$fs: $name"; }
    python3 - "$fs" "$name" /tmp/bench.json >> "$OUT/bench.lines" <<'PY' || { cat /tmp/bench.err; head -c 300 /tmp/bench.json; fail "$fs: $name: no fio result"; }
import json, sys
fs, name, path = sys.argv[1:]
text = open(path).read()
# fio may put warnings before the JSON in the same file.
j = json.loads(text[text.index("{"):])["jobs"][0]
bw = (j["write"]["bw_bytes"] + j["read"]["bw_bytes"]) / 2**20
iops = j["write"]["iops"] + j["read"]["iops"]
print(json.dumps({"fs": fs, "job": name, "MiB/s": round(bw, 1), "iops": round(iops, 1)}))
PY
    tail -1 "$OUT/bench.lines"
}
# meta FS: create and unlink 4000 empty files in one directory; records operations per second.
meta() {
    python3 - "$1" "$MNT/meta" >> "$OUT/bench.lines" <<'PY'
import json, os, sys, time
fs, d = sys.argv[1:]
os.mkdir(d)
n = 4000
t = time.monotonic()
for i in range(n):
    os.close(os.open(os.path.join(d, "f%05d" % i), os.O_CREAT | os.O_WRONLY, 0o644))
for i in range(n):
    os.unlink(os.path.join(d, "f%05d" % i))
os.sync()
dt = time.monotonic() - t
print(json.dumps({"fs": fs, "job": "create+unlink", "ops/s": round(2 * n / dt, 1)}))
PY
    tail -1 "$OUT/bench.lines"
}
# dio FS: direct I/O jobs (4 KiB random and 1 MiB sequential, writes and reads, queue depth 1
# with psync and 32 with libaio and io_uring).
dio() {
    local fs=$1 d="--direct=1 --time_based --runtime=$DRT --size=512m"
    job "$fs" dio-seq-write-1m-qd1 $d --rw=write --bs=1m --ioengine=psync
    job "$fs" dio-seq-read-1m-qd1 $d --rw=read --bs=1m --ioengine=psync
    job "$fs" dio-rand-write-4k-qd1 $d --rw=randwrite --bs=4k --ioengine=psync
    job "$fs" dio-rand-write-4k-qd32-uring $d --rw=randwrite --bs=4k --ioengine=io_uring --iodepth=32
    job "$fs" dio-rand-read-4k-qd32-libaio $d --rw=randread --bs=4k --ioengine=libaio --iodepth=32
}
# mmapdio FS: 1 MiB direct writes from freshly mapped buffers: all pages present (populate),
# every page touched from user space first (touch: the page faults of the next case without a
# retry), or only the first page touched (first: every write faults part-way, the kernel faults
# the rest in, the write resumes: the partial-write retry path).
mmapdio() {
    local fs=$1 n=128 mode v
    head -c $((n << 20)) /dev/urandom > "$MNT/mmap-src" || fail "$fs: mmap-src"
    cat "$MNT/mmap-src" > /dev/null
    for mode in populate touch first; do
        v=$("$DIO" mmapbench "$MNT/mmap-dst" "$MNT/mmap-src" $n $mode) || fail "$fs: mmapbench $mode"
        echo "{\"fs\": \"$fs\", \"job\": \"dio-write-from-mmap-$mode\", \"MiB/s\": $v}" >> "$OUT/bench.lines"
        tail -1 "$OUT/bench.lines"
        rm -f "$MNT/mmap-dst"
    done
    rm -f "$MNT/mmap-src"
}
: > "$OUT/bench.lines"
for fs in ferrofs ext4 xfs btrfs; do
    echo "=== $fs"
    case $fs in
        ferrofs) "$MKFS" -f "$TEST_DEV" >/dev/null ;;
        ext4) mkfs.ext4 -q -F "$TEST_DEV" ;;
        xfs) mkfs.xfs -q -f "$TEST_DEV" ;;
        btrfs) mkfs.btrfs -q -f "$TEST_DEV" ;;
    esac || fail "mkfs $fs"
    mount -t "$fs" "$TEST_DEV" "$MNT" || fail "mount $fs"
    job "$fs" seq-write --rw=write --bs=1m --size="$SEQ_SIZE" --end_fsync=1 --ioengine=psync
    job "$fs" seq-read --rw=read --bs=1m --size="$SEQ_SIZE" --ioengine=psync
    rm -f "$MNT"/seq-*
    job "$fs" rand-write-4k-fsync32 --rw=randwrite --bs=4k --size=256m --fsync=32 --time_based --runtime="$RT" --ioengine=psync
    rm -f "$MNT"/rand-*
    meta "$fs"
    dio "$fs"
    rm -f "$MNT"/dio-*
    mmapdio "$fs"
    umount "$MNT" || fail "umount $fs"
done
echo "=== raw device"
dio raw
python3 - "$OUT/bench.lines" "$OUT/bench.json" <<'PY'
import json, platform, sys, time
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
json.dump({"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "kernel": platform.release(), "rows": rows},
          open(sys.argv[2], "w"), indent=1)
PY
exit 0
