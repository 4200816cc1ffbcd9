"""Calibrate the topic-switch margin (`bot/models/conversation.json`): how much surer retrieval must be
of a follow-up asked on its own, anywhere, than of its readings within the conversation's article,
before the bot leaves that article.

Chosen by playing the CoQA sample's even-numbered stories (the calibration half) at each margin and
keeping the one whose answers most often contain the gold answer; the odd-numbered half is printed
beside it, never used to choose. `python -m evals.training.conversation`
"""

from __future__ import annotations

import json
from functools import partial

from bot.rank import MODELS
from evals.coqa import HistoryMode, load_coqa, play, spread_runs, summarise_coqa, write_stories
from evals.runner import temporary_bot
from evals.training.corpus import SHARED

COQA_FILE = SHARED / "coqa-dev-sample.json"
MARGINS = (0.0, 0.1, 0.2, 0.3, 0.5, 1.0)


def main() -> None:
    stories = load_coqa(COQA_FILE)
    halves = {"calibration": stories[0::2], "other half": stories[1::2]}
    with temporary_bot(partial(write_stories, stories), "dsqa-calibrate-") as (bot, _knowledge, _seconds):
        by_file = {a.metadata.get("file"): a for a in bot.articles()}
        articles = {s.id: by_file[s.file_name] for s in stories}
        scores: dict[float, dict[str, float]] = {}
        for margin in MARGINS:
            bot._switch_margin = margin
            scores[margin] = {}
            for name, half in halves.items():
                rows = play(bot, spread_runs(half, None), articles, HistoryMode.CONVERSATION)
                scores[margin][name] = round(summarise_coqa(rows)["overall"]["contains_gold"]["value"], 3)
            print(f"switch margin {margin}: gold contained {scores[margin]}")
    chosen = max(MARGINS, key=lambda m: (scores[m]["calibration"], -m))
    body = {
        "switch_margin": chosen,
        "trained_on": "CoQA sample, even-numbered stories; gold contained per margin (other half for reference)",
        "scores": {str(m): s for m, s in scores.items()},
    }
    (MODELS / "conversation.json").write_text(json.dumps(body, indent=1) + "\n", encoding="utf-8")
    print("chosen:", chosen)


if __name__ == "__main__":
    main()
