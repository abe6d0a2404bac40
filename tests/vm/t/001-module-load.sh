# insmod registers the filesystem type, rmmod unregisters it.
. tests/vm/lib.sh
[ -f "$KO" ] || fail "no module at $KO"
expect insmod "$KO"
grep -qw ferrofs /proc/modules || fail "ferrofs not in /proc/modules"
grep -qE '^\s*ferrofs$' /proc/filesystems || fail "ferrofs not in /proc/filesystems"
dmesg | grep -q "ferrofs: registered filesystem type ferrofs" || fail "no registration message in dmesg"
expect rmmod ferrofs
grep -qw ferrofs /proc/filesystems && fail "ferrofs still in /proc/filesystems after rmmod"
exit 0
