"""The web chat under `--auth`: every route but the login page answers 401 without a login (Gradio's own
`/gradio_api/cancel` and `/gradio_api/reset` included), failed logins are rate-limited, and feedback
is bounded per session and escaped in its JSONL. Real apps on loopback, real HTTP.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

import httpx
import pytest
from gradio_client import Client

from web.page import build_app
from web.server import OPEN_PATHS, OPEN_PREFIXES, launch
from web.service import ChatService
from web.state import empty_store, with_turn

pytestmark = pytest.mark.slow
USER, PASSWORD = "ann", "s3cret-pass"


def serve_with_login(bot):
    demo = build_app(bot, examples=["When will IDSEA launch?"])
    port = _free_port()
    url = launch(demo, "127.0.0.1", port, auth=(USER, PASSWORD), bot=bot)  # with the routes for programs
    return demo, url.rstrip("/")


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def guarded(shipped_bot):
    demo, url = serve_with_login(shipped_bot)
    yield demo, url
    demo.close()


def all_routes(routes, prefix: str = "") -> list[tuple[str, str]]:
    """(method, path) of every route the app serves, into included routers (FastAPI keeps those nested)."""
    found = []
    for route in routes:
        if hasattr(route, "original_router"):  # an included APIRouter: /gradio_api/…
            found += all_routes(route.original_router.routes, prefix + route.include_context.prefix)
        elif hasattr(route, "path"):
            methods = sorted((getattr(route, "methods", None) or {"GET"}) - {"HEAD", "OPTIONS"}) or ["GET"]
            found += [(method, prefix + route.path) for method in methods]
    return found


def concrete(path: str) -> str:
    """A request path for a route pattern: every {parameter} filled in."""
    return re.sub(r"\{[^}]+\}", "x1", path)


def is_login_page(path: str) -> bool:
    return path in OPEN_PATHS or path.startswith(OPEN_PREFIXES) or path.startswith(("/login", "/assets", "/static"))


def test_every_route_but_the_login_page_needs_the_login(guarded):
    demo, url = guarded
    routes = all_routes(demo.app.routes)
    gradio_api = [r for r in routes if r[1].startswith("/gradio_api/")]
    assert len(gradio_api) > 20 and ("POST", "/gradio_api/cancel") in routes and ("POST", "/gradio_api/reset") in routes
    programs = {("GET", "/v1/models"), ("POST", "/v1/chat/completions"), ("GET", "/mcp"), ("POST", "/mcp")}
    assert programs <= set(routes)
    open_routes, closed = [], []
    with httpx.Client(base_url=url, timeout=10) as http:
        for method, path in routes:
            status = http.request(method, concrete(path), json={}).status_code
            (closed if status == 401 else open_routes).append((method, path, status))
        # Paths no route serves are refused as well, before routing.
        for path in ("/gradio_api/does-not-exist", "/../etc/passwd", "/gradio_api/file=/etc/passwd"):
            assert http.get(path).status_code == 401
        # The two built-ins Gradio leaves open, with real-looking bodies.
        body = {"session_hash": "abc", "fn_index": 0, "event_id": "e1"}
        assert http.post("/gradio_api/cancel", json=body).status_code == 401
        assert http.post("/gradio_api/reset", json={"event_id": "e1"}).status_code == 401
    stray = [(m, p, s) for m, p, s in open_routes if not is_login_page(p)]
    assert stray == [], f"open without a login: {stray}"
    print(f"\n{len(closed)} of {len(routes)} routes answer 401 without a login; open: {open_routes}")


def test_with_the_login_the_page_and_the_api_work(guarded):
    _, url = guarded
    with httpx.Client(base_url=url, timeout=30) as http:
        assert "auth_required" in http.get("/").text  # the login page
        login = http.post("/login", data={"username": USER, "password": PASSWORD})
        assert login.status_code == 200
        assert http.get("/config").status_code == 200
        assert (
            http.post("/gradio_api/cancel", json={"session_hash": "a", "fn_index": 0, "event_id": "e"}).status_code
            == 200
        )
    text, sources = Client(url, auth=(USER, PASSWORD), verbose=False).predict(
        "When will IDSEA launch?", api_name="/chat"
    )
    assert "July 7" in text and sources
    with pytest.raises(Exception):  # noqa: B017 - gradio_client raises its own error for a refused login
        Client(url, verbose=False).predict("When will IDSEA launch?", api_name="/chat")


def test_failed_logins_are_rate_limited(shipped_bot):
    demo, url = serve_with_login(shipped_bot)
    try:
        with httpx.Client(base_url=url, timeout=10) as http:
            codes = [
                http.post("/login", data={"username": USER, "password": f"guess{i}"}).status_code for i in range(40)
            ]
            right = http.post("/login", data={"username": USER, "password": PASSWORD})
        assert codes[:5] == [400] * 5 and set(codes[5:]) == {429}, codes
        assert right.status_code == 429 and int(right.headers["Retry-After"]) >= 1  # even the right one waits
        print(f"\n40 wrong passwords: {codes.count(400)} checked, {codes.count(429)} refused with 429")
    finally:
        demo.close()


@dataclass
class Like:
    """What Gradio hands a like event (the parts `record_feedback` reads)."""

    index: int
    liked: bool | str


@dataclass
class Request:
    session_hash: str


def test_feedback_is_bounded_per_session_and_escaped(shipped_bot, tmp_path):
    service = ChatService(shipped_bot, examples=[])
    service.feedback_path = tmp_path / "feedback.jsonl"
    question = "Where is IDSEA based?\u2028second line\u2029 and \x85"
    store = with_turn(empty_store(), question, shipped_bot.ask("Where is IDSEA based?"))
    for _ in range(200):
        service.record_feedback(store, Like(index=1, liked=True), Request("one-session"))
    service.record_feedback(store, Like(index=1, liked="Dislike"), Request("another-session"))
    service.record_feedback(store, Like(index=0, liked=True), Request("another-session"))  # a question: ignored
    service.record_feedback(store, Like(index=7, liked=True), Request("another-session"))  # no such answer
    raw = (tmp_path / "feedback.jsonl").read_bytes()
    lines = raw.decode("ascii").splitlines()  # ASCII only: U+2028, U+2029 and U+0085 are all escaped
    assert len(lines) == 61  # 60 an hour for one session, then the other session's one rating
    assert all(json.loads(line)["question"] == question for line in lines)
    assert [json.loads(line)["rating"] for line in lines[-2:]] == ["up", "down"]
    assert "\\u2028" in lines[0] and "\u2028".encode() not in raw


@pytest.mark.browser
def test_the_login_page_works_in_a_browser_and_leads_to_the_chat(guarded):
    from playwright.sync_api import sync_playwright

    _, url = guarded
    refused: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
        page = browser.new_page()
        page.on("response", lambda r: refused.append(r.url) if r.status == 401 else None)
        page.goto(url)
        page.locator("input[type=password]").wait_for(timeout=30_000)
        assert page.locator("#dsqa-question").count() == 0  # nothing of the chat before the login
        page.locator("input[type=text]").first.fill(USER)
        page.locator("input[type=password]").fill(PASSWORD)
        page.keyboard.press("Enter")
        page.wait_for_selector("#dsqa-question textarea", timeout=30_000)
        browser.close()
    assert all("/login" not in u for u in refused)


KEY = "dsqa-test-key-7f3a9c"
CHAT = {"model": "deepspace-qa", "messages": [{"role": "user", "content": "When will IDSEA launch?"}]}
MCP_INIT = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}},
}
MCP_HEADERS = {"Accept": "application/json, text/event-stream"}


def test_programs_get_in_with_the_bearer_key_or_the_login_and_the_key_is_never_logged(
    guarded, monkeypatch, capfd, caplog
):
    _, url = guarded
    monkeypatch.setenv("DSQA_API_KEY", KEY)  # read when a request comes, as Settings.api_key does
    with httpx.Client(base_url=url, timeout=60) as http:
        for headers in ({}, {"Authorization": "Bearer not-the-key"}, {"Authorization": f"Basic {KEY}"}):
            response = http.post("/v1/chat/completions", json=CHAT, headers=headers)
            assert response.status_code == 401 and response.json()["error"]["code"] == "invalid_api_key"
            assert http.get("/v1/models", headers=headers).status_code == 401
            assert http.post("/mcp", json=MCP_INIT, headers=MCP_HEADERS | headers).status_code == 401
        bearer = {"Authorization": f"Bearer {KEY}"}
        answer = http.post("/v1/chat/completions", json=CHAT, headers=bearer)
        assert answer.status_code == 200 and "July 7th 2025" in answer.json()["choices"][0]["message"]["content"]
        assert http.get("/v1/models", headers=bearer).json()["data"][0]["id"] == "deepspace-qa"
        assert http.post("/mcp", json=MCP_INIT, headers=MCP_HEADERS | bearer).status_code == 200
        assert (
            http.get("/", headers=bearer).status_code == 200 and http.get("/config", headers=bearer).status_code == 401
        )
        assert http.post("/login", data={"username": USER, "password": PASSWORD}).status_code == 200
        assert http.get("/v1/models").status_code == 200  # the page's login cookie is enough
    out, err = capfd.readouterr()
    assert KEY not in out + err + caplog.text and "not-the-key" not in out + err + caplog.text


def test_wrong_keys_are_limited_like_wrong_passwords(shipped_bot, monkeypatch):
    demo, url = serve_with_login(shipped_bot)
    monkeypatch.setenv("DSQA_API_KEY", KEY)
    try:
        with httpx.Client(base_url=url, timeout=30) as http:
            statuses = [
                http.get("/v1/models", headers={"Authorization": f"Bearer wrong-{n}"}).status_code for n in range(8)
            ]
            assert statuses[:5] == [401] * 5 and set(statuses[5:]) == {429}
            assert http.get("/v1/models", headers={"Authorization": f"Bearer {KEY}"}).status_code == 200
    finally:
        demo.close()


def test_programs_over_the_rate_limit_get_a_429_and_the_page_does_not():
    """The gate's limit on /v1/… and /mcp together, per client address, on a small app in this process."""
    from limits import parse
    from starlette.applications import Starlette
    from starlette.middleware import Middleware
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route
    from starlette.testclient import TestClient

    from web.server import LoginGate

    def ok(_request):
        return PlainTextResponse("ok")

    routes = [Route("/v1/models", ok), Route("/mcp", ok, methods=["POST"]), Route("/config", ok)]
    gate = Middleware(LoginGate, program_limits=(parse("3/minute"), parse("100/minute")))
    with TestClient(Starlette(routes=routes, middleware=[gate])) as http:
        statuses = [http.get("/v1/models").status_code for _ in range(3)] + [http.post("/mcp").status_code]
        refused = http.get("/v1/models")
        assert statuses == [200, 200, 200, 429] and refused.status_code == 429
        assert refused.json()["error"]["code"] == "rate_limit_exceeded" and int(refused.headers["Retry-After"]) > 0
        assert [http.get("/config").status_code for _ in range(5)] == [200] * 5
