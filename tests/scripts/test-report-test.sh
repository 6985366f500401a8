#!/usr/bin/env bash
# scripts/test-report.py, the closing report of scripts/test.sh, on made-up
# meson test logs: the counts, each skipped test named with its reason, and
# under --ci a skip that the allow-list does not match fails the run.
set -euo pipefail
root=${SOURCE_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
report=$root/scripts/test-report.py
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failed=0

expect() {  # NAME WANT-STATUS WANT-OUTPUT REPORT-ARGS...
  local name=$1 want_status=$2 want=$3 got status=0
  shift 3
  got=$(python3 "$report" "$@" 2>&1) || status=$?
  if [ "$status" != "$want_status" ] || [ "$got" != "$want" ]; then
    echo "FAIL: $name: exit $status (want $want_status), output:" >&2
    echo "$got" >&2
    echo "--- wanted:" >&2
    echo "$want" >&2
    failed=1
  else
    echo "ok: $name"
  fi
}

# One JSON object per line, as meson writes testlog.json.
cat >"$work/log.json" <<'EOF'
{"name": "vmi-launcher:unit / vmi-unit", "stdout": "All tests passed\n", "result": "OK", "returncode": 0}
{"name": "vmi-launcher:unit / cli", "stdout": "1 failed\n", "result": "FAIL", "returncode": 1}
{"name": "vmi-launcher:integration / run", "stdout": "", "stderr": "checking\nskip: no usable KVM (/dev/kvm: No such file)\n", "result": "SKIP", "returncode": 77}
{"name": "vmi-launcher:integration / guest-selftest", "stdout": "looking for qemu\nqemu-system-x86_64 not found\n", "result": "SKIP", "returncode": 77}
{"name": "vmi-launcher:guest / slow", "stdout": "", "result": "TIMEOUT", "returncode": -15}
{"name": "vmi-launcher:unit / quick", "stdout": "", "result": "EXPECTEDFAIL", "returncode": 1}
EOF
cat >"$work/san.json" <<'EOF'
{"name": "vmi-launcher:unit / vmi-unit", "stdout": "", "result": "OK", "returncode": 0}

{"name": "vmi-launcher:unit / pod-schema", "stdout": "SKIP: Node.js is not installed\n", "stderr": "", "result": "SKIP", "returncode": 77}
EOF

skips='skipped: run: no usable KVM (/dev/kvm: No such file)
skipped: guest-selftest: qemu-system-x86_64 not found'

# Outside CI: skips are listed, the run is not failed for them.
expect "counts and reasons" 0 "$skips
2 passed, 2 failed, 2 skipped" "$work/log.json"

# Several logs: labelled names, one total.
expect "two logs" 0 "$skips
skipped: san/pod-schema: Node.js is not installed
3 passed, 2 failed, 3 skipped" "$work/log.json" "san=$work/san.json"

# Under CI without an allow-list line: each skip is a failure.
printf '# nothing allowed\n\n' >"$work/none.txt"
expect "CI, nothing allowed" 1 "skipped: run: no usable KVM (/dev/kvm: No such file) [not allowed under CI: no matching line in the allow-list]
skipped: guest-selftest: qemu-system-x86_64 not found [not allowed under CI: no matching line in the allow-list]
2 skip(s) not on the allow-list: under CI a skip is a failure
2 passed, 2 failed, 2 skipped" --ci --allowlist "$work/none.txt" "$work/log.json"

# The allow-list matches the test's name and the reason's pattern, both.
cat >"$work/allow.txt" <<'EOF'
# no nested virtualisation on CI
run   no usable KVM
# the name matches, the reason does not: not allowed
guest-selftest   ^qemu-img
EOF
expect "CI, one allowed" 1 "skipped: run: no usable KVM (/dev/kvm: No such file) [allowed: $work/allow.txt:2]
skipped: guest-selftest: qemu-system-x86_64 not found [not allowed under CI: no matching line in the allow-list]
1 skip(s) not on the allow-list: under CI a skip is a failure
2 passed, 2 failed, 2 skipped" --ci --allowlist "$work/allow.txt" "$work/log.json"

echo 'guest-selftest   qemu-system-x86_64 (is not installed|not found)' >>"$work/allow.txt"
expect "CI, all allowed" 0 "skipped: run: no usable KVM (/dev/kvm: No such file) [allowed: $work/allow.txt:2]
skipped: guest-selftest: qemu-system-x86_64 not found [allowed: $work/allow.txt:5]
2 passed, 2 failed, 2 skipped" --ci --allowlist "$work/allow.txt" "$work/log.json"

# A reason from another test does not carry over: the name must match.
printf 'cli no usable KVM\n' >"$work/other.txt"
expect "CI, wrong test name" 1 "skipped: run: no usable KVM (/dev/kvm: No such file) [not allowed under CI: no matching line in the allow-list]
1 skip(s) not on the allow-list: under CI a skip is a failure
0 passed, 0 failed, 1 skipped" --ci --allowlist "$work/other.txt" <(sed -n 3p "$work/log.json")

# A malformed allow-list line is an error, not an empty list.
printf 'run\n' >"$work/bad.txt"
expect "bad allow-list line" 1 "$work/bad.txt:1: want a test name and a reason pattern" \
  --ci --allowlist "$work/bad.txt" "$work/log.json"

# The project's own allow-list parses.
expect "tests/skip-allowlist.txt parses" 0 "2 passed, 2 failed, 0 skipped" \
  --ci --allowlist "$root/tests/skip-allowlist.txt" <(grep -v '"SKIP"' "$work/log.json")

exit "$failed"
