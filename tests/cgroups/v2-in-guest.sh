#!/usr/bin/env bash
# cgroup v2 integration for real: the project's hosts mount the memory
# controller on cgroup v1, so this boots the test guest (Debian's cloud
# kernel, busybox initramfs) under TCG with the cgroups integration tests
# packed into its initramfs, and runs them there against cgroup2.
#
# usage: v2-in-guest.sh GUEST_RUN INTEGRATION_TESTS HELPER
#   the three programs built in tests/cgroups (cgroups-guest-run,
#   cgroups-integration, cgroups-test-helper)
# Passes only when the guest prints the tests' verdict and
# "VMIL: exec status=0". Exit 77 (skip) without qemu-system-x86_64.
set -euo pipefail
shopt -s inherit_errexit

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
die() { echo "v2-in-guest: $*" >&2; exit 1; }

[ $# -eq 3 ] || die "usage: $0 GUEST_RUN INTEGRATION_TESTS HELPER"
for program in "$@"; do [ -x "$program" ] || die "$program is not an executable"; done
if ! command -v qemu-system-x86_64 >/dev/null; then
    echo "skip: qemu-system-x86_64 is not installed" >&2
    exit 77
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/cgroups-v2-guest.XXXXXX")
trap 'rm -rf "$work"' EXIT

kernel=$("$repo/tests/guest/build-guest.sh" | sed -n 's/^VMIL_GUEST_KERNEL=//p')
[ -f "$kernel" ] || die "tests/guest/build-guest.sh reported no kernel"
"$repo/tests/guest/make-initrd.sh" --out "$work/initrd.img" \
    --add "$1=/opt/cgroups/cgroups-guest-run" \
    --add "$2=/opt/cgroups/cgroups-integration" \
    --add "$3=/opt/cgroups/cgroups-test-helper" >/dev/null

start=$(date +%s%N)
status=0
timeout "${V2_IN_GUEST_TIMEOUT:-600}" qemu-system-x86_64 \
    -machine q35 -accel tcg,tb-size=64 -m 512 \
    -nodefaults -no-user-config -display none -no-reboot \
    -kernel "$kernel" -initrd "$work/initrd.img" \
    -append 'console=ttyS0 quiet panic=-1 vmil.exec=/opt/cgroups/cgroups-guest-run' \
    -serial "file:$work/console.log" || status=$?
end=$(date +%s%N)

tr -d '\r' <"$work/console.log" >"$work/console.txt"
cat "$work/console.txt"
echo "v2-in-guest: qemu exited with status $status after $(( (end - start) / 1000000 )) ms"
[ "$status" -eq 0 ] || die "qemu-system-x86_64 failed or timed out (status $status)"
grep -qx 'CGROUPS-V2-GUEST: PASS' "$work/console.txt" || die "the tests did not pass in the guest"
grep -qx 'VMIL: exec status=0' "$work/console.txt" || die "the guest did not report exec status=0"
grep -q 'memory controller on v2' "$work/console.txt" || die "the guest's tests did not run on cgroup v2"
echo "v2-in-guest: pass"
