"""Calibrate the conversation (the policy file, `bot/policy.py`: `answer["follow-up"]`, `switch_margin`):

- the follow-up threshold: the decline threshold for a follow-up that cannot stand alone ("What
  year?", "Who was he?": `bot.analyze.refers_back`), the highest that keeps false refusals of such
  answerable turns at or under `MAX_FALSE_REFUSALS` (as for single questions on SQuAD,
  `training/calibrate.py`): they score far lower than stand-alone questions, so the
  single-question threshold refuses half of them. A question that stands alone keeps the single
  question's threshold in a conversation too (CoQA has no off-topic turns to calibrate it on);
- the topic-switch margin: how much surer retrieval must be of a follow-up asked on its own, anywhere,
  than of its readings within the conversation's article, before the bot leaves that article (the
  margin whose answers most often contain the gold answer).

Both are chosen by playing the CoQA sample's even-numbered stories (the calibration half); the
odd-numbered half is printed beside them, never used to choose. `python -m training.conversation`
"""

from __future__ import annotations

from functools import partial

import numpy as np

from bot.analyze import refers_back
from evals.coqa import HistoryMode, load_coqa, play, spread_runs, summarise_coqa, write_stories
from evals.runner import temporary_bot
from training.calibrate import MAX_FALSE_REFUSALS
from training.corpus import SHARED
from training.policy_file import update

COQA_FILE = SHARED / "coqa-dev-sample.json"
MARGINS = (0.0, 0.1, 0.2, 0.3, 0.5, 1.0)


def follow_up_threshold(rows: list[dict]) -> float:
    """The highest threshold that refuses at most `MAX_FALSE_REFUSALS` of the answerable turns that
    lean on the history."""
    scores = sorted(r["confidence"] for r in rows if not r["unanswerable"] and refers_back(r["question"], "en"))
    return float(scores[int(MAX_FALSE_REFUSALS * len(scores))])


def main() -> None:
    stories = load_coqa(COQA_FILE)
    halves = {"calibration": stories[0::2], "other half": stories[1::2]}
    with temporary_bot(partial(write_stories, stories), "dsqa-calibrate-") as (bot, _knowledge, _seconds):
        by_file = {a.metadata.get("file"): a for a in bot.articles()}
        articles = {s.id: by_file[s.file_name] for s in stories}
        path = bot.path

        def played(name: str) -> tuple[list[dict], dict]:
            rows = play(bot, spread_runs(halves[name], None), articles, HistoryMode.CONVERSATION)
            overall = summarise_coqa(rows)["overall"]
            return rows, {k: round(overall[k]["value"], 3) for k in ("contains_gold", "false_refusal_rate")}

        rows, before = played("calibration")
        threshold = follow_up_threshold(rows)
        path.composer.follow_up_threshold = threshold
        print(f"follow-up threshold {threshold:.4f} (with the thresholds bundled before: {before})")
        scores: dict[float, dict[str, dict]] = {}
        for margin in MARGINS:
            path.switch_margin = margin
            scores[margin] = {name: played(name)[1] for name in halves}
            print(f"switch margin {margin}: {scores[margin]}")
    chosen = max(MARGINS, key=lambda m: (scores[m]["calibration"]["contains_gold"], -m))
    print("median answerable confidence:", round(float(np.median([r["confidence"] for r in rows])), 4))
    about = "training/conversation.py: CoQA sample, even-numbered stories (the other half printed, never used)"
    update({"answer": {"follow-up": round(threshold, 4)}, "switch_margin": chosen}, about)
    print("chosen:", chosen)


if __name__ == "__main__":
    main()
