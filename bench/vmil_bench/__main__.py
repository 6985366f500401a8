"""vmi-launcher's benchmark: `python3 -m vmil_bench` from bench/ (bench/run.sh
builds everything first). Prints one table and saves the raw results."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from . import balloon_section, calibration, density, guest, latency, oom
from .common import GIB, REPO, Tools, find_qemu, load_snapshot
from .plans import plan
from .table import render

SECTIONS = ("latency", "oom", "calibration", "density", "balloon")

# What a full run and a quick run measure.
FULL = {"rounds": 15, "seed_runs": 5, "oom_runs": 25, "sizes": [128, 512, 1024, 2048], "vcpus": [1, 2, 4], "repeats": 2,
        "balloon_rounds": 5, "balloon_node_rounds": 2}
QUICK = {"rounds": 3, "seed_runs": 2, "oom_runs": 20, "sizes": [128, 1024], "vcpus": [1, 4], "repeats": 1,
         "balloon_rounds": 1, "balloon_node_rounds": 1}


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="bench/run.sh", description=__doc__)
    p.add_argument("--quick", action="store_true", help="a smaller matrix and fewer rounds (about 6 minutes)")
    p.add_argument("--no-libvirt", action="store_true", help="skip the libvirt peer")
    p.add_argument("--only", action="append", choices=SECTIONS, help="run only these sections (repeatable)")
    p.add_argument("--out", type=Path, help="where results go (default: bench/results, or .cache/bench for --quick)")
    p.add_argument("--lock", type=Path,
                   help="take this file's flock around each VM (or node) run of the balloon section, one at a time,"
                        " on a machine shared with other QEMU tests")
    p.add_argument("--build", type=Path, default=REPO / "build", help="the meson build directory")
    return p.parse_args(argv)


def kvm_state() -> str:
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        flags = ""
    if not os.path.exists("/dev/kvm"):
        return "skipped: no /dev/kvm"
    if " vmx" not in flags and " svm" not in flags:
        return "skipped: /dev/kvm exists but the CPU has no vmx/svm flag (no nested virtualisation: guests hang)"
    return "available, but the rows here are TCG only"


def model_constants(tools: Tools) -> dict:
    """The launcher model's constants as the launcher reports them (a 1 vCPU plan)."""
    terms = plan(tools, guest.vmi_yaml("c", "1Gi", "1Gi", 1, "console=ttyS0"), "launcher", "tcg")["overhead_terms"]
    return {
        "qemu_base": terms["qemu_base"],
        "qemu_file_pages": terms["qemu_file_pages"],
        "tcg_state": terms["tcg_state"],
        "per_vcpu": terms["vcpus"],
    }


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    settings = QUICK if args.quick else FULL
    sections = args.only or list(SECTIONS)
    out = args.out or (REPO / ".cache/bench" if args.quick else REPO / "bench/results")
    out.mkdir(parents=True, exist_ok=True)

    def log(msg: str) -> None:
        print(f"bench: {msg}", file=sys.stderr, flush=True)

    if os.geteuid() != 0:
        log("needs root (cgroups, /dev/kmsg, libvirt)")
        return 77
    work = Path(tempfile.mkdtemp(prefix="vmil-bench-"))
    log("building the bench guest")
    tools = Tools(
        launcher=args.build / "vmi-launcher",
        stamp_exec=args.build / "bench/stamp-exec",
        qemu=find_qemu(),
        image=guest.build_image(REPO / ".cache/bench"),
        work=work,
        cgroup_parent="vmi-launcher-bench",
    )
    started = time.time()
    results: dict = {
        "started": started,
        "mode": "quick" if args.quick else "full",
        "settings": settings,
        "command": "bench/run.sh " + " ".join(argv),
        "environment": {
            "cpus": os.cpu_count(),
            "memory_gib": os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / GIB,
            "kernel": os.uname().release,
            "qemu": str(tools.qemu),
            "kvm": kvm_state(),
            "load_before": load_snapshot(),
        },
        "model_constants": model_constants(tools),
    }
    try:
        if "latency" in sections:
            log("latency and footprint")
            results["latency"] = latency.run(tools, settings["rounds"], settings["seed_runs"], not args.no_libvirt, log)
        if "oom" in sections:
            log("OOM detection")
            results["oom"] = oom.run(tools, settings["oom_runs"], log)
        if "calibration" in sections:
            log("overhead calibration")
            results["calibration"] = calibration.run(tools, settings["sizes"], settings["vcpus"], settings["repeats"], log)
        if "density" in sections:
            results["density"] = density.run(tools)
        if "balloon" in sections:
            log("balloon: overcommitted VMs under pressure")
            results["balloon"] = balloon_section.run(tools, settings["balloon_rounds"], settings["balloon_node_rounds"],
                                                     args.lock, log)
    finally:
        results["environment"]["load_after"] = load_snapshot()
        results["wall_s"] = time.time() - started
        _remove_tree(work)
        _remove_empty_cgroup(Path("/sys/fs/cgroup/memory") / tools.cgroup_parent)

    table = render(results)
    print(table, end="")
    (out / "latest.json").write_text(json.dumps(results, indent=1) + "\n")
    (out / "latest.txt").write_text(table)
    if "calibration" in results and not args.quick:
        cal = dict(results["calibration"])
        cal["measured"] = time.strftime("%Y-%m-%d", time.gmtime(started))
        cal["environment"] = results["environment"]
        cal["model_constants"] = results["model_constants"]
        (out / "calibration-tcg.json").write_text(json.dumps(cal, indent=1) + "\n")
    log(f"results in {out}")
    return 0


def _remove_empty_cgroup(path: Path) -> None:
    """The parent the launcher made for the benchmark's VMs, once they are gone,
    with the <namespace> levels below it (VM cgroups are <parent>/<namespace>/<name>)."""
    try:
        for level in path.iterdir():
            if level.is_dir():
                try:
                    level.rmdir()  # only when empty: a cgroup with children refuses
                except OSError:
                    pass
        path.rmdir()
    except OSError:
        pass


def _remove_tree(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
