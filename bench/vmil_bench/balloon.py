"""Ballooning an overcommitted VM under memory pressure (issue 14), one VM.

The scenario: a 512 MiB guest on a 256 MiB memory request, so its cgroup
limit (request + overhead, from `vmi-launcher plan`) is far below what the
guest may touch, with a 512 MiB emptyDisk whose first 450 MiB the guest
reads through its page cache (`vmil.cache=450`, then it powers off). Page
cache is memory the guest would drop at once, but to the host it is QEMU's
anonymous memory: without help the kernel OOM-kills the whole VM.

Four contenders, in an order that rotates each round, one VM at a time:

- `off`: `--balloon off`, today's behaviour and KubeVirt's (it only enables
  free page reporting, which returns pages the guest has freed, never its
  cache);
- `auto`: `--balloon auto`, the launcher reacting to the pressure events;
- `poll`: the same policy on a 10 s timer and nothing else
  (`--balloon-poll-interval 10s`: no event source armed), as Proxmox VE's
  and oVirt MoM's balloon daemons work;
- `baseline`: the same guest without overcommit (request 512 MiB), the
  throughput a guest gets when nobody takes memory from it.

What is measured, each figure in this run:

- OOM kills: the launcher's exit status 4 (or its `oom_killed` event);
- pressure onset: the benchmark arms its own cgroup v1 usage threshold
  (an eventfd on `memory.usage_in_bytes` through `cgroup.event_control`)
  at the policy's high mark, L - headroom with headroom = L/10 within
  32 MiB..L/4 (README, "The policy, in words"), and stamps the moment the
  kernel signals it. Onset -> command is the launcher's first inflating
  `balloon_target` log record (its `time`, wall clock, ms) less that
  stamp: it is what a poller's delay shows up as;
- signal -> command: the `signal_to_command_ms` the launcher reports in each
  `balloon_target` (its own measure from the signal it acted on);
- the guest's read throughput: `VMIL: cache progress` (first seen) to
  `VMIL: cache done` on the serial console, MiB/s.

The launcher's log is read defensively: a launcher without the runtime (or
without a poll mode) gives no `balloon_target` records, and the figures say
"none" instead of failing.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import select
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
import subprocess

from . import guest
from .common import MIB, Tools, percentile, summary
from .launcher_run import LauncherRun

GUEST_MIB = 512
FLOOR_MIB = 256
DISK_MIB = 512
CACHE_MIB = 450
POLL_INTERVAL = "10s"
RUN_TIMEOUT = 240
PROGRESS = "VMIL: cache progress"
DONE = "VMIL: cache done"
FAILED = "VMIL: cache failed"
MEMORY_ROOT = Path("/sys/fs/cgroup/memory")


# The VMI -------------------------------------------------------------------


def vmi_yaml(name: str, guest_mib: int, request_mib: int | None, limit_mib: int | None = None,
             cache_mib: int = CACHE_MIB, wait: bool = False, namespace: str = "bench") -> str:
    """The bench guest with a scratch emptyDisk it caches; request None gives
    only memory.guest (KubeVirt's memoryOvercommit then sets the request)."""
    args = f"console=ttyS0 quiet panic=-1 vmil.cache={cache_mib}" + (" vmil.wait" if wait else "")
    resources = ""
    if request_mib is not None or limit_mib is not None:
        resources = "    resources:\n"
        if request_mib is not None:
            resources += f"      requests:\n        memory: {request_mib}Mi\n"
        if limit_mib is not None:
            resources += f"      limits:\n        memory: {limit_mib}Mi\n"
    return guest.vmi_yaml(
        name, f"{guest_mib}Mi", f"{request_mib}Mi", args=args, namespace=namespace, resources=resources,
        disks="      - name: scratch\n        disk:\n          bus: virtio\n",
        volumes=f"  - name: scratch\n    emptyDisk:\n      capacity: {DISK_MIB}Mi\n")


# What the launcher offers ----------------------------------------------------


@dataclass
class Mode:
    name: str
    args: list[str]
    label: str
    skipped: str | None = None


def launcher_modes(tools: Tools) -> dict[str, Mode]:
    """off, auto and the 10 s poller, as this launcher's `run --help` offers them."""
    done = subprocess.run([str(tools.launcher), "run", "--help"], capture_output=True, text=True)
    text = done.stdout + done.stderr
    m = re.search(r"--balloon\s+TEXT:\{([^}]*)\}", text)
    choices = [c.strip() for c in m.group(1).split(",")] if m else []
    has_interval = "--balloon-poll-interval" in text
    modes = {
        "off": Mode("off", ["--balloon", "off"], "--balloon off"),
        "auto": Mode("auto", ["--balloon", "auto"], "--balloon auto"),
    }
    if not choices:
        modes["off"].skipped = modes["auto"].skipped = "the launcher has no --balloon option"
    if has_interval:
        # The same policy on a timer, with no event source armed.
        args = ["--balloon", "auto", "--balloon-poll-interval", POLL_INTERVAL]
        modes["poll"] = Mode("poll", args, " ".join(args))
    elif "poll" in choices:
        modes["poll"] = Mode("poll", ["--balloon", "poll"], "--balloon poll")
    else:
        modes["poll"] = Mode("poll", [], "10 s poller", "the launcher has no --balloon-poll-interval")
    return modes


# The shared lock ---------------------------------------------------------------


@contextlib.contextmanager
def round_lock(path: Path | None):
    """Holds `path`'s flock around one round, when asked (--lock): on a
    machine shared with other QEMU tests, one round at a time."""
    if path is None:
        yield
        return
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


# Pressure onset, as the kernel signals it ----------------------------------------


def marks(limit: int) -> tuple[int, int]:
    """(low, high) of the documented policy for a cgroup limit."""
    headroom = min(max(limit // 10, 32 * MIB), limit // 4)
    return limit - 2 * headroom, limit - headroom


class UsageThreshold:
    """A cgroup v1 usage threshold of the benchmark's own: the wall-clock time
    the kernel first signalled usage crossing `threshold`."""

    def __init__(self, cgroup: Path, threshold: int):
        self.cgroup = cgroup
        self.threshold = threshold
        self.crossed_at: float | None = None
        self.error: str | None = None
        self._stop = threading.Event()
        self._efd = -1
        self._ufd = -1
        try:
            self._efd = os.eventfd(0, os.EFD_CLOEXEC | os.EFD_NONBLOCK)
            self._ufd = os.open(cgroup / "memory.usage_in_bytes", os.O_RDONLY | os.O_CLOEXEC)
            ctl = os.open(cgroup / "cgroup.event_control", os.O_WRONLY | os.O_CLOEXEC)
            try:
                os.write(ctl, f"{self._efd} {self._ufd} {threshold}".encode())
            finally:
                os.close(ctl)
        except OSError as e:
            self.error = f"{cgroup}: {e.strerror}"
            self._close()
            return
        self._thread = threading.Thread(target=self._wait, daemon=True)
        self._thread.start()

    def _wait(self) -> None:
        while not self._stop.is_set():
            ready, _, _ = select.select([self._efd], [], [], 0.1)
            if not ready:
                continue
            now = time.time()
            try:
                os.read(self._efd, 8)
            except BlockingIOError:
                continue
            # The first crossing is upwards (usage starts at zero); the
            # cgroup's removal also signals, and then the directory is gone.
            if self.crossed_at is None and self.cgroup.exists():
                self.crossed_at = now
            return

    def _close(self) -> None:
        for fd in (self._efd, self._ufd):
            if fd >= 0:
                os.close(fd)
        self._efd = self._ufd = -1

    def stop(self) -> None:
        if self._efd < 0:
            return
        self._stop.set()
        self._thread.join(timeout=2)
        self._close()


# The launcher's log, read defensively ----------------------------------------------


def event_time(event: dict) -> float | None:
    """An event's `time` (ISO 8601, ms) as wall-clock seconds."""
    try:
        return datetime.strptime(event["time"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc).timestamp()
    except (KeyError, TypeError, ValueError):
        return None


def _int(v) -> int | None:
    try:
        return int(v)
    except (TypeError, ValueError):
        return None


def _float(v) -> float | None:
    try:
        return float(v)
    except (TypeError, ValueError):
        return None


def balloon_events(events: list[dict]) -> list[dict]:
    """The `balloon_target` records, reduced to their known fields."""
    out = []
    for e in events:
        if e.get("event") != "balloon_target":
            continue
        old, new = _int(e.get("old_target_bytes")), _int(e.get("new_target_bytes"))
        out.append({
            "time": event_time(e),
            "reason": str(e.get("reason", "")),
            "signal": str(e.get("signal", "")),
            "usage_bytes": _int(e.get("usage_bytes")),
            "limit_bytes": _int(e.get("limit_bytes")),
            "guest_available_bytes": _int(e.get("guest_available_bytes")),
            "old_target_bytes": old,
            "new_target_bytes": new,
            "inflate": old is not None and new is not None and new < old,
            "signal_to_command_ms": _float(e.get("signal_to_command_ms")),
        })
    return out


def stopped_counters(events: list[dict]) -> dict:
    e = next((x for x in events if x.get("event") == "vm_stopped"), None) or {}
    return {k: e.get(k) for k in ("outcome", "peak_bytes", "limit_bytes", "oom_kills", "balloon_inflations",
                                  "balloon_deflations", "balloon_returned_bytes")}


def watch_of(events: list[dict]) -> dict | None:
    """What the launcher armed (its `balloon_watch` record), and what it could not."""
    w = next((e for e in events if e.get("event") == "balloon_watch"), None)
    fallbacks = [str(e.get("msg", "")) for e in events if e.get("event") == "balloon_watch_fallback"]
    if w is None and not fallbacks:
        return None
    return {"methods": (w or {}).get("methods"), "polling": (w or {}).get("polling"), "fallbacks": fallbacks}


def oom_killed(code: int | None, events: list[dict]) -> bool:
    return code == 4 or any(e.get("event") == "oom_killed" for e in events)


def cache_outcome(console_text: str, seen: dict[str, float]) -> dict:
    """Whether the guest read all it was asked, and how fast (MiB/s from
    its first progress line to `cache done`)."""
    out: dict = {"cache_done": DONE in seen, "cache_failed": FAILED in console_text}
    first = re.search(r"VMIL: cache progress (\d+)", console_text)
    progress = re.findall(r"VMIL: cache progress (\d+)", console_text)
    out["cached_mib"] = CACHE_MIB if DONE in seen else (int(progress[-1]) if progress else 0)
    if DONE in seen and PROGRESS in seen and first:
        seconds = seen[DONE] - seen[PROGRESS]
        out["cache_s"] = seconds
        out["read_mib_per_s"] = (CACHE_MIB - int(first.group(1))) / seconds if seconds > 0 else None
    return out


# One VM ------------------------------------------------------------------------------


@dataclass
class Observed:
    """A launcher run with the benchmark's own threshold on its cgroup."""

    run: LauncherRun
    threshold: UsageThreshold | None = None
    limit: int | None = None
    extra: dict = field(default_factory=dict)

    def arm(self, timeout: float = 30) -> None:
        """Once the cgroup exists: its limit and the threshold at the high mark."""
        cgroup = None
        deadline = time.monotonic() + timeout
        while cgroup is None and time.monotonic() < deadline and self.run.proc.poll() is None:
            cgroup = self.run.cgroup_path()
            time.sleep(0.002)
        if cgroup is None:
            self.extra["threshold_error"] = "no cgroup_ready event"
            return
        try:
            self.limit = int((cgroup / "memory.limit_in_bytes").read_text())
        except (OSError, ValueError) as e:
            self.extra["threshold_error"] = f"{cgroup}: {e}"
            return
        self.threshold = UsageThreshold(cgroup, marks(self.limit)[1])
        if self.threshold.error:
            self.extra["threshold_error"] = self.threshold.error


def one(tools: Tools, name: str, mode: Mode, request_mib: int) -> dict:
    vmi = vmi_yaml(name, GUEST_MIB, request_mib)
    r = LauncherRun(tools, name, vmi, [PROGRESS, DONE], extra_args=mode.args, stamp_qemu=False)
    o = Observed(r)
    try:
        o.arm()
        code = r.wait_exit(RUN_TIMEOUT)
        if code is None:
            r.stop(30)
        if o.threshold:
            o.threshold.stop()
        with r._lock:
            events = list(r.events)
        balloons = balloon_events(events)
        onset = o.threshold.crossed_at if o.threshold else None
        out = {
            "mode": mode.name,
            "request_mib": request_mib,
            "exit_status": code,
            "timed_out": code is None,
            "oom_killed": oom_killed(code, events),
            "limit_bytes": o.limit,
            "high_mark_bytes": marks(o.limit)[1] if o.limit else None,
            "onset_seen": onset is not None,
            "balloon_targets": balloons,
            "stopped": stopped_counters(events),
            "watch": watch_of(events),
            "holds": [str(e.get("reason", e.get("msg", ""))) for e in events if e.get("event") == "balloon_hold"],
            **cache_outcome(r.console.text, r.console.seen),
            **o.extra,
        }
        started = r.started_at() or (events[0]["_received"] if events else None)
        if onset is not None and started:
            out["onset_after_start_s"] = onset - started
        if onset is not None:
            out["onset_time"] = onset
        first = next((b for b in balloons if b["inflate"] and b["time"] is not None
                      and onset is not None and b["time"] >= onset - 0.1), None)
        if first is not None:
            out["onset_to_command_s"] = first["time"] - onset
        # The policy may inflate before usage reaches the high mark (usage
        # plus the guest's free memory above the limit is pressure too):
        # then the first inflation comes before the onset, and is counted so.
        earliest = next((b for b in balloons if b["inflate"] and b["time"] is not None), None)
        if earliest is not None:
            out["first_inflation_time"] = earliest["time"]
            if onset is not None:
                out["first_inflation_minus_onset_s"] = earliest["time"] - onset
            out["inflated_before_onset"] = onset is None or earliest["time"] < onset - 0.1
        if code not in (0, 4):
            out["stderr"] = r.stderr()[-2000:]
        return out
    finally:
        if o.threshold:
            o.threshold.stop()
        r.close()


def run(tools: Tools, rounds: int, log, lock: Path | None, modes: dict[str, Mode] | None = None) -> dict:
    modes = modes or launcher_modes(tools)
    contenders = [("off", modes["off"], FLOOR_MIB), ("auto", modes["auto"], FLOOR_MIB),
                  ("poll", modes["poll"], FLOOR_MIB),
                  ("baseline", Mode("baseline", ["--balloon", "off"], "no overcommit"), GUEST_MIB)]
    contenders = [c for c in contenders if not c[1].skipped]
    samples: dict[str, list[dict]] = {c[0]: [] for c in contenders}
    for i in range(rounds):
        order = contenders[i % len(contenders):] + contenders[:i % len(contenders)]
        for key, mode, request in order:
            with round_lock(lock):
                s = one(tools, f"balloon-{key}-{i}", mode, request)
            samples[key].append(s)
            log(f"balloon: round {i + 1}/{rounds} {key}: exit {s['exit_status']}, "
                f"{'OOM-killed' if s['oom_killed'] else 'not killed'}, cached {s['cached_mib']} MiB"
                + (f" at {s['read_mib_per_s']:.1f} MiB/s" if s.get("read_mib_per_s") else "")
                + f", {len(s['balloon_targets'])} balloon commands"
                + ("" if s["onset_seen"] else ", pressure onset not seen")
                + (f", onset -> command {s['onset_to_command_s'] * 1000:.0f} ms" if "onset_to_command_s" in s else "")
                + (f", first inflation {s['first_inflation_minus_onset_s']:+.2f} s from onset"
                   if "first_inflation_minus_onset_s" in s else ""))
    return {
        "guest_mib": GUEST_MIB,
        "request_mib": FLOOR_MIB,
        "disk_mib": DISK_MIB,
        "cache_mib": CACHE_MIB,
        "rounds": rounds,
        "modes": {k: {"label": m.label, "args": m.args, "skipped": m.skipped} for k, m in modes.items()},
        "contenders": {key: aggregate(samples[key]) for key in samples},
    }


def aggregate(runs: list[dict]) -> dict:
    s2c = [b["signal_to_command_ms"] for r in runs for b in r["balloon_targets"]
           if b["inflate"] and b["signal_to_command_ms"] is not None]
    first_s2c = []
    for r in runs:
        first = next((b for b in r["balloon_targets"] if b["inflate"] and b["signal_to_command_ms"] is not None), None)
        if first:
            first_s2c.append(first["signal_to_command_ms"])
    o2c = [r["onset_to_command_s"] * 1000 for r in runs if r.get("onset_to_command_s") is not None]
    mibs = [r["read_mib_per_s"] for r in runs if r.get("read_mib_per_s")]
    return {
        "runs_n": len(runs),
        "oom_kills": sum(1 for r in runs if r["oom_killed"]),
        "cache_done": sum(1 for r in runs if r["cache_done"]),
        "timed_out": sum(1 for r in runs if r["timed_out"]),
        "onset_seen": sum(1 for r in runs if r["onset_seen"]),
        "signal_to_command_ms": dist(s2c),
        "first_signal_to_command_ms": dist(first_s2c),
        "onset_to_command_ms": dist(o2c),
        "onset_without_command": sum(1 for r in runs if r["onset_seen"] and r.get("onset_to_command_s") is None),
        "inflated_before_onset": sum(1 for r in runs if r.get("inflated_before_onset")),
        "first_inflation_minus_onset_ms": dist([r["first_inflation_minus_onset_s"] * 1000 for r in runs
                                                if r.get("first_inflation_minus_onset_s") is not None]),
        "signals": _count(b["signal"] for r in runs for b in r["balloon_targets"] if b["inflate"]),
        "holds": _count(h for r in runs for h in r.get("holds", [])),
        "inflations_per_run": dist([sum(1 for b in r["balloon_targets"] if b["inflate"]) for r in runs]),
        "returned_bytes": dist([r["stopped"]["balloon_returned_bytes"] for r in runs
                                if r["stopped"].get("balloon_returned_bytes") is not None]),
        "lowest_target_bytes": min((b["new_target_bytes"] for r in runs for b in r["balloon_targets"]
                                    if b["new_target_bytes"] is not None), default=None),
        "read_mib_per_s": dist(mibs),
        "balloon_commands": sum(len(r["balloon_targets"]) for r in runs),
        "runs": runs,
    }


def _count(items) -> dict[str, int]:
    out: dict[str, int] = {}
    for item in items:
        out[item] = out.get(item, 0) + 1
    return out


def dist(values: list[float]) -> dict:
    s = summary(values)
    s["p90"] = percentile(values, 90)
    return s
