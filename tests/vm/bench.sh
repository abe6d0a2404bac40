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
DIO=$H/dio
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
# mmapdio FS: direct writes from freshly mapped buffers: all pages present (populate), every page
# touched from user space first (touch: the page faults of the next cases without a retry), or
# only the first page touched (first: the generic/708 workload; ferrofs faults the buffer in before
# the write, up to its dio_prefault_kib window). And 32 MiB writes, touch-32m against first-32m,
# where each write is longer than ferrofs's 8 MiB window and so stops at a fault three times.
# Three interleaved rounds in this boot; the median of each is recorded (TCG is noisy).
# For ferrofs also the partial-write path's own cost (dio retrybench): the first workload with
# the window as it is (prefaulted) against the window off (partial: every write stops at a fault
# of its buffer part-way, faults the rest in and resumes), alternating write by write so that the
# VM's drift falls on both alike; three rounds, medians, and each round must have taken the
# partial path on every one of its partial writes (dio_retries).
mmapdio() {
    local fs=$1 n=128 mode v r modes="populate touch first touch-32m first-32m"
    local par=/sys/module/ferrofs/parameters
    head -c $((n << 20)) /dev/urandom > "$MNT/mmap-src" || fail "$fs: mmap-src"
    cat "$MNT/mmap-src" > /dev/null
    : > /tmp/mmap.vals
    for r in 1 2 3; do
        for mode in $modes; do
            local m=${mode%-32m} w=1
            [ "$mode" != "$m" ] && w=32
            v=$("$DIO" mmapbench "$MNT/mmap-dst" "$MNT/mmap-src" $n $m $w) || fail "$fs: mmapbench $mode"
            echo "$mode $v" >> /tmp/mmap.vals
            rm -f "$MNT/mmap-dst"
        done
        if [ "$fs" = ferrofs ]; then
            local before=$(cat $par/dio_retries) taken
            v=$("$DIO" retrybench "$MNT/mmap-dst" "$MNT/mmap-src" $n $par/dio_prefault_kib) || fail "$fs: retrybench"
            taken=$(( $(cat $par/dio_retries) - before ))
            [ "$taken" -ge $((n / 2)) ] || fail "$fs: retrybench: the partial-write path ran $taken times for $((n / 2)) writes"
            echo "first-ab-prefaulted ${v% *}" >> /tmp/mmap.vals
            echo "first-ab-partial ${v#* }" >> /tmp/mmap.vals
            rm -f "$MNT/mmap-dst"
        fi
    done
    python3 - "$fs" /tmp/mmap.vals >> "$OUT/bench.lines" <<'PY'
import json, statistics, sys
fs, path = sys.argv[1:]
vals = {}
for line in open(path):
    mode, v = line.split()
    vals.setdefault(mode, []).append(float(v))
for mode, vs in vals.items():
    print(json.dumps({"fs": fs, "job": "dio-write-from-mmap-" + mode, "MiB/s": round(statistics.median(vs), 1), "rounds": vs}))
PY
    cat /tmp/mmap.vals
    rm -f "$MNT/mmap-src"
}
# FERROFS_BENCH_FS and FERROFS_BENCH_SETS choose filesystems and sets (fio meta dio mmap) for a
# quicker look; the report of record runs all of them.
BENCH_FS=${FERROFS_BENCH_FS:-ferrofs ext4 xfs btrfs}
SETS=" ${FERROFS_BENCH_SETS:-fio meta dio mmap} "
: > "$OUT/bench.lines"
for fs in $BENCH_FS; do
    echo "=== $fs"
    case $fs in
        ferrofs) "$MKFS" -f "$TEST_DEV" >/dev/null ;;
        ext4) mkfs.ext4 -q -F "$TEST_DEV" ;;
        xfs) mkfs.xfs -q -f "$TEST_DEV" ;;
        btrfs) mkfs.btrfs -q -f "$TEST_DEV" ;;
    esac || fail "mkfs $fs"
    mount -t "$fs" "$TEST_DEV" "$MNT" || fail "mount $fs"
    if [[ $SETS == *" fio "* ]]; then
        job "$fs" seq-write --rw=write --bs=1m --size="$SEQ_SIZE" --end_fsync=1 --ioengine=psync
        job "$fs" seq-read --rw=read --bs=1m --size="$SEQ_SIZE" --ioengine=psync
        rm -f "$MNT"/seq-*
        job "$fs" rand-write-4k-fsync32 --rw=randwrite --bs=4k --size=256m --fsync=32 --time_based --runtime="$RT" --ioengine=psync
        rm -f "$MNT"/rand-*
    fi
    [[ $SETS == *" meta "* ]] && meta "$fs"
    if [[ $SETS == *" dio "* ]]; then
        dio "$fs"
        rm -f "$MNT"/dio-*
    fi
    [[ $SETS == *" mmap "* ]] && mmapdio "$fs"
    umount "$MNT" || fail "umount $fs"
done
if [[ $SETS == *" dio "* ]]; then
    echo "=== raw device"
    dio raw
fi
python3 - "$OUT/bench.lines" "$OUT/bench.json" <<'PY'
import json, platform, sys, time
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
json.dump({"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "kernel": platform.release(), "rows": rows},
          open(sys.argv[2], "w"), indent=1)
PY
exit 0
