"""Overhead calibration: what QEMU really holds beside the guest's RAM.

For each guest size and vCPU count the guest boots twice under TCG: idle
(it reports and waits) and touching about 95% of its RAM (`vmil.fill`
writes into a tmpfs until the guest has used 95% of `-m`, sized from the
idle run's MemFree). At the end the guest prints its /proc/meminfo
(bench/guest/vmil-meminfo); the benchmark then reads QEMU's mappings, stops
the VM through the power button and takes the cgroup's peak from the
launcher's `vm_stopped` event (v1 `memory.max_usage_in_bytes`).

Definitions (bytes):
- guest RAM touched: QEMU's resident pages in the guest RAM mapping (the
  anonymous mapping of -m's size, read from /proc/PID/smaps at the end).
  It is the host's view, so it includes transparent huge page rounding and
  pages the guest touched and freed; it never exceeds -m.
- measured overhead = peak cgroup usage - guest RAM touched: everything
  the VM's cgroup held that is not guest RAM (QEMU's heap, TCG's code cache
  and state, page tables, file pages charged to it).
- estimate = the overhead `vmi-launcher plan` gives for the same VMI with
  requests.memory = guest (the launcher model under TCG; the kubevirt model
  for comparison).
- waste ratio = estimate / measured overhead; also without TCG's code
  cache on both sides (tb-size in the estimate, the resident code cache in
  the measurement), the part of the model that applies under KVM too.

The measuring runs ask for 512 MiB more than the guest (an undercommitted
request), so the cgroup limit never clips what is being measured. Before
each run the page cache of QEMU's binary and libraries is dropped
(posix_fadvise DONTNEED; pages another process maps stay), and the guest's
kernel and initrd are fresh copies that no other process can have read, so
file pages are charged to the VM's cgroup as on a cold node.
"""

from __future__ import annotations

import math
import os
import shutil
import subprocess
import time
from pathlib import Path

from . import guest
from .common import GIB, MIB, Tools
from .launcher_run import LauncherRun, cgroup_v1_memory, qemu_mappings
from .plans import plan

HEADROOM_MIB = 512
TOUCH_FRACTION = 0.95
WAITING = "VMIL: waiting"


def evict_page_cache(paths: list[Path]) -> int:
    """Drops clean, unmapped page cache of these files; returns how many."""
    done = 0
    for p in paths:
        try:
            fd = os.open(p, os.O_RDONLY)
        except OSError:
            continue
        try:
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
            done += 1
        finally:
            os.close(fd)
    return done


def qemu_files(tools: Tools) -> list[Path]:
    """QEMU's binary and the shared libraries it loads."""
    files = [tools.qemu]
    try:
        listing = subprocess.run(["ldd", str(tools.qemu)], capture_output=True, text=True).stdout
        for line in listing.splitlines():
            parts = line.split("=>")
            target = (parts[1] if len(parts) == 2 else parts[0]).split("(")[0].strip()
            if target.startswith("/"):
                files.append(Path(target))
    except OSError:
        pass
    return files


def fill_for(guest_mib: int, idle_meminfo: dict) -> int:
    """MiB to write so that the guest has used TOUCH_FRACTION of -m: what the
    idle guest had used plus the fill, rounded down to the guest's 8 MiB steps."""
    free = idle_meminfo.get("MemFree")
    if free is None:
        total = idle_meminfo.get("MemTotal", guest_mib * MIB * 0.8)
        return int(total * 0.8 / MIB) // 8 * 8
    used_idle_mib = guest_mib - free / MIB
    return max(8, int(guest_mib * TOUCH_FRACTION - used_idle_mib) // 8 * 8)


def fresh_image(tools: Tools, name: str) -> Path:
    """A copy of the guest's kernel and initrd, written without keeping its
    pages: the run reads them from disk, cold, into its own cgroup."""
    image = tools.work / f"{name}-image"
    shutil.rmtree(image, ignore_errors=True)
    (image / "boot").mkdir(parents=True)
    for source in (tools.kernel, tools.initrd):
        target = image / "boot" / source.name
        shutil.copyfile(source, target)
        fd = os.open(target, os.O_RDONLY)
        try:
            os.fsync(fd)
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)
    return image


def measure(tools: Tools, name: str, guest_mib: int, vcpus: int, fill_mib: int, files: list[Path], log) -> dict:
    image = fresh_image(tools, name)
    evicted = evict_page_cache(files)
    vmi = guest.vmi_yaml(name, f"{guest_mib}Mi", f"{guest_mib + HEADROOM_MIB}Mi", vcpus,
                         guest.kernel_args(fill_mib=fill_mib, wait=True, meminfo=True))
    estimate_vmi = guest.vmi_yaml(name, f"{guest_mib}Mi", f"{guest_mib}Mi", vcpus, "console=ttyS0")
    launcher_plan = plan(tools, estimate_vmi, "launcher", "tcg")
    kubevirt_plan = plan(tools, estimate_vmi, "kubevirt", "tcg")
    timeout = 180 + guest_mib / 8  # TCG fills a few tens of MiB per second on a busy machine
    r = LauncherRun(tools, name, vmi, ["VMIL: boot ok", WAITING], stamp_qemu=False, image=image)
    try:
        waited = r.console.wait(WAITING, timeout)
        started = r.started_at() or time.time()
        out: dict = {
            "guest_mib": guest_mib,
            "vcpus": vcpus,
            "mode": "fill" if fill_mib else "idle",
            "fill_asked_mib": fill_mib,
            "files_evicted": evicted,
        }
        if waited is None:
            out["error"] = f"the guest did not reach '{WAITING}' within {timeout:.0f} s"
            r.stop(30)
            out["exit_status"] = r.wait_exit(5)
            out["stderr"] = r.stderr()[-2000:]
            return out
        boot_ok = r.console.seen.get("VMIL: boot ok")
        out["boot_s"] = boot_ok - started if boot_ok else None
        out["ready_s"] = waited - started
        pid = r.qemu_pid()
        cgroup = r.cgroup_path()
        guest_bytes = guest_mib * MIB
        tb_bytes = launcher_plan.get("tcg_tb_size_bytes")
        out["qemu"] = qemu_mappings(pid, guest_bytes, tb_bytes) if pid else {}
        out["cgroup_at_end"] = cgroup_v1_memory(cgroup) if cgroup else {}
        code = r.stop(120)
        stopped = r.event("vm_stopped")
        text = r.console.text
        out["exit_status"] = code
        out["guest_meminfo"] = {k: v for k, v in guest.meminfo(text).items()
                                if k in ("MemTotal", "MemFree", "MemAvailable", "Shmem", "Cached", "Slab",
                                         "PageTables", "KernelStack", "AnonPages")}
        out["fill_done_mib"], out["fill_complete"] = guest.fill_outcome(text) if fill_mib else (0, True)
        out["peak_bytes"] = stopped.get("peak_bytes") if stopped else None
        out["cgroup_limit_bytes"] = stopped.get("limit_bytes") if stopped else None
        out["guest_ram_touched_bytes"] = out["qemu"].get("guest_ram")
        free = out["guest_meminfo"].get("MemFree")
        out["guest_used_bytes"] = guest_bytes - free if free is not None else None
        out["launcher_estimate_bytes"] = launcher_plan["overhead_bytes"]
        out["launcher_estimate_terms"] = launcher_plan["overhead_terms"]
        out["kubevirt_estimate_bytes"] = kubevirt_plan["overhead_bytes"]
        if out["peak_bytes"] and out["guest_ram_touched_bytes"] is not None:
            measured = out["peak_bytes"] - out["guest_ram_touched_bytes"]
            out["measured_overhead_bytes"] = measured
            out["launcher_waste_ratio"] = out["launcher_estimate_bytes"] / measured
            out["kubevirt_waste_ratio"] = out["kubevirt_estimate_bytes"] / measured
            out["launcher_covers"] = measured <= out["launcher_estimate_bytes"]
            # The same without TCG's code cache on both sides: the part of the
            # model that also applies under KVM.
            tb = out["launcher_estimate_terms"].get("tcg_translation_cache", 0)
            tcg = out["qemu"].get("tcg_cache", 0)
            if measured > tcg:
                out["launcher_waste_ratio_without_code_cache"] = (out["launcher_estimate_bytes"] - tb) / (measured - tcg)
        return out
    finally:
        r.close()
        shutil.rmtree(image, ignore_errors=True)


def run(tools: Tools, sizes: list[int], vcpu_counts: list[int], repeats: int, log) -> dict:
    files = qemu_files(tools)
    runs = []
    started = time.time()
    for rep in range(repeats):
        for size in sizes:
            for vcpus in vcpu_counts:
                for mode in ("idle", "fill"):
                    if mode == "idle":
                        fill = 0
                    else:
                        idle = next((r for r in reversed(runs) if r["guest_mib"] == size and r["vcpus"] == vcpus
                                     and r["mode"] == "idle" and r.get("guest_meminfo")), None)
                        fill = fill_for(size, idle["guest_meminfo"] if idle else {})
                    t0 = time.time()
                    r = measure(tools, f"cal-{size}m-{vcpus}c-{mode}", size, vcpus, fill, files, log)
                    r["repeat"] = rep
                    r["wall_s"] = time.time() - t0
                    runs.append(r)
                    log(describe(r))
    return {
        "accel": "tcg",
        "sizes_mib": sizes,
        "vcpus": vcpu_counts,
        "repeats": repeats,
        "headroom_mib": HEADROOM_MIB,
        "touch_fraction": TOUCH_FRACTION,
        "wall_s": time.time() - started,
        "runs": runs,
        "fit": fit(runs),
    }


def describe(r: dict) -> str:
    if "error" in r:
        return f"calibration: {r['guest_mib']} MiB {r['vcpus']} vCPU {r['mode']}: {r['error']}"
    m = r.get("measured_overhead_bytes")
    return (f"calibration: {r['guest_mib']} MiB {r['vcpus']} vCPU {r['mode']}"
            f" (fill {r['fill_done_mib']}/{r['fill_asked_mib']} MiB): peak {r['peak_bytes'] / MIB:.1f} MiB,"
            f" guest RAM touched {r['guest_ram_touched_bytes'] / MIB:.1f} MiB,"
            f" overhead {m / MIB:.1f} MiB vs launcher {r['launcher_estimate_bytes'] / MIB:.1f} MiB"
            f" ({r['wall_s']:.0f} s)" if m is not None else f"calibration: {r['guest_mib']} MiB: no peak")


def fit(runs: list[dict]) -> dict:
    """The smallest launcher-model constants that cover every run, term by term.

    The model under TCG is qemu_base + tcg_state + qemu_file_pages
    + pagetables(guest) + per_vcpu x vCPUs + tb-size(guest) (+ disks, none
    here). Each measured overhead splits the same way:
    - file pages charged to the VM's cgroup (memory.stat `cache` at the end;
      a cold page cache): qemu_file_pages must cover the largest;
    - the TCG code cache resident in QEMU (smaps): tb-size must cover it;
    - the rest, less the page-table rule, must fit under
      fixed + per_vcpu x n, with fixed = qemu_base + tcg_state: per_vcpu is
      the steepest rise of the worst run per vCPU count, fixed what is then
      left. (KVM does not run here, so qemu_base and tcg_state are measured
      together.)"""
    good = [r for r in runs if r.get("measured_overhead_bytes") is not None]
    if not good:
        return {}
    worst: dict[int, int] = {}
    file_max = 0
    tcg_fraction = 0.0
    for r in good:
        terms = r["launcher_estimate_terms"]
        charged = r["cgroup_at_end"].get("stat", {}).get("cache", 0)
        tcg = r["qemu"].get("tcg_cache", 0)
        file_max = max(file_max, charged)
        if terms.get("tcg_translation_cache"):
            tcg_fraction = max(tcg_fraction, tcg / terms["tcg_translation_cache"])
        rest = r["measured_overhead_bytes"] - terms.get("pagetables", 0) - tcg - charged
        worst[r["vcpus"]] = max(worst.get(r["vcpus"], -GIB), rest)
    counts = sorted(worst)
    per_vcpu = 0.0
    for n in counts[1:]:
        per_vcpu = max(per_vcpu, (worst[n] - worst[counts[0]]) / (n - counts[0]))
    per_vcpu_mib = math.ceil(per_vcpu / MIB)
    fixed = max(worst[n] - per_vcpu_mib * MIB * n for n in counts)
    return {
        "qemu_file_pages_mib": math.ceil(file_max / MIB),
        "fixed_mib": math.ceil(fixed / MIB),
        "per_vcpu_mib": per_vcpu_mib,
        "worst_rest_by_vcpus_bytes": {str(n): worst[n] for n in counts},
        "tcg_cache_resident_over_tb_size_max": tcg_fraction,
    }
