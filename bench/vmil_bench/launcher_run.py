"""One `vmi-launcher run` as the benchmark sees it: when it started (to the
microsecond, through stamp-exec), when it execed QEMU (the same way), its
JSON log events as they come, its peak RSS, and its VM's cgroup."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import threading
import time
from pathlib import Path

from .common import Tools, proc_status_kib
from .guest import Console


def read_stamps(path: Path) -> list[list[float | None]]:
    """The lines stamp-exec wrote: [time, parent on-CPU ns, parent waiting ns,
    own on-CPU ns, own waiting ns] (the last four only in its --qemu form)."""
    stamps = []
    try:
        for line in path.read_text().splitlines():
            stamps.append([None if f == "-" else float(f) for f in line.split()])
    except (OSError, ValueError):
        pass
    return stamps


class LauncherRun:
    """`vmi-launcher run` of one VMI, started at once, cleaned up on close()."""

    def __init__(
        self,
        tools: Tools,
        name: str,
        vmi_text: str,
        markers: list[str],
        extra_args: list[str] | None = None,
        stamp_qemu: bool = True,
        image: Path | None = None,
    ):
        self.tools = tools
        self.name = name
        self.dir = tools.work / name
        shutil.rmtree(self.dir, ignore_errors=True)
        self.dir.mkdir(parents=True)
        vmi = self.dir / "vmi.yaml"
        vmi.write_text(vmi_text)
        self.console_log = self.dir / "console.log"
        self.launcher_stamp = self.dir / "launcher.stamp"
        self.qemu_stamp = self.dir / "qemu.stamp"
        argv = [
            str(tools.stamp_exec),
            "--to",
            str(self.launcher_stamp),
            str(tools.launcher),
            "run",
            str(vmi),
            "--image",
            f"vmi-launcher/test-guest={image or tools.image}",
            "--accel",
            "tcg",
            "--log-format",
            "json",
            "--console-log",
            str(self.console_log),
            "--state-root",
            str(self.dir / "state"),
            "--cgroup-parent",
            tools.cgroup_parent,
            "--termination-log",
            str(self.dir / "termination"),
        ]
        env = dict(os.environ)
        if stamp_qemu:
            argv += ["--qemu", str(tools.stamp_exec)]
            env["VMIL_STAMP_FILE"] = str(self.qemu_stamp)
            env["VMIL_STAMP_EXEC"] = str(tools.qemu)
        argv += extra_args or []

        self.events: list[dict] = []
        self._lock = threading.Lock()
        self.hwm_kib: int | None = None
        self.anon_kib: int | None = None  # RssAnon when VmHWM was last seen growing
        self.rss_by_mapping: dict[str, int] = {}  # KiB per file (or [anon]) at that moment
        self.pss_kib: int | None = None
        self.console = Console(self.console_log, markers)
        self.proc = subprocess.Popen(
            argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env
        )
        self._reader = threading.Thread(target=self._read_log, daemon=True)
        self._reader.start()
        self._sampler = threading.Thread(target=self._sample_hwm, daemon=True)
        self._sampler.start()

    def _read_log(self) -> None:
        assert self.proc.stdout is not None
        for raw in self.proc.stdout:
            try:
                event = json.loads(raw)
            except ValueError:
                continue
            event["_received"] = time.time()
            with self._lock:
                self.events.append(event)

    def _sample_hwm(self) -> None:
        # VmHWM only grows; the last reading before the launcher exits is its
        # peak during the VM's life (the launcher's shutdown path allocates
        # little after QEMU is gone).
        while self.proc.poll() is None:
            hwm = proc_status_kib(self.proc.pid, "VmHWM")
            if hwm is not None and hwm > (self.hwm_kib or 0):
                self.hwm_kib = hwm
                self.anon_kib = proc_status_kib(self.proc.pid, "RssAnon")
                self.rss_by_mapping, self.pss_kib = rss_by_mapping(self.proc.pid)
            time.sleep(0.02)

    def event(self, name: str) -> dict | None:
        with self._lock:
            return next((e for e in self.events if e.get("event") == name), None)

    def wait_event(self, name: str, timeout: float) -> dict | None:
        deadline = time.monotonic() + timeout
        while True:
            e = self.event(name)
            if e is not None:
                return e
            if self.proc.poll() is not None:
                self._reader.join(timeout=2)
                return self.event(name)
            if time.monotonic() >= deadline:
                return None
            time.sleep(0.005)

    def started_at(self) -> float | None:
        stamps = read_stamps(self.launcher_stamp)
        return stamps[0][0] if stamps else None

    def qemu_exec_at(self) -> float | None:
        stamps = read_stamps(self.qemu_stamp)
        return stamps[0][0] if stamps else None

    def runqueue_wait(self) -> float | None:
        """Seconds the launcher (and its child before exec) spent runnable
        but waiting for a CPU, up to QEMU's exec."""
        stamps = read_stamps(self.qemu_stamp)
        if not stamps or len(stamps[0]) < 5 or stamps[0][2] is None or stamps[0][4] is None:
            return None
        return (stamps[0][2] + stamps[0][4]) / 1e9

    def qemu_pid(self) -> int | None:
        e = self.event("qemu_started")
        return int(e["pid"]) if e else None

    def cgroup_path(self) -> Path | None:
        e = self.event("cgroup_ready")
        return Path(e["cgroup"]) if e else None

    def stop(self, timeout: float = 60) -> int | None:
        """SIGTERM (the guest's power button) and the exit status."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        return self.wait_exit(timeout)

    def wait_exit(self, timeout: float) -> int | None:
        try:
            code = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return None
        self._reader.join(timeout=5)
        self._sampler.join(timeout=5)
        return code

    def stderr(self) -> str:
        if self.proc.poll() is None or self.proc.stderr is None:
            return ""
        return self.proc.stderr.read().decode("utf-8", "replace")

    def close(self, keep: bool = False) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.console.stop()
        if not keep:
            shutil.rmtree(self.dir, ignore_errors=True)


def rss_by_mapping(pid: int) -> tuple[dict[str, int], int | None]:
    """Resident KiB per mapped file (by name; anonymous memory as [anon]),
    and the process's proportional set size, from /proc/PID/smaps."""
    by_name: dict[str, int] = {}
    pss = 0
    name = "[anon]"
    try:
        text = Path(f"/proc/{pid}/smaps").read_text()
    except OSError:
        return {}, None
    for line in text.splitlines():
        head = line.split()
        if not head:
            continue
        if "-" in head[0] and ":" not in head[0]:
            name = head[5].rsplit("/", 1)[-1] if len(head) > 5 else "[anon]"
            if name in ("[heap]", "[stack]"):
                name = "[anon]"
        elif head[0] == "Rss:":
            by_name[name] = by_name.get(name, 0) + int(head[1])
        elif head[0] == "Pss:":
            pss += int(head[1])
    return by_name, pss


# The VM's cgroup and QEMU's memory, read while the VM runs ------------------


def cgroup_v1_memory(path: Path) -> dict:
    """usage, peak and memory.stat of a v1 memory cgroup, in bytes."""
    out: dict = {}
    try:
        out["usage_bytes"] = int((path / "memory.usage_in_bytes").read_text())
        out["peak_bytes"] = int((path / "memory.max_usage_in_bytes").read_text())
        stat = {}
        for line in (path / "memory.stat").read_text().splitlines():
            key, value = line.split()
            stat[key] = int(value)
        out["stat"] = {k: stat[k] for k in ("rss", "rss_huge", "cache", "mapped_file", "shmem") if k in stat}
    except (OSError, ValueError):
        pass
    return out


def qemu_mappings(pid: int, guest_bytes: int, tb_bytes: int | None) -> dict:
    """QEMU's resident memory split by what it is: guest RAM (the anonymous
    mapping of -m's size), the TCG translation cache (tb-size), the rest of
    its anonymous memory, and file pages. From /proc/PID/smaps, in bytes."""
    regions: list[dict] = []
    current: dict | None = None
    try:
        text = Path(f"/proc/{pid}/smaps").read_text()
    except OSError:
        return {}
    for line in text.splitlines():
        head = line.split()
        if "-" in head[0] and len(head) >= 5 and ":" not in head[0]:
            start, end = (int(x, 16) for x in head[0].split("-"))
            current = {"size": end - start, "path": head[5] if len(head) > 5 else "", "perms": head[1]}
            regions.append(current)
        elif current is not None and head[0] in ("Rss:", "Anonymous:", "AnonHugePages:"):
            current[head[0][:-1]] = int(head[1]) * 1024
    out = {"guest_ram": 0, "tcg_cache": 0, "other_anon": 0, "file": 0}
    if tb_bytes:
        out["tcg_cache_mapped"] = sum(r["size"] for r in regions if not r["path"] and "x" in r["perms"])
    # The guest RAM block is the largest mapping of at least -m bytes; QEMU
    # may add an alignment page or two.
    guest = max((r for r in regions if r["size"] >= guest_bytes and r["size"] <= guest_bytes + (4 << 20)),
                key=lambda r: r["size"], default=None)
    for r in regions:
        rss = r.get("Rss", 0)
        anon = r.get("Anonymous", 0)
        if r is guest:
            out["guest_ram"] += rss
        elif tb_bytes and not r["path"] and "x" in r["perms"]:
            # The code cache: the only anonymous executable memory. With
            # several vCPUs it is split into one region per thread, each
            # ending in a guard page, so it spans many mappings.
            out["tcg_cache"] += rss
        else:
            out["other_anon"] += anon
            out["file"] += rss - anon
    return out
