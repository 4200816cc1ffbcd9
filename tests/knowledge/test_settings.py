"""knowledge/settings.py: every setting is validated; a bad one is one `SettingsError` line naming it."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from pathlib import Path

import pytest

from knowledge.settings import PROJECT_ROOT, Settings, SettingsError


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"DSQA_TOP_K": "abc"}, "DSQA_TOP_K=abc: input should be a valid integer"),
        ({"DSQA_TOP_K": "0"}, "DSQA_TOP_K=0: input should be greater than 0"),
        ({"DSQA_TOP_K": "-3"}, "DSQA_TOP_K=-3: input should be greater than 0"),
        ({"DSQA_TOP_K": "2.5"}, "DSQA_TOP_K=2.5"),
        ({"DSQA_ABSTAIN_BELOW": "high"}, "DSQA_ABSTAIN_BELOW=high: input should be a valid number"),
        ({"DSQA_ABSTAIN_BELOW": "nan"}, "DSQA_ABSTAIN_BELOW=nan: input should be a finite number"),
        ({"DSQA_ABSTAIN_BELOW": "inf"}, "DSQA_ABSTAIN_BELOW=inf"),
        ({"DSQA_ABSTAIN_BELOW": "1.5"}, "less than or equal to 1"),
        ({"DSQA_PROGRESS": "maybe"}, "DSQA_PROGRESS=maybe: input should be a valid boolean"),
        ({"DSQA_KNOWLEDGE_DIR": "/nonexistent/folder"}, "DSQA_KNOWLEDGE_DIR=/nonexistent/folder: no such folder"),
        ({"DSQA_INDEX_DIR": "/dev/null/x"}, "DSQA_INDEX_DIR=/dev/null/x: cannot be a folder: /dev/null is a file"),
        ({"DSQA_CHUNK_OVERLAP": "800"}, "must be smaller than chunk_size"),
        ({"DSQA_MAX_UPLOAD_MB": "0"}, "DSQA_MAX_UPLOAD_MB=0"),
        ({"DSQA_MODEL": ""}, "DSQA_MODEL="),
        ({"DSQA_BATCH_SIZE": "\x00"}, "DSQA_BATCH_SIZE=\\x00"),
    ],
)
def test_a_bad_variable_is_one_line_naming_it(env, message):
    with pytest.raises(SettingsError) as caught:
        Settings.from_env(env)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value) and isinstance(caught.value, ValueError)


def test_values_are_parsed_from_text_and_overrides_win():
    settings = Settings.from_env({"DSQA_TOP_K": " 7 ", "DSQA_PROGRESS": "off", "DSQA_INDEX_DIR": "~/idx"}, top_k=3)
    assert settings.top_k == 3 and settings.progress is False and settings.index_dir == Path.home() / "idx"
    assert Settings.from_env({"DSQA_ABSTAIN_BELOW": "0.5"}).abstain_below == 0.5


def test_constructor_and_copies_are_validated_too():
    with pytest.raises(SettingsError, match="top_k=0"):
        Settings(top_k=0)
    with pytest.raises(SettingsError, match="knowledge_dir=/no/such: no such folder"):
        dataclasses.replace(Settings(), knowledge_dir="/no/such")
    with pytest.raises(SettingsError, match="knowledge_dir=/no/such"):
        Settings.from_env({}, knowledge_dir="/no/such")  # an override is named as the setting
    with pytest.raises(SettingsError, match="bogus"):
        Settings.from_env({}, bogus=1)
    assert dataclasses.replace(Settings(), top_k="4").top_k == 4


def test_no_environment_is_read_at_import():
    """Importing everything with a bad variable set is fine; only building Settings from it fails."""
    code = (
        "import knowledge.settings, bot, cli, web.render, web.state\n"
        "try:\n    knowledge.settings.Settings.from_env()\n"
        "except knowledge.settings.SettingsError as e:\n    print('refused:', e)\n"
    )
    env = {**os.environ, "DSQA_TOP_K": "abc"}
    done = subprocess.run([sys.executable, "-c", code], cwd=PROJECT_ROOT, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("refused: DSQA_TOP_K=abc")
