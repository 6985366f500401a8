"""Density with ballooning: how many of the balloon section's VMs (512 MiB
guest, 256 MiB floor) a node of 97 GiB allocatable memory places, and at
what measured risk.

The count is arithmetic on `vmi-launcher plan`: floor(allocatable / pod
request), the pod request being what the scheduler reserves, for

- `no overcommit`: request = guest memory, KubeVirt's overhead formula (what
  KubeVirt places by default);
- `vmi-launcher, no overcommit`: the same with the launcher's overhead model
  (what the overhead model alone gains);
- `KubeVirt memoryOvercommit 200%`: only memory.guest given, the cluster's
  memoryOvercommit percentage sets the request to guest x 100 / 200, with
  KubeVirt's overhead formula; no balloon acts on it (KubeVirt only enables
  free page reporting);
- `vmi-launcher floor`: requests.memory = floor, limits.memory = guest (the
  Burstable pod of `pod --memory-limit ceiling`), the launcher's overhead
  model, `--balloon auto`; the same pods with the 10 s poller.

Counts use the KVM overhead (a production node); the TCG counts, the
overhead the measurements ran with, are in the JSON too.

The risk is measured, not modelled: the share of VM runs OOM-killed in this
run's node scenario (balloon_node: three such VMs whose ceilings add up to
1.5x their parent's limit, caching in turns) for the matching mode, with a
95% upper bound (Wilson; for 0 of n, about 3/n). `no overcommit` takes its
figure from the single-VM scenario's baseline runs (a VM whose request
covers its guest). It is the risk of that scenario, a node whose VMs all
fill their page cache in turns, not a failure rate of a real fleet.
"""

from __future__ import annotations

import json
import math
import subprocess

from . import balloon
from .common import GIB, Tools

ALLOCATABLE_GIB = 97


def plan_with(tools: Tools, vmi_text: str, model: str, accel: str, extra: list[str]) -> dict:
    done = subprocess.run(
        [str(tools.launcher), "plan", "-", "-o", "json", "--overhead-model", model, "--accel", accel, *extra],
        input=vmi_text, capture_output=True, text=True,
    )
    if done.returncode != 0:
        raise RuntimeError(f"vmi-launcher plan failed: {done.stderr.strip()}")
    return json.loads(done.stdout)


def wilson_upper(k: int, n: int, z: float = 1.96) -> float | None:
    if n == 0:
        return None
    p = k / n
    centre = p + z * z / (2 * n)
    spread = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return min(1.0, (centre + spread) / (1 + z * z / n))


def risk(kills: int | None, runs: int | None, source: str) -> dict:
    if not runs:
        return {"kills": None, "runs": 0, "rate": None, "upper_95": None, "source": source + " (not measured)"}
    return {"kills": kills, "runs": runs, "rate": kills / runs, "upper_95": wilson_upper(kills, runs),
            "source": source}


def run(tools: Tools, single: dict | None, node: dict | None) -> dict:
    g, f = balloon.GUEST_MIB, balloon.FLOOR_MIB
    cases = [
        ("no overcommit", balloon.vmi_yaml("d", g, g), "kubevirt", [], "baseline"),
        ("vmi-launcher, no overcommit", balloon.vmi_yaml("d", g, g), "launcher", [], "baseline"),
        ("KubeVirt memoryOvercommit 200%", balloon.vmi_yaml("d", g, None), "kubevirt",
         ["--memory-overcommit", "200", "--balloon", "off"], "off"),
        ("vmi-launcher floor, --balloon auto", balloon.vmi_yaml("d", g, f, g), "launcher", [], "auto"),
        ("vmi-launcher floor, 10 s poller", balloon.vmi_yaml("d", g, f, g), "launcher", [], "poll"),
    ]
    allocatable = ALLOCATABLE_GIB * GIB
    rows = []
    for label, vmi, model, extra, measured_as in cases:
        row: dict = {"label": label, "model": model, "measured_as": measured_as}
        for accel in ("kvm", "tcg"):
            p = plan_with(tools, vmi, model, accel, extra)
            row[accel] = {
                "request_bytes": p["request_bytes"],
                "overhead_bytes": p["overhead_bytes"],
                "pod_request_bytes": p["pod_request_bytes"],
                "pod_limit_bytes": p.get("pod_limit_bytes"),
                "vmis": allocatable // p["pod_request_bytes"],
                "guest_bytes_placed": allocatable // p["pod_request_bytes"] * p["guest_bytes"],
            }
        if measured_as == "baseline":
            c = ((single or {}).get("contenders") or {}).get("baseline") or {}
            row["risk"] = risk(c.get("oom_kills"), c.get("runs_n"), "single-VM baseline runs")
        else:
            m = ((node or {}).get("modes") or {}).get(measured_as) or {}
            row["risk"] = risk(m.get("oom_kills"), m.get("vm_runs"), f"node scenario, {measured_as}")
        rows.append(row)
    base = rows[0]["kvm"]["vmis"]
    for row in rows:
        row["over_no_overcommit"] = row["kvm"]["vmis"] / base if base else None
    return {"allocatable_gib": ALLOCATABLE_GIB, "guest_mib": g, "floor_mib": f, "rows": rows}
