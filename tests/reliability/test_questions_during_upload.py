"""Questions never wait for indexing: while a large upload is embedded, answers come as fast as
when the bot is quiet (p95 within 2x, the issue's bound), and from the last complete snapshot.

The upload is one long article (thousands of sentences to embed); questions differ from each other,
so no answer comes from the query cache.
"""

from __future__ import annotations

import shutil
import statistics
import threading
import time

from bot import Bot
from knowledge.settings import PROJECT_ROOT

SHIPPED_ARTICLES = PROJECT_ROOT / "knowledge" / "articles"

PLACES = ["harbour", "crater", "ridge", "basin", "canyon", "plateau", "valley", "delta", "dune", "glacier"]


def _long_article(sentences: int) -> str:
    lines = [
        f"Survey team {n} mapped the {PLACES[n % 10]} sector {n // 10} and logged sample {n * 7 % 1009} there."
        for n in range(sentences)
    ]
    return "Long survey log\n\n" + "\n".join(" ".join(lines[i : i + 6]) + "\n" for i in range(0, len(lines), 6))


def _p95(seconds: list[float]) -> float:
    return statistics.quantiles(seconds, n=20)[-1]


def _timed(bot: Bot, number: int) -> float:
    began = time.perf_counter()
    bot.ask(f"Where will association number {number} be located?")
    return time.perf_counter() - began


def test_questions_during_a_large_upload_are_within_2x_of_quiet(tmp_path):
    folder = tmp_path / "articles"
    shutil.copytree(SHIPPED_ARTICLES, folder)
    # The bot's own models, as `dsqa serve` has them: questions embed with the ONNX export while the sync
    # embeds with torch (an injected embedder would embed questions with torch too, sharing its threads).
    bot = Bot(knowledge_dir=folder, index_dir=tmp_path / "index")
    bot.index(progress=False)
    upload = tmp_path / "upload" / "survey.txt"
    upload.parent.mkdir()
    upload.write_text(_long_article(400), encoding="utf-8")
    for n in range(3):  # warm: models loaded, first-call costs paid
        _timed(bot, -n)
    quiet = [_timed(bot, n) for n in range(2000, 2020)]  # and 20 more after: the machine's load drifts

    added: list = []
    uploading = threading.Thread(target=lambda: added.extend(bot.add_documents([upload])))
    began = time.perf_counter()
    uploading.start()
    busy, n = [], 1000
    while uploading.is_alive():
        busy.append(_timed(bot, n))
        n += 1
        time.sleep(0.05)  # people pause between questions; back to back, they would hold off the sync
    uploading.join()
    upload_s = time.perf_counter() - began
    quiet += [_timed(bot, n) for n in range(3000, 3020)]
    print(
        f"upload {upload_s:.1f} s; quiet median {statistics.median(quiet) * 1000:.0f} ms, "
        f"p95 {_p95(quiet) * 1000:.0f} ms; during the upload ({len(busy)} questions) median "
        f"{statistics.median(busy) * 1000:.0f} ms, p95 {_p95(busy) * 1000:.0f} ms, max {max(busy) * 1000:.0f} ms"
    )
    assert [s.title for s in added] == ["Long survey log"]
    assert len(busy) >= 10, "questions waited for the upload (or it was too quick to measure)"
    assert _p95(busy) <= 2 * _p95(quiet)
