"""Put a user's file into the knowledge folder, or take one out, without ever leaving the folder.

An upload keeps only its base name, made safe (no path parts, no control or shell-special
characters, no leading dot), and gets a new name (`report-2.md`) rather than overwriting a file or
asking for an article id another file has (`report.md` beside `report.txt`), so an upload never
renames an existing document; the copy is created exclusively, so two uploads of one name at once
cannot clobber each other.
Only suffixes the loaders read are accepted, up to a size limit. Indexing is the caller's job.
"""

from __future__ import annotations

import re
import shutil
import unicodedata
from pathlib import Path

from knowledge.folder import base_id
from knowledge.loaders import SUPPORTED_SUFFIXES

MAX_NAME_CHARS = 120
_UNSAFE = re.compile(r"[^\w.\- ]+")  # \w is Unicode: 报告.md and Résumé.txt keep their letters


class UploadError(ValueError):
    """A file cannot be added or removed; the message says which and why, in one line."""


def accepted_suffixes() -> tuple[str, ...]:
    """File suffixes an upload may have: whatever the loaders read (`.md`, `.txt`, `.html`, …)."""
    return tuple(SUPPORTED_SUFFIXES)


def safe_name(name: str) -> str:
    """A plain file name for `name`: base name only, safe characters, no leading dot, bounded length.

    >>> safe_name("../../etc/passwd.md"), safe_name("C:\\\\x\\\\My  Report?.TXT"), safe_name(".bashrc.md")
    ('passwd.md', 'My Report.txt', 'bashrc.md')
    """
    base = unicodedata.normalize("NFC", name).replace("\\", "/").rsplit("/", 1)[-1]
    stem, dot, suffix = base.rpartition(".")
    if not dot:
        stem, suffix = base, ""
    stem = " ".join(_UNSAFE.sub(" ", stem).split()).strip(" .-") or "document"
    suffix = _UNSAFE.sub("", suffix).lower()
    stem = stem[: MAX_NAME_CHARS - len(suffix) - 1].rstrip(" .-") or "document"
    return f"{stem}.{suffix}" if suffix else stem


def check_upload(source: str | Path, max_mb: float, name: str | None = None) -> str:
    """The safe name `source` would be saved under; `UploadError` if its type or size is refused."""
    source = Path(source)
    shown = name or source.name
    target = safe_name(shown)
    suffix = Path(target).suffix
    if suffix not in accepted_suffixes():
        kinds = " ".join(accepted_suffixes())
        raise UploadError(f"{shown}: this kind of file is not supported (use {kinds})")
    try:
        size = source.stat().st_size
    except OSError as error:
        raise UploadError(f"{shown}: cannot read it ({error.strerror or error})") from None
    if not source.is_file():
        raise UploadError(f"{shown}: not a file")
    if size > max_mb * 1_000_000:
        raise UploadError(f"{shown}: {size / 1_000_000:.1f} MB is over the {max_mb:g} MB limit")
    return target


def save_upload(
    source: str | Path,
    folder: str | Path,
    max_mb: float,
    name: str | None = None,
    taken_ids: frozenset[str] = frozenset(),
) -> Path:
    """Copy `source` into `folder` under a safe, unused name and return the new path.

    `name` is the name the user gave the file (default: `source`'s own). Never overwrites, and never
    picks a name whose article id is in `taken_ids` (the folder's documents' ids), so the new file's
    id is its own and no existing document's id changes.
    """
    target_name = check_upload(source, max_mb, name)
    folder = Path(folder).resolve()
    stem, suffix = Path(target_name).stem, Path(target_name).suffix
    for attempt in range(1, 10_000):
        candidate = folder / (target_name if attempt == 1 else f"{stem}-{attempt}{suffix}")
        if candidate.parent != folder:  # cannot happen with a safe name; refuse rather than trust it
            raise UploadError(f"{name or Path(source).name}: unsafe file name")
        if base_id(candidate.name) in taken_ids:
            continue
        try:
            with open(source, "rb") as reader, open(candidate, "xb") as writer:
                shutil.copyfileobj(reader, writer)
        except FileExistsError:
            continue
        except OSError as error:
            candidate.unlink(missing_ok=True)
            raise UploadError(f"{candidate.name}: cannot save it ({error.strerror or error})") from None
        return candidate
    raise UploadError(f"{target_name}: too many files of that name")


def remove_document_file(path: str | Path, folder: str | Path) -> None:
    """Delete `path`, a file inside `folder` (a symlink is removed, never what it points to)."""
    path, folder = Path(path), Path(folder).resolve()
    parent = path.parent.resolve()
    if parent != folder and folder not in parent.parents:
        raise UploadError(f"{path.name}: not inside the knowledge folder")
    if not (path.is_file() or path.is_symlink()):
        raise UploadError(f"{path.name}: no such file")
    try:
        path.unlink()
    except OSError as error:
        raise UploadError(f"{path.name}: cannot delete it ({error.strerror or error})") from None
