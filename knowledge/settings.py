"""The one `Settings` object: every knob of the pipeline, with a default and a description.

Built once at start-up (`Settings.from_env()` reads `DSQA_*` variables) and passed down; no module
reads the environment at import time. It sits in `knowledge/`, the root of the one-way flow, so every
stage can take it without importing a later one.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
BUNDLED_MODEL = "bundled:all-MiniLM-L6-v2"
BUNDLED_MODEL_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"

# Offline by default: set before sentence-transformers, huggingface_hub, chromadb or gradio import.
OFFLINE_ENV = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "GRADIO_ANALYTICS_ENABLED": "False",
    "ANONYMIZED_TELEMETRY": "False",
    "TOKENIZERS_PARALLELISM": "false",
    "ORT_DISABLE_TELEMETRY": "1",  # onnxruntime ≥ 1.29 (Linux) otherwise resolves a telemetry host at start-up
}


def go_offline() -> None:
    """Set the offline/no-telemetry variables (unless the user set them) before heavy imports."""
    for name, value in OFFLINE_ENV.items():
        os.environ.setdefault(name, value)


_PATHS = ("knowledge_dir", "index_dir", "data_dir", "cache_dir")


def default_index_dir(knowledge_dir: str | Path, root: Path = PROJECT_ROOT / ".index") -> Path:
    """`<root>/<folder name>-<short hash of its absolute path>`: one index per knowledge folder, so
    switching folders never touches another folder's index.

    >>> default_index_dir("/data/articles", Path("/app/.index")).name
    'articles-30fd51f1'
    """
    folder = Path(knowledge_dir).expanduser().resolve()
    digest = hashlib.sha256(str(folder).encode("utf-8", "surrogatepass")).hexdigest()[:8]
    name = "".join(ch if ch.isalnum() or ch in "-_." else "-" for ch in folder.name) or "root"
    return root / f"{name}-{digest}"


def _describe(default, help_text: str):
    return field(default=default, metadata={"help": help_text})


@dataclass(frozen=True)
class Settings:
    """Configuration for the whole bot. `Settings.from_env()` overrides fields from `DSQA_<FIELD>`.

    >>> Settings(top_k=3).top_k
    3
    """

    knowledge_dir: Path = _describe(PROJECT_ROOT / "knowledge" / "articles", "Folder of source articles.")
    index_dir: Path | None = _describe(
        None, "Folder of the on-disk index; default .index/<folder name>-<short hash of the knowledge folder's path>."
    )
    data_dir: Path = _describe(PROJECT_ROOT / ".data", "Folder for user data (chat feedback).")
    cache_dir: Path = _describe(PROJECT_ROOT / ".cache", "Folder for derived model files (the ONNX query encoder).")
    fast_queries: bool = _describe(
        True, "Embed questions with an ONNX export of the bundled model: a cold start without torch."
    )
    model: str = _describe(BUNDLED_MODEL, "Embedding model: the bundled one, or a sentence-transformers name/path.")
    model_sha256: str = _describe(BUNDLED_MODEL_SHA256, "Expected sha256 of the bundled model.safetensors.")
    chunk_size: int = _describe(700, "Maximum characters per chunk (sentence-aware split).")
    chunk_overlap: int = _describe(150, "Characters of overlap between neighbouring chunks.")
    top_k: int = _describe(5, "Chunks returned by the hybrid retriever.")
    candidates_k: int = _describe(20, "Candidates taken from each of dense and BM25 before fusion.")
    rrf_k: int = _describe(60, "Reciprocal-rank-fusion constant.")
    abstain_below: float = _describe(
        0.35, "Answer confidence below which the bot says the articles do not hold it (calibrated: README)."
    )
    max_question_chars: int = _describe(2000, "Longer questions are truncated, with a note.")
    batch_size: int = _describe(64, "Sentences per embedding batch when indexing.")
    chroma_url: str = _describe(
        "", "A Chroma server (http://127.0.0.1:8000) to hold the vectors instead of the embedded store."
    )
    watch: bool = _describe(
        True, "A long-running chat (web page, dsqa chat) syncs changes to the folder as they happen."
    )
    progress: bool = _describe(True, "Show progress bars on long work.")

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None, **overrides) -> Settings:
        """Defaults, then `DSQA_*` variables, then explicit overrides (e.g. from the CLI)."""
        environ = os.environ if environ is None else environ
        values = {}
        for f in fields(cls):
            raw = environ.get(f"DSQA_{f.name.upper()}")
            if raw is None:
                continue
            kind = type(f.default)
            if f.name in _PATHS:
                values[f.name] = Path(raw).expanduser()
            elif kind is bool:
                values[f.name] = raw.strip().lower() in {"1", "true", "yes", "on"}
            elif issubclass(kind, Path):
                values[f.name] = Path(raw).expanduser()
            else:
                values[f.name] = kind(raw)
        values.update({k: v for k, v in overrides.items() if v is not None})
        for name in _PATHS:
            if values.get(name) is not None:
                values[name] = Path(values[name]).expanduser()
        return replace(cls(), **values)

    @property
    def index_path(self) -> Path:
        """The index folder: `index_dir` when set, else one derived from the knowledge folder."""
        return Path(self.index_dir) if self.index_dir is not None else default_index_dir(self.knowledge_dir)

    @staticmethod
    def describe() -> dict[str, str]:
        """Field name → one-line description (the README documents each; a test checks)."""
        return {f.name: f.metadata["help"] for f in fields(Settings)}
