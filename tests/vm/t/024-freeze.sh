# fsfreeze -f commits and blocks writers until -u; the image read while frozen is consistent
# (fsck.ferrofs -n on the device is clean and shows the changes made before the freeze).
. tests/vm/lib.sh
need_tools
expect "$MKFS" -f "$TEST_DEV" >/dev/null
load_ferrofs
[ "$(mount_errno "$TEST_DEV" rw commit=86400)" = OK ] || fail "mount"
mkdir -p "$MNT/before/deep" && touch "$MNT/before/deep/file" || fail "changes before the freeze"
gen0=$(python3 tests/vm/lib/fsimg.py sb-field "$TEST_DEV" generation)
expect fsfreeze -f "$MNT"
gen1=$(python3 tests/vm/lib/fsimg.py sb-field "$TEST_DEV" generation)
[ "$gen1" -gt "$gen0" ] || fail "freeze did not commit (generation $gen0 -> $gen1)"
"$FSCK" -n "$TEST_DEV" || fail "fsck.ferrofs -n of the frozen filesystem (exit $?)"
touch "$MNT/during" &
pid=$!
# The writer must end up blocked in the freeze (state D), not finished.
for _ in $(seq 200); do
    st=$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)
    [ "$st" = D ] && break
    [ -z "$st" ] && break
    read -r -t 0.05 _ < /dev/zero 2>/dev/null || true
done
[ "$st" = D ] || fail "the writer is not blocked by the freeze (state '$st')"
[ -e "$MNT/during" ] && fail "a file was created while frozen"
expect fsfreeze -u "$MNT"
wait "$pid" || fail "the writer failed after the thaw"
[ -e "$MNT/during" ] || fail "the writer's file is missing after the thaw"
expect umount "$MNT"
expect "$FSCK" -n "$TEST_DEV"
exit 0
