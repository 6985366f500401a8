// Validates Kubernetes objects against the Kubernetes OpenAPI schema, with
// the ajv validators kubernetes-models generates from it: field types,
// required fields, enums and formats (quantities, int-or-string).
//
//   node validate.mjs FILE.json...   each file an object or a v1 List
//   node validate.mjs --self-check FILE.json
//       breaks a valid Pod from FILE in ways Kubernetes refuses and fails
//       unless every broken copy is refused (the validator really validates)
import { readFileSync } from "node:fs";
import { Pod } from "kubernetes-models/v1/Pod";
import { ConfigMap } from "kubernetes-models/v1/ConfigMap";

const kinds = { Pod, ConfigMap };

function problems(object) {
  const Model = kinds[object.kind];
  if (object.apiVersion !== "v1" || !Model) return [`unexpected ${object.apiVersion} ${object.kind}`];
  try {
    new Model(object).validate();
    return [];
  } catch (e) {
    return [e.message];
  }
}

function objects(file) {
  const data = JSON.parse(readFileSync(file, "utf8"));
  return data.kind === "List" ? data.items : [data];
}

function selfCheck(file) {
  const pod = objects(file).find((o) => o.kind === "Pod");
  if (!pod || problems(pod).length) throw new Error(`${file}: no valid Pod to start from`);
  const breakages = {
    "container without a name": (p) => delete p.spec.containers[0].name,
    "memory that is no quantity": (p) => (p.spec.containers[0].resources.requests.memory = "12Q"),
    "grace period as text": (p) => (p.spec.terminationGracePeriodSeconds = "45"),
    "no containers": (p) => delete p.spec.containers,
    "volume mount without a path": (p) => delete p.spec.containers[0].volumeMounts[0].mountPath,
    "args not a list": (p) => (p.spec.containers[0].args = "run"),
    "boolean as text": (p) => (p.spec.automountServiceAccountToken = "false"),
  };
  let failed = 0;
  for (const [what, breakIt] of Object.entries(breakages)) {
    const copy = structuredClone(pod);
    breakIt(copy);
    const found = problems(copy);
    console.log(`${found.length ? "refused" : "ACCEPTED"}: ${what}${found.length ? ": " + found[0] : ""}`);
    if (!found.length) failed++;
  }
  return failed;
}

const args = process.argv.slice(2);
let failed = 0;
if (args[0] === "--self-check") {
  failed = selfCheck(args[1]);
} else {
  for (const file of args) {
    for (const object of objects(file)) {
      const found = problems(object);
      const name = `${object.kind} ${object.metadata?.namespace}/${object.metadata?.name}`;
      console.log(found.length ? `INVALID ${file}: ${name}: ${found.join("; ")}` : `valid ${file}: ${name}`);
      if (found.length) failed++;
    }
  }
}
process.exit(failed ? 1 : 0);
