# SPDX-License-Identifier: GPL-2.0
# Helpers for VM tests (sourced). Tests run as root in the guest, from the repository root.
KO="$FERROFS_ROOT/ferrofs.ko"
TEST_DEV=/dev/vda
SCRATCH_DEV=/dev/vdb
MNT=/tmp/ferrofs-mnt

fail() { echo "FAIL: $*" >&2; exit 1; }
skip() { echo "$*"; exit 77; }
# expect CMD...: run it, fail the test when it fails.
expect() { "$@" || fail "command failed: $*"; }
load_ferrofs() { grep -qw ferrofs /proc/modules || insmod "$KO" || fail "insmod $KO"; }
cleanup_ferrofs() {
    for m in $(awk '$3 == "ferrofs" {print $2}' /proc/mounts 2>/dev/null); do umount "$m" 2>/dev/null; done
    grep -qw ferrofs /proc/modules 2>/dev/null && rmmod ferrofs 2>/dev/null
    return 0
}
