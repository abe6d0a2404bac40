#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# scripts/results writes KTAP and JUnit XML that parse and say what the records say: a pass, a failure
# carrying its message and the tail of its log and kernel log, a skip with its reason, a cargo failure
# with its captured output, and names holding characters either format must escape.
set -euo pipefail
cd "$(dirname "$0")/../.."
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
printf 'line %s\n' $(seq 1 100) > "$T/bad.log"
printf 'WARNING: at fs/ferrofs <here>\n' > "$T/bad.dmesg"
cat > "$T/cargo.log" <<'LOG'
     Running unittests src/lib.rs (target/debug/deps/ferrofs_format-0123456789abcdef)
test btree::insert ... ok
test btree::split ... FAILED
test slow::soak ... ignored
failures:

---- btree::split stdout ----
thread 'btree::split' panicked at format/src/btree.rs:10:5:
assertion failed: left == right

failures:
    btree::split

test result: FAILED. 1 passed; 1 failed; 1 ignored; 0 measured; 0 filtered out; finished in 0.01s
LOG
scripts/results --cargo "$T/cargo.log" "$T/cargo" > "$T/rec.tsv"
printf 'PASS\tvm\t001-module-load\t3\t\t\n' >> "$T/rec.tsv"
printf 'FAIL\tvm\t013-dio-error\t41\t(exit 1) <&> "q"\t%s\n' "$T/bad.log" >> "$T/rec.tsv"
printf 'SKIP\tvm\t099-needs-#thing\t\tno dm-flakey\t\n' >> "$T/rec.tsv"
scripts/results "$T/rec.tsv" --name selftest --ktap "$T/r.ktap" --junit "$T/r.xml"
python3 - "$T" <<'PY'
import sys, xml.etree.ElementTree as ET
t = sys.argv[1]
def check(c, what):
    if not c:
        sys.exit("FAIL: " + what)
root = ET.parse(t + "/r.xml").getroot()
check(root.tag == "testsuites", "root is <testsuites>")
check((root.get("tests"), root.get("failures"), root.get("skipped")) == ("6", "2", "2"), "totals 6/2/2: %r" % root.attrib)
suites = {s.get("name"): s for s in root}
check(set(suites) == {"cargo:ferrofs_format", "vm"}, "suites %r" % list(suites))
cases = {c.get("name"): c for s in root for c in s}
f = cases["013-dio-error"].find("failure")
check(f is not None and f.get("message") == '(exit 1) <&> "q"', "failure message kept")
check("line 100" in f.text and "line 41" in f.text and "line 40\n" not in f.text, "last 60 log lines")
check("WARNING: at fs/ferrofs <here>" in f.text, "kernel log excerpt")
check(cases["013-dio-error"].get("time") == "41.000", "time")
check(cases["099-needs-#thing"].find("skipped").get("message") == "no dm-flakey", "skip reason")
cf = cases["btree::split"].find("failure")
check(cf is not None and "assertion failed: left == right" in cf.text, "cargo failure output")
check(cases["slow::soak"].find("skipped") is not None, "ignored test is a skip")
check(cases["btree::insert"].find("failure") is None and cases["btree::insert"].find("skipped") is None, "pass")
k = open(t + "/r.ktap").read().splitlines()
check(k[0] == "KTAP version 1" and k[2] == "1..2", "KTAP header and plan")
check("not ok 1 cargo:ferrofs_format" in k and "not ok 2 vm" in k, "suite results")
check("    ok 1 001-module-load" in k and "    not ok 2 013-dio-error" in k, "vm cases")
check("    ok 3 099-needs-_thing # SKIP no dm-flakey" in k, "skip directive, '#' escaped")
check("    # WARNING: at fs/ferrofs <here>" in k, "failure diagnostics")
check(sum(1 for l in k if l.startswith("    1..")) == 2, "one plan per suite")
print("ok: KTAP and JUnit as recorded")
PY
