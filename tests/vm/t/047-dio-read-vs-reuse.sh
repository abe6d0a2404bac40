# A direct read against the reuse of the blocks it is reading (the known limit of the direct
# path before this test: a copy-on-write overwrite racing a direct read frees the blocks the read
# mapped; after the next commit they may be given to another file, and the read's bios, still in
# flight, would return that file's data — a leak between files). The read mapped blocks and is
# held (module parameter dio_read_submit_delay_ms, fault injection) before submitting its bios;
# meanwhile the file is overwritten O_DIRECT (its old blocks freed), a commit runs (`sync`), and
# another file is written into the freed blocks, which FIEMAP shows it got (the filesystem is
# nearly full, so nothing else is free). The read returns the old or the new contents of the
# file, block by block, never the other file's bytes; fsck clean. With the commit not waiting for
# direct reads (the SRCU grace period in transaction::commit), the read returns the other file's
# bytes (checked by hand when this test was written).
. tests/vm/lib.sh
need_tools
expect "$MKFS" -f -s 64m "$TEST_DEV" >/dev/null
load_ferrofs
[ "$(mount_errno "$TEST_DEV" rw)" = OK ] || fail "mount"
PAR=/sys/module/ferrofs/parameters
[ -f $PAR/dio_read_submit_delay_ms ] && [ -f $PAR/dio_read_delayed ] || fail "no dio_read_submit_delay_ms/dio_read_delayed parameters"
MiB=1048576
fill() { python3 -c "import sys; sys.stdout.buffer.write(bytes([int(sys.argv[1], 16)]) * int(sys.argv[2]))" "$@"; }
expect fill a1 $((4 * MiB)) > /tmp/a1
expect fill a2 $((4 * MiB)) > /tmp/a2
expect fill bb $((4 * MiB)) > /tmp/bb
expect dd if=/tmp/a1 of="$MNT/a" bs=4M oflag=direct status=none
expect sync
# Fill the filesystem so that what is left is the overwrite's 4 MiB and 1.5 MiB for metadata:
# the 4 MiB written last can only go into the blocks the overwrite frees.
free=$(( $(stat -f -c '%a * %S' "$MNT") ))
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

echo 1000 > $PAR/dio_read_submit_delay_ms
trap 'echo 0 > $PAR/dio_read_submit_delay_ms' EXIT
before=$(cat $PAR/dio_read_delayed)
dd if="$MNT/a" of=/tmp/read bs=4M count=1 iflag=direct status=none &
reader=$!
# The reader has mapped a's blocks once its first bio waits to be submitted.
for _ in $(seq 600); do
    [ "$(cat $PAR/dio_read_delayed)" -gt "$before" ] && break
    kill -0 $reader 2>/dev/null || break
    sleep 0.05
done
[ "$(cat $PAR/dio_read_delayed)" -gt "$before" ] || fail "the direct read never reached its bio submission"
# The overwrite frees a's old blocks (its finish), the commit makes them free on disk, the next
# write gets them.
dd if=/tmp/a2 of="$MNT/a" bs=4M oflag=direct conv=notrunc status=none || fail "overwrite"
expect sync
dd if=/tmp/bb of="$MNT/b" bs=4M oflag=direct status=none || fail "write of b"
wait $reader || fail "the direct read failed"
new_b=$(physical "$MNT/b") || fail "fiemap b"
echo "b's blocks: $new_b"
python3 - "$old" "$new_b" <<'PY' || fail "b did not get any of a's old blocks: the test did not set up the reuse"
import sys
def ranges(t):
    return [tuple(map(int, l.split())) for l in t.splitlines() if l.strip()]
a, b = ranges(sys.argv[1]), ranges(sys.argv[2])
sys.exit(0 if any(s <= be and bs <= e for s, e in a for bs, be in b) else 1)
PY
python3 - /tmp/read <<'PY' || fail "the direct read returned bytes that are neither a's old nor a's new contents"
import sys
d = open(sys.argv[1], "rb").read()
assert len(d) == 4 << 20, len(d)
bad = [i for i in range(0, len(d), 4096) if d[i:i + 4096] not in (b"\xa1" * 4096, b"\xa2" * 4096)]
if bad:
    print("blocks at", bad[:8], "hold", d[bad[0]:bad[0] + 4].hex(), file=sys.stderr)
    sys.exit(1)
PY
cmp "$MNT/a" /tmp/a2 || fail "a after the overwrite"
cmp "$MNT/b" /tmp/bb || fail "b"
expect umount "$MNT"
"$FSCK" -n "$TEST_DEV" || fail "fsck -n (exit $?)"
exit 0
