"""Choosing the thresholds that apply once the reading model has read the window: the best SQuAD v2 F1
within the false-refusal bound, and no threshold for an outcome seen too rarely to choose on."""

from __future__ import annotations

from training.reading_policy import MAX_FALSE_REFUSALS, MIN_ROWS, answered, fit, scores


def row(confidence: float, status: str, impossible: bool, abstained: bool, f1: float = 1.0) -> dict:
    return {"confidence": confidence, "status": status, "impossible": impossible, "abstained": abstained, "f1": f1}


def test_the_fit_declines_more_where_the_model_found_no_verbatim_span_within_the_false_refusal_bound():
    rows = [row(0.2 + i / 100, "span", False, i < 5) for i in range(40)]  # answerable, mostly confident
    rows += [row(0.3 + i / 100, "not-verbatim", True, False, 0.0) for i in range(30)]  # unanswerable
    rows += [row(0.5 + i / 100, "not-verbatim", False, False) for i in range(10)]
    rows += [row(0.9, "not-stated", True, False, 0.0)] * (MIN_ROWS - 1)  # too rare to choose on
    before = scores(rows, answered(rows, {}))
    thresholds = fit(rows)
    after = scores(rows, answered(rows, thresholds))
    assert "not-stated" not in thresholds and set(thresholds) <= {"span", "not-verbatim"}
    assert after["f1"] > before["f1"] and after["declined"] > before["declined"]
    assert after["false_refusals"] <= MAX_FALSE_REFUSALS
    assert thresholds.get("span", 0.0) <= 0.2  # the confident spans are all answered, declines taken back


def test_with_no_better_choice_the_bots_own_decision_stands():
    rows = [row(0.5, "span", False, False)] * MIN_ROWS
    assert fit(rows) == {}
