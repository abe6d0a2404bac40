#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# setup's Python step works with Debian's own python3 (issue 12): stock bookworm's /usr/bin/python3
# refuses `pip install` outside a virtual environment (PEP 668), which is how setup once installed
# virtme-ng. Runs scripts/setup-vng with /usr/bin/python3 into a fresh cache directory and checks that
# vng comes from a venv based on /usr/bin and runs, and that a second run changes nothing.
set -euo pipefail
cd "$(dirname "$0")/../.."
[ -x /usr/bin/python3 ] || { echo "FAIL: no /usr/bin/python3 on this machine"; exit 1; }
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
stdlib=$(/usr/bin/python3 -c 'import sysconfig; print(sysconfig.get_path("stdlib"))')
if [ -f "$stdlib/EXTERNALLY-MANAGED" ]; then
    echo "/usr/bin/python3 is externally managed (PEP 668): a bare pip install would be refused"
fi
FERROFS_CACHE="$T" scripts/setup-vng /usr/bin/python3
grep -qx 'home = /usr/bin' "$T/venv/pyvenv.cfg" || { echo "FAIL: venv not based on /usr/bin/python3"; cat "$T/venv/pyvenv.cfg"; exit 1; }
[ "$(readlink "$T/bin/vng")" = "$T/venv/bin/vng" ] || { echo "FAIL: $T/bin/vng is not the venv's"; exit 1; }
head -1 "$T/venv/bin/vng" | grep -q "^#!$T/venv/bin/python" || { echo "FAIL: vng does not run on the venv's python"; exit 1; }
v=$("$T/bin/vng" --version) || { echo "FAIL: vng --version failed"; exit 1; }
echo "$v" | grep -q '^virtme-ng 1\.42' || { echo "FAIL: vng reports '$v'"; exit 1; }
# The scripts find it through env.sh's PATH, not through any system Python's scripts directory.
got=$(FERROFS_CACHE="$T" bash -c '. scripts/env.sh; command -v vng')
[ "$got" = "$T/bin/vng" ] || { echo "FAIL: env.sh PATH finds vng at $got"; exit 1; }
# Idempotent: nothing is reinstalled.
out=$(FERROFS_CACHE="$T" scripts/setup-vng /usr/bin/python3)
[ -z "$out" ] || { echo "FAIL: second run printed: $out"; exit 1; }
echo "ok: $v in a venv of /usr/bin/python3"
