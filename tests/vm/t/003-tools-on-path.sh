# Installed under their mkfs(8)/fsck(8) names, the tools work through the generic front ends, on a
# real block device.
. tests/vm/lib.sh
need_tools
# /usr/local/sbin is a throw-away overlay in the guest.
expect "$FERROFS_ROOT/tools/install.sh" /usr/local/sbin "$FERROFS_ROOT/target/release"
export PATH="/usr/local/sbin:$PATH"
expect mkfs -t ferrofs -f -L scratch "$SCRATCH_DEV"
expect fsck -t ferrofs -n "$SCRATCH_DEV"
"$MKFS" -L again "$SCRATCH_DEV" 2>/dev/null && fail "mkfs overwrote an existing ferrofs without -f"
# A device holding another filesystem is refused without -f as well.
expect mkfs.ext4 -q -F "$SCRATCH_DEV"
"$MKFS" "$SCRATCH_DEV" 2>/dev/null && fail "mkfs overwrote an ext4 filesystem without -f"
exit 0
