"""Launch latency and footprint, side by side with the peers.

Rounds of three runs of the same guest (256 MiB, 1 vCPU, no disk, no
cloud-init seed; it prints its report and powers off), in an order that
rotates each round so that a change in the machine's load hits every
contender alike:

- `vmi-launcher run`, started through stamp-exec (the launcher's exec time)
  with stamp-exec as its --qemu (QEMU's exec time and the launcher's time
  waiting for a CPU until then);
- QEMU started directly with the very argv the launcher gave it (from the
  `qemu_started` event), its QMP socket passed as descriptor 3 and its end
  of the serial console's socket pair as descriptor 4, as the launcher
  does, a thread here writing the console log from the other end;
- `virsh create` of the same guest (libvirt's domain XML for it).

Each measures from its own start to the guest's first serial line and to
`VMIL: boot ok`. The launcher's peak RSS comes from the same runs; libvirtd's
and virtlogd's from the daemons started for this section.
"""

from __future__ import annotations

import fcntl
import os
import random
import shutil
import signal
import socket
import subprocess
import statistics
import threading
import time
from pathlib import Path

from . import guest
from .common import Tools, median, summary
from .launcher_run import LauncherRun, read_stamps
from .libvirt_peer import Libvirt, domain_xml, unavailable
from .plans import plan

MEMORY_ROOT = Path("/sys/fs/cgroup/memory")
GUEST_MIB = 256
BOOT_OK = "VMIL: boot ok"
POWEROFF = "VMIL: poweroff"
BOOT_TIMEOUT = 120


def latency_vmi(name: str) -> str:
    return guest.vmi_yaml(name, f"{GUEST_MIB}Mi", f"{GUEST_MIB}Mi", 1, guest.kernel_args())


SEED_VOLUME = """      disks:
      - name: cloudinitdisk
        disk:
          bus: virtio
  volumes:
  - name: cloudinitdisk
    cloudInitNoCloud:
      userData: |
        #cloud-config
        hostname: bench
"""


def run_launcher(tools: Tools, name: str, vmi_text: str, extra_args: list[str] | None = None) -> dict:
    r = LauncherRun(tools, name, vmi_text, [BOOT_OK, POWEROFF], extra_args)
    try:
        code = r.wait_exit(BOOT_TIMEOUT)
        started, execed = r.started_at(), r.qemu_exec_at()
        event = r.event("qemu_started")
        out = {
            "exit_status": code,
            "exec_s": execed - started if started and execed else None,
            "runqueue_wait_s": r.runqueue_wait(),
            "first_line_s": r.console.first_line_at - started if r.console.first_line_at and started else None,
            "first_line": r.console.first_line(),
            "boot_ok_s": r.console.seen[BOOT_OK] - started if BOOT_OK in r.console.seen and started else None,
            "peak_rss_kib": r.hwm_kib,
            "anon_rss_kib": r.anon_kib,
            "pss_kib": r.pss_kib,
            "rss_by_mapping_kib": r.rss_by_mapping,
            "argv": event["argv"] if event else None,
            "cgroup_limit_bytes": (r.event("memory_plan") or {}).get("cgroup_limit_bytes"),
            "state_dir": str(r.dir / "state" / "bench" / name),
            "console_log": str(r.console_log),
        }
        if code != 0:
            out["stderr"] = r.stderr()[-2000:]
        if out["exec_s"] is not None and out["runqueue_wait_s"] is not None:
            out["exec_less_cpu_wait_s"] = out["exec_s"] - out["runqueue_wait_s"]
        return out
    finally:
        r.close()


def run_direct(tools: Tools, name: str, template: dict) -> dict:
    """QEMU alone with the launcher's argv, paths moved to a fresh directory,
    in a memory cgroup with the launcher's limit (joined before exec, as the
    launcher does), so that only the launcher differs."""
    run_dir = tools.work / name
    cgroup = MEMORY_ROOT / tools.cgroup_parent / f"bench-{name}"
    cgroup.mkdir(parents=True, exist_ok=True)
    if template.get("cgroup_limit_bytes"):
        (cgroup / "memory.limit_in_bytes").write_text(str(template["cgroup_limit_bytes"]))
    shutil.rmtree(run_dir, ignore_errors=True)
    state = run_dir / "state"
    state.mkdir(parents=True)
    console_log = run_dir / "console.log"
    argv = [str(tools.qemu)] + [
        a.replace(template["state_dir"], str(state)).replace(template["console_log"], str(console_log))
        for a in template["argv"][1:]
    ]
    stamp = run_dir / "qemu.stamp"
    stderr = run_dir / "stderr"
    qmp = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    qmp.bind(str(state / "qmp.sock"))
    qmp.listen(1)
    # The serial console as the launcher holds it: QEMU writes to one end of
    # a socket pair, the other end is copied into the console log.
    console_ours, console_qemu = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    console_fd = fcntl.fcntl(console_qemu.fileno(), fcntl.F_DUPFD_CLOEXEC, 100)
    console_qemu.close()
    copier = threading.Thread(target=_copy_console, args=(console_ours, console_log), daemon=True)
    copier.start()
    console = guest.Console(console_log, [BOOT_OK, POWEROFF])
    try:
        # posix_spawn places the listener at 3 exactly; every other
        # descriptor of this process is close-on-exec.
        pid = os.posix_spawn(
            str(tools.stamp_exec),
            [str(tools.stamp_exec), "--to", str(stamp), "--join", str(cgroup / "tasks")] + argv,
            os.environ,
            file_actions=[
                (os.POSIX_SPAWN_OPEN, 0, "/dev/null", os.O_RDONLY, 0),
                (os.POSIX_SPAWN_OPEN, 1, "/dev/null", os.O_WRONLY, 0),
                (os.POSIX_SPAWN_OPEN, 2, str(stderr), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644),
                (os.POSIX_SPAWN_DUP2, qmp.fileno(), 3),
                (os.POSIX_SPAWN_DUP2, console_fd, 4),
            ],
        )
        os.close(console_fd)
        console_fd = -1
        code = _wait_pid(pid, BOOT_TIMEOUT)
        stamps = read_stamps(stamp)
        started = stamps[0][0] if stamps else None
        out = {
            "exit_status": code,
            "first_line_s": console.first_line_at - started if console.first_line_at and started else None,
            "first_line": console.first_line(),
            "boot_ok_s": console.seen[BOOT_OK] - started if BOOT_OK in console.seen and started else None,
        }
        if code != 0:
            out["stderr"] = stderr.read_text(errors="replace")[-2000:]
        return out
    finally:
        if console_fd >= 0:
            os.close(console_fd)
        copier.join(timeout=5)
        console_ours.close()
        console.stop()
        qmp.close()
        shutil.rmtree(run_dir, ignore_errors=True)
        _remove_cgroup(cgroup)


def _copy_console(sock: socket.socket, path: Path) -> None:
    """What the launcher does with the guest's serial output: append it, as
    it comes, to the console log."""
    with open(path, "ab") as log:
        while True:
            try:
                chunk = sock.recv(16384)
            except OSError:
                return
            if not chunk:
                return
            log.write(chunk)
            log.flush()


def _remove_cgroup(path: Path) -> None:
    for _ in range(100):
        try:
            path.rmdir()
            return
        except FileNotFoundError:
            return
        except OSError:
            time.sleep(0.05)


def _wait_pid(pid: int, timeout: float) -> int:
    """The exit status (128 + signal when killed); kills it after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done == pid:
            return os.waitstatus_to_exitcode(status) if os.WIFEXITED(status) else 128 + os.WTERMSIG(status)
        if time.monotonic() >= deadline:
            os.kill(pid, signal.SIGKILL)
        time.sleep(0.01)


def run_virsh(tools: Tools, lv: Libvirt, name: str, tb_mib: int) -> dict:
    run_dir = tools.work / name
    shutil.rmtree(run_dir, ignore_errors=True)
    run_dir.mkdir(parents=True)
    console_log = run_dir / "console.log"
    xml = run_dir / "domain.xml"
    xml.write_text(
        domain_xml(name, GUEST_MIB, 1, tb_mib, tools.kernel, tools.initrd, guest.kernel_args(),
                   run_dir / "console.sock", console_log)
    )
    console = guest.Console(console_log, [BOOT_OK, POWEROFF])
    try:
        started, returned = lv.create(xml)
        console.wait(POWEROFF, BOOT_TIMEOUT)
        gone = lv.wait_gone(name, 30)
        return {
            "create_returned_s": returned,
            "first_line_s": console.first_line_at - started if console.first_line_at else None,
            "first_line": console.first_line(),
            "boot_ok_s": console.seen[BOOT_OK] - started if BOOT_OK in console.seen else None,
            "powered_off": gone,
        }
    finally:
        console.stop()
        shutil.rmtree(run_dir, ignore_errors=True)


def migration_cost(tools: Tools, runs: int, file: str) -> list[float]:
    """Seconds a freshly forked child takes to move itself into a new v1
    memory cgroup by writing "0" to `file`: `tasks`, as the launcher's child
    does before exec, or `cgroup.procs`. A fresh cgroup each time, as each VM
    gets one, and half a second apart, as VMs start. Through cgroup.procs the
    kernel takes its global lock for moving thread groups, whose write side
    waits for an RCU grace period when the lock has been idle; moving only
    the calling thread through `tasks` skips that lock."""
    if not MEMORY_ROOT.is_dir():
        return []
    times = []
    for i in range(runs):
        time.sleep(0.5)
        probe = MEMORY_ROOT / tools.cgroup_parent / f"migration-probe-{i}"
        probe.mkdir(parents=True, exist_ok=True)
        fd = os.open(probe / file, os.O_WRONLY)
        read_end, write_end = os.pipe()
        try:
            pid = os.fork()
            if pid == 0:
                start = time.perf_counter()
                ok = os.write(fd, b"0") == 1
                elapsed = time.perf_counter() - start
                os.write(write_end, f"{elapsed if ok else -1}".encode())
                os._exit(0)
            os.close(write_end)
            elapsed = float(os.read(read_end, 64).decode() or -1)
            os.waitpid(pid, 0)
            if elapsed >= 0:
                times.append(elapsed)
        finally:
            os.close(fd)
            os.close(read_end)
            _remove_cgroup(probe)
    return times


def ratio_interval(a: list[float], b: list[float], draws: int = 2000) -> list[float] | None:
    """A 95% bootstrap interval of median(a) / median(b): how far the ratio
    of the medians moves when each side's runs are drawn again, that is how
    much of it the run-to-run noise of guest boots can explain."""
    if len(a) < 3 or len(b) < 3:
        return None
    rng = random.Random(0)
    ratios = sorted(statistics.median(rng.choices(a, k=len(a))) / statistics.median(rng.choices(b, k=len(b)))
                    for _ in range(draws))
    return [ratios[int(0.025 * draws)], ratios[int(0.975 * draws) - 1]]


def run(tools: Tools, rounds: int, seed_runs: int, with_libvirt: bool, log) -> dict:
    tb_mib = plan(tools, latency_vmi("x"))["tcg_tb_size_bytes"] >> 20
    launcher_runs: list[dict] = []
    direct_runs: list[dict] = []
    virsh_runs: list[dict] = []
    result: dict = {"guest_mib": GUEST_MIB, "vcpus": 1, "rounds": rounds}
    skip = None if with_libvirt else "not asked for (--no-libvirt)"
    skip = skip or unavailable()
    lv = None
    try:
        if skip is None:
            lv = Libvirt().__enter__()
            result["libvirt_daemons_started"] = time.time()
        else:
            result["libvirt_skipped"] = skip
            log(f"latency: libvirt peer skipped: {skip}")
        template = None
        for i in range(rounds):
            order = ["launcher", "direct", "virsh"]
            order = order[i % 3:] + order[: i % 3]
            for who in order:
                if who == "launcher":
                    r = run_launcher(tools, f"lat-l{i}", latency_vmi(f"lat-l{i}"))
                    launcher_runs.append(r)
                    if r["argv"] and template is None:
                        template = r
                    log(f"latency: round {i + 1}/{rounds} launcher exec {_ms(r['exec_s'])} boot ok {_s(r['boot_ok_s'])}")
                elif who == "direct" and template is not None:
                    r = run_direct(tools, f"lat-d{i}", template)
                    direct_runs.append(r)
                    log(f"latency: round {i + 1}/{rounds} qemu directly boot ok {_s(r['boot_ok_s'])}")
                elif who == "virsh" and lv is not None:
                    r = run_virsh(tools, lv, f"vmil-bench-lat-v{i}", tb_mib)
                    virsh_runs.append(r)
                    if len(virsh_runs) == 1:
                        result["libvirt_peak_rss_kib_after_first_vm"] = lv.peak_rss_kib()
                    log(f"latency: round {i + 1}/{rounds} virsh create returned {_s(r['create_returned_s'])} "
                        f"boot ok {_s(r['boot_ok_s'])}")
        if lv is not None:
            result["libvirt_peak_rss_kib"] = lv.peak_rss_kib()
    finally:
        if lv is not None:
            lv.__exit__(None, None, None)

    no_cgroup_runs = []
    for i in range(seed_runs):
        r = run_launcher(tools, f"lat-n{i}", latency_vmi(f"lat-n{i}"), ["--cgroup-mode", "none"])
        no_cgroup_runs.append(r)
        log(f"latency: without a cgroup {i + 1}/{seed_runs}: exec {_ms(r['exec_s'])}")
    result["cgroup_v1_migration_s"] = summary(migration_cost(tools, 2 * rounds, "tasks"))
    result["cgroup_v1_migration_procs_s"] = summary(migration_cost(tools, 2 * rounds, "cgroup.procs"))

    seed_runs_out = []
    for i in range(seed_runs):
        r = run_launcher(tools, f"lat-s{i}", latency_vmi(f"lat-s{i}").replace(
            "      autoattachGraphicsDevice: false\n", "      autoattachGraphicsDevice: false\n" + SEED_VOLUME))
        seed_runs_out.append(r)
        log(f"latency: with a cloud-init seed {i + 1}/{seed_runs}: exec {_ms(r['exec_s'])}")

    def values(runs: list[dict], key: str) -> list[float]:
        return [r[key] for r in runs if r.get(key) is not None]

    result["launcher"] = {k: summary(values(launcher_runs, k))
                          for k in ("exec_s", "exec_less_cpu_wait_s", "runqueue_wait_s", "first_line_s", "boot_ok_s")}
    result["launcher"]["peak_rss_kib"] = summary(values(launcher_runs, "peak_rss_kib"))
    result["launcher"]["anon_rss_kib"] = summary(values(launcher_runs, "anon_rss_kib"))
    result["launcher"]["pss_kib"] = summary(values(launcher_runs, "pss_kib"))
    # What the peak is made of, in the run whose peak is the median one.
    with_peak = sorted((r for r in launcher_runs if r.get("peak_rss_kib")), key=lambda r: r["peak_rss_kib"])
    if with_peak:
        result["launcher"]["rss_by_mapping_kib"] = with_peak[len(with_peak) // 2]["rss_by_mapping_kib"]
    result["launcher"]["failed_runs"] = sum(1 for r in launcher_runs if r["exit_status"] != 0)
    result["launcher_with_seed"] = {k: summary(values(seed_runs_out, k)) for k in ("exec_s", "exec_less_cpu_wait_s")}
    result["launcher_without_cgroup"] = {k: summary(values(no_cgroup_runs, k))
                                         for k in ("exec_s", "exec_less_cpu_wait_s")}
    result["direct_qemu"] = {k: summary(values(direct_runs, k)) for k in ("first_line_s", "boot_ok_s")}
    result["direct_qemu"]["failed_runs"] = sum(1 for r in direct_runs if r["exit_status"] != 0)
    if virsh_runs:
        result["virsh"] = {k: summary(values(virsh_runs, k)) for k in ("create_returned_s", "first_line_s", "boot_ok_s")}
    result["first_lines"] = sorted({r.get("first_line", "") for r in launcher_runs + direct_runs + virsh_runs})
    for key in ("first_line_s", "boot_ok_s"):
        ml = median(values(launcher_runs, key))
        md = median(values(direct_runs, key))
        mv = median(values(virsh_runs, key))
        result.setdefault("ratios", {})[f"{key}_launcher_over_direct"] = ml / md if ml and md else None
        result["ratios"][f"{key}_launcher_over_virsh"] = ml / mv if ml and mv else None
        intervals = result.setdefault("ratio_intervals_95", {})
        intervals[f"{key}_launcher_over_direct"] = ratio_interval(values(launcher_runs, key), values(direct_runs, key))
        intervals[f"{key}_launcher_over_virsh"] = ratio_interval(values(launcher_runs, key), values(virsh_runs, key))
    result["runs"] = {"launcher": _strip(launcher_runs), "direct_qemu": direct_runs, "virsh": virsh_runs,
                      "launcher_with_seed": _strip(seed_runs_out), "launcher_without_cgroup": _strip(no_cgroup_runs)}
    return result


def _strip(runs: list[dict]) -> list[dict]:
    return [{k: v for k, v in r.items() if k not in ("argv", "state_dir", "console_log", "cgroup_limit_bytes")}
            for r in runs]


def _ms(s: float | None) -> str:
    return "-" if s is None else f"{s * 1000:.1f} ms"


def _s(s: float | None) -> str:
    return "-" if s is None else f"{s:.2f} s"
