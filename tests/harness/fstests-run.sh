#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# xfstests-config/run without fstests or a VM: --summarize counts fstests' xunit report right (a
# test started but missing from it, when ./check was stopped, as failed); a run that wrote no report
# (the time limit, a crash) is counted from ./check's output, the test it was running as failed;
# not-run reasons are counted; a checkout that is not built is refused with exit 2, nothing booted.
set -euo pipefail
cd "$(dirname "$0")/../.."
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

# A finished run: fstests' result.xml.
mkdir -p "$T/full/results/generic"
echo "diff here" > "$T/full/results/generic/002.out.bad"
cat > "$T/full/results/result.xml" <<'XML'
<?xml version="1.0" encoding="UTF-8"?>
<testsuite name="xfstests" failures="1" skipped="2" tests="4">
  <testcase classname="xfstests.global" name="generic/001" time="5"/>
  <testcase classname="xfstests.global" name="generic/002" time="7"><failure message="- output mismatch (see 002.out.bad)" type="TestFail"/></testcase>
  <testcase classname="xfstests.global" name="generic/003" time="0"><skipped message="ferrofs does not support shutdown"/></testcase>
  <testcase classname="xfstests.global" name="generic/004" time="0"><skipped message="ferrofs does not support shutdown"/></testcase>
</testsuite>
XML
set +e
out=$(xfstests-config/run --summarize "$T/full"); rc=$?
set -e
[ $rc = 1 ] || fail "a failed test must make --summarize exit 1, got $rc"
[[ $out == "fstests: 4 tests: 1 passed, 2 not run, 1 failed (generic/002); results: $T/full" ]] || fail "summary: $out"
[ "$(cat "$T/full/notrun-reasons")" = "$(printf '2\tferrofs does not support shutdown')" ] || fail "notrun-reasons: $(cat "$T/full/notrun-reasons")"
grep -q "not ok 2 generic/002" "$T/full/results.ktap" || fail "KTAP lacks the failure"
grep -q "diff here" "$T/full/junit.xml" || fail "JUnit lacks the failed test's .out.bad"

# The same report, but ./check's output shows a fifth test it started and never reported (fstests
# adds a test to result.xml when it ends): the run was stopped, and that test failed.
cp -r "$T/full" "$T/xcut"
printf 'generic/001         5s\ngeneric/002        - output mismatch\ngeneric/003        [not run] x\ngeneric/004        [not run] x\ngeneric/005        \n' > "$T/xcut/guest-output.txt"
set +e
out=$(xfstests-config/run --summarize "$T/xcut"); rc=$?
set -e
[ $rc = 1 ] && [[ $out == "fstests: 5 tests (partial: ./check was stopped): 1 passed, 2 not run, 2 failed (generic/002 generic/005); results: $T/xcut" ]] \
    || fail "report of a stopped run: rc $rc: $out"

# A run stopped by its time limit: no result.xml, only ./check's output.
mkdir -p "$T/cut/results/generic"
cat > "$T/cut/guest-output.txt" <<'OUT'
fstests-run (guest): 6.12.118, ferrofs.ko loaded, ./check -R xunit generic/001 generic/002 in /tmp/fstests
FSTYP         -- ferrofs
MOUNT_OPTIONS -- /dev/vdb /mnt/scratch

generic/001         182s
generic/002         12s ...  10s
generic/003        [not run] ferrofs does not support shutdown
generic/004        - output mismatch (see /x/results/generic/004.out.bad)
    --- tests/generic/004.out
    +++ /x/results/generic/004.out.bad
generic/005        [failed, exit status 1]_check_dmesg: something found (see /x/generic/005.dmesg)
generic/006        
OUT
set +e
out=$(xfstests-config/run --summarize "$T/cut"); rc=$?
set -e
[ $rc = 1 ] || fail "a cut run must exit 1, got $rc"
[[ $out == "fstests: 6 tests (partial: read from ./check's output, it wrote no report): 2 passed, 1 not run, 3 failed (generic/004 generic/005 generic/006); results: $T/cut" ]] \
    || fail "partial summary: $out"
grep -q $'^FAIL\tfstests\tgeneric/006\t\tdid not finish' "$T/cut/records.tsv" || fail "the test running when stopped must fail"
grep -q $'^SKIP\tfstests\tgeneric/003\t\tferrofs does not support shutdown' "$T/cut/records.tsv" || fail "skip reason"

# No report and no output: no results, exit 1.
mkdir -p "$T/none"
set +e
out=$(xfstests-config/run --summarize "$T/none"); rc=$?
set -e
[ $rc = 1 ] && [[ $out == "fstests: no results"* ]] || fail "empty run: rc $rc: $out"

# A checkout that is not built is refused before anything is built or booted.
mkdir -p "$T/fst"; printf '#!/bin/sh\n' > "$T/fst/check"; chmod +x "$T/fst/check"
set +e
err=$(xfstests-config/run --dry-run "$T/fst" generic/001 2>&1); rc=$?
set -e
[ $rc = 2 ] && [[ $err == *"ltp/fsx is missing"* ]] || fail "unbuilt checkout: rc $rc: $err"

echo "fstests-run: ok"
