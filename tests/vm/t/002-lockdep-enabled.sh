# The test kernel runs with lockdep on, and it has not turned itself off after a report.
. tests/vm/lib.sh
[ -r /proc/lockdep_stats ] || fail "/proc/lockdep_stats missing: kernel built without PROVE_LOCKING"
grep -qE 'debug_locks:\s+1' /proc/lockdep_stats || fail "lockdep is off (debug_locks != 1)"
[ -r /proc/sys/kernel/hung_task_timeout_secs ] || fail "hung-task detection missing"
[ -b "$TEST_DEV" ] && [ -b "$SCRATCH_DEV" ] || fail "test disks $TEST_DEV/$SCRATCH_DEV missing"
exit 0
