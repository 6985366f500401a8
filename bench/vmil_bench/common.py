"""Paths, statistics and small readers of /proc shared by every section."""

from __future__ import annotations

import math
import os
import shutil
import statistics
import time
from dataclasses import dataclass
from pathlib import Path

MIB = 1 << 20
GIB = 1 << 30

REPO = Path(__file__).resolve().parents[2]


@dataclass
class Tools:
    """Everything a section runs, resolved once."""

    launcher: Path
    stamp_exec: Path
    qemu: Path
    image: Path  # the bench guest: boot/vmlinuz and boot/initrd.img
    work: Path  # scratch space for VMI files, logs and state directories
    cgroup_parent: str  # under the memory controller's root

    @property
    def kernel(self) -> Path:
        return self.image / "boot" / "vmlinuz"

    @property
    def initrd(self) -> Path:
        return self.image / "boot" / "initrd.img"


def find_qemu() -> Path:
    found = shutil.which("qemu-system-x86_64")
    if not found:
        raise SystemExit("bench: qemu-system-x86_64 not found (scripts/setup.sh installs it)")
    return Path(found).resolve()


# Statistics ---------------------------------------------------------------


def median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def percentile(values: list[float], p: float) -> float | None:
    """Nearest-rank percentile: the smallest value with p% of them at or below it."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


def summary(values: list[float]) -> dict:
    return {
        "n": len(values),
        "median": median(values),
        "p95": percentile(values, 95),
        "min": min(values) if values else None,
        "max": max(values) if values else None,
        "values": values,
    }


# The machine --------------------------------------------------------------


def other_qemu_processes(own: set[int] | None = None) -> int:
    """QEMU processes on the machine that this benchmark did not start."""
    own = own or set()
    count = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) in own:
            continue
        try:
            if (entry / "comm").read_text().startswith("qemu-system"):
                count += 1
        except OSError:
            pass
    return count


def load_snapshot() -> dict:
    """What else the machine is doing: the benchmark's numbers depend on it."""
    load1, load5, load15 = os.getloadavg()
    snap = {
        "time": time.time(),
        "loadavg": [load1, load5, load15],
        "cpus": os.cpu_count(),
        "other_qemu_processes": other_qemu_processes(),
    }
    try:
        for line in Path("/proc/pressure/cpu").read_text().splitlines():
            if line.startswith("some "):
                snap["cpu_pressure_some_avg60"] = float(line.split("avg60=")[1].split()[0])
    except (OSError, IndexError, ValueError):
        pass
    return snap


def proc_status_kib(pid: int, key: str) -> int | None:
    """A `kB` field of /proc/PID/status (VmHWM, VmRSS, RssAnon...), in KiB."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return None


def wait_for(predicate, timeout: float, interval: float = 0.002):
    """Polls `predicate` until it returns something true; None on timeout."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            return None
        time.sleep(interval)


def fmt_mib(b: float | None, digits: int = 1) -> str:
    return "-" if b is None else f"{b / MIB:.{digits}f} MiB"


def fmt_ms(s: float | None, digits: int = 1) -> str:
    return "-" if s is None else f"{s * 1000:.{digits}f} ms"


def fmt_ratio(r: float | None) -> str:
    return "-" if r is None else f"{r:.2f}x"
