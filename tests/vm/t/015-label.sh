# The label of a mounted filesystem (FS_IOC_GETFSLABEL/SETFSLABEL, what xfs_io's label command and
# fstests' generic/492 use): mkfs -L shows through the ioctl; setting one is durable when the call
# returns (dm-flakey drops every later write), 64 bytes fit and 65 are EINVAL; clearing works;
# tune.ferrofs -l and the next mount see it; fsck.ferrofs -n is clean.
. tests/vm/lib.sh
need_tools
DM=ferrofs-label
expect "$MKFS" -f -L first "$TEST_DEV" >/dev/null
load_ferrofs
flakey_create "$DM"
mkdir -p "$MNT"
expect mount -t ferrofs "/dev/mapper/$DM" "$MNT"
label() { xfs_io -c label "$MNT"; }
[ "$(label)" = 'label = "first"' ] || fail "label after mkfs -L first: $(label)"
long=$(printf 'L%.0s' $(seq 64))
out=$(xfs_io -c "label -s $long" "$MNT" 2>&1)
[ "$(label)" = "label = \"$long\"" ] || fail "a 64-byte label: $out / $(label)"
out=$(xfs_io -c "label -s ${long}X" "$MNT" 2>&1)
echo "$out" | grep -q "Invalid argument" || fail "a 65-byte label was not EINVAL: $out"
[ "$(label)" = "label = \"$long\"" ] || fail "a refused label changed it: $(label)"
xfs_io -c "label -s second" "$MNT" > /dev/null
# Durable on return: every write after it is dropped.
flakey_mode "$DM" drop_writes
expect umount "$MNT"
flakey_restore "$DM"
t=$("$FERROFS_ROOT/out/bin/tune.ferrofs" -l "/dev/mapper/$DM") || fail "tune.ferrofs -l"
echo "$t" | grep -qx "Filesystem volume name:   second" || fail "tune.ferrofs -l after the crash: $(echo "$t" | grep -i volume)"
"$FSCK" -n "/dev/mapper/$DM" || fail "fsck.ferrofs -n after setting the label (exit $?)"
expect mount -t ferrofs "/dev/mapper/$DM" "$MNT"
[ "$(label)" = 'label = "second"' ] || fail "label after mount: $(label)"
xfs_io -c "label -c" "$MNT" > /dev/null
[ "$(label)" = 'label = ""' ] || fail "cleared label: $(label)"
expect umount "$MNT"
t=$("$FERROFS_ROOT/out/bin/tune.ferrofs" -l "/dev/mapper/$DM") || fail "tune.ferrofs -l"
echo "$t" | grep -qx "Filesystem volume name:   " || fail "tune.ferrofs -l after clearing: $(echo "$t" | grep -i volume)"
echo "label: get, set (durable), limits, clear"
