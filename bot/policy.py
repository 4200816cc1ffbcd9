"""Every threshold the answer path decides with, from one file: `bot/models/policy.json`, which
`make train` writes from the calibration splits (each training step its own entries, through
`training/policy_file.py`). `Settings.abstain_below` may override the answer thresholds.

The decisions that use them are `bot/compose.py`'s; what the scores mean is the models' (`bot/rank.py`,
`bot/reader.py`, the calibrators). Nothing here decides.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

from bot.rank import MODELS_DIR

POLICY_FILE = MODELS_DIR / "policy.json"


@dataclass(frozen=True)
class Policy:
    """The thresholds, by what they gate.

    >>> Policy.bundled().answer["reader"]  # doctest: +SKIP
    0.108
    """

    # Per scale (`bot.compose.Scale`: "reader", "sentences", "follow-up"): the calibrated confidence an
    # answer needs (`training/calibrate.py`, `training/conversation.py`).
    answer: Mapping[str, float]
    # Per scale, per outcome of the local reading model ("span", "not-stated", "not-verbatim"): the
    # threshold once it has read the window (`training/reading_policy.py`); an outcome not listed keeps
    # the answer threshold's decision.
    after_reading: Mapping[str, Mapping[str, float]] = field(default_factory=dict)
    # Per scale: the reading model's own probability of "not stated" (`bot.llm_reader.SpanReading.
    # not_stated`) from which a question is declined once it has read, whatever the threshold above says
    # (`training/reading_policy.py`); a scale not listed never declines on it.
    not_stated_from: Mapping[str, float] = field(default_factory=dict)
    # The local reading model (`Settings.reader_model`) the two entries above were calibrated with: another
    # model's replies mean something else, so with it they move nothing (`read_by`).
    reading_model: str = ""
    # The extractive reader's span leads the answer from this margin over no answer (`training/calibrate.py`).
    lead_margin: float = float("inf")
    # The extractive reader stands by its span from this margin over no answer (`training/reader_eval.py`).
    reader_null_threshold: float = 0.0
    # A follow-up's question alone wins over its readings with the conversation (a topic switch) when
    # retrieval is surer of it by this much (`training/conversation.py`).
    switch_margin: float = 0.0

    @classmethod
    def bundled(cls, path: Path = POLICY_FILE) -> Policy:
        """The policy `make train` wrote (keys other than the fields, such as notes, are ignored)."""
        raw = json.loads(Path(path).read_text(encoding="utf-8"))
        return cls(**{f.name: raw[f.name] for f in fields(cls) if f.name in raw})

    def overridden(self, abstain_below: float | None) -> Policy:
        """With a threshold set by hand: that one for every answer, and the reading model's outcome moves
        nothing; None: this policy."""
        if abstain_below is None:
            return self
        return replace(self, answer=dict.fromkeys(self.answer, abstain_below), after_reading={}, not_stated_from={})

    def read_by(self, reading_model: str) -> Policy:
        """This policy for answers read by `reading_model`: what that model says moves the decision only
        when it is the model the policy was calibrated with.

        >>> Policy({"reader": 0.1}, {"reader": {"span": 0.0}}, {"reader": 0.02}, reading_model="1.5b").read_by("0.5b").after_reading
        {}
        """
        if reading_model == self.reading_model:
            return self
        return replace(self, after_reading={}, not_stated_from={})
