"""The `/chat` endpoint through gradio_client, against the app served in-process, plus start-up safety.

A Client keeps its session, so its calls share one conversation; ten Clients at once never mix.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import pytest
from gradio_client import Client
from gradio_client.exceptions import AppError

from knowledge.settings import PROJECT_ROOT

pytestmark = pytest.mark.slow


def client_for(running_app) -> Client:
    return Client(running_app.url, verbose=False, download_files=False)


def session_turns(running_app, client: Client) -> list[tuple[str, str]]:
    """(question, standalone query) per turn the server holds for this client's session (its `gr.State`)."""
    from gradio.components import State

    state = running_app.demo.state_holder[client.session_hash]
    (turns_block,) = [b for b in running_app.demo.blocks.values() if isinstance(b, State)]
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
    ("What did Wu Weiren say about the Moon?", "Moon"),
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
    from app import CONCURRENCY_LIMIT

    config = running_app.demo.config
    (chat,) = [d for d in config["dependencies"] if d.get("api_name") == "chat"]
    assert chat["queue"] is not False
    assert running_app.demo._queue.default_concurrency_limit == CONCURRENCY_LIMIT
    assert CONCURRENCY_LIMIT >= 2


def run_app(*args: str, env: dict | None = None, timeout: float = 60) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if k != "DSQA_AUTH"} | (env or {})
    return subprocess.run(
        [sys.executable, "app.py", *args],
        cwd=PROJECT_ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_python_app_py_serves_the_chat_and_prints_its_address(tmp_path, unused_port):
    """`python app.py --port P` indexes, prints the address, and that address answers /chat."""
    port = unused_port
    env = {k: v for k, v in os.environ.items() if k != "DSQA_AUTH"}
    env |= {"DSQA_INDEX_DIR": str(tmp_path / "index"), "DSQA_DATA_DIR": str(tmp_path / "data"), "DSQA_PROGRESS": "0"}
    server = subprocess.Popen(
        [sys.executable, "app.py", "--port", str(port)],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        printed = []
        for line in server.stdout:  # until the address line (the process keeps serving)
            printed.append(line)
            if "web chat:" in line:
                break
        assert f"http://127.0.0.1:{port}/" in printed[-1], "".join(printed)
        text, sources = Client(f"http://127.0.0.1:{port}/", verbose=False).predict(
            "When will IDSEA launch?", api_name="/chat"
        )
        assert "July 7" in text and sources
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_binding_beyond_loopback_without_credentials_is_refused():
    done = run_app("--host", "0.0.0.0", "--port", "1")
    assert done.returncode == 2
    assert "refusing to serve on 0.0.0.0" in done.stderr and "--auth user:pass" in done.stderr


def test_malformed_credentials_are_refused():
    done = run_app("--host", "0.0.0.0", "--port", "1", env={"DSQA_AUTH": "no-colon"})
    assert done.returncode == 2 and "user:pass" in done.stderr


def test_binding_checks():
    from app import check_binding, is_loopback, parse_auth

    assert is_loopback("127.0.0.1") and is_loopback("localhost") and is_loopback("::1") and is_loopback("127.0.0.5")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.2") and not is_loopback("example.org")
    assert parse_auth("ann:s3:cret") == ("ann", "s3:cret")
    check_binding("0.0.0.0", ("ann", "pw"))  # credentials given: allowed
    with pytest.raises(SystemExit):
        check_binding("::", None)
