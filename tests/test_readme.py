"""README.md is tested: its Python snippets run, and the commands it shows exist."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from knowledge.settings import PROJECT_ROOT

README = (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")
SKIP = "<!-- readme-test: skip"


def python_blocks() -> list[str]:
    blocks = []
    for match in re.finditer(r"(<!--[^\n]*-->\n)?```python\n(.*?)```", README, re.S):
        if not (match.group(1) or "").startswith(SKIP):
            blocks.append(match.group(2))
    return blocks


def test_readme_shows_the_two_set_up_commands():
    assert "make run" in README and "make test" in README


@pytest.mark.parametrize("index", range(len(python_blocks())))
def test_python_snippet_runs(index, monkeypatch):
    monkeypatch.chdir(PROJECT_ROOT)
    namespace: dict = {"__name__": "__readme__"}
    exec(compile(python_blocks()[index], f"README.md python block {index}", "exec"), namespace)  # noqa: S102


def test_python_snippet_results():
    """The Python API block's claims, checked: a resolved, answered follow-up and a cited list answer."""
    namespace: dict = {}
    exec(compile(python_blocks()[-1], "README.md", "exec"), namespace)  # noqa: S102
    follow_up, last = namespace["follow_up"], namespace["a"]
    assert follow_up.query.startswith("Where will IDSEA") and "Hefei" in follow_up.text
    assert "Chang’e 7:" in last.text and last.citations and not last.abstained


def test_make_targets_named_in_readme_exist():
    makefile = (PROJECT_ROOT / "Makefile").read_text(encoding="utf-8")
    targets = set(re.findall(r"^([a-z][\w-]*):", makefile, re.M))
    named = set(re.findall(r"`?make ([a-z][\w-]*)", README))
    assert named and named <= targets, named - targets


def test_dsqa_commands_named_in_readme_exist():
    named = set(re.findall(r"dsqa ([a-z]+)", README)) - {"is"}
    for command in named:
        result = subprocess.run(
            [sys.executable, str(PROJECT_ROOT / "cli.py"), command, "--help"],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 0, (command, result.stderr)


def test_every_setting_is_documented():
    from knowledge.settings import Settings

    for name in Settings.describe():
        assert f"| `{name}` | `DSQA_{name.upper()}` |" in README, name
