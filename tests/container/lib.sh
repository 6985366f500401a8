# shellcheck shell=bash disable=SC2034 # the names are for the scripts that source this
# Shared by the container test scripts (sourced, bash): podman's settings
# and the check that podman can run here at all.

container_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source_root=${SOURCE_ROOT:-$(cd "$container_dir/../.." && pwd)}

# runc and ulimits that fit this kind of machine (containers.conf says why);
# a CONTAINERS_CONF of the caller's own wins.
export CONTAINERS_CONF=${CONTAINERS_CONF:-$container_dir/containers.conf}

# The images tests/container/images.sh builds and the rendered Pods name
# (VMIL_LAUNCHER_IMAGE: another tag for the launcher's).
base_image=docker.io/library/debian:12
launcher_image=${VMIL_LAUNCHER_IMAGE:-localhost/vmi-launcher:dev}
guest_image=localhost/vmi-launcher/test-guest:latest
guest_image_ref=vmi-launcher/test-guest

# Prints why podman cannot run containers here, or nothing when it can.
# Only what truly stops it: a missing program, no root (the tests read the
# host's cgroups), or an engine that does not start.
podman_missing() {
  local p
  for p in podman runc; do
    command -v "$p" >/dev/null || { echo "$p is not installed (scripts/setup.sh --container installs it)"; return; }
  done
  [ "$(id -u)" -eq 0 ] || { echo "not root: the container tests run rootful podman and read the host's cgroups"; return; }
  local err
  if ! err=$(podman info 2>&1 >/dev/null); then
    echo "podman cannot start: ${err##*$'\n'}"
  fi
}

# Seconds since the epoch with a fraction, for timings.
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
