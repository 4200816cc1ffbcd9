"""Run the project's entry points (`cli.py`, `app.py`) as a person would: a new process, from the
project root, with this process's environment plus `env`, less the variables named by `drop_env`."""

from __future__ import annotations

import os
import subprocess
import sys

from knowledge.settings import PROJECT_ROOT


def run_entry(
    script: str,
    *args,
    env: dict | None = None,
    stdin: str | bytes | None = None,
    timeout: float = 180,
    text: bool = True,
    drop_env: str | None = None,
) -> subprocess.CompletedProcess:
    """`python <script> *args`; `drop_env`: a prefix of variables left out ("DSQA_" for none of ours)."""
    environment = {k: v for k, v in os.environ.items() if not (drop_env and k.startswith(drop_env))} | (env or {})
    return subprocess.run(
        [sys.executable, str(PROJECT_ROOT / script), *args],
        input=stdin,
        capture_output=True,
        text=text,
        cwd=PROJECT_ROOT,
        env=environment,
        timeout=timeout,
    )
