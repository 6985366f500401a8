// Checks the names in rendered Pods and ConfigMaps the way kube-apiserver
// does, which the OpenAPI schema (tests/pod/schema/validate.mjs) does not:
// object names are DNS-1123 subdomains, container, volume and port names
// DNS-1123 labels (ports: IANA service names), names unique where Kubernetes
// requires it, every volumeMount naming a volume, label keys and values valid.
//
//   node check_names.mjs FILE.json...   each file an object or a v1 List
import { readFileSync } from "node:fs";

const label = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const subdomain = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const labelValue = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const qualifiedName = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;

function checkLabelName(what, name, out) {
  if (typeof name !== "string" || name.length > 63 || !label.test(name)) out.push(`${what} "${name}" is not a DNS-1123 label`);
}

function checkSubdomain(what, name, out) {
  if (typeof name !== "string" || name.length > 253 || !subdomain.test(name)) {
    out.push(`${what} "${name}" is not a DNS-1123 subdomain`);
  }
}

function checkKey(what, key, out) {
  const slash = key.lastIndexOf("/");
  const prefix = slash >= 0 ? key.slice(0, slash) : "";
  const name = slash >= 0 ? key.slice(slash + 1) : key;
  if (slash >= 0) checkSubdomain(`${what} key prefix`, prefix, out);
  if (name.length > 63 || !qualifiedName.test(name)) out.push(`${what} key "${key}" is not a qualified name`);
}

function checkMetadata(kind, md, out) {
  checkSubdomain(`${kind} name`, md?.name, out);
  if (md?.namespace !== undefined) checkLabelName(`${kind} namespace`, md.namespace, out);
  for (const [k, v] of Object.entries(md?.labels ?? {})) {
    checkKey(`${kind} label`, k, out);
    if (typeof v !== "string" || v.length > 63 || !labelValue.test(v)) out.push(`${kind} label ${k}: value "${v}" is invalid`);
  }
  for (const k of Object.keys(md?.annotations ?? {})) checkKey(`${kind} annotation`, k, out);
}

function unique(what, names, out) {
  const seen = new Set();
  for (const n of names) {
    if (seen.has(n)) out.push(`${what} "${n}" is used twice`);
    seen.add(n);
  }
}

function checkPod(pod, configMaps, out) {
  checkMetadata("Pod", pod.metadata, out);
  const spec = pod.spec ?? {};
  const volumes = spec.volumes ?? [];
  for (const v of volumes) checkLabelName("volume", v.name, out);
  unique("volume", volumes.map((v) => v.name), out);
  const volumeNames = new Set(volumes.map((v) => v.name));
  const containers = [...(spec.initContainers ?? []), ...(spec.containers ?? [])];
  unique("container", containers.map((c) => c.name), out);
  for (const c of containers) {
    checkLabelName("container", c.name, out);
    for (const m of c.volumeMounts ?? []) {
      if (!volumeNames.has(m.name)) out.push(`container ${c.name} mounts "${m.name}", which is no volume`);
    }
    for (const d of c.volumeDevices ?? []) {
      if (!volumeNames.has(d.name)) out.push(`container ${c.name} uses device "${d.name}", which is no volume`);
    }
    for (const p of c.ports ?? []) {
      if (p.name !== undefined && (p.name.length > 15 || !/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(p.name) || !/[a-z]/.test(p.name))) {
        out.push(`container ${c.name} port name "${p.name}" is not an IANA service name`);
      }
    }
  }
  for (const v of volumes) {
    if (v.configMap && configMaps.size && !configMaps.has(v.configMap.name)) {
      out.push(`volume ${v.name} names ConfigMap "${v.configMap.name}", which is not rendered`);
    }
    if (v.configMap) checkSubdomain("ConfigMap reference", v.configMap.name, out);
  }
}

let failed = 0;
for (const file of process.argv.slice(2)) {
  const data = JSON.parse(readFileSync(file, "utf8"));
  const objects = data.kind === "List" ? data.items : [data];
  const configMaps = new Set(objects.filter((o) => o.kind === "ConfigMap").map((o) => o.metadata?.name));
  const problems = [];
  for (const o of objects) {
    if (o.kind === "Pod") checkPod(o, configMaps, problems);
    else if (o.kind === "ConfigMap") {
      checkMetadata("ConfigMap", o.metadata, problems);
      for (const k of Object.keys(o.data ?? {})) {
        if (!/^[-._a-zA-Z0-9]+$/.test(k) || k.length > 253) problems.push(`ConfigMap key "${k}" is invalid`);
      }
    }
  }
  if (problems.length) {
    failed++;
    console.error(`${file}: ${problems.join("; ")}`);
  }
}
process.exit(failed ? 1 : 0);
