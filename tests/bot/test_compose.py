"""bot/compose.py: one calibrated score decides, with its own threshold for follow-ups that lean on the history."""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np

from bot.compose import CALIBRATION_FEATURES, AnswerComposer
from bot.rank import FEATURES, Candidate, LinearModel
from bot.read import Reading
from bot.types import AbstainReason


def constant(probability: float) -> LinearModel:
    """A calibrator that gives every reading the same probability."""
    n = len(CALIBRATION_FEATURES)
    return LinearModel(
        CALIBRATION_FEATURES, np.zeros(n), np.ones(n), np.zeros(n), math.log(probability / (1 - probability))
    )


INDEX = SimpleNamespace(sentence_tokens=[frozenset({"probe"})], idf={"probe": 1.0}, acronyms={}, vocabulary={"probe"})
READING = Reading(Candidate(0, 0.2, tuple([0.5] * len(FEATURES))), (0,), 0, 5, span_score=1.0, null_score=2.0)


def test_a_follow_up_that_leans_on_the_history_is_held_to_the_follow_up_threshold():
    composer = AnswerComposer((constant(0.1), 0.5), (constant(0.1), 0.5), follow_up_threshold=0.05)
    alone = composer.decide([READING], "what probe", [], INDEX, frozenset())
    followed = composer.decide([READING], "what probe", [], INDEX, frozenset(), leans_on_history=True)
    assert isinstance(alone.reason, AbstainReason) and followed.reason is None
    assert math.isclose(alone.confidence, 0.1) and followed.reading is READING


def test_without_a_reader_the_sentence_threshold_holds_in_a_conversation_too():
    spanless = Reading(READING.candidate, (0,), 0, 0)  # a language the reader did not learn
    composer = AnswerComposer((constant(0.1), 0.5), (constant(0.1), 0.5), follow_up_threshold=0.05)
    assert composer.decide([spanless], "what probe", [], INDEX, frozenset(), leans_on_history=True).reason is not None


def test_the_bundled_follow_up_threshold_is_calibrated_and_a_set_threshold_applies_to_both():
    bundled = AnswerComposer.bundled()
    assert bundled.follow_up_threshold is not None and bundled.follow_up_threshold < bundled.with_reader[1]
    chosen = AnswerComposer.bundled(0.4)
    assert chosen.with_reader[1] == chosen.follow_up_threshold == 0.4
