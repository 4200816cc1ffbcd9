"""bot/compose.py: one calibrated score decides, with its own threshold for follow-ups that lean on the history."""

from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np

from bot.compose import CALIBRATION_FEATURES, AnswerComposer, Scale, Verdict
from bot.policy import Policy
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
    chosen = AnswerComposer.bundled(Policy.bundled().overridden(0.4))
    assert chosen.with_reader[1] == chosen.sentences_only[1] == chosen.follow_up_threshold == 0.4
    assert chosen.after_reading == {} and chosen.not_stated_from == {}  # set by hand: whatever the model says


def test_what_the_reading_model_says_counts_only_for_the_model_the_policy_was_calibrated_with():
    policy = Policy.bundled()
    assert policy.reading_model == "1.5b" and policy.not_stated_from and policy.read_by("1.5b") is policy
    other = policy.read_by("0.5b")  # another model's probabilities mean something else
    assert other.after_reading == {} and other.not_stated_from == {} and other.answer == policy.answer


def test_what_the_reading_model_said_moves_only_the_threshold_for_that_outcome():
    composer = AnswerComposer(
        (constant(0.1), 0.5), (constant(0.1), 0.5), after_reading={Scale.READER: {"span": 0.3, "not-stated": 0.9}}
    )
    declined = Verdict(0.4, READING, AbstainReason.FALSE_PREMISE, Scale.READER)
    answered = Verdict(0.6, READING, None, Scale.READER)
    assert composer.reconsider(declined, "span").reason is None  # 0.4 clears the span threshold
    assert composer.reconsider(answered, "not-stated").reason is AbstainReason.NOT_STATED
    assert composer.reconsider(declined, "not-stated").reason is AbstainReason.FALSE_PREMISE  # its own reason kept
    assert composer.reconsider(answered, "no-reply") is answered  # no threshold for it: the decision stands
    other_scale = Verdict(0.4, READING, AbstainReason.NOT_STATED, Scale.SENTENCES)
    assert composer.reconsider(other_scale, "span") is other_scale  # none calibrated for its scale


def test_the_models_not_stated_probability_declines_from_its_calibrated_cut_on_its_scale_only():
    composer = AnswerComposer((constant(0.1), 0.5), (constant(0.1), 0.5), not_stated_from={Scale.READER: 0.02})
    answered = Verdict(0.9, READING, None, Scale.READER)
    assert composer.reconsider(answered, "span", 0.05).reason is AbstainReason.NOT_STATED  # however confident
    assert composer.reconsider(answered, "span", 0.01) is answered
    assert composer.reconsider(answered, "span", None) is answered  # a reply without token probabilities
    declined = Verdict(0.3, READING, AbstainReason.FALSE_PREMISE, Scale.READER)
    assert composer.reconsider(declined, "span", 0.05).reason is AbstainReason.FALSE_PREMISE
    other_scale = Verdict(0.9, READING, None, Scale.SENTENCES)
    assert composer.reconsider(other_scale, "span", 0.5) is other_scale
