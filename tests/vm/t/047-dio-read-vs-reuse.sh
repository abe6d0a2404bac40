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
reuse_setup

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
sectors_overlap "$old" "$new_b" || fail "b did not get any of a's old blocks: the test did not set up the reuse"
blocks_of /tmp/read $((4 * MiB)) a1 a2 || fail "the direct read returned bytes that are neither a's old nor a's new contents"
cmp "$MNT/a" /tmp/a2 || fail "a after the overwrite"
cmp "$MNT/b" /tmp/bb || fail "b"
expect umount "$MNT"
"$FSCK" -n "$TEST_DEV" || fail "fsck -n (exit $?)"
exit 0
