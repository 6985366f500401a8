"""The balloon section: one VM (balloon), the node (balloon_node) and
density at the measured risk (balloon_density), in one run."""

from __future__ import annotations

import time
from pathlib import Path

from . import balloon, balloon_density, balloon_node
from .common import Tools


def run(tools: Tools, rounds: int, node_rounds: int, lock: Path | None, log) -> dict:
    started = time.time()
    modes = balloon.launcher_modes(tools)
    for m in modes.values():
        if m.skipped:
            log(f"balloon: {m.name} skipped: {m.skipped}")
    out: dict = {}
    out["single"] = balloon.run(tools, rounds, log, lock, modes)
    out["node"] = balloon_node.run(tools, node_rounds, log, lock, modes)
    out["density"] = balloon_density.run(tools, out["single"], out["node"])
    out["wall_s"] = time.time() - started
    return out
