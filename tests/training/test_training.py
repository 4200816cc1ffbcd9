"""training and evals/rule_lines: the labels the models learn from, and the rule-line count."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from bot.compose import CALIBRATION_FEATURES, Scale
from bot.llm_reader import SpanStatus
from bot.policy import POLICY_FILE, Policy
from bot.rank import FEATURES, MODELS_DIR, LinearModel
from bot.stages import AnswerType
from evals.rule_lines import rule_lines
from training.analysis import answer_type
from training.calibrate import decisions
from training.corpus import GoldQuestion


@pytest.mark.parametrize(
    ("gold", "kind"),
    [
        ("1066", AnswerType.DATE),
        ("10 March 2004", AnswerType.DATE),
        ("about 3,000", AnswerType.NUMBER),
        ("Duke of Normandy", AnswerType.NAME),
        ("to protect their trade routes", AnswerType.DESCRIPTION),
    ],
)
def test_answer_types_are_read_off_the_gold_answer(gold, kind):
    assert answer_type(gold) is kind


def test_decisions_count_declines_refusals_and_right_answers():
    model = LinearModel(("x",), np.zeros(1), np.ones(1), np.ones(1), 0.0)  # probability = sigmoid(x)
    answerable = GoldQuestion("a", "q", "art", "T", ((0, 3),), ("abc",))
    impossible = GoldQuestion("b", "q", "art", "T", (), ())
    rows = [
        (answerable, np.array([[3.0], [-3.0]]), np.array([True, False])),  # answered, right
        (answerable, np.array([[-3.0]]), np.array([True])),  # refused
        (impossible, np.array([[-3.0]]), np.array([False])),  # declined
    ]
    assert decisions(model, rows, threshold=0.5) == {
        "unanswerable_declined": 1.0,
        "false_refusals": 0.5,
        "answerable_right": 0.5,
    }


def test_shipped_models_match_the_code():
    ranker = json.loads((MODELS_DIR / "ranker.json").read_text(encoding="utf-8"))
    assert tuple(ranker["names"]) == FEATURES and ranker["scores"]["dev_sample"]["hit_at_1"] > 0
    for name in ("calibrator.json", "calibrator-sentences.json"):
        calibrator = json.loads((MODELS_DIR / name).read_text(encoding="utf-8"))
        assert tuple(calibrator["names"]) == CALIBRATION_FEATURES and "threshold" not in calibrator  # the policy's


def test_every_threshold_comes_from_the_one_policy_file():
    policy = Policy.bundled()
    assert set(policy.answer) == {s.value for s in Scale} and all(0 < t < 1 for t in policy.answer.values())
    assert set(policy.after_reading) <= {s.value for s in Scale}
    assert all(o in {s.value for s in SpanStatus} for ts in policy.after_reading.values() for o in ts)
    fields = {f.name for f in dataclasses.fields(Policy)}
    written = json.loads(POLICY_FILE.read_text(encoding="utf-8"))
    assert set(written) - {"notes"} == fields and set(written["notes"]) >= {"lead_margin", "switch_margin"}
    set_by_hand = policy.overridden(0.4)
    assert set(set_by_hand.answer.values()) == {0.4} and set_by_hand.after_reading == {}


def test_rule_lines_count_patterns_and_word_lists_not_messages():
    source = """
import re
PATTERN = re.compile(
    r"a|b"
)
WORDS = {"alpha", "beta", "gamma"}
MESSAGE = {"en": "I can't find that in the articles.", "fr": "Je ne trouve pas cela ici.", "de": "Das finde ich nicht."}
__all__ = ["a", "b", "c"]
x = 1
"""
    rules, code = rule_lines(source)
    assert (rules, code) == (4, 8)  # the pattern (3 lines) and the word set; 8 code lines in all
