"""Fault injection for the crash tests: `checkpoint(name)` kills this process (SIGKILL, like
`kill -9`) at the checkpoint `arm()` named, e.g. `article-written#3` for its third pass.

The entry point arms it once from Settings (`DSQA_KILL_AT`, the `kill_at` setting); unarmed, every
checkpoint is a no-op. This module reads no environment.
"""

from __future__ import annotations

import os
import signal

_armed: list[str] = [""]
_passes: dict[str, int] = {}


def arm(point: str) -> None:
    """Kill the process at `point` (`name` or `name#n`); "" disarms."""
    _armed[0] = point
    _passes.clear()


def checkpoint(name: str) -> None:
    """Die here if armed for it."""
    wanted = _armed[0]
    if not wanted:
        return
    target, _, nth = wanted.partition("#")
    if target != name:
        return
    _passes[name] = _passes.get(name, 0) + 1
    if _passes[name] >= int(nth or 1):
        os.kill(os.getpid(), signal.SIGKILL)
