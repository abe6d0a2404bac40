# A commit whose metadata writes fail is kept and written again by the next commit: the
# filesystem stays writable, lookups (after drop_caches) still see its blocks, and once writes work
# again the next commit makes it and later changes durable. Commits still failing
# commit_retry_secs (a module parameter; 30 s by default, 5 here) after the first failure abort:
# the filesystem turns read-only with one message, later changes get EROFS, unmount works, and the
# next mount shows the last commit. Before that, the block device's own writeback under errors
# leaves the running transaction alone.
. tests/vm/lib.sh
need_tools
load_ferrofs
DM=ferrofs-err
flakey_create "$DM"
expect "$MKFS" -f "/dev/mapper/$DM" >/dev/null
[ "$(mount_errno "/dev/mapper/$DM" rw commit=86400)" = OK ] || fail "mount"
mkdir "$MNT/kept" && touch "$MNT/kept/a" || fail "first changes"
expect sync -f "$MNT"
# The running transaction's tree blocks are the commit's to write, never the block device's own
# writeback's: an fsync of the device (which writes its page cache back and does not commit)
# while every write fails leaves them intact in memory, so lookups after drop_caches still work
# and the commit after the errors writes them. (Were they dirty buffers of the device, as they
# were until 2026-12-03, that write would fail, drop their contents, and the lookups read stale
# blocks: EUCLEAN. The flusher did the same on its own in 045 and 052 on slow machines.)
mkdir "$MNT/pre" || fail "mkdir pre"
for i in $(seq 1 200); do echo "$i" > "$MNT/pre/f$i" || fail "creating pre/f$i"; done
mark_dmesg
flakey_mode "$DM" error_writes
# (Its own status is EIO or not as the device's cache flush fails: not what is tested.)
xfs_io -c fsync "/dev/mapper/$DM" 2>/dev/null
dmesg_has "lost async page write" && fail "the device's writeback wrote blocks of the running transaction"
echo 3 > /proc/sys/vm/drop_caches
[ "$(ls "$MNT/pre" | wc -l)" = 200 ] || fail "lookups after the device's writeback failed: $(ls "$MNT/pre" 2>&1 | head -3)"
[ "$(cat "$MNT/pre/f77")" = 77 ] || fail "pre/f77 after the device's writeback failed"
flakey_mode "$DM" pass
expect sync -f "$MNT"

# One failed commit: kept, written again by the next one once the device works.
mark_dmesg
flakey_mode "$DM" error_writes
mkdir "$MNT/retried" || fail "a change before the failing commit"
sync -f "$MNT" && fail "syncfs succeeded although every write fails"
dmesg_has "the next commits write this one again for up to 30 s" || fail "no message for the kept commit"
dmesg_has "the filesystem is now read-only" && fail "one failed commit made the filesystem read-only"
echo 3 > /proc/sys/vm/drop_caches
[ -d "$MNT/retried" ] || fail "lookup of the failed commit's directory after drop_caches"
[ "$(cat "$MNT/pre/f77")" = 77 ] || fail "pre/f77 after the failed commit and drop_caches"
touch "$MNT/retried/after" || fail "a change after one failed commit"
flakey_mode "$DM" pass
expect sync -f "$MNT"

# Failing on and on: kept for commit_retry_secs, then the first commit to fail after that aborts.
echo 5 > /sys/module/ferrofs/parameters/commit_retry_secs || fail "setting commit_retry_secs"
mark_dmesg
flakey_mode "$DM" error_writes
mkdir "$MNT/lost" || fail "a change before the failing commits"
sync -f "$MNT" && fail "syncfs succeeded although every write fails"
touch "$MNT/lost/1" || fail "a change after a failed commit"
t0=$SECONDS
dmesg_has "the filesystem is now read-only" && fail "read-only at once with commit_retry_secs=5"
# Commits again until one comes more than 5 s after the first failure (a poll, at most 60 s).
until dmesg_has "the filesystem is now read-only"; do
    [ $((SECONDS - t0)) -lt 60 ] || fail "still writable 60 s after the first failed commit"
    touch "$MNT/lost/again" 2>/dev/null
    sync -f "$MNT" 2>/dev/null && fail "a syncfs succeeded although every write fails"
    sleep 0.5
done
echo 30 > /sys/module/ferrofs/parameters/commit_retry_secs
[ "$(dmesg | tail -n +"$DMESG_START" | grep -c 'the filesystem is now read-only')" = 1 ] || fail "the abort message is not said exactly once"
touch "$MNT/after" 2>/dev/null && fail "a change succeeded after the abort"
grep -E " $MNT ferrofs ro[, ]" /proc/mounts || fail "/proc/mounts does not show the mount read-only"
expect umount "$MNT"
flakey_restore "$DM"
"$FSCK" -n "/dev/mapper/$DM" || fail "fsck.ferrofs -n after the failed commit (exit $?)"
[ "$(mount_errno "/dev/mapper/$DM" rw)" = OK ] || fail "mount after the failure"
[ -f "$MNT/kept/a" ] || fail "the last commit's file is missing"
[ "$(ls "$MNT/pre" | wc -l)" = 200 ] && [ "$(cat "$MNT/pre/f200")" = 200 ] || fail "the files committed after the device's failed writeback are not all there"
[ -f "$MNT/retried/after" ] || fail "the kept commit and the change after it did not reach the disk once writes worked"
[ -e "$MNT/lost" ] && fail "the failed transaction's directory exists"
expect umount "$MNT"
expect dmsetup remove "$DM"
exit 0
