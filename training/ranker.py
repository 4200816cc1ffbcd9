"""Train the sentence ranker (`bot/models/ranker.json`): a logistic model over `bot.rank.FEATURES`
predicting whether a retrieved sentence holds a SQuAD question's gold answer.

Trained on the SQuAD 2.0 train sample minus the calibration articles; scored on those and on the dev
sample (which no model is trained on). `python -m training.ranker`
"""

from __future__ import annotations

import numpy as np

from bot.rank import FEATURES, MODELS_DIR, LinearModel, candidate_rows, sentence_features
from index.lexical import tokenize
from training.corpus import CALIBRATION_ARTICLES, DEV_FILE, TRAIN_FILE, Corpus, holds_answer, open_corpus


def examples(corpus: Corpus, keep=lambda q: True) -> list[tuple[np.ndarray, np.ndarray]]:
    """(features, labels) of each kept answerable question's candidate sentences."""
    found = []
    for question in corpus.questions:
        if question.impossible or not keep(question):
            continue
        retrieval = corpus.retriever.retrieve(question.text)
        rows = candidate_rows(retrieval, corpus.index)
        table = sentence_features(tokenize(question.text), retrieval, rows, corpus.index)
        labels = np.array([holds_answer(r, question, corpus.index) for r in rows], dtype=bool)
        found.append((table, labels))
    return found


def fit(groups: list[tuple[np.ndarray, np.ndarray]]) -> LinearModel:
    """A standardised L2 logistic regression on every candidate."""
    from sklearn.linear_model import LogisticRegression

    x = np.vstack([t for t, _ in groups])
    y = np.concatenate([labels for _, labels in groups])
    mean, scale = x.mean(axis=0), x.std(axis=0) + 1e-9
    model = LogisticRegression(C=1.0, max_iter=2000).fit((x - mean) / scale, y)
    return LinearModel(FEATURES, mean, scale, model.coef_[0], float(model.intercept_[0]))


def scores(model: LinearModel, groups: list[tuple[np.ndarray, np.ndarray]]) -> dict[str, float]:
    """Sentence hit@1/hit@3 over questions whose answer is among the candidates, and that share."""
    reachable = [(t, labels) for t, labels in groups if labels.any()]
    hits = {1: 0, 3: 0}
    for table, labels in reachable:
        order = np.argsort(-model.probability(table))
        for k in hits:
            hits[k] += bool(labels[order[:k]].any())
    n = max(1, len(reachable))
    return {
        "questions": len(groups),
        "answer_among_candidates": round(len(reachable) / max(1, len(groups)), 3),
        "hit_at_1": round(hits[1] / n, 3),
        "hit_at_3": round(hits[3] / n, 3),
    }


def main() -> None:
    train = open_corpus(TRAIN_FILE)
    groups = examples(train, lambda q: q.title not in CALIBRATION_ARTICLES)
    held = examples(train, lambda q: q.title in CALIBRATION_ARTICLES)
    dev = examples(open_corpus(DEV_FILE))
    model = fit(groups)
    report = {"calibration_articles": scores(model, held), "dev_sample": scores(model, dev)}
    baseline = LinearModel(FEATURES, np.zeros(len(FEATURES)), np.ones(len(FEATURES)), np.eye(len(FEATURES))[0], 0.0)
    report["dev_sample_by_cosine_alone"] = scores(baseline, dev)
    print("ranker:", report)
    model.save(
        MODELS_DIR / "ranker.json",
        trained_on=f"SQuAD 2.0 train sample minus {', '.join(CALIBRATION_ARTICLES)}: {sum(len(t) for t, _ in groups)} candidates",
        scores=report,
    )


if __name__ == "__main__":
    main()
