"""bot/llm/prompts.py: the prompts, snapshot-tested (UPDATE_SNAPSHOTS=1 rewrites the snapshots)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from bot.llm import prompts
from bot.stages import Role, Turn
from bot.types import RetrievedChunk

SNAPSHOTS = Path(__file__).parent / "snapshots"
PASSAGES = [
    RetrievedChunk(
        "a:0", "a", "Bridges of the city", "The bridge opened to traffic in 1932.", 0, 37, 1.0, "2025-01-01"
    ),
    RetrievedChunk("b:3", "b", "Museums", "A museum opened beside it in 1990.", 120, 154, 0.5),
]
HISTORY = [Turn(Role.USER, "When did the bridge open?"), Turn(Role.ASSISTANT, "The bridge opened in 1932. [1]")]


def rendered(messages) -> str:
    return "\n\n".join(f"=== {role}\n{content}" for role, content in messages) + "\n"


@pytest.mark.parametrize(
    ("name", "messages"),
    [
        ("answer-json", prompts.answer_messages("When did the bridge open?", PASSAGES, structured=True)),
        ("answer-markers", prompts.answer_messages("When did the bridge open?", PASSAGES, structured=False)),
        ("condense", prompts.condense_messages("Who designed it?", HISTORY)),
        (
            "read",
            [(m["role"], m["content"]) for m in prompts.read_messages("Who built it?", [p.text for p in PASSAGES])],
        ),
        ("standalone", [(m["role"], m["content"]) for m in prompts.standalone_messages("Who designed it?", HISTORY)]),
    ],
)
def test_prompt_snapshot(name, messages):
    path = SNAPSHOTS / f"{name}.txt"
    if os.environ.get("UPDATE_SNAPSHOTS"):
        path.write_text(rendered(messages), encoding="utf-8")
    assert rendered(messages) == path.read_text(encoding="utf-8")


def test_the_schema_is_valid_json_schema_for_the_example_in_the_prompt():
    example = prompts.FORMAT_JSON.rpartition("is answered ")[2]
    answer = json.loads(example)
    item = answer["sentences"][0]
    assert set(item) == set(prompts.ANSWER_SCHEMA["properties"]["sentences"]["items"]["required"])


def test_condensing_keeps_only_the_last_turns():
    many = [Turn(Role.USER, f"question {n}") for n in range(20)]
    text = prompts.condense_messages("And then?", many)[1][1]
    assert "question 19" in text and "question 13" not in text
