"""The installed environment is the committed lock: every package `make setup` installs, at the locked
version, and nothing else. When it is not, this one test names each package that differs, instead of
an upstream release surfacing as unrelated failures elsewhere."""

from __future__ import annotations

import doctest
import re
import subprocess
import sys
from importlib import metadata

from packaging.utils import canonicalize_name

from knowledge.settings import PROJECT_ROOT

LOCK = PROJECT_ROOT / "requirements.lock"
# Not in the lock: the project itself (installed from the tree), and pip, which `make setup` pins itself.
NOT_LOCKED = {"deepspace-qa", "pip"}
PINNED = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s\\;]+)", re.MULTILINE)


def locked_versions(text: str) -> dict[str, str]:
    """{normalised name: version} of a `uv pip compile` lock.

    >>> locked_versions("Torch==2.13.0+cpu \\\\\\n    --hash=sha256:ab\\n    # via x\\nzipp==3.1")
    {'torch': '2.13.0+cpu', 'zipp': '3.1'}
    """
    return {canonicalize_name(name): version for name, version in PINNED.findall(text)}


def installed_versions() -> dict[str, str]:
    return {canonicalize_name(d.metadata["Name"]): d.version for d in metadata.distributions()}


def drift(locked: dict[str, str], installed: dict[str, str]) -> list[str]:
    """One line per package that differs between the lock and the environment.

    >>> drift({"a": "1", "b": "2"}, {"a": "1.1", "c": "3"})
    ['a: locked 1, installed 1.1', 'b: locked 2, not installed', 'c: installed 3, not in the lock']
    """
    lines = []
    for name in sorted(locked.keys() | installed.keys()):
        have, want = installed.get(name), locked.get(name)
        if want is None:
            lines.append(f"{name}: installed {have}, not in the lock")
        elif have is None:
            lines.append(f"{name}: locked {want}, not installed")
        elif have != want:
            lines.append(f"{name}: locked {want}, installed {have}")
    return lines


def test_the_environment_is_the_lock():
    installed = {name: v for name, v in installed_versions().items() if name not in NOT_LOCKED}
    differences = drift(locked_versions(LOCK.read_text(encoding="utf-8")), installed)
    assert not differences, "environment differs from the lock (run `make setup`, or `make lock` on purpose):\n" + (
        "\n".join(differences)
    )


def test_installed_packages_agree_with_each_other():
    check = subprocess.run([sys.executable, "-m", "pip", "check"], capture_output=True, text=True, timeout=120)
    assert check.returncode == 0, check.stdout + check.stderr


def test_the_lock_reader_and_the_drift_report_do_what_their_examples_say():
    assert doctest.testmod(sys.modules[__name__]).failed == 0
