#!/usr/bin/env python3
"""Lists every field path of KubeVirt's VirtualMachineInstance and
VirtualMachine API, across releases, from KubeVirt's own Go type definitions.

Usage: scripts/kubevirt-fields.py KUBEVIRT_GIT_DIR [REF ...] > vmi/kubevirt_fields.inc

Without REFs it reads every final release tag (vX.Y.Z) from the first one that
has a VirtualMachineInstanceSpec (v0.6.0; before that the VMI kind was named
VirtualMachine and used apiVersion kubevirt.io/v1alpha1, which the launcher
does not read) and HEAD, called "main".

Only field names and JSON keys are taken from the source: the output is one
C++ initializer per path, `{scope, "path", kind, "first", "last"},` where
scope is vmi (a VirtualMachineInstance, or a VirtualMachine's template) or
virtual_machine (a VirtualMachine's own spec); path is the JSON path with list indices
removed; kind is object (has fields of its own), list (a list of objects),
map (free keys, e.g. labels or resource names) or value; first and last are
the first and last release that had the field ("main" for current KubeVirt).
Types of other API groups (Kubernetes' Affinity, CDI's DataVolumeSpec...)
are not expanded: such a field is classified as a whole.
"""
import re
import subprocess
import sys

API_DIRS = [
    "staging/src/kubevirt.io/api/core/v1",
    "staging/src/kubevirt.io/client-go/api/v1",
    "pkg/api/v1",
]
K8S_CORE = "vendor/k8s.io/api/core/v1/types.go"
K8S_META = "vendor/k8s.io/apimachinery/pkg/apis/meta/v1/types.go"
# Types of Kubernetes' core API whose fields the launcher reads, and types
# that are maps under another name.
EXPAND_EXTERNAL = {"PersistentVolumeClaimVolumeSource", "LocalObjectReference"}
MAP_TYPES = {"ResourceList"}
SKIP_FILES = ("_test.go", "deepcopy_generated.go", "openapi_generated.go", "swagger_generated.go")


def git(repo, *args):
    return subprocess.run(["git", "-C", repo, *args], check=True, capture_output=True, text=True).stdout


def show(repo, ref, path):
    r = subprocess.run(["git", "-C", repo, "show", f"{ref}:{path}"], capture_output=True, text=True)
    return r.stdout if r.returncode == 0 else None


def strip_comments(src):
    src = re.sub(r"/\*.*?\*/", "", src, flags=re.S)
    return re.sub(r"//[^\n]*", "", src)


def parse_structs(src):
    """Returns {TypeName: [(json_key or None for inline, go_type)]} and the set of non-struct type names."""
    src = strip_comments(src)
    structs, others = {}, set()
    for m in re.finditer(r"^type\s+(\w+)\s+(struct\s*\{|[^\n]+)", src, flags=re.M):
        name = m.group(1)
        if not m.group(2).startswith("struct"):
            others.add(name)
            continue
        depth, i = 1, m.end()
        while depth and i < len(src):
            depth += {"{": 1, "}": -1}.get(src[i], 0)
            i += 1
        body = src[m.end():i - 1]
        fields = []
        for line in body.split("\n"):
            line = line.strip()
            if not line:
                continue
            tag = re.search(r'json:"([^"]*)"', line)
            decl = line.split("`")[0].split()
            if tag is None and len(decl) == 1:  # embedded without a tag: promoted fields
                fields.append((None, decl[0]))
                continue
            if tag is None:
                continue
            key = tag.group(1).split(",")[0]
            if key == "-":
                continue
            if len(decl) == 1:
                fields.append((None if key == "" else key, decl[0]))
            elif len(decl) >= 2:
                fields.append((None if key == "" else key, decl[1]))
        structs[name] = fields
    return structs, others


def load(repo, ref):
    api_dir = None
    for d in API_DIRS:
        if show(repo, ref, f"{d}/types.go") is not None:
            api_dir = d
            break
    if api_dir is None:
        return None
    structs, others = {}, set()
    for f in git(repo, "ls-tree", "--name-only", f"{ref}:{api_dir}").split():
        if not f.endswith(".go") or f.endswith(SKIP_FILES):
            continue
        s, o = parse_structs(show(repo, ref, f"{api_dir}/{f}") or "")
        structs.update(s)
        others |= o
    if "VirtualMachineInstanceSpec" not in structs:
        return None
    external = {}
    for path in (K8S_CORE, K8S_META):
        src = show(repo, ref, path) or show(repo, "HEAD", path) or ""
        external.update(parse_structs(src)[0])
    return structs, external


def walk(structs, external, type_name, prefix, out, stack=()):
    """Adds prefix.key -> kind for every field of type_name."""
    for key, go_type in structs.get(type_name, []):
        base = go_type.lstrip("*")
        if key is None:  # inline: the embedded type's fields belong to this object
            if "." in base:
                for k, t in external.get(base.split(".")[-1], []):
                    if k is not None:
                        out[f"{prefix}{k}"] = "value"
            else:
                walk(structs, external, base, prefix, out, stack)
            continue
        path = f"{prefix}{key}"
        is_list = base.startswith("[]")
        base = base.lstrip("[]*")
        if base.startswith("map[") or base.split(".")[-1] in MAP_TYPES:
            out[path] = "map"
        elif "." not in base and base in structs and base not in stack:
            out[path] = "list" if is_list else "object"
            walk(structs, external, base, path + ".", out, stack + (base,))
        elif base == "ObjectMeta" or base.endswith(".ObjectMeta"):
            out[path] = "object"
            for k, t in external.get("ObjectMeta", []):
                if k is not None:
                    out[f"{path}.{k}"] = "map" if t.startswith("map[") else "value"
        elif "." in base and base.split(".")[-1] in EXPAND_EXTERNAL:
            out[path] = "list" if is_list else "object"
            for k, t in external.get(base.split(".")[-1], []):
                if k is not None:
                    out[f"{path}.{k}"] = "value"
        else:
            out[path] = "list" if is_list else "value"


def fields_of(structs, external):
    out = {}
    vmi = {}
    for k in ("apiVersion", "kind"):
        vmi[k] = "value"
    vmi["metadata"] = "object"
    for k, t in external.get("ObjectMeta", []):
        if k is not None:
            vmi[f"metadata.{k}"] = "map" if t.startswith("map[") else "value"
    vmi["spec"] = "object"
    walk(structs, external, "VirtualMachineInstanceSpec", "spec.", vmi)
    vmi["status"] = "value"  # written by KubeVirt: never read, classified as a whole
    for p, k in vmi.items():
        out[("vmi", p)] = k
    vm = {}  # the VirtualMachine's top level is a VMI's (apiVersion, kind, metadata, spec, status)
    walk(structs, external, "VirtualMachineSpec", "spec.", vm)
    for p, k in vm.items():
        if p.startswith("spec.template.") :
            continue  # the template is a VMI: its fields are the vmi paths
        out[("vm", p)] = k
    return out


def version_key(tag):
    return tuple(int(x) for x in tag[1:].split("."))


def main():
    repo = sys.argv[1]
    refs = sys.argv[2:]
    if not refs:
        tags = [t for t in git(repo, "tag").split() if re.fullmatch(r"v\d+\.\d+\.\d+", t)]
        refs = sorted(tags, key=version_key) + ["HEAD"]
    seen = {}
    for ref in refs:
        loaded = load(repo, ref)
        if loaded is None:
            continue
        name = "main" if ref == "HEAD" else ref
        for key, kind in fields_of(*loaded).items():
            if key not in seen:
                seen[key] = [kind, name, name]
            else:
                seen[key][0] = kind
                seen[key][2] = name
    print("// Generated by scripts/kubevirt-fields.py from KubeVirt's Go API types; do not edit.")
    print("// {scope, path, kind, first release, last release}")
    # Sorted as the launcher looks them up: VMI fields first, then by bytes.
    order = {"vmi": 0, "vm": 1}
    names = {"vmi": "vmi", "vm": "virtual_machine"}
    for (scope, path), (kind, first, last) in sorted(seen.items(), key=lambda e: (order[e[0][0]], e[0][1])):
        print(f'{{Scope::{names[scope]}, "{path}", Kind::{kind}, "{first}", "{last}"}},')


if __name__ == "__main__":
    main()
