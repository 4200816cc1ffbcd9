"""Choosing the thresholds that apply once the reading model has read the window: the best SQuAD v2 F1
within the false-refusal bound, and no threshold for an outcome seen too rarely to choose on."""

from __future__ import annotations

import numpy as np

from training.reading_policy import BOUNDS, MAX_FALSE_REFUSALS, MIN_ROWS, NEVER, answered, fit, held_out_bound, scores


def row(
    confidence: float, status: str, impossible: bool, abstained: bool, f1: float = 1.0, not_stated: float | None = None
) -> dict:
    return {
        "confidence": confidence,
        "status": status,
        "impossible": impossible,
        "abstained": abstained,
        "f1": f1,
        "not_stated": not_stated,
    }


def test_the_fit_declines_more_where_the_model_found_no_verbatim_span_within_the_false_refusal_bound():
    rows = [row(0.2 + i / 100, "span", False, i < 5) for i in range(40)]  # answerable, mostly confident
    rows += [row(0.3 + i / 100, "not-verbatim", True, False, 0.0) for i in range(30)]  # unanswerable
    rows += [row(0.5 + i / 100, "not-verbatim", False, False) for i in range(10)]
    rows += [row(0.9, "not-stated", True, False, 0.0)] * (MIN_ROWS - 1)  # too rare to choose on
    before = scores(rows, answered(rows, {}))
    thresholds, cut = fit(rows)
    after = scores(rows, answered(rows, thresholds, cut))
    assert cut == NEVER  # no reply carried a "not stated" probability
    assert "not-stated" not in thresholds and set(thresholds) <= {"span", "not-verbatim"}
    assert after["f1"] > before["f1"] and after["declined"] > before["declined"]
    assert after["false_refusals"] <= MAX_FALSE_REFUSALS
    assert thresholds.get("span", 0.0) <= 0.2  # the confident spans are all answered, declines taken back


def test_with_no_better_choice_the_bots_own_decision_stands():
    rows = [row(0.5, "span", False, False, not_stated=0.01)] * MIN_ROWS
    assert fit(rows) == ({}, NEVER)


def test_the_models_not_stated_probability_declines_where_confidence_cannot_tell():
    # Answerable and unanswerable questions alike confident; the model gives "not stated" more weight on
    # the unanswerable ones, though it still names a span for every one of them.
    rows = [row(0.6, "span", False, False, 0.8, not_stated=i / 1000) for i in range(40)]
    rows += [row(0.6, "span", True, False, 0.0, not_stated=0.05 + i / 100) for i in range(30)]
    thresholds, cut = fit(rows)
    before, after = scores(rows, answered(rows, {})), scores(rows, answered(rows, thresholds, cut))
    assert 0.039 < cut <= 0.05 and after["declined"] == 1.0 and after["false_refusals"] == 0.0
    assert before["declined"] == 0.0 and after["f1"] > before["f1"]


def test_the_bound_is_the_loosest_whose_choices_hold_on_rows_they_were_not_chosen_on():
    separable = [row(0.6, "span", False, False, 0.8, not_stated=i / 1000) for i in range(40)]
    separable += [row(0.6, "span", True, False, 0.0, not_stated=0.05 + i / 100) for i in range(30)]
    assert held_out_bound(separable, echo=lambda _: None) == MAX_FALSE_REFUSALS
    # No signal tells the two kinds apart and answers score little, so a fit declines wherever its own rows
    # happen to allow: on the rows it was not chosen on, it refuses more than the bound.
    noise = np.random.default_rng(1)
    mixed = [
        row(float(noise.uniform()), "span", bool(i % 2), False, 0.3, not_stated=float(noise.uniform()))
        for i in range(200)
    ]
    assert held_out_bound(mixed, echo=lambda _: None) in BOUNDS[1:]
