"""Data for the extractive reader, shared by its training (`reader.py`) and its measurement
(`reader_eval.py`): SQuAD 2.0 paragraphs cut into sentence windows like the ones the engine reads,
training examples (answer spans, null windows, entity-swapped questions) and the scores reported.

No torch here: the evaluation runs the ONNX reader. Nothing is keyed to particular texts.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bot.reader import Reader, SpanPrediction
from evals.metrics import normalize_answer, squad_scores
from index.chunking import split_into_sentences
from knowledge.settings import PROJECT_ROOT

DATA_DIR = PROJECT_ROOT.parent / "shared" / "data"
EMBEDDING_CACHE = PROJECT_ROOT / ".cache" / "reader-training"
TRAIN_FILE = DATA_DIR / "squad-v2-train-sample.json"
DEV_FILE = DATA_DIR / "squad-v2-dev-sample.json"
# Model selection and the null threshold use these train-sample articles, never the dev sample.
HELD_OUT_TITLES = ("The_Legend_of_Zelda:_Twilight_Princess", "Solar_energy")
NAME = re.compile(r"\b[A-Z][\w'’.-]*(?:\s+[A-Z][\w'’.-]*)*")  # runs of capitalised words
NUMBER = re.compile(r"\b\d+(?:[.,]\d+)*\b")


@dataclass(frozen=True)
class Paragraph:
    title: str
    text: str
    sentences: tuple[tuple[int, int], ...]  # (start, end) char spans from index.chunking

    def window(self, first: int, last: int) -> tuple[str, int]:
        """Text of sentences first..last (inclusive) and its char offset in the paragraph."""
        start, end = self.sentences[first][0], self.sentences[last][1]
        return self.text[start:end], start

    def sentence_at(self, char: int) -> int:
        return max(i for i, (s, _) in enumerate(self.sentences) if s <= char) if char >= 0 else 0


@dataclass(frozen=True)
class Question:
    id: str
    text: str
    answers: tuple[str, ...]  # every gold answer text; empty when impossible
    start: int  # char span of the first gold answer in its paragraph; -1 when impossible
    end: int
    paragraph: int  # index into the paragraph list

    @property
    def impossible(self) -> bool:
        return self.start < 0


@dataclass(frozen=True)
class Example:
    """A training pair; `start == end == -1` marks the null (no answer in this window)."""

    question: str
    window: str
    start: int = -1
    end: int = -1
    kind: str = "null"


def load_squad(path: Path, titles: Sequence[str] | None = None, exclude: Sequence[str] = ()):
    """(paragraphs, questions) of a SQuAD 2.0 file, keeping only `titles` (all if None) minus `exclude`."""
    paragraphs, questions = [], []
    for article in json.loads(Path(path).read_text(encoding="utf-8"))["data"]:
        if (titles is not None and article["title"] not in titles) or article["title"] in exclude:
            continue
        for p in article["paragraphs"]:
            paragraphs.append(Paragraph(article["title"], p["context"], tuple(split_into_sentences(p["context"]))))
            for qa in p["qas"]:
                gold = qa["answers"][0] if qa["answers"] and not qa.get("is_impossible") else None
                span = (gold["answer_start"], gold["answer_start"] + len(gold["text"])) if gold else (-1, -1)
                answers = tuple(a["text"] for a in qa["answers"]) if gold else ()
                questions.append(Question(qa["id"], qa["question"], answers, *span, len(paragraphs) - 1))
    return paragraphs, questions


def answer_sentences(paragraph: Paragraph, question: Question) -> tuple[int, int]:
    return paragraph.sentence_at(question.start), paragraph.sentence_at(question.end - 1)


def oracle_window(paragraph: Paragraph, question: Question) -> str:
    """The sentence(s) holding the gold answer plus the sentence before."""
    first, last = answer_sentences(paragraph, question)
    return paragraph.window(max(0, first - 1), last)[0]


def embed_all(embedder, paragraphs, questions) -> tuple[list[np.ndarray], np.ndarray]:
    """Normalised vectors of every sentence (per paragraph) and of every question (bundled model)."""
    texts = [p.text[s:e] for p in paragraphs for s, e in p.sentences]
    flat = embedder.encode(texts, progress=True)
    vectors, at = [], 0
    for p in paragraphs:
        vectors.append(flat[at : at + len(p.sentences)])
        at += len(p.sentences)
    return vectors, embedder.encode([q.text for q in questions], progress=True)


def cached_embeddings(name: str, paragraphs, questions, embedder):
    """Sentence and question vectors, cached in `.cache/` by a hash of the texts (they take minutes)."""
    digest = hashlib.sha256(json.dumps([[p.text for p in paragraphs], [q.text for q in questions]]).encode())
    path = EMBEDDING_CACHE / f"{name}-{digest.hexdigest()[:16]}.npz"
    if path.exists():
        data = np.load(path)
        return [data[f"p{i}"] for i in range(len(paragraphs))], data["questions"]
    sentence_vectors, question_vectors = embed_all(embedder(), paragraphs, questions)
    EMBEDDING_CACHE.mkdir(parents=True, exist_ok=True)
    np.savez(path, questions=question_vectors, **{f"p{i}": v for i, v in enumerate(sentence_vectors)})
    return sentence_vectors, question_vectors


def retrieved_windows(paragraph: Paragraph, sentence_vectors: np.ndarray, question_vector, k: int = 3):
    """The k sentences most similar to the question, each with its previous sentence: what the engine reads."""
    order = np.argsort(-(sentence_vectors @ question_vector), kind="stable")[:k]
    return [paragraph.window(max(0, int(i) - 1), int(i))[0] for i in order]


def swapped_question(question: str, window: str, pool: dict, rng: random.Random) -> str | None:
    """The question with one name or number that the window mentions replaced by another of the same
    shape from the corpus that the window does not mention: same topic, one detail changed, unanswerable."""
    found = [(m, "name") for m in NAME.finditer(question) if m.start() > 0]
    found += [(m, "number") for m in NUMBER.finditer(question)]
    found = [(m, kind) for m, kind in found if m.group().casefold() in window.casefold()]
    if not found:
        return None
    match, kind = rng.choice(found)
    shape = (kind, len(match.group().split()) if kind == "name" else len(match.group()))
    options = [o for o in pool.get(shape, ()) if o.casefold() not in window.casefold()]
    if not options:
        return None
    return question[: match.start()] + rng.choice(options) + question[match.end() :]


def entity_pool(paragraphs: Sequence[Paragraph]) -> dict[tuple[str, int], list[str]]:
    """Names (not sentence-initial) and numbers of the training paragraphs, grouped by shape."""
    pool: dict[tuple[str, int], set[str]] = {}
    for p in paragraphs:
        for s, e in p.sentences:
            sentence = p.text[s:e]
            for m in NAME.finditer(sentence):
                if m.start() > 0:
                    pool.setdefault(("name", len(m.group().split())), set()).add(m.group())
            for m in NUMBER.finditer(sentence):
                pool.setdefault(("number", len(m.group())), set()).add(m.group())
    return {shape: sorted(values) for shape, values in pool.items()}


def training_examples(paragraphs, questions, sentence_vectors, question_vectors, fits, seed: int = 13):
    """Answer windows (1–3 sentences holding the answer), the most question-like windows of the same
    article that lack it, the unanswerable questions' windows, and entity-swapped questions: all null
    but the first. `fits(question, window)` says whether the pair fits the token budget."""
    rng = random.Random(seed)
    pool = entity_pool(paragraphs)
    by_title: dict[str, list[int]] = {}  # paragraphs of each article
    for i, p in enumerate(paragraphs):
        by_title.setdefault(p.title, []).append(i)
    examples = []
    for q, q_vector in zip(questions, question_vectors, strict=True):
        paragraph = paragraphs[q.paragraph]
        golds = [normalize_answer(a) for a in q.answers if normalize_answer(a)]
        covering = None
        if not q.impossible:
            first, last = answer_sentences(paragraph, q)
            spans = [(f, f + n - 1) for n in (1, 2, 3) for f in range(last - n + 1, first + 1) if f >= 0]
            spans = [(f, t) for f, t in spans if t < len(paragraph.sentences) and t - f < 3]
            choices = [paragraph.window(f, t) for f, t in spans]
            choices = [(w, o) for w, o in choices if fits(q.text, w)]
            if choices:
                window, offset = rng.choice(choices)
                covering = window
                examples.append(Example(q.text, window, q.start - offset, q.end - offset, "answer"))
        # Hard nulls: windows around the article's sentences most similar to the question, without the answer.
        members = by_title[paragraph.title]
        sims = np.concatenate([sentence_vectors[pi] @ q_vector for pi in members])
        where = [(pi, i) for pi in members for i in range(len(paragraphs[pi].sentences))]
        answer = answer_sentences(paragraph, q) if not q.impossible else (-1, -1)
        candidates: list[str] = []
        for at in np.argsort(-sims, kind="stable")[:12]:
            pi, i = where[int(at)]
            n = rng.choice((1, 2, 3))
            first = max(0, i - rng.randrange(n))
            last = min(first + n - 1, len(paragraphs[pi].sentences) - 1)
            window, _ = paragraphs[pi].window(first, last)
            overlaps = pi == q.paragraph and first <= answer[1] and last >= answer[0]
            if overlaps or window in candidates or any(g in normalize_answer(window) for g in golds):
                continue
            if fits(q.text, window):
                candidates.append(window)
            if len(candidates) == 4:
                break
        for window in rng.sample(candidates, min(2 if q.impossible else 1, len(candidates))):
            examples.append(Example(q.text, window, kind="unanswerable" if q.impossible else "other window"))
        if covering and rng.random() < 0.5:
            swapped = swapped_question(q.text, covering, pool, rng)
            if swapped and fits(swapped, covering):
                examples.append(Example(swapped, covering, kind="swapped"))
    return examples


@dataclass(frozen=True)
class ReaderScores:
    """What the reader scores on a set of questions (see `evaluate`)."""

    oracle_exact: float  # answerable questions, oracle window, best non-null span
    oracle_f1: float
    answerable_margins: tuple[float, ...]  # max over retrieved windows of score - null_score
    impossible_margins: tuple[float, ...]
    retrieved_f1: tuple[float, ...]  # answerable: F1 of the best-margin span among retrieved windows
    retrieval_hits: float  # answerable whose answer lies in a retrieved window

    def declined(self, threshold: float) -> tuple[float, float]:
        """(impossible declined, answerable falsely declined) when declining below `threshold`."""
        rate = lambda margins: float(np.mean(np.asarray(margins) < threshold)) if margins else 0.0  # noqa: E731
        return rate(self.impossible_margins), rate(self.answerable_margins)

    def end_to_end_f1(self, threshold: float) -> float:
        """Mean F1 over answerable questions when declining (F1 0) below `threshold`."""
        kept = [f if m >= threshold else 0.0 for f, m in zip(self.retrieved_f1, self.answerable_margins, strict=True)]
        return float(np.mean(kept)) if kept else 0.0


def evaluate(reader: Reader, paragraphs, questions, sentence_vectors, question_vectors, k: int = 3) -> ReaderScores:
    """Oracle-window EM/F1 on answerable questions, and margins over the k retrieved windows of every
    question (the null-detection setting)."""
    exact, f1, answerable, impossible, retrieved_f1, hits = [], [], [], [], [], []
    for q, q_vector in zip(questions, question_vectors, strict=True):
        paragraph = paragraphs[q.paragraph]
        if not q.impossible:
            window = oracle_window(paragraph, q)
            [p] = reader.read(q.text, [window])
            e, f = squad_scores(q.answers, window[p.start : p.end])
            exact.append(e)
            f1.append(f)
        windows = retrieved_windows(paragraph, sentence_vectors[q.paragraph], q_vector, k)
        predictions = reader.read(q.text, windows)
        best = max(range(len(windows)), key=lambda i: _margin(predictions[i]))
        margin = _margin(predictions[best])
        if q.impossible:
            impossible.append(margin)
            continue
        answerable.append(margin)
        span = windows[best][predictions[best].start : predictions[best].end]
        retrieved_f1.append(squad_scores(q.answers, span)[1])
        hits.append(any(paragraph.text[q.start : q.end] in w for w in windows))
    return ReaderScores(
        float(np.mean(exact)), float(np.mean(f1)), tuple(answerable), tuple(impossible), tuple(retrieved_f1),
        float(np.mean(hits)),
    )  # fmt: skip


def _margin(prediction: SpanPrediction) -> float:
    return prediction.score - prediction.null_score


def threshold_for(scores: ReaderScores, false_declines: float = 0.10) -> float:
    """The highest decline threshold that falsely declines at most `false_declines` of answerable questions."""
    margins = np.sort(np.asarray(scores.answerable_margins))
    return float(margins[int(np.floor(false_declines * len(margins)))]) if len(margins) else 0.0
