"""A scripted llama.cpp engine behind the real `LocalModel` queue, for tests whose timing must be exact."""

from __future__ import annotations

import time

from bot.llama import LocalModel


class ScriptedEngine:
    """Streams the next scripted content, one character every `per_token` seconds after `delay` seconds, as
    llama.cpp's server does (a chunk per token to the callback, which returns True to stop); counts the
    requests it served and the chunks it sent."""

    def __init__(self, contents: list[str], delay: float = 0.0, per_token: float = 0.0):
        self.contents, self.delay, self.per_token = list(contents), delay, per_token
        self.served = self.chunks = 0

    def handle_chat_completions(self, body: dict, callback) -> None:
        assert body["stream"] is True
        time.sleep(self.delay)
        self.served += 1
        content = self.contents.pop(0) if self.contents else '{"span": ""}'
        for piece in content:
            time.sleep(self.per_token)
            self.chunks += 1
            if callback({"choices": [{"index": 0, "delta": {"content": piece}}]}):
                return


def scripted(engine: ScriptedEngine, queue_size: int = 4) -> LocalModel:
    model = LocalModel("scripted.gguf", queue_size=queue_size, load=lambda path, threads: engine)
    assert model.wait_loaded(5)
    return model
