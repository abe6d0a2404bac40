# A direct overwrite against a buffered read of the blocks it replaces (until this test, the
# documented limit of the buffered read path, docs/LOCKING.md "buffered reads and freed blocks").
# The overwrite is held in its completion (fault injection, dio_write_end_delay_ms: its bios have
# written the new blocks, the tree still maps the old ones); a buffered read of the file then
# locks its folios, maps the old blocks and is held before submitting its bio
# (read_map_delay_ms). The overwrite's finish goes on: it takes the old blocks out of the file,
# and its completion waits for the read (dio_write_read_waits moves, the writer has not returned).
# A commit (`sync`) while the read is held must not make the old blocks reusable: the free count
# does not grow by them, although they are free on disk. Once the read goes on it returns the
# file's old or new contents, block by block; the overwrite returns; the next commit releases the
# old blocks (the free count grows by them) and another file written then gets them (FIEMAP; the
# filesystem is nearly full). fsck clean. With a module built without the read hold the test
# fails (the completion does not wait for the read; checked on 2026-12-05). Without it, a commit
# and another file's write while the read is held put that file's data into this file's page
# cache; iomap's invalidation after the write's completion usually drops the folio before the
# reader copies from it (a run of that sequence read a's new contents), but nothing made it so.
. tests/vm/lib.sh
need_tools
expect "$MKFS" -f -s 64m "$TEST_DEV" >/dev/null
load_ferrofs
[ "$(mount_errno "$TEST_DEV" rw)" = OK ] || fail "mount"
PAR=/sys/module/ferrofs/parameters
for p in read_map_delay_ms read_map_delayed dio_write_end_delay_ms dio_write_end_delayed dio_write_read_waits; do
    [ -f $PAR/$p ] || fail "no $p parameter"
done
MiB=1048576
fill() { python3 -c "import sys; sys.stdout.buffer.write(bytes([int(sys.argv[1], 16)]) * int(sys.argv[2]))" "$@"; }
free_bytes() { echo $(( $(stat -f -c '%a * %S' "$MNT") )); }
expect fill a1 $((4 * MiB)) > /tmp/a1
expect fill a2 $((4 * MiB)) > /tmp/a2
expect fill bb $((4 * MiB)) > /tmp/bb
expect dd if=/tmp/a1 of="$MNT/a" bs=4M oflag=direct status=none
expect sync
# Fill the filesystem so that what is left is the overwrite's 4 MiB and 1.5 MiB for metadata:
# the 4 MiB written last can only go into the blocks the overwrite frees.
free=$(free_bytes)
fillsz=$(( (free - 4 * MiB - 3 * MiB / 2) / MiB ))
[ "$fillsz" -gt 0 ] || fail "no room for the filler ($free bytes free)"
expect dd if=/dev/zero of="$MNT/filler" bs=1M count="$fillsz" oflag=direct status=none
expect sync
# physical FILE: "first last" 512-byte sectors on the device, one line per extent (FIEMAP).
physical() {
    xfs_io -r -c fiemap "$1" | sed -n 's/.*: \[[0-9]*\.\.[0-9]*\]: \([0-9]*\)\.\.\([0-9]*\)$/\1 \2/p'
}
old=$(physical "$MNT/a") || fail "fiemap a"
[ -n "$old" ] || fail "fiemap shows no extent of a"
echo "a's blocks: $old"
free0=$(free_bytes)

trap 'echo 0 > $PAR/read_map_delay_ms; echo 0 > $PAR/dio_write_end_delay_ms' EXIT
# wait_for COUNTER BEFORE PID MESSAGE: until the counter passes BEFORE (PID still running).
wait_for() {
    for _ in $(seq 1200); do
        [ "$(cat $PAR/$1)" -gt "$2" ] && return 0
        kill -0 "$3" 2>/dev/null || break
        sleep 0.05
    done
    [ "$(cat $PAR/$1)" -gt "$2" ] || fail "$4"
}

echo 60000 > $PAR/dio_write_end_delay_ms
n=$(cat $PAR/dio_write_end_delayed)
dd if=/tmp/a2 of="$MNT/a" bs=4M oflag=direct conv=notrunc status=none &
writer=$!
wait_for dio_write_end_delayed "$n" $writer "the overwrite never reached its completion"

# The overwrite dropped a's page cache before writing: the read goes to the disk, to the old blocks.
echo 60000 > $PAR/read_map_delay_ms
n=$(cat $PAR/read_map_delayed)
dd if="$MNT/a" of=/tmp/read bs=4M count=1 status=none &
reader=$!
wait_for read_map_delayed "$n" $reader "the buffered read never mapped a's blocks"

n=$(cat $PAR/dio_write_read_waits)
echo 0 > $PAR/dio_write_end_delay_ms
wait_for dio_write_read_waits "$n" $writer "the overwrite's completion did not wait for the buffered read of its range"
kill -0 $writer 2>/dev/null || fail "the overwrite returned while a buffered read of its old blocks was in flight"
[ "$(physical "$MNT/a")" != "$old" ] || fail "the overwrite's finish did not replace a's blocks"

expect sync
free1=$(free_bytes)
echo "free: $free0 before, $free1 after the overwrite's finish and a commit, the read still held"
[ "$free1" -lt $((free0 - 3 * MiB)) ] || fail "a commit released a's old blocks while a buffered read that mapped them was in flight"

echo 0 > $PAR/read_map_delay_ms
wait $reader || fail "the buffered read failed"
wait $writer || fail "the overwrite failed"
expect sync
free2=$(free_bytes)
echo "free: $free2 after the read, the overwrite's return and a commit"
[ "$free2" -gt $((free0 - MiB)) ] || fail "a's old blocks were not released once the read was over"

dd if=/tmp/bb of="$MNT/b" bs=4M oflag=direct status=none || fail "write of b"
new_b=$(physical "$MNT/b") || fail "fiemap b"
echo "b's blocks: $new_b"
python3 - "$old" "$new_b" <<'PY' || fail "b did not get any of a's old blocks"
import sys
def ranges(t):
    return [tuple(map(int, l.split())) for l in t.splitlines() if l.strip()]
a, b = ranges(sys.argv[1]), ranges(sys.argv[2])
sys.exit(0 if any(s <= be and bs <= e for s, e in a for bs, be in b) else 1)
PY
python3 - /tmp/read <<'PY' || fail "the buffered read returned bytes that are neither a's old nor a's new contents"
import sys
d = open(sys.argv[1], "rb").read()
assert len(d) == 4 << 20, len(d)
bad = [i for i in range(0, len(d), 4096) if d[i:i + 4096] not in (b"\xa1" * 4096, b"\xa2" * 4096)]
if bad:
    print("blocks at", bad[:8], "hold", d[bad[0]:bad[0] + 4].hex(), file=sys.stderr)
    sys.exit(1)
PY
echo 3 > /proc/sys/vm/drop_caches
cmp "$MNT/a" /tmp/a2 || fail "a after the overwrite"
cmp "$MNT/b" /tmp/bb || fail "b"
expect umount "$MNT"
"$FSCK" -n "$TEST_DEV" || fail "fsck -n (exit $?)"
exit 0
