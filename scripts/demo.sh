#!/usr/bin/env bash
# The main job, from a fresh Debian 12 machine: install what is missing,
# build, fetch the test guest's kernel (apt-get download), and show the
# memory plan of the small example VMI.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh
if [ ! -f build/build.ninja ]; then
  meson setup build
fi
ninja -C build
tests/guest/build-guest.sh

echo
echo "== vmi-launcher plan examples/tiny.yaml"
build/vmi-launcher plan examples/tiny.yaml
