#!/usr/bin/env bash
# The main job, from a fresh Debian 12 machine (as root): install what is
# missing, build, fetch the test guest's kernel (apt-get download), then boot
# the small example VMI in its memory cgroup and show what the guest sees of
# its memory, the cgroup limit, and a clean exit.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh
if [ ! -f build/build.ninja ]; then
  meson setup build
fi
ninja -C build
image=$(tests/guest/build-guest.sh | sed -n 's/^VMIL_GUEST_IMAGE=//p')

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo
echo "== the memory plan (build/vmi-launcher plan examples/tiny.yaml)"
build/vmi-launcher plan examples/tiny.yaml

echo
echo "== running it (build/vmi-launcher run examples/tiny.yaml)"
status=0
build/vmi-launcher run examples/tiny.yaml \
  --image "vmi-launcher/test-guest=$image" \
  --console-log "$work/console.log" \
  --log-format text | tee "$work/launcher.log" || status=$?

echo
echo "== what the guest saw (its serial console)"
sed -n '/VMIL: meminfo begin/,/VMIL: meminfo end/p' "$work/console.log" | tr -d '\r'
guest=$(sed -n 's/.*guest \([0-9]*\) bytes, cgroup limit.*/\1/p' "$work/launcher.log" | head -1)
limit=$(sed -n 's/.*memory cgroup \(.*\) (.* mode) .*limit_bytes=\([0-9]*\).*/\1 \2/p' "$work/launcher.log" | head -1)
echo
echo "QEMU -m:        ${guest} bytes"
echo "cgroup limit:   ${limit#* } bytes on ${limit% *}"
echo "launcher exit:  ${status} ($( [ "$status" -eq 0 ] && echo 'the guest shut down' || echo 'see the log above'))"
exit "$status"
