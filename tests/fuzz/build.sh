#!/usr/bin/env bash
# Builds the libFuzzer targets with clang, AddressSanitizer and
# UndefinedBehaviorSanitizer in their own build directory (default
# <repo>/build-fuzz), apart from the normal g++ build. Prints the directory.
# Exits 77 when clang or libFuzzer is missing (scripts/setup.sh installs
# clang-14 and libclang-rt-14-dev).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
dir=${VMIL_FUZZ_BUILD:-$repo/build-fuzz}
targets=(tests/fuzz/vmi-fuzzer tests/fuzz/quantity-fuzzer)

cxx=
for c in clang++ clang++-14; do
    if command -v "$c" >/dev/null; then cxx=$c; break; fi
done
if [ -z "$cxx" ]; then
    echo "skip: clang++ not found (scripts/setup.sh installs clang-14)" >&2
    exit 77
fi
cc=${cxx/clang++/clang}

# libFuzzer and the sanitizer runtimes come with libclang-rt-14-dev.
probe=$(mktemp -d)
trap 'rm -rf "$probe"' EXIT
echo 'extern "C" int LLVMFuzzerTestOneInput(const unsigned char*, unsigned long) { return 0; }' >"$probe/p.cpp"
if ! "$cxx" -fsanitize=fuzzer,address,undefined "$probe/p.cpp" -o "$probe/p" 2>"$probe/err"; then
    echo "skip: $cxx cannot link a libFuzzer target (install libclang-rt-14-dev): $(head -c 300 "$probe/err" | tr '\n' ' ')" >&2
    exit 77
fi

if [ ! -f "$dir/build.ninja" ]; then
    # Warnings stay visible but do not stop the build: clang warns about
    # things g++ (the normal build, with -Werror) does not.
    CC=$cc CXX=$cxx meson setup "$dir" "$repo" \
        -Dfuzzing=true -Db_sanitize=address,undefined -Db_lundef=false \
        -Dbuildtype=debugoptimized -Dwerror=false >&2
fi
ninja -C "$dir" "${targets[@]}" >&2
echo "$dir"
