"""The eval gate: the real suite, asked of the real bot (bundled model, Chroma in a temp dir), must
meet every threshold in `evals/thresholds.toml`; plus the `dsqa eval` command's files and exit codes.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from typer.testing import CliRunner

from evals.cli import eval_app
from evals.report import write_outputs
from evals.runner import DEFAULT_CASES, DEFAULT_THRESHOLDS, evaluate, load_cases, load_thresholds
from knowledge.settings import PROJECT_ROOT, Settings, go_offline

go_offline()

ARTICLES = PROJECT_ROOT / "knowledge" / "articles"
FEW_CASES = [
    {
        "id": "where",
        "question": "Where will IDSEA be located?",
        "answerable": True,
        "must": [["Hefei"]],
        "evidence": "located in Hefei",
        "tags": ["place"],
    },
    {
        "id": "follow",
        "history": ["What is the Deep Space Exploration Laboratory?"],
        "question": "When was it declared operational?",
        "answerable": True,
        "must": [["2022"]],
        "evidence": "declared operational a few years ago in 2022",
        "tags": ["conversation"],
    },
    {"id": "absent", "question": "What is the capital of Peru?", "answerable": False, "tags": ["off-topic"]},
]


@pytest.fixture(scope="module")
def bot(tmp_path_factory):
    """One real Bot over the shipped articles, its index in a temp dir."""
    from bot import Bot

    bot = Bot(settings=Settings(knowledge_dir=ARTICLES, index_dir=tmp_path_factory.mktemp("index"), progress=False))
    bot.index()
    return bot


@pytest.fixture
def cli(tmp_path, monkeypatch):
    """Run `dsqa eval …` in-process with the index in a temp dir; returns (result, out dir)."""
    monkeypatch.setenv("DSQA_INDEX_DIR", str(tmp_path / "index"))
    monkeypatch.setenv("DSQA_KNOWLEDGE_DIR", str(ARTICLES))

    def run(*args: str):
        return CliRunner().invoke(eval_app, list(args), catch_exceptions=False)

    return run


def _write_cases(path: Path, cases: list[dict]) -> Path:
    path.write_text("".join(json.dumps(c) + "\n" for c in cases), encoding="utf-8")
    return path


@pytest.mark.slow
def test_the_suite_meets_every_threshold(bot, tmp_path):
    summary, rows, _ = evaluate(
        bot, load_cases(DEFAULT_CASES), load_thresholds(DEFAULT_THRESHOLDS), source=str(DEFAULT_CASES)
    )
    paths = write_outputs(tmp_path / "out", summary, rows)
    missed = [
        f"{c['name']}: {c['value']:.4f} (needs {c['bound']} {c['limit']})" for c in summary["thresholds"] if not c["ok"]
    ]
    failing = [f"{r['id']}: {'; '.join(r['reasons'])}" for r in rows if not r["passed"]]
    assert not missed, "Eval thresholds missed:\n" + "\n".join(missed) + "\nFailing cases:\n" + "\n".join(failing)
    assert summary["passed"] and all(p.exists() for p in paths.values())


def test_cli_writes_the_four_files_and_passes(cli, tmp_path):
    cases = _write_cases(tmp_path / "few.jsonl", FEW_CASES)
    thresholds = tmp_path / "t.toml"
    thresholds.write_text("version = 1\n[min]\ncitation_validity = 1.0\n[max]\nlatency_total_p95_ms = 60000\n")
    result = cli("--cases", str(cases), "--out", str(tmp_path / "out"), "--thresholds", str(thresholds))
    assert result.exit_code == 0, result.output
    assert "Thresholds: PASS" in result.output
    written = {p.name for p in (tmp_path / "out").iterdir()}
    assert {"results.jsonl", "summary.json", "report.md", "report.html"} <= written
    rows = [json.loads(line) for line in (tmp_path / "out" / "results.jsonl").read_text().splitlines()]
    assert [r["id"] for r in rows] == ["where", "follow", "absent"]
    assert all({"question", "query", "answer", "citations", "retrieved", "passed", "reasons"} <= set(r) for r in rows)
    html = (tmp_path / "out" / "report.html").read_text()
    assert html.count("<svg") >= 3 and "<script" not in html


def test_cli_exits_1_when_a_threshold_is_missed_and_json_is_parseable(cli, tmp_path):
    cases = _write_cases(tmp_path / "few.jsonl", FEW_CASES)
    thresholds = tmp_path / "t.toml"
    thresholds.write_text("version = 1\n[max]\nlatency_total_p95_ms = 0.0001\n")
    result = cli("--cases", str(cases), "--out", str(tmp_path / "out"), "--thresholds", str(thresholds), "--json")
    assert result.exit_code == 1
    summary = json.loads(result.stdout)
    assert summary["passed"] is False and summary["thresholds"][0]["name"] == "latency_total_p95_ms"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "No cases found"),
        ("{not json\n", "few.jsonl:1: not valid JSON"),
        ('{"id": "x"}\n', "missing question, answerable"),
    ],
)
def test_cli_bad_cases_exit_2_with_a_clear_message(cli, tmp_path, content, message):
    cases = tmp_path / "few.jsonl"
    if content is not None:
        cases.write_text(content)
    result = cli("--cases", str(cases), "--out", str(tmp_path / "out"))
    assert result.exit_code == 2
    assert message in result.output and "Traceback" not in result.output


def test_cli_bad_thresholds_exit_2(cli, tmp_path):
    cases = _write_cases(tmp_path / "few.jsonl", FEW_CASES)
    result = cli("--cases", str(cases), "--thresholds", str(tmp_path / "nope.toml"))
    assert result.exit_code == 2 and "Thresholds file not found" in result.output


@pytest.mark.browser
@pytest.mark.skipif(shutil.which("chromium") is None, reason="chromium is not installed (make browser)")
def test_the_report_renders_in_a_real_browser(bot, tmp_path):
    cases = [c for c in load_cases(DEFAULT_CASES)][:12]
    summary, rows, _ = evaluate(bot, cases, load_thresholds(DEFAULT_THRESHOLDS))
    paths = write_outputs(tmp_path / "out", summary, rows)
    shot = tmp_path / "report.png"
    subprocess.run(
        [
            "chromium",
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            f"--screenshot={shot}",
            "--window-size=1200,1600",
            paths["report.html"].as_uri(),
        ],
        check=True,
        capture_output=True,
        timeout=90,
    )
    assert shot.stat().st_size > 20_000  # a rendered page with charts, not a blank one
