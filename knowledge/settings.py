"""The one `Settings` object: every knob of the pipeline, with a default, a description and a check.

Built once at start-up (`Settings.from_env()` reads `DSQA_*` variables) and passed down; no module
reads the environment at import time. Every field is validated by pydantic against its annotation
(`Settings(top_k=0)`, `DSQA_TOP_K=abc`, a missing knowledge folder all fail), and any failure is a
`SettingsError`: a `ValueError` whose message is one line naming the setting. It sits in `knowledge/`,
the root of the one-way flow, so every stage can take it without importing a later one.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field, fields, replace
from functools import cache
from pathlib import Path
from typing import Annotated, Literal, get_type_hints
from urllib.parse import urlsplit

from pydantic import AfterValidator, BeforeValidator, Field, FiniteFloat, TypeAdapter, ValidationError
from pydantic import NonNegativeInt as NonNegativeInt  # re-exported for field annotations
from pydantic import PositiveInt as PositiveInt

PROJECT_ROOT = Path(__file__).resolve().parent.parent
BUNDLED_MODEL = "bundled:all-MiniLM-L6-v2"
BUNDLED_MODEL_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"

# Offline and quiet by default: set before sentence-transformers, huggingface_hub, chromadb or gradio
# import. No model-loading bars ("Loading weights"); a tqdm bar appears only after 1 s of work.
OFFLINE_ENV = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "GRADIO_ANALYTICS_ENABLED": "False",
    "ANONYMIZED_TELEMETRY": "False",
    "TOKENIZERS_PARALLELISM": "false",
    "HF_HUB_DISABLE_PROGRESS_BARS": "1",
    "TRANSFORMERS_VERBOSITY": "error",
    "TQDM_DELAY": "1",
    "ORT_DISABLE_TELEMETRY": "1",  # onnxruntime ≥ 1.29 (Linux) otherwise resolves a telemetry host at start-up
}
# Threads that sleep when idle: llama.cpp's OpenMP threads otherwise spin after each token and take the
# cores from the extractive path and other chats on a small machine. Set before the library loads.
PASSIVE_THREADS_ENV = {"OMP_WAIT_POLICY": "PASSIVE"}


def go_offline() -> None:
    """Set the offline/quiet/no-telemetry variables (unless the user set them) before heavy imports."""
    for name, value in OFFLINE_ENV.items():
        os.environ.setdefault(name, value)


def passive_threads() -> None:
    """Let OpenMP threads sleep when idle (unless the user chose otherwise): call before llama.cpp loads."""
    for name, value in PASSIVE_THREADS_ENV.items():
        os.environ.setdefault(name, value)


class SettingsError(ValueError):
    """A setting holds a value it cannot take. `str(error)` is one line naming the setting and why."""


def _expand_user(value):
    if isinstance(value, str) and not value.strip():
        raise ValueError("an empty path is no folder")  # Path("") would mean the current folder
    return Path(value).expanduser() if isinstance(value, str | Path) else value


def _existing_folder(path: Path) -> Path:
    if not path.is_dir():
        raise ValueError("no such folder")
    return path


def _creatable_folder(path: Path) -> Path:
    """A folder that exists or can be made: its nearest existing ancestor is a folder, not a file."""
    for ancestor in (path, *path.parents):
        if ancestor.exists():
            if not ancestor.is_dir():
                raise ValueError(f"cannot be a folder: {ancestor} is a file")
            return path
    return path


def _server_url(value: str) -> str:
    """Empty (none), or an http(s) address with a host: anything else could never be reached."""
    if value:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("expected an http:// or https:// address with a host")
    return value


Folder = Annotated[Path, BeforeValidator(_expand_user), AfterValidator(_existing_folder)]
WritableFolder = Annotated[Path, BeforeValidator(_expand_user), AfterValidator(_creatable_folder)]
Share = Annotated[FiniteFloat, Field(ge=0, le=1)]  # a number from 0 to 1; nan and inf are refused
PositiveNumber = Annotated[FiniteFloat, Field(gt=0)]
Text = Annotated[str, Field(min_length=1)]
ServerUrl = Annotated[str, AfterValidator(_server_url)]


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

    Each field's annotation is its check (see the types above); one field per line.

    >>> Settings(top_k=3).top_k
    3
    >>> Settings(top_k=0)
    Traceback (most recent call last):
    knowledge.settings.SettingsError: top_k=0: input should be greater than 0
    """

    knowledge_dir: Folder = _describe(PROJECT_ROOT / "knowledge" / "articles", "Folder of source articles.")
    index_dir: WritableFolder | None = _describe(
        None, "Folder of the on-disk index; default .index/<folder name>-<short hash of the knowledge folder's path>."
    )
    data_dir: WritableFolder = _describe(PROJECT_ROOT / ".data", "Folder for user data (chat feedback).")
    cache_dir: WritableFolder = _describe(
        PROJECT_ROOT / ".cache", "Folder for derived model files (the ONNX query encoder)."
    )
    fast_queries: bool = _describe(
        True, "Embed questions with an ONNX export of the bundled model: a cold start without torch."
    )
    model: Text = _describe(BUNDLED_MODEL, "Embedding model: the bundled one, or a sentence-transformers name/path.")
    model_sha256: str = _describe(BUNDLED_MODEL_SHA256, "Expected sha256 of the bundled model.safetensors.")
    max_file_mb: PositiveNumber = _describe(
        20.0, "Larger files in the knowledge folder are skipped, with a warning naming them."
    )
    chunk_size: PositiveInt = _describe(700, "Maximum characters per chunk (sentence-aware split).")
    chunk_overlap: NonNegativeInt = _describe(150, "Characters of overlap between neighbouring chunks.")
    top_k: PositiveInt = _describe(5, "Chunks returned by the hybrid retriever.")
    candidates_k: PositiveInt = _describe(20, "Candidates taken from each of dense and BM25 before fusion.")
    rrf_k: PositiveInt = _describe(60, "Reciprocal-rank-fusion constant.")
    abstain_below: Share | None = _describe(
        None, "Confidence below which the bot declines; unset: the threshold calibrated with the model (README)."
    )
    max_question_chars: PositiveInt = _describe(2000, "Longer questions are truncated, with a note.")
    batch_size: PositiveInt = _describe(64, "Sentences per embedding batch when indexing.")
    chroma_url: str = _describe(
        "", "A Chroma server (http://127.0.0.1:8000) to hold the chunk vectors instead of the index's snapshot."
    )
    store_timeout_s: PositiveNumber = _describe(
        30.0, "Seconds a call to the Chroma server may take before it counts as not answering."
    )
    watch: bool = _describe(
        True, "A long-running chat (web page, dsqa chat) syncs changes to the folder as they happen."
    )
    progress: bool = _describe(True, "Show progress bars on indexing that takes more than a second.")
    max_upload_mb: PositiveNumber = _describe(20.0, "Largest file the web chat accepts as an upload, in MB.")
    kill_at: str = _describe("", "Crash tests only: kill -9 the indexer at this checkpoint (index/faults.py).")
    llm_base_url: ServerUrl = _describe("", "OpenAI-compatible LLM server (…/v1); empty: extractive answers only.")
    llm_model: Text = _describe("default", "Model name sent to the LLM server.")
    llm_api_key_env: str = _describe("", "Name of the env variable holding the LLM server's key (read when used).")
    llm_timeout_s: PositiveNumber = _describe(
        60.0, "Seconds the whole LLM part of one answer may take before the fallback."
    )
    llm_structured: bool = _describe(True, "Ask the LLM for JSON by schema (sentences + passages), else [n] text.")
    api_key_env: str = _describe(
        "DSQA_API_KEY", "Name of the env variable holding the key programs send as a Bearer token (read when used)."
    )
    reader: Literal["llm", "extractive"] = _describe(
        "llm", "Who finds the short answer: the local reading model (llm), or the extractive reader alone."
    )
    reader_model: Literal["1.5b", "0.5b"] = _describe(
        "1.5b", "The local reading model: Qwen2.5-Coder-Instruct 1.5B or 0.5B."
    )
    reader_cache_dir: WritableFolder = _describe(
        Path("~/.cache/deepspace-qa/llm"), "Per-user folder of the local reading model's file (fetched by make setup)."
    )
    reader_wait_s: PositiveNumber = _describe(
        3.0,
        "Seconds a question waits for the reading model to be free (other chats' reads) before keeping the extractive answer.",
    )
    reader_read_s: PositiveNumber = _describe(
        10.0, "Seconds the reading model may take over one read, once begun, before the extractive answer is kept."
    )
    reader_threads: PositiveInt = _describe(2, "CPU threads the local reading model uses.")
    reader_condense: bool = _describe(
        False, "Let the reading model rewrite a follow-up as a standalone question (checked) to answer it again."
    )

    def __post_init__(self) -> None:
        checkers = _checkers(type(self))
        for f in fields(self):
            value = getattr(self, f.name)
            try:
                object.__setattr__(self, f.name, checkers[f.name].validate_python(value))
            except ValidationError as error:
                raise SettingsError(f"{f.name}={_shown(value)}: {_reason(error)}") from None
        if self.chunk_overlap >= self.chunk_size:
            raise SettingsError(
                f"chunk_overlap={self.chunk_overlap}: must be smaller than chunk_size ({self.chunk_size})"
            )

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None, **overrides) -> Settings:
        """Defaults, then `DSQA_*` variables, then explicit overrides (e.g. from the CLI; None is skipped).

        A bad value raises `SettingsError` naming the variable: `DSQA_TOP_K=abc: input should be …`.
        """
        environ = os.environ if environ is None else environ
        values: dict[str, object] = {}
        sources: dict[str, str] = {}
        for f in fields(cls):
            name = f"DSQA_{f.name.upper()}"
            if name in environ:
                values[f.name], sources[f.name] = environ[name].strip(), name
        given = {k: v for k, v in overrides.items() if v is not None}
        values.update(given)
        for name in given:
            sources.pop(name, None)
        try:
            return replace(cls(), **values)
        except SettingsError as error:
            setting, _, rest = str(error).partition("=")
            if setting in sources:
                raise SettingsError(f"{sources[setting]}={rest}") from None
            raise
        except TypeError as error:  # an override that is not a field
            raise SettingsError(str(error)) from None

    def api_key(self) -> str:
        """The key the OpenAI-compatible and MCP routes accept as `Authorization: Bearer <key>`: read from the
        variable named by `api_key_env` now, never stored in Settings; "" when unset (no key accepted)."""
        return os.environ.get(self.api_key_env, "").strip() if self.api_key_env else ""

    @property
    def index_path(self) -> Path:
        """The index folder: `index_dir` when set, else one derived from the knowledge folder."""
        return Path(self.index_dir) if self.index_dir is not None else default_index_dir(self.knowledge_dir)

    @staticmethod
    def describe() -> dict[str, str]:
        """Field name → one-line description (the README documents each; a test checks)."""
        return {f.name: f.metadata["help"] for f in fields(Settings)}


@cache
def _checkers(cls: type) -> dict[str, TypeAdapter]:
    """One pydantic validator per field, built from its annotation (once per class)."""
    hints = get_type_hints(cls, include_extras=True)
    return {f.name: TypeAdapter(hints[f.name]) for f in fields(cls)}


def _shown(value: object, limit: int = 60) -> str:
    text = str(value)
    text = text if len(text) <= limit else text[: limit - 1] + "…"
    return text.encode("unicode_escape").decode("ascii") if not text.isprintable() else text


def _reason(error: ValidationError) -> str:
    """Pydantic's first complaint as a short lower-case phrase ("input should be greater than 0")."""
    first = error.errors(include_url=False)[0]
    cause = (first.get("ctx") or {}).get("error")
    message = str(cause) if isinstance(cause, Exception) else first["msg"]
    return message[:1].lower() + message[1:]
