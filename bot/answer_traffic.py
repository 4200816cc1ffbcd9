"""Questions before indexing: while questions are being answered, a sync's embedding pauses between small
slices, so a question never queues behind a large upload's embedding, only behind one slice at most.

`AnswerTraffic` counts the questions being answered; `AnswersFirst` is the embedder as a sync uses it.
What to sync and when is `bot/service.py`'s.
"""

from __future__ import annotations

import contextlib
import threading
import time


class AnswerTraffic:
    """The questions being answered now, and when the last one began.

    >>> traffic = AnswerTraffic()
    >>> with traffic.answering():
    ...     traffic.recently_asked()
    True
    """

    RECENT_S = 30.0  # a question within this many seconds means people are asking

    def __init__(self):
        self._answering = 0
        self._last_asked = float("-inf")  # time.monotonic() when the last question began
        self._done = threading.Condition()

    @contextlib.contextmanager
    def answering(self):
        """Counts one question as being answered while the block runs."""
        with self._done:
            self._answering += 1
            self._last_asked = time.monotonic()
        try:
            yield
        finally:
            with self._done:
                self._answering -= 1
                self._done.notify_all()

    def recently_asked(self) -> bool:
        """True while people are asking (a question in the last `RECENT_S` seconds)."""
        return time.monotonic() - self._last_asked < self.RECENT_S

    def wait_until_idle(self, limit: float) -> None:
        """Return when no question is being answered, or after `limit` seconds (a sync is never starved)."""
        with self._done:
            self._done.wait_for(lambda: self._answering == 0, timeout=limit)


class AnswersFirst:
    """The embedder as a sync uses it: texts in slices, and before each slice a pause (at most
    `MAX_PAUSE_S`) while questions are being answered. Slices are small (`SLICE`) while people are
    asking, large otherwise (`dsqa index`: small batches embed slower). A slice of 4 takes about
    45 ms on 2 cores, so a question arriving mid-slice shares the cores for that long at most. `name`,
    `dimension` and the rest pass through."""

    SLICE = 4
    IDLE_SLICE = 256
    MAX_PAUSE_S = 2.0

    def __init__(self, embedder, traffic: AnswerTraffic):
        self._embedder, self._traffic = embedder, traffic

    def __getattr__(self, name):
        return getattr(self._embedder, name)

    def encode(self, texts: list[str], progress: bool = False):
        import numpy as np

        parts, start = [], 0
        while start < len(texts):
            self._traffic.wait_until_idle(self.MAX_PAUSE_S)
            size = self.SLICE if self._traffic.recently_asked() else self.IDLE_SLICE
            parts.append(self._embedder.encode(texts[start : start + size]))
            start += size
        return np.concatenate(parts) if parts else self._embedder.encode([])
