"""The program endpoints through gradio_client, against the app served in-process: `/chat` (a Client
keeps its session, so its calls share one conversation; ten Clients at once never mix), `/upload` and
`/delete`.
"""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError

pytestmark = pytest.mark.slow


def client_for(running_app) -> Client:
    return Client(running_app.url, verbose=False, download_files=False)


def session_turns(running_app, client: Client) -> list[tuple[str, str]]:
    """(question, standalone query) per turn the server holds for this client's session (its `gr.State`)."""
    from gradio.components import State

    state = running_app.demo.state_holder[client.session_hash]
    (turns_block,) = [b for b in running_app.demo.blocks.values() if type(b) is State]
    return [(question, answer.query) for question, answer in state[turns_block._id]]


def test_chat_returns_text_with_markers_and_sources(running_app):
    text, sources = client_for(running_app).predict("When will IDSEA launch?", api_name="/chat")
    assert "July 7" in text
    numbers = [int(n) for n in re.findall(r"\[(\d+)\]", text)]
    assert numbers and {s["number"] for s in sources} == set(numbers)
    assert all(s["title"] and s["quote"] and s["date"] for s in sources)
    assert any("July 7th 2025" in s["quote"] for s in sources)


def test_a_client_keeps_its_conversation_for_a_follow_up(running_app):
    client = client_for(running_app)
    client.predict("When will IDSEA launch?", api_name="/chat")
    text, sources = client.predict("Where will it be located?", api_name="/chat")
    (_, _), (follow_up, query) = session_turns(running_app, client)
    assert follow_up == "Where will it be located?" and "IDSEA" in query  # resolved with this session's history
    assert "Hefei" in text and sources


TOPICS = [
    ("When will IDSEA launch?", "July 7"),
    ("What is the Global South?", "developing countries"),
    ("Who is Wang Zhongmin?", "Wang"),
    ("What did Fu Cong say about outer space?", "Outer space"),
    ("What did Wu Weiren say about the Moon?", "Wu Weiren"),
    ("What did Chang'e 5 share with other countries?", "samples"),
    ("What did SUPARCO provide for Chang'e 6?", "CubeSat"),  # the article never ties SUPARCO to Pakistan
    ("When was the Deep Space Exploration Laboratory declared operational?", "2022"),
    ("What did the Zephyr rover drill into?", "Jezero"),
    ("Which countries have received satellite assistance from China in Africa?", "Nigeria"),
]


def test_ten_clients_in_parallel_keep_distinct_conversations(running_app):
    def converse(topic: tuple[str, str]):
        question, _ = topic
        client = client_for(running_app)
        first, _ = client.predict(question, api_name="/chat")
        client.predict("Where will it be based?", api_name="/chat")
        return first, [q for q, _ in session_turns(running_app, client)]

    with ThreadPoolExecutor(max_workers=len(TOPICS)) as pool:
        results = list(pool.map(converse, TOPICS))
    for (first, held), (question, expected) in zip(results, TOPICS, strict=True):
        assert held == [question, "Where will it be based?"]  # its own two turns, in order, nobody else's
        assert expected.lower() in first.lower()


def test_too_long_question_gets_a_clear_message(running_app):
    limit = running_app.settings.max_question_chars
    with pytest.raises(AppError, match=rf"the limit is {limit:,}"):
        client_for(running_app).predict("why " * limit, api_name="/chat")


def test_blank_question_gets_a_clear_message(running_app):
    with pytest.raises(AppError) as caught:
        client_for(running_app).predict("   ", api_name="/chat")
    assert str(caught.value).strip()


def test_chat_runs_on_a_queue_with_a_concurrency_limit(running_app):
    from web.page import CONCURRENCY_LIMIT

    config = running_app.demo.config
    (chat,) = [d for d in config["dependencies"] if d.get("api_name") == "chat"]
    assert chat["queue"] is not False
    assert running_app.demo._queue.default_concurrency_limit == CONCURRENCY_LIMIT
    assert CONCURRENCY_LIMIT >= 2


def test_upload_adds_documents_that_answer_and_delete_removes_them(running_app, tmp_path):
    client = client_for(running_app)
    note = tmp_path / "Comet Tern.md"
    note.write_text(
        "---\ntitle: Tern reaches comet Halvorsen\nreported: 2026-03-02\n---\n\n"
        "The Tern probe reached comet Halvorsen in March 2026 and mapped its icy crust.\n",
        encoding="utf-8",
    )
    plain = tmp_path / "orbits.txt"
    plain.write_text("Orbit notes\n\nThe Kestrel satellite circles Mars every nine hours.\n", encoding="utf-8")
    added = client.predict([handle_file(str(note)), handle_file(str(plain))], api_name="/upload")
    assert [(d["title"], d["format"]) for d in added] == [
        ("Tern reaches comet Halvorsen", "md"),
        ("Orbit notes", "txt"),
    ]
    assert all(d["passages"] >= 1 and d["article_id"] for d in added)
    assert (running_app.settings.knowledge_dir / "Comet Tern.md").exists()
    text, sources = client.predict("Which comet did the Tern probe reach?", api_name="/chat")
    assert "Halvorsen" in text and sources[0]["article_id"] == added[0]["article_id"]
    for document in added:
        assert client.predict(document["article_id"], api_name="/delete") == {"deleted": document["article_id"]}
    assert not (running_app.settings.knowledge_dir / "Comet Tern.md").exists()
    text, sources = client.predict("Which comet did the Tern probe reach?", api_name="/chat")
    assert all(s["article_id"] != added[0]["article_id"] for s in sources)


def test_upload_and_delete_refuse_bad_requests_with_a_clear_message(running_app, tmp_path):
    client = client_for(running_app)
    script = tmp_path / "run.sh"
    script.write_text("rm -rf /", encoding="utf-8")
    with pytest.raises(httpx.HTTPStatusError) as refused:  # refused by the upload route: never stored
        client.predict([handle_file(str(script))], api_name="/upload")
    assert refused.value.response.status_code == 415
    assert "run.sh: this kind of file is not supported" in refused.value.response.text
    with pytest.raises(AppError, match="no document with id"):
        client.predict("../../etc/passwd", api_name="/delete")
