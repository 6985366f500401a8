"""Density: how many VMIs fit in a node's allocatable memory.

Kubernetes places a pod by its memory request; for a VMI that is the request
plus the overhead (without overcommitGuestOverhead). The count is
floor(allocatable / pod request) for a VMI whose request is its guest
memory, as `vmi-launcher plan` computes the pod request under each model.
This is arithmetic on the plans, not a measurement; the calibration section
is what says whether the launcher model's estimate is safe.
"""

from __future__ import annotations

from . import guest
from .common import GIB, Tools
from .plans import plan

ALLOCATABLE_GIB = 97
GUESTS_GIB = [1, 10]
MODELS = [("launcher", "tcg"), ("launcher", "kvm"), ("kubevirt", "kvm")]


def run(tools: Tools) -> dict:
    rows = []
    for g in GUESTS_GIB:
        vmi = guest.vmi_yaml("density", f"{g}Gi", f"{g}Gi", 1, "console=ttyS0")
        row = {"guest_gib": g}
        for model, accel in MODELS:
            p = plan(tools, vmi, model, accel)
            row[f"{model}_{accel}"] = {
                "overhead_bytes": p["overhead_bytes"],
                "pod_request_bytes": p["pod_request_bytes"],
                "vmis": ALLOCATABLE_GIB * GIB // p["pod_request_bytes"],
            }
        kv = row["kubevirt_kvm"]["vmis"]
        row["launcher_kvm_over_kubevirt"] = row["launcher_kvm"]["vmis"] / kv if kv else None
        row["launcher_tcg_over_kubevirt"] = row["launcher_tcg"]["vmis"] / kv if kv else None
        rows.append(row)
    return {"allocatable_gib": ALLOCATABLE_GIB, "vcpus": 1, "rows": rows}
