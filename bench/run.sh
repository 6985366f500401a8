#!/usr/bin/env bash
# vmi-launcher's benchmark, one command and one table: footprint, launch
# latency and OOM detection side by side with QEMU alone and libvirt
# (virsh create), the overhead calibration of the memory plan, and density.
#
#   bench/run.sh            the full run (15 to 25 minutes under TCG)
#   bench/run.sh --quick    a subset (about 6 minutes)
#   bench/run.sh --help     sections, libvirt, where results go
#
# As root. Installs what is missing (scripts/setup.sh --bench), builds into
# build/, fetches the test guest, then prints the table and writes
# bench/results/latest.{txt,json} and, for a full run,
# bench/results/calibration-tcg.json (what tests/vmi/memory_plan_test.cpp
# holds the launcher model to).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh --bench >&2
if [ ! -f build/build.ninja ]; then
    meson setup build >&2
fi
ninja -C build >&2

python=/usr/bin/python3
[ -x "$python" ] || python=python3
PYTHONPATH=bench PYTHONDONTWRITEBYTECODE=1 exec "$python" -m vmil_bench "$@"
