#!/usr/bin/env bash
# Builds the three images the container tests run, each only when it is
# missing or its inputs changed (a hash of them, kept in the image's label
# vmi-launcher.inputs):
#
#   docker.io/library/debian:12         the base Containerfile's FROM names, made
#                                       with debootstrap (no registry needed)
#   localhost/vmi-launcher:dev           Containerfile, built from this checkout
#   localhost/vmi-launcher/test-guest    the test guest as a containerDisk: FROM
#                                       scratch, /boot/vmlinuz, /boot/initrd.img
#                                       (kernelBoot) and /disk/disk.qcow2
#
#   images.sh [--force]
#
# Prints one line per image ("up to date" or the seconds its build took) on
# stderr. Root and podman needed; parallel callers wait on a lock.
set -euo pipefail
# shellcheck source=tests/container/lib.sh
. "$(dirname "$0")/lib.sh"

force=false
case "${1:-}" in
  --force) force=true ;;
  "") ;;
  *) echo "usage: $0 [--force]" >&2; exit 2 ;;
esac
reason=$(podman_missing)
[ -z "$reason" ] || { echo "skip: $reason"; exit 77; }

exec 8>/tmp/vmil-container-images.lock
flock 8

label=vmi-launcher.inputs
work=$(mktemp -d /var/tmp/vmil-images.XXXXXX)
# debootstrap can leave /proc mounted in the new root: unmount what lies
# under the scratch directory before removing it, and never cross into it.
unmount_under() {
  awk -v dir="$1/" 'index($2, dir) == 1 { print $2 }' /proc/mounts | sort -r |
    while read -r m; do umount -l "$m" || true; done
}
trap 'unmount_under "$work"; rm -rf --one-file-system "$work"' EXIT

sha() { sha256sum | cut -c1-64; }
# The inputs hash an image was built from ("" when there is no such image).
built_from() { podman image inspect --format "{{ index .Labels \"$label\" }}" "$1" 2>/dev/null || true; }
# build_if_needed IMAGE HASH FUNCTION: runs FUNCTION HASH unless IMAGE is
# already built from HASH.
build_if_needed() {
  local image=$1 hash=$2 fn=$3 start
  if ! $force && [ "$(built_from "$image")" = "$hash" ]; then
    echo "images: $image up to date" >&2
    return
  fi
  start=$(now)
  echo "images: building $image" >&2
  "$fn" "$hash"
  echo "images: $image built in $(elapsed "$start") s" >&2
}

# The Debian mirror apt uses here (debootstrap needs one; no registry does).
mirror() {
  local uri
  uri=$(sed -n 's/^URIs: *\([^ ]*\).*/\1/p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -1)
  [ -n "$uri" ] || uri=$(awk '$1 == "deb" && $3 == "bookworm" { print $2; exit }' /etc/apt/sources.list 2>/dev/null)
  echo "${VMIL_DEBIAN_MIRROR:-${uri:-http://deb.debian.org/debian}}"
}

build_base() {
  command -v debootstrap >/dev/null || { echo "images: debootstrap is not installed (scripts/setup.sh --container)" >&2; exit 1; }
  debootstrap --variant=minbase bookworm "$work/rootfs" "$(mirror)" >"$work/debootstrap.log" 2>&1 ||
    { tail -20 "$work/debootstrap.log" >&2; exit 1; }
  unmount_under "$work/rootfs"
  rm -rf "$work/rootfs/var/cache/apt/archives/"*.deb "$work/rootfs/var/lib/apt/lists/"*
  tar -C "$work/rootfs" --one-file-system -cf "$work/rootfs.tar" .
  rm -rf --one-file-system "$work/rootfs"
  # An imported tarball has no environment: without PATH no container
  # finds even sh.
  podman import --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'CMD ["bash"]' --change "LABEL $label=$1" "$work/rootfs.tar" "$base_image" >/dev/null
}

build_launcher() {
  podman build --pull=never --network host --label "$label=$1" -t "$launcher_image" \
    -f "$source_root/Containerfile" "$source_root" >"$work/build.log" 2>&1 ||
    { tail -30 "$work/build.log" >&2; exit 1; }
}

build_guest() {
  local ctx=$work/guest
  mkdir -p "$ctx/boot" "$ctx/disk" "$work/disk-files"
  cp "$guest_dir/boot/vmlinuz" "$guest_dir/boot/initrd.img" "$ctx/boot/"
  # The disk the containerDisk test's guest must see: an ISO 9660 file
  # system labelled ctrdisk, in qcow2 like most containerDisks.
  echo "hello from the containerDisk" >"$work/disk-files/hello"
  xorrisofs -quiet -output "$work/disk.iso" -volid ctrdisk -rock "$work/disk-files"
  qemu-img convert -f raw -O qcow2 "$work/disk.iso" "$ctx/disk/disk.qcow2"
  printf '%s\n' 'FROM scratch' 'COPY boot/ /boot/' 'COPY disk/ /disk/' >"$ctx/Containerfile"
  podman build --pull=never --network none --label "$label=$1" -t "$guest_image" "$ctx" >"$work/build.log" 2>&1 ||
    { tail -30 "$work/build.log" >&2; exit 1; }
}

# What goes into `podman build`'s context (.containerignore says what stays
# out; this mirrors it): every file's name and content.
context_hash() {
  (cd "$source_root" &&
    find . \( -path ./.git -o -path ./.cache -o -path './build*' -o -name node_modules -o -name '*.swp' \
      -o \( -path ./tests/container/'*' ! -name meson.build \) \) -prune -o -type f -print0 |
    LC_ALL=C sort -z | xargs -0 sha256sum) | sha
}

base_hash=$( { declare -f build_base; mirror; } | sha)
build_if_needed "$base_image" "$base_hash" build_base

launcher_hash=$( { echo "$base_hash"; context_hash; } | sha)
build_if_needed "$launcher_image" "$launcher_hash" build_launcher

# The test guest (tests/guest/build-guest.sh builds it once, into .cache).
guest_dir=$("$source_root/tests/guest/build-guest.sh" | sed -n 's/^VMIL_GUEST_IMAGE=//p')
[ -n "$guest_dir" ] || { echo "images: tests/guest/build-guest.sh printed no image" >&2; exit 1; }
guest_hash=$( { declare -f build_guest; sha256sum "$guest_dir/boot/vmlinuz" "$guest_dir/boot/initrd.img" | cut -c1-64; } | sha)
build_if_needed "$guest_image" "$guest_hash" build_guest
