"""Fit the answer-or-decline score (`bot/models/calibrator.json`): a logistic model over
`bot.compose.CALIBRATION_FEATURES` (the ranker's and the reader's outputs) predicting whether a
reading's answer is right, and the threshold below which the bot declines (written to the policy
file, `bot/policy.py`, with the reader's lead margin).

Fitted only on the calibration articles of the SQuAD train sample, which no other model saw. The
threshold is the highest that keeps false refusals of answerable questions at or under
`MAX_FALSE_REFUSALS` there. The dev sample's figures are printed, never used to choose anything.
`python -m training.calibrate`
"""

from __future__ import annotations

import json

import numpy as np

from bot.analyze import find_names
from bot.compose import CALIBRATION_FEATURES, calibration_features, name_tokens
from bot.rank import MODELS_DIR, LinearModel, SentenceRanker
from bot.read import PassageReader
from evals.metrics import squad_scores
from index.lexical import tokenize
from training.corpus import (
    CALIBRATION_ARTICLES,
    DEV_FILE,
    TRAIN_FILE,
    Corpus,
    GoldQuestion,
    holds_answer,
    open_corpus,
)
from training.policy_file import update

MAX_FALSE_REFUSALS = 0.08  # the product promises ≤ 10% on unseen data: keep a margin


def load_reader():
    """The trained reader, or None before one exists (then readings carry no span)."""
    try:
        from bot.reader_export import load_reader as load_onnx_reader
    except ImportError:
        return None
    from knowledge.settings import Settings

    return load_onnx_reader(Settings.from_env().cache_dir)


def readings_of(corpus: Corpus, question: GoldQuestion, reader: PassageReader):
    """The readings the answer path would weigh for a question (asked on its own)."""
    retrieval = corpus.retriever.retrieve(question.text)
    candidates = SentenceRanker.bundled().rank(tokenize(question.text), retrieval, corpus.index)
    return reader.read(question.text, candidates, corpus.index)


def is_right(reading, question: GoldQuestion, corpus: Corpus, reader: PassageReader) -> bool:
    """The sentences the bot would quote for this reading hold a gold answer."""
    if question.impossible:
        return False
    return any(holds_answer(row, question, corpus.index) for row in reader.rows_of_span(reading, corpus.index))


def table(corpus: Corpus, questions: list[GoldQuestion], reader: PassageReader, spans: list | None = None):
    """Per question: its readings' features and whether each is right. `spans`, when given, collects
    (the reader's margin, the span's F1, its sentence's F1) for every span of an answerable question."""
    rows = []
    for question in questions:
        readings = readings_of(corpus, question, reader)
        names = name_tokens(find_names(question.text), corpus.index)
        feats = np.asarray([calibration_features(r, names, corpus.index) for r in readings])
        feats = feats.reshape(-1, len(CALIBRATION_FEATURES))
        rows.append((question, feats, np.array([is_right(r, question, corpus, reader) for r in readings], dtype=bool)))
        if spans is not None and not question.impossible:
            text = corpus.index.article_texts[question.article_id]
            for r in readings:
                same = corpus.index.sentences.article_ids[r.candidate.row] == question.article_id
                if r.has_span:
                    start, end = corpus.index.sentences.spans[r.candidate.row]
                    span_f1 = squad_scores(list(question.answers), text[r.start : r.end])[1] if same else 0.0
                    sentence_f1 = squad_scores(list(question.answers), text[start:end])[1] if same else 0.0
                    spans.append((r.margin, span_f1, sentence_f1))
    return rows


def lead_margin(spans: list[tuple[float, float, float]]) -> float:
    """The reader margin from which leading with the span matches the gold answers best (SQuAD F1 of
    the span above it, of the sentence below it, summed over the calibration spans); infinity when
    the sentence alone always does better."""
    ordered = sorted(spans, key=lambda s: -s[0])
    total = sum(sentence for _, _, sentence in ordered)  # no span led
    best_total, best = total, float("inf")
    for margin, span_f1, sentence_f1 in ordered:
        total += span_f1 - sentence_f1
        if total > best_total:
            best_total, best = total, margin
    return best


def decisions(model: LinearModel, rows, threshold: float) -> dict[str, float]:
    """Declined share of unanswerable questions, false refusals, and answered-right share."""
    declined_impossible = refused = right = answerable = impossible = 0
    for question, feats, labels in rows:
        best = model.probability(feats) if len(feats) else np.zeros(1)
        answered = len(feats) and best.max() >= threshold  # the most confident reading decides
        if question.impossible:
            impossible += 1
            declined_impossible += not answered
        else:
            answerable += 1
            refused += not answered
            right += bool(answered and labels[int(best.argmax())])
    return {
        "unanswerable_declined": round(declined_impossible / max(1, impossible), 3),
        "false_refusals": round(refused / max(1, answerable), 3),
        "answerable_right": round(right / max(1, answerable), 3),
    }


def fit(rows, name: str, about: str, dev_rows, lead: float | None = None) -> dict:
    """Fit one calibrator on the calibration rows, choose its threshold, save it as `name` (with the
    reader margin `lead` above which a short answer leads, for the reader's calibrator)."""
    from sklearn.linear_model import LogisticRegression

    x = np.vstack([f for _, f, _ in rows])
    y = np.concatenate([labels for _, _, labels in rows])
    mean, scale = x.mean(axis=0), x.std(axis=0) + 1e-9
    fitted = LogisticRegression(C=1.0, max_iter=2000).fit((x - mean) / scale, y)
    model = LinearModel(CALIBRATION_FEATURES, mean, scale, fitted.coef_[0], float(fitted.intercept_[0]))
    best_scores = sorted(model.probability(f).max() for q, f, _ in rows if not q.impossible and len(f))
    answerable = sum(1 for q, _, _ in rows if not q.impossible)
    threshold = float(best_scores[int(MAX_FALSE_REFUSALS * answerable)]) if best_scores else 0.5
    report = {
        "threshold": round(threshold, 4),
        "calibration": decisions(model, rows, threshold),
        "dev_sample": decisions(model, dev_rows, threshold),
    }
    if lead is not None:
        report["lead_margin"] = lead
    model.save(MODELS_DIR / name, trained_on=about, scores=report)
    scale = "reader" if name == "calibrator.json" else "sentences"
    update(
        {"answer": {scale: threshold}, **({} if lead is None else {"lead_margin": lead})},
        f"training/calibrate.py: {about}",
    )
    return report


def main() -> None:
    train, dev = open_corpus(TRAIN_FILE), open_corpus(DEV_FILE)
    calibration = [q for q in train.questions if q.title in CALIBRATION_ARTICLES]
    about = f"SQuAD 2.0 train sample, calibration articles only: {', '.join(CALIBRATION_ARTICLES)}"
    for name, reader in (
        ("calibrator-sentences.json", PassageReader(None)),
        ("calibrator.json", PassageReader(load_reader())),
    ):
        if name == "calibrator.json" and reader.reader is None:
            print("no reader model: calibrator.json not refitted")
            continue
        spans: list[tuple[float, float, float]] = []
        rows = table(train, calibration, reader, spans)
        lead = lead_margin(spans) if reader.reader is not None else None
        report = fit(rows, name, about, table(dev, dev.questions, reader), lead)
        print(f"{name}:", json.dumps(report))


if __name__ == "__main__":
    main()
