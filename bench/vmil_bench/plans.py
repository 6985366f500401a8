"""What `vmi-launcher plan` says about a VMI: the estimates the measurements
are compared with, taken from the launcher itself rather than recomputed."""

from __future__ import annotations

import json
import subprocess

from .common import Tools


def plan(tools: Tools, vmi_text: str, model: str = "launcher", accel: str = "tcg") -> dict:
    done = subprocess.run(
        [str(tools.launcher), "plan", "-", "-o", "json", "--overhead-model", model, "--accel", accel],
        input=vmi_text,
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise RuntimeError(f"vmi-launcher plan failed: {done.stderr.strip()}")
    return json.loads(done.stdout)
