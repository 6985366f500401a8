#!/usr/bin/env bash
# The corpus (tests/corpus/*.yaml, see README.md there): every manifest
# through validate, plan (each overhead model), qemu-args (with the disks
# its header lines declare) and pod. An accepted manifest passes them all; a
# refused one fails each with exit 2 and one error line naming the field its
# header names. No command may crash (any exit status but 0 and 2). Every
# rendered Pod and ConfigMap must then pass the Kubernetes OpenAPI schema
# (tests/pod/schema/validate.mjs) and the name rules (check_names.mjs).
#
# Header lines of a manifest:
#   # corpus: accepted | refused FIELD
#   # image: REF              an image whose /disk holds one disk
#   # image-file: REF PATH    a file inside an image (kernel, a disk's path)
#   # volume: NAME            a claim's or host disk's file, by volume name
#   # qemu-args: OPTIONS      more options for qemu-args (--tap-fd NAME=FD)
set -uo pipefail
root=${SOURCE_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
launcher=${VMI_LAUNCHER:-$root/build/vmi-launcher}
corpus=$root/tests/corpus
schema=$root/tests/pod/schema

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failures=0
fail() {
  echo "FAIL: $*" >&2
  failures=$((failures + 1))
}

header() { sed -n "s/^# $2: //p" "$1"; }
image_dir() { printf '%s' "$1" | sed 's/[^A-Za-z0-9._-]/_/g'; }
make_file() {
  mkdir -p "$(dirname "$1")"
  truncate -s 1M "$1"
}

# run NAME CMD...: runs a launcher command, keeps its output in $work/NAME.{out,err}
run() {
  local name=$1
  shift
  "$launcher" "$@" >"$work/$name.out" 2>"$work/$name.err"
  local rc=$?
  if [ "$rc" -ne 0 ] && [ "$rc" -ne 2 ]; then
    fail "$name: exit status $rc (a crash?): $(tail -n 3 "$work/$name.err")"
  fi
  return "$rc"
}

# expect_refused NAME FIELD CMD...: exit 2, nothing on stdout, one error line naming FIELD.
expect_refused() {
  local name=$1 field=$2
  shift 2
  run "$name" "$@"
  local rc=$? errors
  errors=$(grep -c '^error: ' "$work/$name.err")
  if [ "$rc" -ne 2 ]; then
    fail "$name: expected a refusal naming $field, got exit status $rc"
  elif [ -s "$work/$name.out" ] || [ "$errors" -ne 1 ]; then
    fail "$name: a refusal prints nothing on stdout and exactly one error line"
  elif ! grep '^error: ' "$work/$name.err" | grep -qF -- "$field"; then
    fail "$name: the error does not name $field: $(grep '^error: ' "$work/$name.err")"
  fi
}

expect_ok() {
  local name=$1
  shift
  if ! run "$name" "$@"; then
    fail "$name: refused: $(grep '^error: ' "$work/$name.err" || tail -n 2 "$work/$name.err")"
    return 1
  fi
}

n=0
pods=()
for manifest in "$corpus"/*.yaml; do
  base=$(basename "$manifest" .yaml)
  expect=$(header "$manifest" corpus)
  if [ -z "$expect" ]; then
    fail "$base: no '# corpus:' header line"
    continue
  fi
  n=$((n + 1))
  src=$work/$base.src
  mkdir -p "$src/images" "$src/volumes"
  while read -r ref; do
    [ -n "$ref" ] && make_file "$src/images/$(image_dir "$ref")/disk/disk.img"
  done < <(header "$manifest" image)
  while read -r ref path; do
    [ -n "$ref" ] && make_file "$src/images/$(image_dir "$ref")/${path#/}"
  done < <(header "$manifest" image-file)
  while read -r vol; do
    [ -n "$vol" ] && make_file "$src/volumes/$vol"
  done < <(header "$manifest" volume)
  read -r -a extra < <(header "$manifest" qemu-args)
  qemu_args=(qemu-args "$manifest" --accel tcg --images-dir "$src/images" --volumes-dir "$src/volumes"
    --state-dir "$src/state" -o json "${extra[@]}")

  case $expect in
    accepted)
      expect_ok "$base.validate" validate "$manifest"
      for model in launcher kubevirt kubevirt-v1.9 kubevirt-v1.6; do
        expect_ok "$base.plan-$model" plan "$manifest" -o json --accel kvm --overhead-model "$model"
      done
      expect_ok "$base.qemu-args" "${qemu_args[@]}"
      if expect_ok "$base.pod" pod "$manifest" -o json --with-configmap; then
        pods+=("$work/$base.pod.out")
      fi
      if [ -e "$src/state" ]; then fail "$base: qemu-args created $src/state"; fi
      ;;
    refused\ *)
      field=${expect#refused }
      expect_refused "$base.validate" "$field" validate "$manifest"
      expect_refused "$base.plan" "$field" plan "$manifest"
      expect_refused "$base.qemu-args" "$field" "${qemu_args[@]}"
      expect_refused "$base.pod" "$field" pod "$manifest"
      ;;
    *) fail "$base: '# corpus: $expect' is neither accepted nor refused FIELD" ;;
  esac
done
[ "$n" -ge 20 ] || fail "only $n manifests in $corpus"

if ! command -v node >/dev/null; then
  echo "$n manifests checked; Pods not validated: Node.js is not installed (scripts/setup.sh installs it)" >&2
  [ "$failures" -eq 0 ] && exit 77
  exit 1
fi
if [ ! -d "$schema/node_modules/kubernetes-models" ]; then
  (cd "$schema" && npm ci --no-audit --no-fund >&2) || fail "npm ci in $schema could not install the schema package"
fi
if [ "${#pods[@]}" -gt 0 ]; then
  node "$schema/validate.mjs" "${pods[@]}" || fail "a rendered Pod or ConfigMap breaks the schema"
  node "$corpus/check_names.mjs" "${pods[@]}" || fail "a rendered Pod or ConfigMap has a bad name"
fi
if [ "$failures" -ne 0 ]; then
  echo "$failures failures in $n manifests" >&2
  exit 1
fi
echo "$n manifests: ${#pods[@]} accepted, Pods valid; $((n - ${#pods[@]})) refused naming their field"
