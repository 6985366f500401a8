#!/usr/bin/env bash
# Every example's (and tests/pod/manifests/'s) rendered Pod and ConfigMap, in each variant of the pod
# command's options, validated against the Kubernetes OpenAPI schema
# (tests/pod/schema/validate.mjs); then the validator's own self-check.
# Exit 77 (skipped) only without Node.js and npm; when the schema package is
# missing and `npm ci` cannot install it, the test fails (exit 1): a schema
# check that did not run is no pass.
set -euo pipefail
root=${SOURCE_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
launcher=${VMI_LAUNCHER:-$root/build/vmi-launcher}
schema=$root/tests/pod/schema

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "skip: Node.js and npm are not installed (scripts/setup.sh installs them)" >&2
  exit 77
fi
if [ ! -d "$schema/node_modules/kubernetes-models" ]; then
  if ! (cd "$schema" && npm ci --no-audit --no-fund >&2); then
    echo "FAIL: npm ci in $schema could not install the schema package (kubernetes-models)" >&2
    exit 1
  fi
fi

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
variants=(
  ""
  "--accel tcg"
  "--memory-limit cgroup"
  "--cgroup-mode nested"
  "--overhead-model kubevirt --memory-overcommit 150"
  "--kvm-resource example.com/kvm --image registry.example/vmi-launcher:1.0"
)
n=0
for vmi in "$root"/examples/*.yaml "$root"/tests/pod/manifests/*.yaml; do
  for v in "${variants[@]}"; do
    n=$((n + 1))
    # shellcheck disable=SC2086
    "$launcher" pod "$vmi" -o json --with-configmap $v >"$out/$n.json" 2>/dev/null
  done
done
# Options that apply to some manifests only.
specific=(
  "claims.yaml --volume-mode rootdisk=block --volume-mode golden=block"
  "overcommit.yaml --memory-limit ceiling"
  "scheduling.yaml --kubevirt-node-labels"
  "dedicated.yaml --kubevirt-node-labels"
)
for s in "${specific[@]}"; do
  n=$((n + 1))
  # shellcheck disable=SC2086
  set -- $s
  file=$1
  shift
  "$launcher" pod "$root/tests/pod/manifests/$file" -o json --with-configmap "$@" >"$out/$n.json" 2>/dev/null
done
node "$schema/validate.mjs" "$out"/*.json
node "$schema/validate.mjs" --self-check "$out/1.json"
echo "$n renderings valid"
