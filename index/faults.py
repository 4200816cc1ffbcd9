"""Fault injection for the crash tests: `checkpoint(name)` kills this process (SIGKILL, like
`kill -9`) when `DSQA_KILL_AT` names that checkpoint, e.g. `article-written#3` for its third pass.

Read at the call, never at import; a no-op unless a test sets the variable on a subprocess.
"""

from __future__ import annotations

import os
import signal

_passes: dict[str, int] = {}


def checkpoint(name: str) -> None:
    """Die here if asked to (`DSQA_KILL_AT=name` or `name#n`)."""
    wanted = os.environ.get("DSQA_KILL_AT")
    if not wanted:
        return
    target, _, nth = wanted.partition("#")
    if target != name:
        return
    _passes[name] = _passes.get(name, 0) + 1
    if _passes[name] >= int(nth or 1):
        os.kill(os.getpid(), signal.SIGKILL)
