#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test: unit tests, host
# integration tests (root, real cgroups, real QEMU under TCG or KVM) and the
# cgroup v2 tests inside a TCG guest. Extra arguments go to `meson test`
# (for example `--suite unit`).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh --container
if [ ! -f build/build.ninja ]; then
  meson setup build
fi
ninja -C build

status=0
meson test -C build --print-errorlogs --num-processes 2 "$@" || status=$?

# One closing line that any reader can take in.
log=build/meson-logs/testlog.json
if [ -f "$log" ]; then
  passed=$(grep -c '"result": "OK"' "$log" || true)
  failed=$(grep -Ec '"result": "(FAIL|TIMEOUT|ERROR|UNEXPECTEDPASS)"' "$log" || true)
  skipped=$(grep -c '"result": "SKIP"' "$log" || true)
  echo "${passed} passed, ${failed} failed, ${skipped} skipped"
fi
exit "$status"
