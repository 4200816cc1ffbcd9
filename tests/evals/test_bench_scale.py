"""evals/bench_scale.py: its measuring processes run against a real index (the bench itself is not a test)."""

from __future__ import annotations

import json

from bot import Bot
from evals.bench_scale import retrieval_process


def test_the_retrieval_process_opens_a_real_index_and_reports_one_json_line(tmp_path, embedder, capsys):
    knowledge = tmp_path / "articles"
    knowledge.mkdir()
    (knowledge / "alpha.txt").write_text(
        "Alpha\n\nThe Alpha rover landed in 2021 near the crater Jezero.\n", encoding="utf-8"
    )
    Bot(knowledge_dir=knowledge, index_dir=tmp_path / "index", embedder=embedder).index()
    questions = tmp_path / "questions.json"
    asked = [{"question": "Where did the Alpha rover land?", "title": "Alpha", "answers": ["Jezero"]}]
    questions.write_text(json.dumps(asked), encoding="utf-8")
    retrieval_process(str(knowledge), str(tmp_path / "index"), str(questions))
    report = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert report["hit5"] == 1.0 and report["p50_ms"] > 0 and report["open_s"] > 0
