"""Bounded inputs on the served app: a body limit on every route, an uploads folder that keeps only
article files, and no copy of a deleted document left to download.

The app is the real one (`web.server.launch`, so the real middleware), over a copy of the shipped
article, on loopback; requests are plain HTTP (httpx) or gradio_client.
"""

from __future__ import annotations

import shutil
import socket
from pathlib import Path

import httpx
import pytest
from gradio.utils import get_upload_folder
from gradio_client import Client, handle_file

from bot import Bot
from knowledge.settings import PROJECT_ROOT

SHIPPED_ARTICLES = PROJECT_ROOT / "knowledge" / "articles"

UPLOAD_MB = 0.2  # per file: the upload route then takes ten files' worth, 2 MB


@pytest.fixture(scope="module")
def served(tmp_path_factory, embedder):
    from web.page import build_app
    from web.server import launch

    root = tmp_path_factory.mktemp("bounded")
    folder = root / "articles"
    shutil.copytree(SHIPPED_ARTICLES, folder)
    bot = Bot(knowledge_dir=folder, index_dir=root / "index", embedder=embedder)
    bot.index(progress=False)
    demo = build_app(bot, examples=["When will IDSEA launch?"], stream_delay=0)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = launch(demo, "127.0.0.1", port, max_file_mb=UPLOAD_MB)
    yield url, bot
    demo.close()


def _chat_body(size: int) -> bytes:
    return b'{"data": ["' + b"x" * size + b'"]}'


def test_a_chat_call_over_1_mb_is_refused_before_it_is_read(served):
    url, _ = served
    with httpx.Client(base_url=url, timeout=60) as http:
        small = http.post(
            "/gradio_api/call/chat", content=_chat_body(1000), headers={"content-type": "application/json"}
        )
        assert small.status_code == 200
        declared = http.post("/gradio_api/call/chat", content=_chat_body(2_000_000))
        assert declared.status_code == 413 and "1 MB" in declared.text

        def chunks():  # no Content-Length: counted while read
            for _ in range(40):
                yield b"x" * 50_000

        streamed = http.post("/gradio_api/call/chat", content=chunks(), headers={"content-type": "application/json"})
        assert streamed.status_code == 413
        assert "chunked" in streamed.request.headers.get("transfer-encoding", "")


def test_the_upload_route_has_its_own_limit_and_takes_only_article_files(served, tmp_path):
    url, _ = served
    uploads = Path(get_upload_folder())
    with httpx.Client(base_url=url, timeout=60) as http:
        big = {"files": ("big.md", b"# Big\n\n" + b"word " * 500_000)}  # 2.5 MB
        assert http.post("/gradio_api/upload", files=big).status_code == 413
        exe = [("files", ("tool.exe", b"MZ" * 1000)), ("files", ("notes.md", b"# Notes\n\nText.\n"))]
        refused = http.post("/gradio_api/upload", files=exe)
        assert refused.status_code == 415 and "tool.exe: this kind of file is not supported" in refused.text
        good = http.post("/gradio_api/upload", files={"files": ("fine.md", b"# Fine\n\nText.\n")})
        assert good.status_code == 200 and Path(good.json()[0]).suffix == ".md"
    assert not list(uploads.rglob("tool.exe")) and not list(uploads.rglob("big.md"))
    assert not [p for p in uploads.rglob("notes.md") if p.stat().st_size == len(b"# Notes\n\nText.\n")]


def test_a_deleted_document_cannot_be_downloaded(served, tmp_path):
    url, bot = served
    path = tmp_path / "kestrel-7781.md"
    path.write_text("# Kestrel probe\n\nThe Kestrel probe reached comet Vega in 2027.\n", encoding="utf-8")
    client = Client(url, verbose=False)
    (added,) = client.predict([handle_file(str(path))], api_name="/upload")
    kept = bot.settings.knowledge_dir / "kestrel-7781.md"
    assert kept.exists()
    assert not list(Path(get_upload_folder()).rglob("kestrel-7781.md"))  # the upload's copy went with its request
    client.predict(added["article_id"], api_name="/delete")
    assert not kept.exists()
    with httpx.Client(base_url=url, timeout=60) as http:
        assert http.get(f"/gradio_api/file={kept}").status_code in (403, 404)


def test_a_refused_upload_says_why_through_the_api(served, tmp_path):
    from documents import make_pdf
    from gradio_client.exceptions import AppError

    url, bot = served
    before = sorted(p.name for p in bot.settings.knowledge_dir.iterdir())
    locked = make_pdf(tmp_path / "locked.pdf", ["Locked minutes."], user_password="s3cret")
    broken = tmp_path / "broken.docx"
    broken.write_bytes(b"not a zip at all")
    client = Client(url, verbose=False)
    with pytest.raises(AppError, match="locked.pdf: it is an encrypted PDF that needs a password"):
        client.predict([handle_file(str(locked))], api_name="/upload")
    with pytest.raises(AppError, match=r"broken.docx: it is not a DOCX file \(not a zip archive\)"):
        client.predict([handle_file(str(broken))], api_name="/upload")
    assert sorted(p.name for p in bot.settings.knowledge_dir.iterdir()) == before
