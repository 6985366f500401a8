"""Ballooning on a node: three overcommitted VMs in a parent cgroup too
small for all of their ceilings.

Each VM is the balloon section's guest (512 MiB, `vmil.cache=450`, then it
waits) with requests.memory 256Mi, the floor, and limits.memory 512Mi, so
its own cgroup limit is its ceiling plus overhead (limit + overhead in the
memory plan: what `pod --memory-limit ceiling` asks of Kubernetes). The
parent, a v1 memory cgroup the benchmark makes with memory.limit_in_bytes,
is the node: its limit is the sum of the three cgroup limits (from
`vmi-launcher plan`) divided by 1.5, which still holds the three
floor-based pod requests. The launchers run with `--cgroup-parent` in it.

The guests cache in turns: the next VM starts when the one before has read
its 450 MiB (or was killed), and all three stay up until the last one is
done, then get the power button. The VMs' own cgroups never reach their
limits; only the parent does, so what saves them is the node-level signal
(the parent's usage, PSI).

Counted per mode (off, auto, the 10 s poller): OOM kills of the VMs' QEMU
processes, by the kernel's own `Killed process PID` records in /dev/kmsg
and by the launchers' exit status 4; the parent's memory.failcnt and
memory.oom_control; and how close each VM stays to its floor: the lowest
and highest balloon target it was given, against the floor.
"""

from __future__ import annotations

import dataclasses
import math
import os
import re
import signal
import threading
import time
from pathlib import Path

from . import balloon
from .balloon import Mode
from .common import MIB, Tools
from .launcher_run import LauncherRun
from .oom import Kmsg
from .plans import plan

VMS = 3
RATIO = 1.5
KILLED = re.compile(r"Killed process (\d+) ")
PAGE = os.sysconf("SC_PAGE_SIZE")


def node_vmi(name: str) -> str:
    return balloon.vmi_yaml(name, balloon.GUEST_MIB, balloon.FLOOR_MIB, balloon.GUEST_MIB, wait=True, namespace="node")


def sizes(tools: Tools) -> dict:
    """The VMs' plans and the parent's limit derived from them."""
    p = plan(tools, node_vmi("node0"), "launcher", "tcg")
    ceiling_limit = p["cgroup_limit_bytes"]
    floor = (p.get("balloon") or {}).get("floor_bytes") or p["request_bytes"]
    parent = math.ceil(VMS * ceiling_limit / RATIO / PAGE) * PAGE
    return {
        "vm_cgroup_limit_bytes": ceiling_limit,
        "floor_bytes": floor,
        "ceiling_bytes": (p.get("balloon") or {}).get("ceiling_bytes") or p["guest_bytes"],
        "pod_request_bytes": p["pod_request_bytes"],
        "balloon_plan": p.get("balloon"),
        "parent_limit_bytes": parent,
        "sum_of_limits_over_parent": VMS * ceiling_limit / parent,
        "sum_of_pod_requests_bytes": VMS * p["pod_request_bytes"],
    }


class ParentSampler:
    """The parent's usage every 50 ms: its peak and its time above the limit's 90%."""

    def __init__(self, path: Path, limit: int):
        self.path = path
        self.limit = limit
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        while not self._stop.is_set():
            try:
                self.peak = max(self.peak, int((self.path / "memory.usage_in_bytes").read_text()))
            except (OSError, ValueError):
                pass
            time.sleep(0.05)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2)


def _read_kv(path: Path) -> dict:
    out = {}
    try:
        for line in path.read_text().splitlines():
            k, _, v = line.partition(" ")
            out[k] = int(v)
    except (OSError, ValueError):
        pass
    return out


def _read_int(path: Path) -> int | None:
    try:
        return int(path.read_text())
    except (OSError, ValueError):
        return None


def one_round(tools: Tools, mode: Mode, size: dict, index: int, log) -> dict:
    parent_name = f"vmi-launcher-bench-node-{os.getpid()}"
    parent = balloon.MEMORY_ROOT / parent_name
    parent.mkdir()
    runs: list[LauncherRun] = []
    kmsg = Kmsg()
    sampler = None
    try:
        (parent / "memory.limit_in_bytes").write_text(str(size["parent_limit_bytes"]))
        node_tools = dataclasses.replace(tools, cgroup_parent=parent_name)
        sampler = ParentSampler(parent, size["parent_limit_bytes"])
        kmsg.records()
        turns = []
        for i in range(VMS):
            r = LauncherRun(node_tools, f"node{i}-{mode.name}-{index}", node_vmi(f"node{i}"),
                            [balloon.PROGRESS, balloon.DONE], extra_args=mode.args, stamp_qemu=False)
            runs.append(r)
            started = time.monotonic()
            while time.monotonic() - started < balloon.RUN_TIMEOUT:
                text = r.console.text
                if balloon.DONE in text or balloon.FAILED in text or r.proc.poll() is not None:
                    break
                time.sleep(0.05)
            turns.append({"vm": i, "turn_s": time.monotonic() - started})
        time.sleep(3)  # the last VM's pressure settles while all three run
        for r in runs:  # the power button to all three at once, then their exits
            if r.proc.poll() is None:
                r.proc.send_signal(signal.SIGTERM)
        codes = [r.wait_exit(60) for r in runs]
        sampler.stop()
        killed_pids = {int(m.group(1)) for _, text in kmsg.records() if (m := KILLED.search(text))}
        vms = []
        for i, (r, code) in enumerate(zip(runs, codes)):
            with r._lock:
                events = list(r.events)
            targets = balloon.balloon_events(events)
            new = [b["new_target_bytes"] for b in targets if b["new_target_bytes"] is not None]
            pid = r.qemu_pid()
            vms.append({
                "vm": i,
                "exit_status": code,
                "oom_killed": balloon.oom_killed(code, events),
                "kernel_killed": pid is not None and pid in killed_pids,
                "turn_s": turns[i]["turn_s"],
                **balloon.cache_outcome(r.console.text, r.console.seen),
                "balloon_targets": targets,
                "min_target_bytes": min(new) if new else None,
                "max_target_bytes": max(new) if new else None,
                "min_target_over_floor": min(new) / size["floor_bytes"] if new else None,
                "stopped": balloon.stopped_counters(events),
            })
        out = {
            "mode": mode.name,
            "vms": vms,
            "oom_kills": sum(1 for v in vms if v["oom_killed"] or v["kernel_killed"]),
            "kernel_kills": sum(1 for v in vms if v["kernel_killed"]),
            "launcher_exit_4": sum(1 for v in vms if v["exit_status"] == 4),
            "parent_peak_bytes": max(sampler.peak, _read_int(parent / "memory.max_usage_in_bytes") or 0),
            "parent_failcnt": _read_int(parent / "memory.failcnt"),
            "parent_oom_control": _read_kv(parent / "memory.oom_control"),
        }
        log(f"balloon node: {mode.name}: {out['oom_kills']} OOM kills of {VMS} "
            f"(kernel {out['kernel_kills']}, exit 4 {out['launcher_exit_4']}), parent peak "
            f"{out['parent_peak_bytes'] / MIB:.0f} of {size['parent_limit_bytes'] / MIB:.0f} MiB, targets "
            + ", ".join("-" if v["min_target_bytes"] is None else f"{v['min_target_bytes'] / MIB:.0f}" for v in vms)
            + " MiB lowest")
        return out
    finally:
        if sampler:
            sampler.stop()
        for r in runs:
            r.close()
        kmsg.close()
        _remove(parent)


def _remove(parent: Path) -> None:
    """The parent and the namespace level the launchers made in it (the
    launchers remove their own VM cgroups; a parent with a live child refuses)."""
    for _ in range(50):
        for level in [p for p in parent.iterdir() if p.is_dir()] if parent.exists() else []:
            try:
                level.rmdir()
            except OSError:
                pass
        try:
            parent.rmdir()
            return
        except FileNotFoundError:
            return
        except OSError:
            time.sleep(0.1)


def run(tools: Tools, rounds: int, log, lock: Path | None, modes: dict[str, Mode]) -> dict:
    size = sizes(tools)
    contenders = [modes[k] for k in ("off", "auto", "poll") if not modes[k].skipped]
    results: dict[str, list[dict]] = {m.name: [] for m in contenders}
    for i in range(rounds):
        order = contenders[i % len(contenders):] + contenders[:i % len(contenders)]
        for mode in order:
            with balloon.round_lock(lock):
                results[mode.name].append(one_round(tools, mode, size, i, log))
    modes_out = {}
    for name, rs in results.items():
        vms = [v for r in rs for v in r["vms"]]
        mins = [v["min_target_bytes"] for v in vms if v["min_target_bytes"] is not None]
        maxs = [v["max_target_bytes"] for v in vms if v["max_target_bytes"] is not None]
        modes_out[name] = {
            "rounds": len(rs),
            "vm_runs": len(vms),
            "oom_kills": sum(r["oom_kills"] for r in rs),
            "kernel_kills": sum(r["kernel_kills"] for r in rs),
            "launcher_exit_4": sum(r["launcher_exit_4"] for r in rs),
            "cache_done": sum(1 for v in vms if v["cache_done"]),
            "balloon_commands": sum(len(v["balloon_targets"]) for v in vms),
            "returned_bytes": sum(v["stopped"].get("balloon_returned_bytes") or 0 for v in vms),
            "min_target_bytes": min(mins) if mins else None,
            "max_target_bytes": max(maxs) if maxs else None,
            "parent_peak_bytes": max(r["parent_peak_bytes"] for r in rs),
            "parent_failcnt": sum(r["parent_failcnt"] or 0 for r in rs),
            "rounds_detail": rs,
        }
    return {"vms": VMS, "ratio": RATIO, **size, "modes": modes_out}
