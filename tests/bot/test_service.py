"""`Bot` (bot/service.py): when the local reading model starts loading."""

from __future__ import annotations

from dataclasses import replace

from bot import Bot, close_reading
from knowledge.settings import PROJECT_ROOT, Settings


def recording_loads(monkeypatch, bot: Bot) -> list[bool]:
    """Each load of the reading model, as whether the index was open when it began (no model is loaded)."""
    loads: list[bool] = []

    def load(settings, language_of):
        loads.append(bot._live is not None)
        return None  # as without the model in the cache: answers are the extractive path's

    monkeypatch.setattr(close_reading, "load_reading_model", load)
    return loads


def settings(tmp_path) -> Settings:
    return Settings(
        knowledge_dir=PROJECT_ROOT / "knowledge" / "articles",
        index_dir=tmp_path / "index",
        progress=False,
        reader="llm",
    )


def test_a_first_question_starts_the_reading_model_before_the_index_opens(tmp_path, embedder, monkeypatch):
    asking = Bot(settings=settings(tmp_path), embedder=embedder)
    loads = recording_loads(monkeypatch, asking)
    answer = asking.ask("Where will the association be located?")
    assert "Hefei" in answer.text
    assert loads == [False]  # loading overlaps the sync and the instant answer, once per Bot
    asking.ask("When will it launch?")
    assert loads == [False]


def test_warming_up_opens_the_index_and_starts_the_reading_model(tmp_path, embedder, monkeypatch):
    serving = Bot(settings=settings(tmp_path), embedder=embedder)
    loads = recording_loads(monkeypatch, serving)
    serving.warm_up()
    assert loads == [True] and serving.summaries()


def test_with_an_llm_server_the_reading_model_is_not_loaded(tmp_path, embedder, monkeypatch):
    writing = Bot(settings=replace(settings(tmp_path), llm_base_url="http://127.0.0.1:9/v1"), embedder=embedder)
    loads = recording_loads(monkeypatch, writing)
    writing.warm_up()
    assert loads == []  # the LLM server writes the answers: the local model would only take memory
