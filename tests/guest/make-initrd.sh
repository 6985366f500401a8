#!/usr/bin/env bash
# Builds a variant of the test guest's initramfs with extra files, typically a
# test program to run with vmil.exec=GUESTPATH. Same /init, same modules: the
# result is the cached initrd.img (build-guest.sh makes it when needed) with a
# second gzip'd cpio archive appended; the kernel unpacks both in turn, so the
# extra files are added to (or replace) the base ones.
#
# A dynamically linked ELF file brings the shared libraries ldd finds for it
# and the dynamic loader, each at the path ldd names, so a C++ test binary
# runs in the guest as it does on the host.
set -euo pipefail
shopt -s inherit_errexit

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

usage() {
    echo "usage: $0 --out FILE [--guest-dir DIR] [--add HOSTPATH[=GUESTPATH]]..."
    echo "  --out FILE         the initramfs to write"
    echo "  --add H[=G]        copy host file H to G in the guest (default /bin/<name of H>)"
    echo "  --guest-dir DIR    build-guest.sh's cache (default <repo>/.cache/guest)"
}

log() { echo "make-initrd: $*" >&2; }
die() { echo "make-initrd: error: $*" >&2; exit 1; }

out=
guest_dir=
adds=()
while [ $# -gt 0 ]; do
    case "$1" in
        --out) [ $# -ge 2 ] || die "--out needs a file"; out=$2; shift 2 ;;
        --out=*) out=${1#--out=}; shift ;;
        --add) [ $# -ge 2 ] || die "--add needs HOSTPATH[=GUESTPATH]"; adds+=("$2"); shift 2 ;;
        --add=*) adds+=("${1#--add=}"); shift ;;
        --guest-dir) [ $# -ge 2 ] || die "--guest-dir needs a directory"; guest_dir=$2; shift 2 ;;
        --guest-dir=*) guest_dir=${1#--guest-dir=}; shift ;;
        -h | --help) usage; exit 0 ;;
        *) usage >&2; exit 2 ;;
    esac
done
[ -n "$out" ] || { usage >&2; exit 2; }

build_args=()
[ -z "$guest_dir" ] || build_args=(--out "$guest_dir")
base=$("$here/build-guest.sh" "${build_args[@]}" | sed -n 's/^VMIL_GUEST_INITRD=//p')
[ -f "$base" ] || die "build-guest.sh did not report an initrd"

staging=$(mktemp -d "${TMPDIR:-/tmp}/make-initrd.XXXXXX")
trap 'rm -rf "$staging"' EXIT

# place HOSTPATH GUESTPATH: copies the file's contents (links followed).
place() {
    local target=$staging$2
    mkdir -p "$(dirname "$target")"
    cp -L --preserve=mode "$1" "$target"
}

# The libraries and loader ldd lists for an ELF file; nothing for a static
# executable or a script.
shared_objects() {
    local listing
    listing=$(ldd "$1" 2>/dev/null) || return 0
    # "libfoo.so.1 => /lib/.../libfoo.so.1 (0x...)" and "/lib64/ld-linux-x86-64.so.2 (0x...)";
    # the vDSO has no file.
    sed -n -e 's/^[[:space:]]*[^[:space:]]* => \(\/[^[:space:]]*\) (0x[0-9a-f]*)$/\1/p' \
        -e 's/^[[:space:]]*\(\/[^[:space:]]*\) (0x[0-9a-f]*)$/\1/p' <<<"$listing"
    if grep -q '=> not found' <<<"$listing"; then
        die "$1 needs libraries ldd cannot find: $(grep '=> not found' <<<"$listing" | tr -s ' \t' ' ')"
    fi
}

is_elf() { [ "$(head -c 4 "$1" | od -An -c | tr -d ' ')" = '177ELF' ]; }

for add in "${adds[@]}"; do
    host=${add%%=*}
    if [ "$host" = "$add" ]; then
        guest=/bin/$(basename "$host")
    else
        guest=${add#*=}
    fi
    [ -f "$host" ] || die "--add $add: $host is not a file"
    case "$guest" in
        /*) ;;
        *) die "--add $add: the guest path must be absolute" ;;
    esac
    place "$host" "$guest"
    if is_elf "$host"; then
        objects=$(shared_objects "$host")
        for object in $objects; do
            [ -e "$staging$object" ] || place "$object" "$object"
        done
    fi
    log "added $host as $guest"
done

mkdir -p "$(dirname "$out")"
{
    cat "$base"
    (cd "$staging" && find . -mindepth 1 | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) | gzip -9
} >"$out.tmp"
mv "$out.tmp" "$out"
echo "$out"
