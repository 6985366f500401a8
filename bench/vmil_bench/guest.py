"""The guest every section boots, the VMI that asks for it, and its console.

The guest is the project's test guest (tests/guest/) with one extra program,
bench/guest/vmil-meminfo, which prints the guest's /proc/meminfo after any
fill. Kernel arguments choose what it does: `vmil.fill=N` writes N MiB into
a tmpfs, `vmil.wait` keeps it running until the power button.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import threading
import time
from pathlib import Path

from .common import REPO

MEMINFO_PROGRAM = "/bin/vmil-meminfo"


def build_image(out: Path) -> Path:
    """Builds (or reuses) the bench guest under `out`: out/image/boot/{vmlinuz,initrd.img}."""
    image = out / "image" / "boot"
    image.mkdir(parents=True, exist_ok=True)
    built = subprocess.run([str(REPO / "tests/guest/build-guest.sh")], check=True, capture_output=True, text=True)
    kernel = next(line.split("=", 1)[1] for line in built.stdout.splitlines() if line.startswith("VMIL_GUEST_KERNEL="))
    shutil.copyfile(kernel, image / "vmlinuz")
    subprocess.run(
        [
            str(REPO / "tests/guest/make-initrd.sh"),
            "--out",
            str(image / "initrd.img"),
            "--add",
            f"{REPO / 'bench/guest/vmil-meminfo'}={MEMINFO_PROGRAM}",
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    return out / "image"


def kernel_args(fill_mib: int = 0, wait: bool = False, meminfo: bool = False) -> str:
    args = ["console=ttyS0", "quiet", "panic=-1"]
    if fill_mib:
        args.append(f"vmil.fill={fill_mib}")
    if meminfo:
        args.append(f"vmil.exec={MEMINFO_PROGRAM}")
    if wait:
        args.append("vmil.wait")
    return " ".join(args)


def vmi_yaml(
    name: str,
    guest: str,
    request: str,
    vcpus: int = 1,
    args: str = "",
    namespace: str = "bench",
    resources: str | None = None,
    disks: str = "",
    volumes: str = "",
) -> str:
    """A VMI booting the bench guest with kernelBoot: no disk, no cloud-init seed
    unless `disks` and `volumes` (YAML list items) add them.

    Everything else is the launcher's default (a virtio-net interface on
    QEMU's user network, the memory balloon), as a user would run it.
    `resources` replaces the resources block (requests.memory = `request`)."""
    if resources is None:
        resources = f"    resources:\n      requests:\n        memory: {request}\n"
    devices = "    devices:\n      autoattachGraphicsDevice: false\n"
    if disks:
        devices += "      disks:\n" + disks
    tail = "  volumes:\n" + volumes if volumes else ""
    return f"""apiVersion: kubevirt.io/v1
kind: VirtualMachineInstance
metadata:
  name: {name}
  namespace: {namespace}
spec:
  terminationGracePeriodSeconds: 30
  domain:
    cpu:
      cores: {vcpus}
    memory:
      guest: {guest}
{resources}    firmware:
      kernelBoot:
        kernelArgs: {args}
        container:
          image: vmi-launcher/test-guest
          kernelPath: /boot/vmlinuz
          initrdPath: /boot/initrd.img
{devices}{tail}"""


class Console:
    """Follows a serial console log as QEMU writes it, noting when each
    marker first appears (wall-clock seconds)."""

    def __init__(self, path: Path, markers: list[str], interval: float = 0.002):
        self.path = path
        self.markers = markers
        self.seen: dict[str, float] = {}
        self.first_line_at: float | None = None
        self.text = ""
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._follow, daemon=True)
        self._thread.start()

    def _follow(self) -> None:
        f = None
        while not self._stop.is_set():
            if f is None:
                try:
                    f = open(self.path, "rb")
                except OSError:
                    pass
            chunk = f.read() if f is not None else b""
            if chunk:
                now = time.time()
                self.text += chunk.decode("utf-8", "replace")
                if self.first_line_at is None and "\n" in self.text:
                    self.first_line_at = now
                for m in self.markers:
                    if m not in self.seen and m in self.text:
                        self.seen[m] = now
            time.sleep(self._interval)
        if f is not None:
            f.close()

    def wait(self, marker: str, timeout: float) -> float | None:
        deadline = time.monotonic() + timeout
        while marker not in self.seen:
            if time.monotonic() >= deadline:
                return None
            time.sleep(0.005)
        return self.seen[marker]

    def stop(self) -> str:
        self._stop.set()
        self._thread.join()
        return self.text

    def first_line(self) -> str:
        return self.text.split("\n", 1)[0].strip("\r")


def meminfo(console_text: str) -> dict[str, int]:
    """The guest's /proc/meminfo (bytes) printed by vmil-meminfo, or {}."""
    block = re.search(r"VMIL: bench meminfo begin\r?\n(.*?)VMIL: bench meminfo end", console_text, re.S)
    if not block:
        return {}
    values = {}
    for line in block.group(1).splitlines():
        m = re.match(r"(\w+(?:\(\w+\))?):\s+(\d+)(?: kB)?", line.strip())
        if m:
            values[m.group(1)] = int(m.group(2)) * 1024
    return values


def fill_outcome(console_text: str) -> tuple[int, bool]:
    """(MiB the guest filled, whether it filled all it was asked)."""
    done = re.search(r"VMIL: fill done (\d+)", console_text)
    if done:
        return int(done.group(1)), True
    failed = re.search(r"VMIL: fill failed (\d+)", console_text)
    if failed:
        return int(failed.group(1)), False
    progress = re.findall(r"VMIL: fill progress (\d+)", console_text)
    return (int(progress[-1]) if progress else 0), False
