#!/usr/bin/env bash
# Fuzzes the VMI pipeline (YAML -> spec -> plan -> argv) and quantities with
# libFuzzer, ASan and UBSan.
#
#   tests/fuzz/run.sh --short            20 s per target from the seeds, in a
#                                        scratch corpus (the test fuzz-short)
#   tests/fuzz/run.sh --long [--time S]  S seconds per target (default 3600),
#                                        growing .cache/fuzz/corpus/<target>
#   ... [--jobs N] [TARGET...]           parallel jobs; vmi and/or quantity
#
# The seed corpus: examples/*.yaml and tests/bad-inputs/ for vmi,
# tests/fuzz/seeds/quantity/ for quantity, and every past finding in
# tests/fuzz/regressions/<target>/. A finding stops the run with exit 1 and
# leaves the input in .cache/fuzz/artifacts/<target>/; once fixed, copy it
# into tests/fuzz/regressions/<target>/ so the unit tests replay it.
# Exits 77 when clang or libFuzzer is missing.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)

mode=short
seconds=
jobs=1
targets=()
while [ $# -gt 0 ]; do
    case "$1" in
        --short) mode=short; shift ;;
        --long) mode=long; shift ;;
        --time) seconds=$2; shift 2 ;;
        --jobs) jobs=$2; shift 2 ;;
        -h | --help) sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        vmi | quantity) targets+=("$1"); shift ;;
        *) echo "fuzz: unknown argument $1 (see --help)" >&2; exit 2 ;;
    esac
done
[ ${#targets[@]} -gt 0 ] || targets=(vmi quantity)
[ -n "$seconds" ] || { [ "$mode" = short ] && seconds=20 || seconds=3600; }

status=0
dir=$("$here/build.sh") || status=$?
[ "$status" -eq 0 ] || exit "$status"

seeds_for() {
    case "$1" in
        vmi) echo "$repo/examples" "$repo/tests/bad-inputs" "$repo/tests/fuzz/regressions/vmi" ;;
        quantity) echo "$repo/tests/fuzz/seeds/quantity" "$repo/tests/fuzz/regressions/quantity" ;;
    esac
}

scratch=
if [ "$mode" = short ]; then
    scratch=$(mktemp -d "${TMPDIR:-/tmp}/vmil-fuzz.XXXXXX")
    trap 'rm -rf "$scratch"' EXIT
fi

# UBSan reports abort (the build uses -fno-sanitize-recover=all); yaml-cpp
# is not instrumented, so ASan's container-overflow checks stay off for it.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:detect_container_overflow=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

for t in "${targets[@]}"; do
    if [ "$mode" = short ]; then corpus=$scratch/$t; else corpus=$repo/.cache/fuzz/corpus/$t; fi
    artifacts=$repo/.cache/fuzz/artifacts/$t
    mkdir -p "$corpus" "$artifacts"
    # shellcheck disable=SC2046 # the seed directories are words
    for s in $(seeds_for "$t"); do
        [ -d "$s" ] && find "$s" -maxdepth 1 -type f -exec cp -t "$corpus" {} +
    done
    echo "fuzz: $t for ${seconds} s ($mode, corpus $corpus, $(find "$corpus" -type f | wc -l) inputs)" >&2
    args=(-max_total_time="$seconds" -dict="$here/$t.dict" -artifact_prefix="$artifacts/" -max_len=65536
          -print_final_stats=1 -timeout=10 -rss_limit_mb=4096)
    [ "$mode" = short ] && args+=(-seed=1)
    [ "$jobs" -le 1 ] || args+=(-jobs="$jobs" -workers="$jobs")
    if ! "$dir/tests/fuzz/$t-fuzzer" "${args[@]}" "$corpus"; then
        echo "fuzz: $t found a problem; the input is in $artifacts/ (reproduce:" \
            "$dir/tests/fuzz/$t-fuzzer $artifacts/<file>)" >&2
        status=1
    fi
done
exit "$status"
