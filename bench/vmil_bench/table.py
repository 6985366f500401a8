"""The one table the benchmark prints: figures, peers, ratios and goals."""

from __future__ import annotations

import time

from .common import MIB, fmt_mib, fmt_ms, fmt_ratio

KUBEVIRT_MANAGEMENT_MIB = 190  # virt-launcher-monitor 25 + virt-launcher 100 + virtlogd 25 + virtqemud 40


def goal(met: bool | None, text: str) -> str:
    if met is None:
        return f"{text} (not measured)"
    return f"{text}: {'met' if met else 'NOT MET'}"


class Table:
    def __init__(self):
        self.lines: list[str] = []

    def title(self, text: str) -> None:
        self.lines += ["", text]

    def row(self, *cells: str, widths=(46, 22, 30, 9)) -> None:
        out = ""
        for cell, width in zip(cells, widths + (0,) * len(cells)):
            out += cell.ljust(width) if width else cell
        self.lines.append("  " + out.rstrip())

    def text(self) -> str:
        return "\n".join(self.lines) + "\n"


def render(results: dict) -> str:
    t = Table()
    env = results["environment"]
    load = env["load_before"]
    t.lines.append(
        f"vmi-launcher benchmark, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime(results['started']))}"
        f" ({results['mode']} run, {results['wall_s'] / 60:.1f} min), accelerator TCG"
    )
    t.lines.append(
        f"machine: {env['cpus']} CPUs, {env['memory_gib']:.0f} GiB; load average {_load(load)} before,"
        f" {_load(env['load_after'])} after; QEMU processes of others: {load['other_qemu_processes']} before,"
        f" {env['load_after']['other_qemu_processes']} after"
    )
    t.lines.append(f"KVM: {env['kvm']}")
    lat = results.get("latency")
    if lat:
        footprint(t, lat)
        latency(t, lat)
    if results.get("oom"):
        oom(t, results["oom"])
    if results.get("calibration"):
        calibration(t, results["calibration"], results.get("model_constants"))
    if results.get("density"):
        density(t, results["density"])
    if results.get("balloon"):
        from .balloon_table import render as balloon  # it imports Table from here
        balloon(t, results["balloon"])
    return t.text()


def _load(snap: dict) -> str:
    return "/".join(f"{x:.1f}" for x in snap["loadavg"])


def footprint(t: Table, lat: dict) -> None:
    l = lat["launcher"]
    hwm = l["peak_rss_kib"]
    t.title(f"Footprint: peak RSS during a VM's life (VmHWM; launcher: median of {hwm['n']} runs)")
    t.row("", "vmi-launcher", "peer", "ratio")
    med = hwm["median"] * 1024 if hwm["median"] else None
    t.row("launcher", f"{fmt_mib(med)} (max {fmt_mib((hwm['max'] or 0) * 1024)})")
    anon = l["anon_rss_kib"]["median"]
    t.row("  of it private (RssAnon)", fmt_mib(anon * 1024 if anon else None))
    pss = l.get("pss_kib", {}).get("median")
    if pss:
        t.row("  proportional share (PSS)", fmt_mib(pss * 1024))
    parts = sorted((l.get("rss_by_mapping_kib") or {}).items(), key=lambda kv: -kv[1])
    if parts:
        t.row("  largest parts: " + ", ".join(f"{name} {kib / 1024:.1f}" for name, kib in parts[:6]) + " (MiB)",
              widths=(0,))
    peers = lat.get("libvirt_peak_rss_kib")
    if peers:
        total = sum(v for v in peers.values() if v) * 1024
        t.row("libvirtd + virtlogd, virsh create", "",
              f"{fmt_mib(total)} ({fmt_mib((peers.get('libvirtd') or 0) * 1024)}"
              f" + {fmt_mib((peers.get('virtlogd') or 0) * 1024)})",
              fmt_ratio(med / total if med and total else None))
    else:
        t.row("libvirtd + virtlogd", "", f"skipped: {lat.get('libvirt_skipped', 'not run')}")
    kv = KUBEVIRT_MANAGEMENT_MIB * MIB
    t.row("KubeVirt's budget for its processes", "", f"{KUBEVIRT_MANAGEMENT_MIB} MiB (constant)",
          fmt_ratio(med / kv if med else None))
    t.row(goal(med <= 4 * MIB if med else None, "goal: at most 4 MiB"))


def latency(t: Table, lat: dict) -> None:
    l, d, v = lat["launcher"], lat["direct_qemu"], lat.get("virsh")
    t.title(f"Launch latency: {lat['rounds']} rounds of the launcher, QEMU alone (its argv, in a cgroup with its"
            f" limit) and virsh create; 256 MiB, 1 vCPU, no seed; medians")
    t.row("", "vmi-launcher", "peer", "ratio")
    ex = l["exec_s"]
    t.row("launcher start -> QEMU exec", f"{fmt_ms(ex['median'], 2)} (p95 {fmt_ms(ex['p95'], 1)})")
    t.row("  of it waiting for a CPU (schedstat)", fmt_ms(l["runqueue_wait_s"]["median"], 2))
    t.row("  less that waiting", fmt_ms(l["exec_less_cpu_wait_s"]["median"], 2))
    mig = lat.get("cgroup_v1_migration_s", {})
    procs = lat.get("cgroup_v1_migration_procs_s", {})
    if mig.get("n"):
        t.row("    kernel: a child joins a v1 cgroup (tasks)", fmt_ms(mig['median'], 2),
              f"by cgroup.procs {fmt_ms(procs['median'], 2)}" if procs.get("n") else "")
    none = lat.get("launcher_without_cgroup", {}).get("exec_s", {})
    if none.get("n"):
        t.row("  with --cgroup-mode none", fmt_ms(none["median"], 2))
    seed = lat.get("launcher_with_seed", {}).get("exec_s", {})
    if seed.get("n"):
        t.row("  with a cloud-init seed (xorrisofs)", fmt_ms(seed["median"], 1))
    intervals = lat.get("ratio_intervals_95", {})

    def ratio(name: str) -> str:
        within = intervals.get(name)
        return fmt_ratio(lat["ratios"][name]) + (f" (95%: {within[0]:.2f}-{within[1]:.2f})" if within else "")

    for key, label in (("first_line_s", "start -> guest's first serial line"), ("boot_ok_s", "start -> 'VMIL: boot ok'")):
        ml = l[key]["median"]
        t.row(label, _s(ml), f"QEMU alone {_s(d[key]['median'])}", ratio(f"{key}_launcher_over_direct"))
        if v:
            t.row("", "", f"virsh create {_s(v[key]['median'])}", ratio(f"{key}_launcher_over_virsh"))
    if v:
        t.row("virsh create returns", "", _s(v["create_returned_s"]["median"]))
    t.row(goal(ex["median"] < 0.005 if ex["median"] is not None else None, "goal: start -> exec under 5 ms"))
    r = lat["ratios"]["first_line_s_launcher_over_direct"]
    t.row(goal(r <= 1.05 if r else None, "goal: first line at most 1.05x QEMU alone"))
    if l.get("failed_runs") or d.get("failed_runs"):
        t.row(f"failed runs: launcher {l.get('failed_runs')}, QEMU alone {d.get('failed_runs')}")


def oom(t: Table, o: dict) -> None:
    if "skipped" in o:
        t.title(f"OOM detection: skipped ({o['skipped']})")
        return
    k = o["kill_to_event_s"]
    r = o["kill_to_line_read_s"]
    t.title(f"OOM detection: {k['n']} runs, kernel's kill (kmsg) -> launcher's oom_killed event")
    t.row("kill -> event time (median, p95, max)", f"{fmt_ms(k['median'], 2)}",
          f"p95 {fmt_ms(k['p95'], 2)}, max {fmt_ms(k['max'], 2)}")
    t.row("kill -> log line read by the benchmark", f"{fmt_ms(r['median'], 2)}", f"p95 {fmt_ms(r['p95'], 2)}")
    seen = {}
    for run in o["runs"]:
        seen[run.get("seen_by", "missed")] = seen.get(run.get("seen_by", "missed"), 0) + 1
    t.row("seen by", ", ".join(f"{k2} {n}" for k2, n in sorted(seen.items())))
    t.row(goal(k["median"] < 0.015 if k["median"] is not None else None, "goal: median under 15 ms"))


def calibration(t: Table, c: dict, constants: dict | None) -> None:
    runs = [r for r in c["runs"] if r.get("measured_overhead_bytes") is not None]
    t.title(f"Overhead calibration (TCG, {len(runs)} runs, {c['wall_s'] / 60:.1f} min): measured = peak cgroup usage"
            " - guest RAM touched; waste = estimate / measured")
    t.lines.append("  guest  vCPUs mode  fill MiB   peak MiB  touched MiB  measured MiB  launcher MiB waste"
                   " (no code cache)  kubevirt MiB waste")
    for r in runs:
        t.lines.append(
            f"  {_size(r['guest_mib']):>5}  {r['vcpus']:>5} {r['mode']:<4} {r['fill_done_mib']:>8} "
            f"{r['peak_bytes'] / MIB:>10.1f} {r['guest_ram_touched_bytes'] / MIB:>12.1f} "
            f"{r['measured_overhead_bytes'] / MIB:>13.1f} {r['launcher_estimate_bytes'] / MIB:>13.1f} "
            f"{r['launcher_waste_ratio']:>5.2f} {_ratio(r.get('launcher_waste_ratio_without_code_cache')):>15}"
            f" {r['kubevirt_estimate_bytes'] / MIB:>13.1f} {r['kubevirt_waste_ratio']:>5.2f}"
        )
    failed = [r for r in c["runs"] if r.get("measured_overhead_bytes") is None]
    for r in failed:
        t.lines.append(f"  {_size(r['guest_mib']):>5}  {r['vcpus']:>5} {r['mode']:<4} failed: {r.get('error', '?')}")
    if runs:
        covered = all(r["launcher_covers"] for r in runs)
        lw = [r["launcher_waste_ratio"] for r in runs]
        fills = [r["launcher_waste_ratio"] for r in runs if r["mode"] == "fill"]
        kw = [r["kubevirt_waste_ratio"] for r in runs]
        t.row(f"launcher model covers every run: {'yes' if covered else 'NO'}")
        nc = [r["launcher_waste_ratio_without_code_cache"] for r in runs
              if r.get("launcher_waste_ratio_without_code_cache") is not None]
        t.row(f"waste, launcher model: median {_median(lw):.2f}, max {max(lw):.2f}"
              f" (filled guests: median {_median(fills):.2f}); without the code cache: median {_median(nc):.2f},"
              f" max {max(nc):.2f}; kubevirt model: median {_median(kw):.2f}", widths=(0,))
        t.row(goal(max(lw) <= 1.3, "goal: waste at most 1.3 for every run"), widths=(0,))
    fit = c.get("fit") or {}
    if fit:
        t.row(f"smallest constants covering every run: qemu_base + tcg_state {fit['fixed_mib']} MiB,"
              f" qemu_file_pages {fit['qemu_file_pages_mib']} MiB, per_vcpu {fit['per_vcpu_mib']} MiB;"
              f" code cache resident at most {fit['tcg_cache_resident_over_tb_size_max']:.0%} of tb-size", widths=(0,))
    if constants:
        t.row("in vmi/overhead.cpp now: " + ", ".join(f"{k} {v >> 20} MiB" for k, v in constants.items()),
              widths=(0,))
    t.row("KVM: not measured here (no vmx/svm; see the header)", widths=(0,))


def density(t: Table, d: dict) -> None:
    t.title(f"Density: VMIs per {d['allocatable_gib']} GiB of allocatable memory (pod request = request + overhead)")
    t.row("guest", "launcher (TCG)", "launcher (KVM) / kubevirt", "ratio")
    for row in d["rows"]:
        lt, lk, kv = row["launcher_tcg"], row["launcher_kvm"], row["kubevirt_kvm"]
        t.row(f"{row['guest_gib']} GiB", f"{lt['vmis']} ({fmt_mib(lt['overhead_bytes'], 0)} each)",
              f"{lk['vmis']} ({fmt_mib(lk['overhead_bytes'], 0)}) / {kv['vmis']} ({fmt_mib(kv['overhead_bytes'], 0)})",
              fmt_ratio(row["launcher_kvm_over_kubevirt"]))


def _ratio(r: float | None) -> str:
    return "-" if r is None else f"{r:.2f}"


def _size(mib: int) -> str:
    return f"{mib // 1024}Gi" if mib % 1024 == 0 else f"{mib}Mi"


def _s(s: float | None) -> str:
    return "-" if s is None else f"{s:.2f} s"


def _median(values: list[float]) -> float:
    ordered = sorted(values)
    n = len(ordered)
    return ordered[n // 2] if n % 2 else (ordered[n // 2 - 1] + ordered[n // 2]) / 2
