"""evals/bench_scale.py and evals/scale_processes.py: the baseline and the measuring processes run against a
real index (the bench itself is not a test)."""

from __future__ import annotations

import json

from bot import Bot
from evals.bench_scale import baseline_figures
from evals.embedding_cache import CachedEmbedder
from evals.scale_processes import retrieval_process


def _alpha(tmp_path):
    knowledge = tmp_path / "articles"
    knowledge.mkdir()
    (knowledge / "alpha.txt").write_text(
        "Alpha\n\nThe Alpha rover landed in 2021 near the crater Jezero.\n", encoding="utf-8"
    )
    return knowledge


class CountingEmbedder:
    """The real embedder, with a question cache of its own that counts what it had to embed."""

    def __init__(self, inner):
        self.inner, self.name, self.dimension = inner, inner.name, inner.dimension
        self.cached, self.embedded = {}, 0

    def encode(self, texts, progress=False):
        return self.inner.encode(texts)

    def embed_query_vector(self, text):
        if text not in self.cached:
            self.embedded += 1
            self.cached[text] = self.inner.encode([text])[0]
        return self.cached[text]

    def clear_cache(self):
        self.cached.clear()


def test_the_baseline_embeds_every_question_anew(tmp_path, embedder):
    # An earlier size's run asked the same questions: answering them from the query cache made the
    # baseline look 4x faster than it is.
    asked = [{"question": "Where did the Alpha rover land?", "title": "Alpha", "answers": ["Jezero"]}] * 3
    counting = CountingEmbedder(embedder)
    figures = baseline_figures(_alpha(tmp_path), asked, CachedEmbedder(counting, tmp_path / "cache"))
    assert counting.embedded >= len(asked) + 1  # the warm-up question, then each one asked
    assert figures["hit5"] == 1.0 and figures["p50_ms"] > 0


def test_the_retrieval_process_opens_a_real_index_and_reports_one_json_line(tmp_path, embedder, capsys):
    knowledge = _alpha(tmp_path)
    Bot(knowledge_dir=knowledge, index_dir=tmp_path / "index", embedder=embedder).index()
    questions = tmp_path / "questions.json"
    asked = [{"question": "Where did the Alpha rover land?", "title": "Alpha", "answers": ["Jezero"]}]
    questions.write_text(json.dumps(asked), encoding="utf-8")
    retrieval_process(str(knowledge), str(tmp_path / "index"), str(questions))
    report = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert report["hit5"] == 1.0 and report["p50_ms"] > 0 and report["open_s"] > 0
