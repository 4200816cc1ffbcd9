"""Time to the first streamed text: the `openai` SDK on /v1/chat/completions against the page, same server, same run.

Starts `dsqa serve` on a free loopback port over the shipped articles (index and data in a temp folder),
then alternates: the page in Debian's headless Chromium (from the click on Ask to the first text in the
answer bubble, measured in the page by a MutationObserver) and the SDK (from `create(stream=True)` to the
first chunk with content). Prints medians and their ratio. Not a test: timings on a shared machine are noisy.

    .venv/bin/python tools/first_chunk_bench.py [--runs 9] [--question "When will IDSEA launch?"]
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking"]
FIRST_TEXT_JS = """() => new Promise(resolve => {
  const t0 = performance.now();
  const done = () => {
    const bot = document.querySelector('#dsqa-chat [data-testid="bot"]');
    return bot && bot.innerText.trim() !== '';
  };
  const observer = new MutationObserver(() => { if (done()) { observer.disconnect(); resolve(performance.now() - t0); } });
  observer.observe(document.body, {subtree: true, childList: true, characterData: true});
  setTimeout(() => { observer.disconnect(); resolve(NaN); }, 60000);  // never hang: a lost run is NaN
  document.querySelector('#dsqa-ask').click();
})"""
ANSWER_DONE_JS = """() => { const bot = document.querySelector('#dsqa-chat [data-testid="bot"]');
  return bot && bot.querySelector('.dsqa-copy, .dsqa-abstain') !== null; }"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_server(folder: Path) -> tuple[subprocess.Popen, str]:
    env = os.environ | {"DSQA_INDEX_DIR": str(folder / "index"), "DSQA_DATA_DIR": str(folder / "data")}
    args = [sys.executable, str(ROOT / "cli.py"), "serve", "--port", str(free_port()), "--quiet"]
    server = subprocess.Popen(args, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    for line in server.stdout:
        if "web chat: " in line:
            return server, line.split("web chat: ")[1].split()[0].rstrip("/")
    raise SystemExit("dsqa serve stopped before serving")


def page_first_text_ms(page, url: str, question: str) -> float:
    page.goto(url)
    page.wait_for_selector("#dsqa-question textarea")
    page.click("#dsqa-new-chat")  # an empty chat, so the bubble measured is this question's
    page.wait_for_function("""() => !document.querySelector('#dsqa-chat [data-testid="bot"]')""")
    page.fill("#dsqa-question textarea", question)
    ms = page.evaluate(FIRST_TEXT_JS)
    page.wait_for_function(ANSWER_DONE_JS, timeout=60_000)
    return ms


def sdk_first_chunk_ms(client, question: str) -> tuple[float, float]:
    """(ms to the first chunk, ms to the first chunk with text)."""
    started = time.perf_counter()
    first = first_text = None
    for chunk in client.chat.completions.create(
        model="deepspace-qa", messages=[{"role": "user", "content": question}], stream=True
    ):
        now = (time.perf_counter() - started) * 1000
        first = first if first is not None else now
        if first_text is None and chunk.choices[0].delta.content:
            first_text = now
    return first, first_text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--question", default="When will IDSEA launch?")
    options = parser.parse_args()
    from openai import OpenAI
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="dsqa-bench-") as folder:
        server, url = start_server(Path(folder))
        try:
            client = OpenAI(base_url=url + "/v1", api_key="none", timeout=120, max_retries=0)
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
                page = browser.new_page()
                page_first_text_ms(page, url, options.question)  # warm-up: models loaded, page cached
                sdk_first_chunk_ms(client, options.question)
                pages, chunks, texts = [], [], []
                for _ in range(options.runs):
                    pages.append(page_first_text_ms(page, url, options.question))
                    first, first_text = sdk_first_chunk_ms(client, options.question)
                    chunks.append(first)
                    texts.append(first_text)
                browser.close()
        finally:
            server.terminate()
            server.wait(timeout=30)
    lost = sum(1 for x in pages if x != x)
    pages = [x for x in pages if x == x]  # NaN: no text within 60 s
    page_ms, text_ms, chunk_ms = (statistics.median(x) for x in (pages, texts, chunks))
    print(f"{options.runs} runs each, alternating, question {options.question!r}")
    print(f"page: click on Ask → first answer text      median {page_ms:7.1f} ms  {sorted(round(x) for x in pages)}")
    print(f"openai SDK: create() → first chunk with text median {text_ms:7.1f} ms  {sorted(round(x) for x in texts)}")
    print(f"openai SDK: create() → first chunk (role)    median {chunk_ms:7.1f} ms")
    print(
        f"ratio, SDK first text / page first text: {text_ms / page_ms:.2f}"
        + (f"  ({lost} page runs lost)" if lost else "")
    )


if __name__ == "__main__":
    main()
