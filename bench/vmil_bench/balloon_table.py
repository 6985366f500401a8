"""The balloon section's three tables: one VM, the node, density."""

from __future__ import annotations

from .common import MIB, fmt_mib, fmt_ratio
from .table import Table, goal

PEERS = ("off", "auto", "poll", "baseline")
WIDTHS = (40, 20, 20, 20, 20)


def render(t: Table, b: dict) -> None:
    if b.get("single"):
        single(t, b["single"])
    if b.get("node"):
        node(t, b["node"])
    if b.get("density"):
        density(t, b["density"])


def _ms(d: dict) -> str:
    if not d or not d.get("n"):
        return "none"
    return f"{d['median']:.1f} / {d['p90']:.1f} ms"


def _frac(k: int | None, n: int | None) -> str:
    return "-" if not n else f"{k}/{n}"


def single(t: Table, s: dict) -> None:
    c = s["contenders"]
    t.title(f"Balloon, one VM: guest {s['guest_mib']} MiB on a {s['request_mib']} MiB request, the guest caches"
            f" {s['cache_mib']} MiB of a {s['disk_mib']} MiB emptyDisk; {s['rounds']} interleaved rounds")
    peers = [p for p in PEERS if p in c]
    t.row("", *[_peer_label(p) for p in peers], widths=WIDTHS)
    t.row("OOM kills", *[_frac(c[p]["oom_kills"], c[p]["runs_n"]) for p in peers], widths=WIDTHS)
    t.row("guest finished reading", *[_frac(c[p]["cache_done"], c[p]["runs_n"]) for p in peers], widths=WIDTHS)
    t.row("balloon commands (all runs)", *[str(c[p]["balloon_commands"]) for p in peers], widths=WIDTHS)
    ballooned = [p for p in peers if p != "baseline"]  # the baseline has no balloon to command

    def cells(fn):
        return [fn(c[p]) if p in ballooned else "-" for p in peers]

    t.row("pressure onset seen (bench threshold)", *cells(lambda x: _frac(x["onset_seen"], x["runs_n"])),
          widths=WIDTHS)
    t.row("onset -> 1st inflation (med / p90)", *cells(lambda x: _ms(x["onset_to_command_ms"])), widths=WIDTHS)
    t.row("  onsets with no inflation after them", *cells(lambda x: str(x["onset_without_command"])), widths=WIDTHS)
    t.row("inflated before the onset (runs)", *cells(lambda x: _frac(x.get("inflated_before_onset"), x["runs_n"])),
          widths=WIDTHS)
    t.row("  1st inflation - onset (median)", *cells(lambda x: _signed_s(x.get("first_inflation_minus_onset_ms"))),
          widths=WIDTHS)
    t.row("launcher: signal -> command (med / p90)", *cells(lambda x: _ms(x["signal_to_command_ms"])),
          widths=WIDTHS)
    t.row("lowest target / returned (median)", *cells(_lowest_returned), widths=WIDTHS)
    for p in ballooned:
        sig, holds = c[p].get("signals") or {}, c[p].get("holds") or {}
        if sig or holds:
            t.row(f"  {_peer_label(p)}: inflations by signal: " + (", ".join(f"{k or '?'} {v}" for k, v in sig.items())
                                                                  or "none")
                  + ("; holds: " + ", ".join(f"{k} {v}" for k, v in holds.items()) if holds else ""), widths=(0,))
    t.row("read throughput (median MiB/s)", *[_mibs(c[p]["read_mib_per_s"]) for p in peers], widths=WIDTHS)
    base = (c.get("baseline") or {}).get("read_mib_per_s", {}).get("median")
    auto = (c.get("auto") or {}).get("read_mib_per_s", {}).get("median")
    t.row(f"  auto / baseline: {fmt_ratio(auto / base if auto and base else None)}", widths=(0,))
    for p, m in s["modes"].items():
        if m.get("skipped"):
            t.row(f"{p}: skipped ({m['skipped']})", widths=(0,))
    a, o = c.get("auto"), c.get("off")
    if a and o:
        t.row(goal(a["oom_kills"] == 0 and o["oom_kills"] == o["runs_n"] if a["runs_n"] else None,
                   "goal: 0 kills with auto where off is killed every time"), widths=(0,))
        med = a["signal_to_command_ms"].get("median")
        t.row(goal(med < 50 if med is not None else None, "goal: signal -> balloon command median under 50 ms"),
              widths=(0,))


def _signed_s(d: dict | None) -> str:
    return "-" if not d or not d.get("n") else f"{d['median'] / 1000:+.2f} s"


def _lowest_returned(x: dict) -> str:
    low, ret = x.get("lowest_target_bytes"), (x.get("returned_bytes") or {}).get("median")
    if low is None and ret is None:
        return "none"
    return f"{fmt_mib(low, 0)} / {fmt_mib(ret, 0)}"


def _peer_label(p: str) -> str:
    return {"off": "--balloon off", "auto": "--balloon auto", "poll": "10 s poller",
            "baseline": "no overcommit"}.get(p, p)


def _mibs(d: dict) -> str:
    return "-" if not d or not d.get("n") else f"{d['median']:.1f} (n {d['n']})"


def node(t: Table, n: dict) -> None:
    t.title(f"Balloon, node: {n['vms']} VMs (floor {fmt_mib(n['floor_bytes'], 0)}, ceiling"
            f" {fmt_mib(n['ceiling_bytes'], 0)}, own limit {fmt_mib(n['vm_cgroup_limit_bytes'], 0)}) in a parent of"
            f" {fmt_mib(n['parent_limit_bytes'], 0)}: limits {n['sum_of_limits_over_parent']:.2f}x the parent,"
            f" pod requests {fmt_mib(n['sum_of_pod_requests_bytes'], 0)}; caching in turns")
    modes = n["modes"]
    peers = [p for p in ("off", "auto", "poll") if p in modes]
    t.row("", *[_peer_label(p) for p in peers], widths=WIDTHS)
    t.row("OOM kills (VM runs)", *[_frac(modes[p]["oom_kills"], modes[p]["vm_runs"]) for p in peers], widths=WIDTHS)
    t.row("  kernel kills / launcher exit 4", *[f"{modes[p]['kernel_kills']} / {modes[p]['launcher_exit_4']}"
                                                for p in peers], widths=WIDTHS)
    t.row("guests finished reading", *[_frac(modes[p]["cache_done"], modes[p]["vm_runs"]) for p in peers],
          widths=WIDTHS)
    t.row("parent peak usage", *[fmt_mib(modes[p]["parent_peak_bytes"], 0) for p in peers], widths=WIDTHS)
    t.row("parent failcnt (charges refused)", *[str(modes[p]["parent_failcnt"]) for p in peers], widths=WIDTHS)
    t.row("balloon commands", *[str(modes[p]["balloon_commands"]) for p in peers], widths=WIDTHS)
    t.row("memory returned (vm_stopped, all VMs)", *[fmt_mib(modes[p]["returned_bytes"], 0) for p in peers],
          widths=WIDTHS)
    t.row("lowest / highest target", *[_targets(modes[p]) for p in peers], widths=WIDTHS)
    t.row("lowest target / floor", *[_over_floor(modes[p], n["floor_bytes"]) for p in peers], widths=WIDTHS)
    a = modes.get("auto")
    if a:
        t.row(goal(a["oom_kills"] == 0 if a["vm_runs"] else None, "goal: 0 kills in the parent with auto"),
              widths=(0,))


def _targets(m: dict) -> str:
    if m["min_target_bytes"] is None:
        return "none"
    return f"{m['min_target_bytes'] / MIB:.0f} / {m['max_target_bytes'] / MIB:.0f} MiB"


def _over_floor(m: dict, floor: int) -> str:
    return "-" if m["min_target_bytes"] is None else f"{m['min_target_bytes'] / floor:.2f}x"


def density(t: Table, d: dict) -> None:
    t.title(f"Balloon density: {d['guest_mib']} MiB guests (floor {d['floor_mib']} MiB) per {d['allocatable_gib']}"
            " GiB allocatable (KVM overhead); risk = share of VM runs OOM-killed in this run's scenario (95% upper)")
    t.row("placement rule", "VMIs", "pod request", "vs no overcommit", "risk", widths=(36, 8, 16, 18, 0))
    for row in d["rows"]:
        r = row["risk"]
        risk_text = ("not measured" if r["rate"] is None
                     else f"{r['kills']}/{r['runs']} = {r['rate']:.0%} (<= {r['upper_95']:.0%}), {r['source']}")
        t.row(row["label"], str(row["kvm"]["vmis"]), fmt_mib(row["kvm"]["pod_request_bytes"], 0),
              fmt_ratio(row["over_no_overcommit"]), risk_text, widths=(36, 8, 16, 18, 0))
