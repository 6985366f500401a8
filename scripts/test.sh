#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test: unit tests, host
# integration tests (root, real cgroups, real QEMU under TCG or KVM) and the
# cgroup v2 tests inside a TCG guest. Extra arguments go to the main build's
# `meson test` (for example `--suite unit`).
#
# Three build directories, all with -Dwerror=true (the developer and CI
# configuration; packagers choose their own flags):
#   build/          every suite
#   build-san/      AddressSanitizer and UndefinedBehaviorSanitizer, any
#                   report fatal (-fno-sanitize-recover=all): the unit suite
#   build-release/  --buildtype=release, as a package is built: the
#                   launcher, compiled only
# build-san/ builds only the programs the unit suite needs.
# VMIL_TEST_EXTRA_BUILDS=0 leaves them out (a quicker local run).
#
# Ends with each skipped test and its reason, then the line
# "N passed, N failed, N skipped". Under CI=true a skip fails the run unless
# tests/skip-allowlist.txt allows it. A test that skips prints
# "skip: REASON" on a line of its own and exits 77.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh --container

# Creates DIR with the options (-Dname=value or --name=value), or brings an
# existing DIR to them. A DIR that has them already is left alone: a
# reconfiguration would regenerate its build files.
configure() {  # DIR OPTION...
  local dir=$1
  shift
  if [ ! -f "$dir/build.ninja" ]; then
    meson setup "$dir" "$@" >/dev/null
  elif ! python3 - "$dir" "$@" <<'EOF'
import json, sys
with open(sys.argv[1] + "/meson-info/intro-buildoptions.json", encoding="utf-8") as f:
    have = {o["name"]: o["value"] for o in json.load(f)}
def text(v):
    if isinstance(v, bool):
        return str(v).lower()
    return ",".join(v) if isinstance(v, list) else str(v)
for arg in sys.argv[2:]:
    name, _, value = arg.removeprefix("-D").removeprefix("--").partition("=")
    if name not in have or text(have[name]) != value:
        sys.exit(1)
EOF
  then
    meson configure "$dir" "$@" >/dev/null
  fi
}

# The ninja targets of the programs the unit suite runs (each test's
# program and what it depends on, for example the launcher), so a build
# directory need not build the integration tests, the guest tools or bench/.
unit_targets() {  # DIR
  ninja -C "$1" build.ninja >/dev/null  # regenerated first if meson.build changed
  python3 - "$1" <<'EOF'
import json, os, subprocess, sys
d = sys.argv[1]
def introspect(what):
    return json.loads(subprocess.run(["meson", "introspect", d, what], check=True,
                                      capture_output=True, text=True).stdout)
files = {t["id"]: t["filename"] for t in introspect("--targets")}
root = os.path.realpath(d)
out = set()
for test in introspect("--tests"):
    if not any(s.endswith(":unit") or s == "unit" for s in test["suite"]):
        continue
    paths = [test["cmd"][0]] + [f for i in test["depends"] for f in files.get(i, [])]
    for p in paths:
        p = os.path.realpath(p)
        if p.startswith(root + os.sep):
            out.add(os.path.relpath(p, root))
print("\n".join(sorted(out)))
EOF
}

status=0
logs=()

# The main build: every suite.
configure build -Dwerror=true
ninja -C build
meson test -C build --print-errorlogs --num-processes 2 "$@" || status=$?
logs+=(build/meson-logs/testlog.json)

if [ "${VMIL_TEST_EXTRA_BUILDS:-1}" != 0 ]; then
  # Sanitizers: memory errors, leaks and undefined behaviour (signed
  # overflow, shifts, bad casts) end the test with a report.
  start=$(date +%s)
  configure build-san -Dwerror=true -Dbuildtype=debug -Db_sanitize=address,undefined -Db_lundef=false \
    -Dcpp_args=-fno-sanitize-recover=all -Dcpp_link_args=-fno-sanitize-recover=all
  targets=$(unit_targets build-san)
  mapfile -t targets <<<"$targets"
  if ninja -C build-san "${targets[@]}"; then
    # Not containerfile (suite packaging): it checks the packaged launcher's
    # libraries, and the sanitizer runtimes are not among them. Longer
    # timeouts: each start of the instrumented launcher costs tens of
    # milliseconds, and the cli test starts it hundreds of times.
    ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1} \
    UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1} \
      meson test -C build-san --no-rebuild --print-errorlogs --num-processes 2 --timeout-multiplier 3 \
        --suite unit --no-suite packaging || status=1
    logs+=(san=build-san/meson-logs/testlog.json)
  else
    echo "test: the sanitizer build failed" >&2
    status=1
  fi
  echo "test: sanitizer build and unit suite took $(( $(date +%s) - start )) s"

  # A release build of the launcher, as a package is built (-O3, NDEBUG):
  # compiled, not run. (The unit tests are not built here: at -O3 g++ 12
  # reports a -Wmaybe-uninitialized false positive in
  # tests/launcher/outcome_test.cpp.)
  start=$(date +%s)
  configure build-release -Dwerror=true --buildtype=release
  ninja -C build-release vmi-launcher || { echo "test: the release build failed" >&2; status=1; }
  echo "test: release build took $(( $(date +%s) - start )) s"
fi

# The closing report over every log.
report=(scripts/test-report.py --allowlist tests/skip-allowlist.txt)
[ "${CI:-}" = true ] && report+=(--ci)
present=()
for l in "${logs[@]}"; do [ -f "${l#*=}" ] && present+=("$l"); done
if [ ${#present[@]} -gt 0 ]; then
  "${report[@]}" "${present[@]}" || status=1
fi
exit "$status"
