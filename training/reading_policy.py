"""Calibrate what the local reading model's outcome does to the answer-or-decline decision, and write
the thresholds to the policy file's `after_reading` and `not_stated_from` (`bot/policy.py`; used by
`bot.compose.AnswerComposer.reconsider`).

For each question of the calibration part of some shared QA files (split by article: `evals.squad.
article_part`; the report part is never read here), the bot answers as it does for users, the reading
model reads the decided window, and we keep the confidence, its scale, what the model said with its
probability of "not stated", and how good the answer would be if given. Per scale, the thresholds per
outcome ("span", "not-verbatim", "not-stated") and the "not stated" probability from which to decline
that together maximise SQuAD v2 F1 (a decline scores 1 on an unanswerable question, 0 on an answerable
one) with false refusals under a bound are written; an outcome seen too rarely to choose on keeps the
bot's own decision. The bound is the loosest for which choices made on part of the rows refuse at most
`MAX_FALSE_REFUSALS` of the rest (`held_out_bound`). Readings are cached per file, so a stopped run resumes.
`python -m training.reading_policy [--limit N]`
"""

from __future__ import annotations

import itertools
import json
import time
from dataclasses import dataclass, replace
from functools import partial

import numpy as np
import typer

from bot.compose import Scale
from bot.llm_reader import SpanStatus
from bot.pipeline import Asked
from evals.metrics import squad_scores, strip_markers
from evals.runner import temporary_bot
from evals.squad import article_part, contains_gold, load_squad, spread, write_knowledge
from knowledge.settings import PROJECT_ROOT, Settings, go_offline
from training.policy_file import update

QA = PROJECT_ROOT.parent / "shared" / "data" / "qa"
# (file, character F1, questions read): English with unanswerable questions for the reader's scale, and
# answerable English of other kinds (new Wikipedia articles, product reviews, Natural Questions), whose
# answers the model is less sure of than SQuAD's, so that no cut is chosen that refuses those;
# machine-translated Spanish (with unanswerable ones), Chinese and French for the sentences' scale.
FILES = (
    ("squad-v2-dev-27-articles.json", False, 300),
    ("squadshifts-new-wiki.json", False, 50),
    ("squadshifts-amazon-reviews.json", False, 50),
    ("nq-qed-dev.json", False, 50),
    ("es-squad-v2-dev-mt.json", False, 50),
    ("zh-cmrc2018-dev.json", True, 30),
    ("fr-piaf-train.json", False, 30),
)
CACHE = PROJECT_ROOT / ".cache" / "reading-policy"
MAX_FALSE_REFUSALS = 0.08  # as `training/calibrate.py`: the product promises ≤ 10% on unseen data
OUTCOMES = (SpanStatus.SPAN.value, SpanStatus.NOT_STATED.value, SpanStatus.NOT_VERBATIM.value)
NAN = float("nan")
MIN_ROWS = 20  # an outcome seen less often than this keeps the bot's own decision: too few to choose on
GRID = 41  # candidate thresholds per outcome: quantiles of the confidences
NEVER = 1.01  # a probability no reply reaches: the model's "not stated" probability declines nothing
FOLDS = 5  # cross-validation within the calibration rows, to bound false refusals on rows not chosen on
BOUNDS = (MAX_FALSE_REFUSALS, 0.06, 0.04, 0.02)  # false-refusal bounds `fit` may be held to, loosest first


def read_file(
    name: str, chars: bool, limit: int, read_s: float, model: str, echo=print, read: bool = True
) -> list[dict]:
    """At least `limit` rows of the file's calibration part, questions spread over it, read by the local
    reading `model` (cached in `CACHE`, every cached row kept; a rerun reads only what is missing;
    `read=False`: only the rows read so far)."""
    cache = CACHE / model / f"{name}.jsonl"
    done = {}
    if cache.exists():
        done = {row["id"]: row for row in map(json.loads, cache.read_text(encoding="utf-8").splitlines())}
    articles, questions = article_part(*load_squad(QA / name), "calibration")
    chosen = spread(questions, limit)
    todo = [q for q in chosen if q.id not in done][: max(0, limit - len(done))]
    if todo and read:
        overrides = {"reader": "llm", "reader_model": model, "reader_read_s": read_s}
        with temporary_bot(partial(write_knowledge, articles), "dsqa-policy-", overrides) as (bot, _, _):
            reader = bot.span_reader
            if reader is None or not reader.model.wait_loaded(300):
                raise SystemExit("the reading model is not available: run `make setup` first")
            cache.parent.mkdir(parents=True, exist_ok=True)
            with cache.open("a", encoding="utf-8") as out:
                began = time.perf_counter()
                for number, question in enumerate(todo, start=1):
                    row = read_question(bot, reader, question, chars)
                    done[row["id"]] = row
                    out.write(json.dumps(row, ensure_ascii=False) + "\n")
                    out.flush()
                    if number % 25 == 0:
                        echo(f"{name}: {number}/{len(todo)} in {time.perf_counter() - began:.0f} s")
    return list(done.values())


def read_question(bot, reader, question, chars: bool) -> dict:
    """What the bot decides on its own, what the reading model says, and the answer if it is given."""
    live = bot._live  # training reads the bot's parts directly: nothing here is a user-facing path
    answer, decided = bot.path.answer_in_full(Asked(question.question, [], live.index))
    row = {"id": question.id, "impossible": question.impossible, "abstained": answer.abstained, "scale": None}
    if decided is None:  # declined before reading (an instruction, an unclear reference): no threshold applies
        return row
    found = bot.path.read_window(decided, reader)
    given = bot.path.settle(answer, decided, found, replace(decided.verdict, reason=None))
    prediction = given.short_answer or strip_markers(given.text)
    _, f1 = squad_scores(question.answers, prediction, chars) if not question.impossible else (0, 0.0)
    contains = not question.impossible and contains_gold(question.answers, strip_markers(given.text), chars)
    return {
        **row,
        "scale": decided.verdict.scale.value,
        "confidence": decided.verdict.confidence,
        "status": found.status.value,
        "not_stated": found.not_stated,
        "f1": f1,
        "contains": contains,
        "read_ms": found.ms,
    }


@dataclass(frozen=True)
class Table:
    """The rows' fields as arrays, so that many decisions over the same rows are quick to score."""

    confidence: np.ndarray
    status: np.ndarray
    abstained: np.ndarray  # the bot's own decision
    not_stated: np.ndarray  # 0 where the reply carried no probability
    impossible: np.ndarray
    f1: np.ndarray

    @classmethod
    def of(cls, rows: list[dict]) -> Table:
        return cls(
            np.asarray([r["confidence"] for r in rows], dtype=float),
            np.asarray([r["status"] for r in rows]),
            np.asarray([r["abstained"] for r in rows], dtype=bool),
            np.asarray([r.get("not_stated") or 0.0 for r in rows], dtype=float),
            np.asarray([r["impossible"] for r in rows], dtype=bool),
            np.asarray([r["f1"] for r in rows], dtype=float),
        )

    def answered(self, thresholds: dict[str, float], not_stated_from: float = NEVER) -> np.ndarray:
        """Whether each row is answered when the outcomes in `thresholds` use those and others keep the bot's
        own decision, and (with `not_stated_from`) none is where the model's "not stated" probability reaches it."""
        given = ~self.abstained
        for outcome, threshold in thresholds.items():
            at = self.status == outcome
            given = np.where(at, self.confidence >= threshold, given)
        return given & (self.not_stated < not_stated_from)

    def scores(self, given: np.ndarray) -> dict[str, float]:
        """SQuAD v2 F1, unanswerable declined and false refusals of one decision over the rows."""
        impossible, f1 = self.impossible, self.f1
        per_question = np.where(impossible, ~given, np.where(given, f1, 0.0))
        return {
            "f1": float(per_question.mean()),
            "f1_answerable": float(np.where(given, f1, 0.0)[~impossible].mean()) if (~impossible).any() else NAN,
            "declined": float((~given)[impossible].mean()) if impossible.any() else NAN,
            "false_refusals": float((~given)[~impossible].mean()) if (~impossible).any() else NAN,
        }


def answered(rows: list[dict], thresholds: dict[str, float], not_stated_from: float = NEVER) -> np.ndarray:
    """`Table.answered` over `rows`."""
    return Table.of(rows).answered(thresholds, not_stated_from)


def scores(rows: list[dict], given: np.ndarray) -> dict[str, float]:
    """`Table.scores` over `rows`."""
    return Table.of(rows).scores(given)


def fit(rows: list[dict], bound: float = MAX_FALSE_REFUSALS) -> tuple[dict[str, float], float]:
    """The thresholds, for each outcome seen at least `MIN_ROWS` times, and the "not stated" probability
    from which to decline (`NEVER`: none reaches it), that maximise SQuAD v2 F1 with false refusals ≤
    `bound` (the bot's own decision, with neither, is one of the choices); when no choice is within the
    bound, the one that refuses fewest."""
    outcomes = [o for o in OUTCOMES if sum(r["status"] == o for r in rows) >= MIN_ROWS]
    table = Table.of(rows)
    grid = sorted({0.0, 1.01, *np.quantile(table.confidence, np.linspace(0, 1, GRID)).tolist()})
    probabilities = [r["not_stated"] for r in rows if r.get("not_stated") is not None]
    quantiles = np.quantile(probabilities, np.linspace(0, 1, GRID)).tolist() if probabilities else []
    cuts = [NEVER, *sorted(set(quantiles))]

    def merit(decision: np.ndarray) -> tuple[bool, float]:  # within the bound, F1; else fewer refusals first
        result = table.scores(decision)
        refused = 0.0 if np.isnan(result["false_refusals"]) else result["false_refusals"]
        return (True, result["f1"]) if refused <= bound else (False, -refused)

    best, chosen = merit(table.answered({})), ({}, NEVER)  # the bot's own decision, unless a choice does better
    for values in itertools.product(grid, repeat=len(outcomes)):
        thresholds = dict(zip(outcomes, values, strict=True))
        for cut in cuts:
            result = merit(table.answered(thresholds, cut))
            if result > best:
                best, chosen = result, (thresholds, cut)
    return chosen


def held_out_bound(rows: list[dict], echo=print) -> float:
    """The loosest false-refusal bound for `fit` whose choices refuse at most `MAX_FALSE_REFUSALS` of the
    answerable questions they were not chosen on (`FOLDS`-fold cross-validation within the calibration
    rows): thresholds and a cut chosen together on a few hundred rows refuse more on new questions than
    on their own."""
    fold = np.random.default_rng(0).permutation(len(rows)) % FOLDS
    for bound in BOUNDS:
        refused = []
        for k in range(FOLDS):
            thresholds, cut = fit([r for r, f in zip(rows, fold, strict=True) if f != k], bound)
            unseen = [r for r, f in zip(rows, fold, strict=True) if f == k]
            given = answered(unseen, thresholds, cut)
            refused += [not g for g, r in zip(given, unseen, strict=True) if not r["impossible"]]
        echo(f"bound {bound:.2f}: {np.mean(refused) if refused else 0.0:.3f} refused on the rows not chosen on")
        if not refused or np.mean(refused) <= MAX_FALSE_REFUSALS:
            return bound
    return BOUNDS[-1]  # none within it: the tightest


def main(
    limit: int = typer.Option(0, help="Questions per file (0: each file's own number)."),
    read_s: float = typer.Option(120.0, help="Seconds a reading may take (calibration measures outcomes, not speed)."),
    read: bool = typer.Option(True, help="Read the questions not read yet; --no-read fits on the rows read so far."),
):
    """Read the calibration parts, fit the thresholds per scale, and write them to the policy file."""
    go_offline()
    model = Settings.from_env().reader_model
    rows_by_scale: dict[str, list[dict]] = {}
    read_rows = {}
    for name, chars, count in FILES:
        rows = read_rows[name] = read_file(name, chars, limit or count, read_s, model, read=read)
        for row in rows:
            if row["scale"] is not None:
                rows_by_scale.setdefault(row["scale"], []).append(row)
    thresholds, cuts, report = {}, {}, {}
    for scale in (Scale.READER.value, Scale.SENTENCES.value):
        rows = rows_by_scale.get(scale, [])
        if not rows:
            continue
        bound = held_out_bound(rows)
        thresholds[scale], cuts[scale] = fit(rows, bound)
        report[scale] = {
            "questions": len(rows),
            "before": scores(rows, answered(rows, {})),
            "after": scores(rows, answered(rows, thresholds[scale], cuts[scale])),
            "not_stated_from": cuts[scale],
            "false_refusal_bound": bound,
            "outcomes": {s: sum(r["status"] == s for r in rows) for s in {r["status"] for r in rows}},
        }
        print(scale, json.dumps(report[scale], indent=1))
    files = ", ".join(f"{name} ({sum(r['scale'] is not None for r in read_rows[name])} q)" for name in read_rows)
    update(
        {"after_reading": thresholds, "not_stated_from": cuts, "reading_model": model},
        f"training/reading_policy.py: the {model} model's readings of the calibration parts of {files}",
    )


if __name__ == "__main__":
    typer.run(main)
