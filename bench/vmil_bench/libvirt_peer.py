"""libvirt 9.0 as the peer KubeVirt runs on: libvirtd and virtlogd started by
the benchmark and stopped after it, the same guest created with `virsh create`.

Setup, as libvirt runs on a plain Debian 12 host: the `libvirt-qemu` user and
group and the `kvm` group exist, the run directories exist, and QEMU runs as
root. The last point matters here: /dev/kvm is 0600 root, so with QEMU's
default user libvirt finds KVM "enabled when probing but not available now"
and probes QEMU's capabilities again for every domain (about a minute). A
qemu.conf naming root is written only when none exists and removed after.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path
from xml.sax.saxutils import escape

from .common import proc_status_kib, wait_for

URI = "qemu:///system"
QEMU_CONF = Path("/etc/libvirt/qemu.conf")
PIDFILES = {"virtlogd": Path("/run/virtlogd.pid"), "libvirtd": Path("/run/libvirtd.pid")}
SOCKET = Path("/run/libvirt/libvirt-sock")
PACKAGES = "libvirt-daemon libvirt-daemon-driver-qemu libvirt-clients"


def unavailable() -> str | None:
    """Why the peer cannot run here, or None."""
    for tool in ("virsh", "libvirtd", "virtlogd"):
        if not shutil.which(tool) and not Path("/usr/sbin", tool).exists():
            return f"{tool} not found (scripts/setup.sh --bench installs {PACKAGES})"
    if os.geteuid() != 0:
        return "libvirt's system daemons need root"
    for name in ("libvirtd", "virtlogd"):
        if subprocess.run(["pgrep", "-x", name], capture_output=True).returncode == 0:
            return f"a {name} not started by the benchmark is running: leaving it alone"
    return None


def domain_xml(
    name: str,
    guest_mib: int,
    vcpus: int,
    tb_mib: int,
    kernel: Path,
    initrd: Path,
    cmdline: str,
    console_socket: Path,
    console_log: Path,
) -> str:
    """The launcher's VM as libvirt sees it: q35, `-cpu max`, the same TCG
    translation cache, kernel boot, a serial console on a unix socket whose
    output virtlogd keeps (as KubeVirt has it), a virtio NIC on QEMU's user
    network and the balloon with free page reporting."""
    return f"""<domain type='qemu'>
  <name>{escape(name)}</name>
  <memory unit='MiB'>{guest_mib}</memory>
  <vcpu>{vcpus}</vcpu>
  <os>
    <type arch='x86_64' machine='q35'>hvm</type>
    <kernel>{escape(str(kernel))}</kernel>
    <initrd>{escape(str(initrd))}</initrd>
    <cmdline>{escape(cmdline)}</cmdline>
  </os>
  <features>
    <acpi/>
    <tcg><tb-cache unit='MiB'>{tb_mib}</tb-cache></tcg>
  </features>
  <cpu mode='maximum'>
    <topology sockets='1' dies='1' cores='{vcpus}' threads='1'/>
  </cpu>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>destroy</on_reboot>
  <on_crash>destroy</on_crash>
  <seclabel type='static' model='dac' relabel='no'><label>+0:+0</label></seclabel>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
    <serial type='unix'>
      <source mode='bind' path='{escape(str(console_socket))}'/>
      <log file='{escape(str(console_log))}' append='off'/>
    </serial>
    <interface type='user'><model type='virtio'/></interface>
    <controller type='usb' model='none'/>
    <memballoon model='virtio' freePageReporting='on'><stats period='10'/></memballoon>
  </devices>
</domain>
"""


def _ensure_identity() -> None:
    # Debian's libvirt-daemon-system would create these; it is not installed.
    if subprocess.run(["getent", "group", "kvm"], capture_output=True).returncode != 0:
        subprocess.run(["groupadd", "--system", "kvm"], check=True)
    if subprocess.run(["getent", "group", "libvirt-qemu"], capture_output=True).returncode != 0:
        subprocess.run(["groupadd", "--system", "libvirt-qemu"], check=True)
    if subprocess.run(["getent", "passwd", "libvirt-qemu"], capture_output=True).returncode != 0:
        subprocess.run(
            ["useradd", "--system", "--no-create-home", "--home-dir", "/var/lib/libvirt", "--shell",
             "/usr/sbin/nologin", "-g", "libvirt-qemu", "-G", "kvm", "libvirt-qemu"],
            check=True,
        )


class Libvirt:
    """The two daemons for the duration of a `with` block."""

    def __init__(self):
        self.pids: dict[str, int] = {}
        self.wrote_conf = False
        self.domains: list[str] = []

    def __enter__(self) -> "Libvirt":
        _ensure_identity()
        for d in ("/var/log/libvirt", "/run/libvirt", "/var/lib/libvirt", "/var/cache/libvirt"):
            Path(d).mkdir(parents=True, exist_ok=True)
        if not QEMU_CONF.exists():
            QEMU_CONF.write_text('# written by vmi-launcher bench/, removed when it ends\nuser = "root"\ngroup = "root"\n')
            self.wrote_conf = True
        try:
            for daemon in ("virtlogd", "libvirtd"):
                PIDFILES[daemon].unlink(missing_ok=True)
                subprocess.run([daemon, "-d"], check=True)
                pid = wait_for(lambda: _read_pid(PIDFILES[daemon]), 30, 0.02)
                if not pid:
                    raise RuntimeError(f"{daemon} -d wrote no pid file")
                self.pids[daemon] = pid
            if not wait_for(lambda: SOCKET.exists() and self._answers(), 60, 0.1):
                raise RuntimeError("libvirtd did not answer on its socket within 60 s")
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def _answers(self) -> bool:
        return subprocess.run(["virsh", "-c", URI, "version"], capture_output=True).returncode == 0

    def __exit__(self, *exc) -> None:
        for name in self.domains:
            subprocess.run(["virsh", "-c", URI, "destroy", name], capture_output=True)
        for daemon in ("libvirtd", "virtlogd"):
            pid = self.pids.pop(daemon, None)
            if pid is None:
                continue
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                continue
            if not wait_for(lambda: not Path(f"/proc/{pid}").exists() or _zombie(pid), 15, 0.05):
                os.kill(pid, signal.SIGKILL)
        if self.wrote_conf:
            QEMU_CONF.unlink(missing_ok=True)
            self.wrote_conf = False

    def peak_rss_kib(self) -> dict[str, int | None]:
        return {d: proc_status_kib(pid, "VmHWM") for d, pid in self.pids.items()}

    def create(self, xml_path: Path) -> tuple[float, float]:
        """`virsh create`: (wall-clock start, seconds until virsh returned)."""
        name = _name_of(xml_path)
        self.domains.append(name)
        start = time.time()
        done = subprocess.run(["virsh", "-c", URI, "create", str(xml_path)], capture_output=True, text=True)
        took = time.time() - start
        if done.returncode != 0:
            raise RuntimeError(f"virsh create {xml_path}: {done.stderr.strip()}")
        return start, took

    def wait_gone(self, name: str, timeout: float) -> bool:
        def gone() -> bool:
            listed = subprocess.run(["virsh", "-c", URI, "list", "--name"], capture_output=True, text=True)
            return name not in listed.stdout.split()

        ok = bool(wait_for(gone, timeout, 0.2))
        if ok and name in self.domains:
            self.domains.remove(name)
        return ok


def _read_pid(path: Path) -> int | None:
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):
        return None


def _zombie(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat[stat.rfind(")") + 2] == "Z"


def _name_of(xml_path: Path) -> str:
    text = xml_path.read_text()
    return text.split("<name>", 1)[1].split("</name>", 1)[0]
