#!/usr/bin/env bash
# The Containerfile, checked as text against the built launcher, in a
# second and without a container engine (the `container` suite builds the
# image with podman and runs it: tests/container): every shared library
# `ldd` resolves for the launcher belongs to a Debian package the runtime
# stage installs, so do the programs the launcher and the pod run; the
# build stage installs what scripts/setup.sh lists for building. Exit 77
# without dpkg (not Debian).
set -euo pipefail
root=${SOURCE_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
launcher=${VMI_LAUNCHER:-$root/build/vmi-launcher}
file=$root/Containerfile
command -v dpkg >/dev/null || { echo "skip: no dpkg: not a Debian system" >&2; exit 77; }

# The words of each stage's `apt-get install` (continuation lines joined).
stage_packages() {  # 1: build, 2: runtime
  awk -v want="$1" '/^FROM /{stage++} stage==want' "$file" |
    sed -e ':a' -e '/\\$/N; s/\\\n//; ta' |
    grep -o 'apt-get install[^&]*' | tr ' ' '\n' | grep -v -e '^-' -e '^$' -e '^apt-get$' -e '^install$' | sort -u
}
runtime=$(stage_packages 2)
build=$(stage_packages 1)
failed=0
owner() {  # the package that holds a file: "libfoo1" without the architecture
  local f=$1
  { dpkg -S "$f" 2>/dev/null || dpkg -S "$(realpath "$f")" 2>/dev/null; } | head -1 | cut -d: -f1
}
need() {  # 1: what, 2: package, 3: the stage's list
  if grep -qx "$2" <<<"$3"; then
    echo "ok: $1 from $2"
  else
    echo "MISSING: $1 comes from $2, which the Containerfile does not install" >&2
    failed=1
  fi
}

libs=$(ldd "$launcher" | awk '/=>/ {print $3} /^\t\// {print $1}')
[ -n "$libs" ] || { echo "ldd found no libraries for $launcher" >&2; exit 1; }
for lib in $libs; do
  pkg=$(owner "$lib")
  [ -n "$pkg" ] || { echo "MISSING: no package owns $lib" >&2; failed=1; continue; }
  need "$lib" "$pkg" "$runtime"
done

# Programs: QEMU, qemu-img (overlays), xorrisofs (cloud-init seed), and the
# static busybox the pod's init containers copy (launcher/pod_render.hpp).
busybox=$(sed -n 's/.*busybox = "\(.*\)";.*/\1/p' "$root/launcher/pod_render.hpp")
[ -n "$busybox" ] || { echo "no busybox path in launcher/pod_render.hpp" >&2; exit 1; }
for prog in qemu-system-x86_64 qemu-img xorrisofs "$busybox"; do
  path=$(command -v "$prog" || true)
  [ -n "$path" ] || { echo "MISSING: $prog is not installed here to look up" >&2; failed=1; continue; }
  need "$prog" "$(owner "$path")" "$runtime"
done
# Static: no program interpreter in its ELF headers (readelf comes with the
# build tools; `file` need not be installed, and under pipefail a grep -q
# that matched can still fail the pipeline, so no pipes here).
headers=$(readelf -l "$busybox" 2>&1 || true)
if ! grep -qi "elf file type" <<<"$headers" || grep -q "program interpreter" <<<"$headers"; then
  echo "MISSING: $busybox is not static: it cannot run inside a container disk image" >&2
  failed=1
fi

# The build stage has every package setup.sh installs to build.
for pkg in $(awk '/^  # build/{on=1; next} /^  # libraries/{on=1; next} /^  #/{on=0} on' "$root/scripts/setup.sh"); do
  need "build package" "$pkg" "$build"
done

# The pod calls it by name: it must be on the default PATH.
grep -q '^COPY --from=build /build/vmi-launcher /usr/local/bin/vmi-launcher$' "$file" ||
  { echo "MISSING: the launcher is not copied to /usr/local/bin" >&2; failed=1; }
exit "$failed"
