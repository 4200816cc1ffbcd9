"""A sync's embedding yields to questions being answered (`bot/answer_traffic.py`)."""

from __future__ import annotations

import threading
import time

import numpy as np

from bot.answer_traffic import AnswersFirst, AnswerTraffic


class CountingEmbedder:
    """Records the size of each batch it embeds, and when."""

    dimension = 3

    def __init__(self):
        self.batches: list[tuple[int, float]] = []

    def encode(self, texts):
        self.batches.append((len(texts), time.monotonic()))
        return np.zeros((len(texts), self.dimension))


def test_embedding_is_in_small_slices_while_people_ask_and_large_ones_otherwise():
    traffic, quiet, asked = AnswerTraffic(), CountingEmbedder(), CountingEmbedder()
    texts = [f"text {n}" for n in range(300)]
    assert AnswersFirst(quiet, traffic).encode(texts).shape == (300, 3)
    assert [size for size, _ in quiet.batches] == [256, 44]
    with traffic.answering():
        pass
    assert AnswersFirst(asked, traffic).encode(texts[:10]).shape == (10, 3)
    assert [size for size, _ in asked.batches] == [4, 4, 2]
    assert AnswersFirst(asked, traffic).dimension == 3  # the rest passes through


def test_a_slice_waits_for_the_question_being_answered():
    traffic, embedder = AnswerTraffic(), CountingEmbedder()
    answered = threading.Event()

    def answer():
        with traffic.answering():
            answered.wait(5)
            finished.append(time.monotonic())  # the last moment of the answer

    finished: list[float] = []
    question = threading.Thread(target=answer)
    question.start()
    time.sleep(0.05)
    sync = threading.Thread(target=AnswersFirst(embedder, traffic).encode, args=(["a", "b"],))
    sync.start()
    time.sleep(0.2)
    assert embedder.batches == []  # no slice while the question is being answered
    answered.set()
    question.join()
    sync.join(5)
    assert embedder.batches and embedder.batches[0][1] >= finished[0]
