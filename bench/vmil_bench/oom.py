"""OOM detection: from the kernel's kill to the launcher's `oom_killed` event.

Each run overcommits on purpose: a 512 MiB guest on a 64 MiB request, so the
cgroup limit (request + overhead) is far below what the guest fills
(`vmil.fill=400`), and the kernel kills QEMU during boot or the fill.

When the kill happened comes from the kernel itself: the OOM killer logs
"Memory cgroup out of memory: Killed process PID" right after it sends
SIGKILL, and /dev/kmsg stamps that record with the kernel's clock. A record
the benchmark writes to /dev/kmsg just before the run, between two
wall-clock readings, ties the kernel's clock to the wall clock (to a few
microseconds). The launcher's event carries `time`, the moment it saw the
kill (wall clock); the benchmark also notes when it read the log line.
"""

from __future__ import annotations

import errno
import os
import re
import time

from . import guest
from .common import Tools, summary
from .launcher_run import LauncherRun

KILLED = re.compile(r"Memory cgroup out of memory: Killed process (\d+) ")


class Kmsg:
    """/dev/kmsg from its current end; records as (kernel seconds, text)."""

    def __init__(self):
        self.fd = os.open("/dev/kmsg", os.O_RDWR | os.O_NONBLOCK)
        os.lseek(self.fd, 0, os.SEEK_END)

    def records(self) -> list[tuple[float, str]]:
        out = []
        while True:
            try:
                raw = os.read(self.fd, 8192)
            except BlockingIOError:
                return out
            except OSError as e:
                if e.errno == errno.EPIPE:  # overwritten before we read it: skip on
                    continue
                raise
            head, _, text = raw.decode("utf-8", "replace").partition(";")
            fields = head.split(",")
            out.append((int(fields[2]) / 1e6, text.split("\n", 1)[0]))

    def clock_offset(self) -> float:
        """Wall clock minus the kernel's printk clock, in seconds."""
        marker = f"vmi-launcher bench: clock sync {time.monotonic_ns()}"
        before = time.time()
        os.write(self.fd, f"<6>{marker}\n".encode())
        after = time.time()
        for stamp, text in self.records():
            if marker in text:
                return (before + after) / 2 - stamp
        raise RuntimeError("the clock sync record did not come back from /dev/kmsg")

    def close(self) -> None:
        os.close(self.fd)


def run(tools: Tools, runs: int, log) -> dict:
    if os.geteuid() != 0:
        return {"skipped": "reading /dev/kmsg needs root"}
    kmsg = Kmsg()
    samples = []
    try:
        for i in range(runs):
            samples.append(one(tools, kmsg, f"oom{i}"))
            s = samples[-1]
            log(f"oom: run {i + 1}/{runs}: kill to event {_ms(s.get('detect_s'))}, "
                f"to log line read {_ms(s.get('received_s'))}")
    finally:
        kmsg.close()
    detect = [s["detect_s"] for s in samples if s.get("detect_s") is not None]
    received = [s["received_s"] for s in samples if s.get("received_s") is not None]
    return {
        "guest_mib": 512,
        "request_mib": 64,
        "fill_mib": 400,
        "kill_to_event_s": summary(detect),
        "kill_to_line_read_s": summary(received),
        "missed": sum(1 for s in samples if s.get("detect_s") is None),
        "runs": samples,
    }


def one(tools: Tools, kmsg: Kmsg, name: str) -> dict:
    vmi = guest.vmi_yaml(name, "512Mi", "64Mi", 1, guest.kernel_args(fill_mib=400))
    kmsg.records()  # drop what came before
    offset = kmsg.clock_offset()
    r = LauncherRun(tools, name, vmi, [], stamp_qemu=False)
    try:
        code = r.wait_exit(180)
        pid = r.qemu_pid()
        kill_at = None
        for stamp, text in kmsg.records():
            m = KILLED.search(text)
            if m and pid is not None and int(m.group(1)) == pid:
                kill_at = stamp + offset
        event = r.event("oom_killed")
        out = {"exit_status": code, "qemu_pid": pid, "peak_rss_kib": r.hwm_kib,
               "kernel_kill_seen": kill_at is not None, "event_seen": event is not None}
        if code != 4:
            out["stderr"] = r.stderr()[-2000:]
        if event is not None:
            out["seen_by"] = event.get("seen_by")
        if kill_at is not None and event is not None:
            out["detect_s"] = float(event["time"]) - kill_at
            out["received_s"] = event["_received"] - kill_at
        return out
    finally:
        r.close()


def _ms(s: float | None) -> str:
    return "-" if s is None else f"{s * 1000:.2f} ms"
