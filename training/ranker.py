"""Train the sentence ranker (`bot/models/ranker.json`): a logistic model over `bot.rank.FEATURES`
predicting whether a retrieved sentence holds a SQuAD question's gold answer.

Trained on the SQuAD 2.0 train sample minus the calibration articles; scored on those and on the dev
sample (which no model is trained on). Other languages get rankers of their own (`LANGUAGES`;
`bot/models/ranker-zh.json`, `ranker-other.json`), each trained on files of those languages and shipped
when it beats the English one on a held-out file's calibration part. `python -m training.ranker`
"""

from __future__ import annotations

import numpy as np

from bot.rank import FEATURES, MODELS_DIR, LinearModel, candidate_rows, sentence_features
from evals.squad import article_part, load_squad
from index.lexical import tokenize
from training.corpus import CALIBRATION_ARTICLES, DEV_FILE, SHARED, TRAIN_FILE, Corpus, holds_answer, open_corpus

QA = SHARED / "qa"
# Rankers of their own for other languages than English, where the English one's features weigh
# differently: the bundled model's embeddings are English (and know 244 CJK characters), so sentences are
# told apart by their words more than by their meaning. name → ((file, its language) trained on, which no
# evaluation or calibration reads; (file, language) whose calibration part decides whether it is shipped).
# "other" serves every language but English without a ranker of its own.
LANGUAGES = {
    "zh": ((("zh-cmrc2018-trial.json", "zh"), ("zh-hant-drcd-test.json", "zh")), ("zh-cmrc2018-dev.json", "zh")),
    "other": ((("it-squad-v1-dev-mt.json", "it"),), ("fr-piaf-train.json", "fr")),
}


def examples(corpus: Corpus, keep=lambda q: True, language: str = "en") -> list[tuple[np.ndarray, np.ndarray]]:
    """(features, labels) of each kept answerable question's candidate sentences, the question searched
    and tokenized as one in `language`."""
    found = []
    for question in corpus.questions:
        if question.impossible or not keep(question):
            continue
        retrieval = corpus.retriever.retrieve(question.text, language=language)
        rows = candidate_rows(retrieval, corpus.index)
        table = sentence_features(tokenize(question.text, language), retrieval, rows, corpus.index)
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


def train_language(
    name: str, files: tuple[tuple[str, str], ...], held_out: tuple[str, str], english: LinearModel
) -> None:
    """Train the ranker `name` on `files` and ship it (`ranker-<name>.json`) only if it ranks the calibration
    part of `held_out` better than the English ranker does; else the English one serves those languages."""
    groups = [g for file, language in files for g in examples(open_corpus(QA / file), language=language)]
    file, language = held_out
    titles = set(article_part(*load_squad(QA / file), "calibration")[0])
    held = examples(open_corpus(QA / file), lambda q: q.title in titles, language)
    model = fit(groups)
    report = {f"{file} calibration part": scores(model, held), "english_ranker_there": scores(english, held)}
    print(f"ranker ({name}):", report)
    path = MODELS_DIR / f"ranker-{name}.json"
    if report[f"{file} calibration part"]["hit_at_1"] <= report["english_ranker_there"]["hit_at_1"]:
        path.unlink(missing_ok=True)
        print(f"ranker ({name}): no better than the English ranker there; not shipped")
        return
    trained_on = " + ".join(file for file, _ in files)
    model.save(path, trained_on=f"{trained_on}: {sum(len(t) for t, _ in groups)} candidates", scores=report)


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
    for name, (files, held_out) in LANGUAGES.items():
        train_language(name, files, held_out, model)


if __name__ == "__main__":
    main()
