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
reuse_setup
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
sectors_overlap "$old" "$new_b" || fail "b did not get any of a's old blocks"
blocks_of /tmp/read $((4 * MiB)) a1 a2 || fail "the buffered read returned bytes that are neither a's old nor a's new contents"
echo 3 > /proc/sys/vm/drop_caches
cmp "$MNT/a" /tmp/a2 || fail "a after the overwrite"
cmp "$MNT/b" /tmp/bb || fail "b"
expect umount "$MNT"
"$FSCK" -n "$TEST_DEV" || fail "fsck -n (exit $?)"
exit 0
