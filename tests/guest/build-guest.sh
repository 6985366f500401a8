#!/usr/bin/env bash
# Builds the test guest: Debian's cloud kernel and a busybox initramfs whose
# /init (tests/guest/init) reports what it sees on the serial console.
#
# Output, under DIR (default <repo>/.cache/guest):
#   image/boot/vmlinuz      the kernel
#   image/boot/initrd.img   gzip'd newc cpio: busybox, modules, /init
# image/ is what `vmi-launcher --image vmi-launcher/test-guest=DIR/image`
# points at. Running it again only redoes work whose inputs changed.
set -euo pipefail
shopt -s inherit_errexit

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo_root=$(cd "$here/../.." && pwd)
out=$repo_root/.cache/guest

# What the guest loads, in this order; modules.dep adds what they need.
# virtio disks, SCSI disks and CD-ROMs, the balloon, the filesystems a
# cloud-init seed uses (ext4 is built in), and the ACPI power button as an
# input event device, and virtio-net. The cloud kernel has no AHCI driver: SATA disks stay
# invisible to this guest.
modules=(
    virtio_pci virtio_blk virtio_scsi sd_mod sr_mod virtio_balloon
    isofs vfat nls_cp437 nls_ascii
    button evdev
    virtio_net
)
metapackage=linux-image-cloud-amd64

usage() {
    echo "usage: $0 [--out DIR]"
    echo "Builds DIR/image/boot/{vmlinuz,initrd.img} (default DIR: $out)."
}

log() { echo "build-guest: $*" >&2; }
die() { echo "build-guest: error: $*" >&2; exit 1; }

while [ $# -gt 0 ]; do
    case "$1" in
        --out) [ $# -ge 2 ] || die "--out needs a directory"; out=$2; shift 2 ;;
        --out=*) out=${1#--out=}; shift ;;
        -h | --help) usage; exit 0 ;;
        *) usage >&2; exit 2 ;;
    esac
done

for tool in apt-cache apt-get dpkg depmod cpio gzip sha256sum flock; do
    command -v "$tool" >/dev/null || die "$tool not found (scripts/setup.sh installs it)"
done
busybox=$(command -v busybox) || die "busybox not found (install busybox-static)"
# ldd fails on a static binary; a dynamic busybox would not run in the guest.
if ldd "$busybox" >/dev/null 2>&1; then
    die "$busybox is dynamically linked (install busybox-static)"
fi

mkdir -p "$out"
out=$(cd "$out" && pwd)
# Parallel test runs share the cache: one builder at a time.
exec 9>"$out/.lock"
flock 9

# apt-get as root downloads unsandboxed and warns; say so once, quietly.
apt_options=()
[ "$(id -u)" -ne 0 ] || apt_options=(-o APT::Sandbox::User=root)

# The versioned kernel package behind the metapackage. The answer only
# changes when apt's package lists do, so it is kept until they change.
resolve_kernel_package() {
    local cache=$out/debs/kernel-package deps package
    if [ -s "$cache" ] &&
        [ -z "$(find /var/lib/apt/lists -maxdepth 1 -name '*_Packages*' -newer "$cache" 2>/dev/null)" ]; then
        cat "$cache"
        return
    fi
    deps=$(apt-cache depends "$metapackage" 2>/dev/null || true)
    if ! grep -q 'Depends: linux-image-' <<<"$deps"; then
        log "apt does not know $metapackage; running apt-get update"
        apt-get update -q >&2 || die "apt-get update failed"
        deps=$(apt-cache depends "$metapackage") || die "apt-cache depends $metapackage failed"
    fi
    package=$(sed -n 's/^ *Depends: \(linux-image-[^ ]*-cloud-amd64\)$/\1/p' <<<"$deps" | head -n 1)
    [ -n "$package" ] || die "no linux-image-*-cloud-amd64 among the dependencies of $metapackage"
    mkdir -p "$out/debs"
    echo "$package" >"$cache"
    echo "$package"
}

# Prints the path of the package's .deb under DIR/debs, downloading it once.
fetch_deb() {
    local package=$1 debs=$out/debs deb
    deb=$(find "$debs" -maxdepth 1 -name "${package}_*_amd64.deb" 2>/dev/null | sort -V | tail -n 1)
    if [ -z "$deb" ]; then
        log "downloading $package"
        if ! (cd "$debs" && apt-get "${apt_options[@]}" download "$package" >&2); then
            log "download failed; running apt-get update and retrying"
            apt-get update -q >&2 || die "apt-get update failed"
            (cd "$debs" && apt-get "${apt_options[@]}" download "$package" >&2) ||
                die "apt-get download $package failed"
        fi
        deb=$(find "$debs" -maxdepth 1 -name "${package}_*_amd64.deb" | sort -V | tail -n 1)
        [ -n "$deb" ] || die "apt-get download left no ${package}_*_amd64.deb in $debs"
    fi
    echo "$deb"
}

# Unpacks the .deb (dpkg -x, nothing is installed) into DIR/kernel/<deb name>
# and indexes its modules; prints that directory.
unpack_kernel() {
    local deb=$1 tree tmp
    tree=$out/kernel/$(basename "$deb" .deb)
    if [ ! -f "$tree/.unpacked" ]; then
        log "unpacking $(basename "$deb")"
        rm -rf "$tree" "$tree.tmp"
        tmp=$tree.tmp
        mkdir -p "$tmp"
        dpkg -x "$deb" "$tmp"
        local versions=("$tmp"/lib/modules/*)
        if [ ${#versions[@]} -ne 1 ] || [ ! -d "${versions[0]}" ]; then
            die "expected one kernel version in $(basename "$deb")"
        fi
        depmod -b "$tmp" "$(basename "${versions[0]}")"
        touch "$tmp/.unpacked"
        mv "$tmp" "$tree"
    fi
    echo "$tree"
}

# resolve_modules TREE KVER NAME...: module paths relative to lib/modules/KVER,
# each after the modules it depends on, each once.
resolve_modules() {
    local moddir=$1/lib/modules/$2 name path
    shift 2
    declare -A deps=() by_name=() seen=()
    local line module
    while IFS= read -r line; do
        module=${line%%:*}
        deps[$module]=${line#*:}
        name=$(basename "$module" .ko)
        by_name[${name//-/_}]=$module
    done <"$moddir/modules.dep"

    visit() {
        local module=$1 dep
        [ -z "${seen[$module]:-}" ] || return 0
        seen[$module]=1
        # modules.dep lists the full closure; visiting each keeps the order right.
        for dep in ${deps[$module]}; do visit "$dep"; done
        echo "$module"
    }
    for name in "$@"; do
        path=${by_name[${name//-/_}]:-}
        if [ -z "$path" ]; then
            grep -q "/${name}.ko\$" "$moddir/modules.builtin" ||
                die "module $name is neither in $(basename "$moddir")/modules.dep nor built in"
            continue
        fi
        visit "$path"
    done
}

# A newc cpio archive holding only /dev/console (character device 5:1), so the
# kernel can give /init a console before devtmpfs is mounted. Written by hand
# because cpio can only archive device nodes that exist, and making one needs
# root.
console_archive() {
    local name=dev/console
    newc_entry() { # NAME MODE RDEVMAJOR RDEVMINOR
        local header
        header=$(printf '070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X' \
            0 "$2" 0 0 1 0 0 0 0 "$3" "$4" $((${#1} + 1)) 0)
        printf '%s%s\0' "$header" "$1"
        # Header and name are padded to a multiple of 4 bytes.
        local pad=$(((4 - (110 + ${#1} + 1) % 4) % 4))
        head -c "$pad" /dev/zero
    }
    newc_entry "$name" $((8#020600)) 5 1
    newc_entry TRAILER!!! 0 0 0
}

# Everything the initramfs is made from, so a change to any of them rebuilds.
build_inputs() {
    local tree=$1
    echo "kernel $(basename "$tree")"
    echo "modules ${modules[*]}"
    sha256sum "$busybox" "$here/init" "${BASH_SOURCE[0]}" | cut -d' ' -f1
}

build_initramfs() {
    local tree=$1 kver=$2 target=$3 staging=$out/initramfs-root
    log "building initramfs for $kver"
    rm -rf "$staging"
    mkdir -p "$staging"/{bin,sbin,usr/bin,usr/sbin,proc,sys,dev,mnt,tmp,run,etc/vmil}
    mkdir -p "$staging/lib/modules/$kver"

    cp "$busybox" "$staging/bin/busybox"
    local applet
    for applet in $("$busybox" --list-full); do
        [ -e "$staging/$applet" ] || ln -s /bin/busybox "$staging/$applet"
    done
    install -m 0755 "$here/init" "$staging/init"
    "$busybox" sh -n "$staging/init" || die "syntax error in $here/init"

    local module resolved list=$staging/etc/vmil/modules
    resolved=$(resolve_modules "$tree" "$kver" "${modules[@]}")
    : >"$list"
    for module in $resolved; do
        mkdir -p "$staging/lib/modules/$kver/$(dirname "$module")"
        cp "$tree/lib/modules/$kver/$module" "$staging/lib/modules/$kver/$module"
        echo "$kver/$module" >>"$list"
    done

    (
        cd "$staging"
        find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet
        console_archive
    ) | gzip -9 >"$target.tmp"
    mv "$target.tmp" "$target"
}

package=$(resolve_kernel_package)
deb=$(fetch_deb "$package")
tree=$(unpack_kernel "$deb")
kver=$(basename "$(find "$tree/lib/modules" -mindepth 1 -maxdepth 1 -type d)")

image=$out/image
kernel=$image/boot/vmlinuz
initrd=$image/boot/initrd.img
stamp=$image/.inputs
inputs=$(build_inputs "$tree")

if [ -f "$kernel" ] && [ -f "$initrd" ] && [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$inputs" ]; then
    log "up to date ($kver)"
else
    rm -f "$stamp"
    mkdir -p "$image/boot"
    cp "$tree/boot/vmlinuz-$kver" "$kernel.tmp"
    mv "$kernel.tmp" "$kernel"
    build_initramfs "$tree" "$kver" "$initrd"
    echo "$inputs" >"$stamp"
    log "built $kver: $(du -h "$kernel" | cut -f1) kernel, $(du -h "$initrd" | cut -f1) initramfs"
fi

echo "VMIL_GUEST_IMAGE=$image"
echo "VMIL_GUEST_KERNEL=$kernel"
echo "VMIL_GUEST_INITRD=$initrd"
