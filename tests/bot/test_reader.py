"""bot/reader.py: the committed reader, exported once per session to ONNX, reads real windows."""

from __future__ import annotations

import json
import subprocess
import sys
import unicodedata

import pytest

import bot.reader_export
from bot.reader import MODEL_DIR, SpanPrediction, export_folder
from bot.reader_export import load_reader
from knowledge.settings import BUNDLED_MODEL_SHA256, PROJECT_ROOT

PLAIN = [  # (question, window, the span that answers it)
    (
        "Who designed the bridge?",
        "The bridge was designed by Anna Keller and opened to traffic in 1932.",
        "Anna Keller",
    ),
    ("In what year did the bridge open?", "The bridge was designed by Anna Keller and opened in 1932.", "1932"),
    ("Where is the observatory located?", "The observatory is located in Nairobi, near the national park.", "Nairobi"),
]
UNRELATED = [
    ("Who designed the bridge?", "The museum holds a large collection of medieval maps and coins."),
    ("How many moons does the planet have?", "Rainfall in the valley is highest between March and May."),
]


@pytest.fixture(scope="session")
def reader_cache(tmp_path_factory):
    cache = tmp_path_factory.mktemp("reader-cache")
    load_reader(cache)  # the one export of the session (torch)
    return cache


@pytest.fixture(scope="session")
def reader(reader_cache):
    return load_reader(reader_cache)


def test_committed_model_is_small():
    sizes = {path.name: path.stat().st_size for path in MODEL_DIR.iterdir()}
    assert {"adapter.safetensors", "config.json", "MODEL_CARD.md"} <= set(sizes)
    assert sum(sizes.values()) < 5_000_000


@pytest.mark.parametrize(("question", "window", "answer"), PLAIN)
def test_plain_window_gives_the_exact_span(reader, question, window, answer):
    [prediction] = reader.read(question, [window])
    assert window[prediction.start : prediction.end] == answer
    assert prediction.score > prediction.null_score


@pytest.mark.parametrize(("question", "window"), UNRELATED)
def test_window_without_the_answer_prefers_null(reader, question, window):
    [prediction] = reader.read(question, [window])
    assert prediction.null_score > prediction.score


def test_batch_equals_one_by_one(reader):
    question = PLAIN[0][0]
    windows = [PLAIN[0][1], UNRELATED[0][1], PLAIN[2][1] + " " + PLAIN[1][1]]
    batch = reader.read(question, windows)
    for window, together in zip(windows, batch, strict=True):
        [alone] = reader.read(question, [window])
        assert (alone.start, alone.end) == (together.start, together.end)
        assert alone.score == pytest.approx(together.score, abs=1e-3)
        assert alone.null_score == pytest.approx(together.null_score, abs=1e-3)


def test_spans_are_valid_and_trimmed(reader):
    long_window = " ".join(window for _, window, _ in PLAIN) * 20  # beyond max_length: cut, not an error
    windows = [window for _, window in UNRELATED] + [long_window, "“Quoted,” she said — (1932)."]
    for question in ("Who?", "When did it open?", PLAIN[0][0]):
        for window, p in zip(windows, reader.read(question, windows), strict=True):
            assert isinstance(p, SpanPrediction) and 0 <= p.start < p.end <= len(window)
            span = window[p.start : p.end]
            assert span == span.strip()
            assert not unicodedata.category(span[0]).startswith("P")
            assert not unicodedata.category(span[-1]).startswith("P")
            assert len(span.split()) <= reader.config.max_answer_tokens


def test_bad_input_is_refused_clearly(reader):
    with pytest.raises(ValueError, match="question is empty"):
        reader.read("  ", ["Some text."])
    with pytest.raises(TypeError):
        reader.read("Who?", "a single string, not a list")
    assert reader.read("Who?", []) == []
    [empty] = reader.read("Who?", [""])
    assert empty.score == float("-inf") and empty.null_score > empty.score


@pytest.mark.parametrize("question", ["Where is it? " + "please " * 600, "合" * 3000])
def test_a_question_of_any_length_is_read(reader, question):
    window = "The association is set to be located in Hefei."
    (prediction,) = reader.read(question, [window])
    assert 0 <= prediction.start <= prediction.end <= len(window)


def test_export_is_cached_and_reused(reader_cache, monkeypatch):
    folder = export_folder(reader_cache, BUNDLED_MODEL_SHA256)
    stamp = (folder / "model.onnx").stat().st_mtime_ns
    monkeypatch.setattr(bot.reader_export, "export", lambda *a, **k: pytest.fail("exported a second time"))
    again = load_reader(reader_cache)
    assert again.read(PLAIN[1][0], [PLAIN[1][1]])[0].end > 0
    assert (folder / "model.onnx").stat().st_mtime_ns == stamp
    assert [p.name for p in reader_cache.iterdir()] == [folder.name]  # no half-built folder left behind


def test_reading_from_the_cache_imports_no_torch(reader_cache):
    script = (
        "import json, sys\n"
        "from knowledge.settings import go_offline; go_offline()\n"
        "from bot.reader_export import load_reader\n"
        f"reader = load_reader({str(reader_cache)!r})\n"
        f"p = reader.read({PLAIN[0][0]!r}, [{PLAIN[0][1]!r}])[0]\n"
        "print(json.dumps({'span': [p.start, p.end], 'heavy': sorted(m for m in ('torch', 'transformers', "
        "'sentence_transformers', 'peft') if m in sys.modules)}))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["heavy"] == []
    assert result["span"][1] > result["span"][0]
