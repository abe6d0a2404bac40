# SPDX-License-Identifier: GPL-2.0
# Guest side of `make demo`: what ferrofs can do today, shown step by step.
set -u
. tests/vm/lib.sh
step() { echo; echo "\$ $*"; "$@"; }
echo "guest kernel: $(uname -r)"
step insmod "$KO" || exit 1
step grep -w ferrofs /proc/filesystems
if [ -x "$MKFS" ]; then
    step "$MKFS" -f -L demo "$TEST_DEV"
else
    echo "(mkfs.ferrofs is not built yet)"
fi
mkdir -p "$MNT"
echo
echo "\$ mount -t ferrofs $TEST_DEV $MNT"
if mount -t ferrofs "$TEST_DEV" "$MNT"; then
    step ls -la "$MNT"
    step umount "$MNT"
else
    echo "mount failed: mounting is not implemented yet in this version of ferrofs (dmesg says:)"
    dmesg | grep ferrofs: | tail -2
fi
step rmmod ferrofs
step grep -cw ferrofs /proc/filesystems
exit 0
