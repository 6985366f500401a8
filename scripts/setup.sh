#!/usr/bin/env bash
# Installs every Debian 12 package vmi-launcher needs to build, test and run.
# Idempotent and non-interactive: packages already present are skipped.
#   --bench      also libvirt, the peer bench/run.sh measures against
#   --container  also podman and runc (the `container` test suite runs the
#                rendered Pod with them) and debootstrap (its base image)
set -euo pipefail

bench=false container=false
for arg in "$@"; do
  case "$arg" in
    --bench) bench=true ;;
    --container) container=true ;;
    *) echo "usage: $0 [--bench] [--container]" >&2; exit 2 ;;
  esac
done

packages=(
  # build
  meson ninja-build g++ pkg-config
  # libraries
  libyaml-cpp-dev libspdlog-dev libfmt-dev libcgroup-dev
  libboost-dev libboost-filesystem-dev
  libcli11-dev nlohmann-json3-dev catch2
  # running VMs and building their inputs
  qemu-system-x86 qemu-utils xorriso
  # the test guest (kernel fetched with apt-get download, busybox initramfs)
  busybox-static cpio kmod
  # integration tests
  util-linux procps
  # fuzzing (tests/fuzz: libFuzzer, ASan, UBSan) and the benchmark (bench/)
  clang-14 libclang-rt-14-dev python3
  # scripts/test.sh: its three build directories compile through the cache
  ccache
)
if $bench; then
  # libvirt 9.0, the peer bench/run.sh runs the same guest with
  packages+=(libvirt-daemon libvirt-daemon-driver-qemu libvirt-clients)
fi
if $container; then
  # podman 4.3 with runc (crun refuses hybrid cgroup v1 hosts), catatonit
  # (podman builds its pods' pause image with it), and debootstrap for the
  # Debian 12 base image (tests/container/images.sh)
  packages+=(podman runc catatonit debootstrap)
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$'; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#packages[@]} packages present"
elif [ "$(id -u)" -ne 0 ]; then
  echo "setup: missing packages: ${missing[*]}" >&2
  echo "setup: run as root (or with sudo) to install them" >&2
  exit 1
else
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# The manifest schema test (tests/pod/schema): Node.js with npm (Debian's
# when none is installed), and the Kubernetes schema package from the lock
# file into tests/pod/schema/node_modules (ignored by git).
if ! command -v npm >/dev/null && [ "$(id -u)" -eq 0 ]; then
  echo "setup: installing nodejs npm"
  export DEBIAN_FRONTEND=noninteractive
  if ! apt-get install -y -q --no-install-recommends nodejs npm; then
    apt-get update -q
    apt-get install -y -q --no-install-recommends nodejs npm
  fi
fi
schema="$(dirname "$0")/../tests/pod/schema"
if command -v npm >/dev/null && [ ! -d "$schema/node_modules/kubernetes-models" ]; then
  echo "setup: installing the Kubernetes schema package (npm ci in tests/pod/schema)"
  (cd "$schema" && npm ci --no-audit --no-fund --loglevel=error) ||
    echo "setup: npm ci failed: the manifest schema test (pod-schema) will fail" >&2
fi
