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
mkdir -p "$MNT"
# job FS NAME FIO_ARGS...: one fio job on the mounted filesystem; records MiB/s.
job() {
    local fs=$1 name=$2; shift 2
    echo 3 > /proc/sys/vm/drop_caches
    fio --name="$name" --directory="$MNT" --output-format=json --output=/tmp/bench.json --invalidate=0 --fallocate=none "$@" > /tmp/bench.err 2>&1 \
        || { cat /tmp/bench.err; fail "$fs: $name"; }
    python3 - "$fs" "$name" /tmp/bench.json >> "$OUT/bench.lines" <<'PY' || { cat /tmp/bench.err; head -c 300 /tmp/bench.json; fail "$fs: $name: no fio result"; }
import json, sys
fs, name, path = sys.argv[1:]
text = open(path).read()
# fio puts its warnings (no fadvise in the test kernel) before the JSON in the same file.
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
    umount "$MNT" || fail "umount $fs"
done
python3 - "$OUT/bench.lines" "$OUT/bench.json" <<'PY'
import json, platform, sys, time
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
json.dump({"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "kernel": platform.release(), "rows": rows},
          open(sys.argv[2], "w"), indent=1)
PY
exit 0
