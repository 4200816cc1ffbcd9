"""The knowledge folder as a boundary: which files are articles, their ids, and reading them safely.

Only regular files whose real path lies inside the folder are read. A link leading outside, a link
loop, a dangling link, a FIFO or device are skipped with a reason; hidden files and editor
temporaries are ignored without one. Listing and reading walk the folder by directory file
descriptors (`os.fwalk`, then `openat` with `O_NOFOLLOW | O_DIRECTORY` per component, from the
folder's own descriptor), so a subfolder swapped for a link while we list or read never leads
outside: the open fails and the file is skipped. Reading checks the opened file again and reads at
most the size limit. Hard links cannot be told apart from ordinary files: a folder's owner who
hard-links a file in has put it there.
"""

from __future__ import annotations

import errno
import hashlib
import os
import re
import stat
import unicodedata
from dataclasses import dataclass
from pathlib import Path

SUPPORTED_SUFFIXES = (".md", ".markdown", ".txt", ".html", ".htm", ".pdf", ".docx")
# Editor and office temporaries: emacs `.#x`/`#x#`, vim/emacs backups `x~`, Office's `~$x.docx` owner files.
# (Hidden names, vim's `.x.swp` and LibreOffice's `.~lock.x#` start with a dot and are ignored with them.)
_TEMPORARY = re.compile(r"^(?:\.|~\$|#)|[~#]$")
_MAX_ID_CHARS = 80


class SkipFile(Exception):
    """This file cannot be used; the message says why, for a warning that names the file."""


@dataclass(frozen=True)
class Candidate:
    """A file that may be an article: where it is (as listed, and resolved) and its path in the folder."""

    path: Path
    real: Path
    relative: str  # posix path inside the folder, as listed: the article id comes from it
    root: Path  # the resolved folder: `real` is read by walking down from it, never by its path


def is_ignored(name: str) -> bool:
    """True for hidden files and editor temporaries. `is_ignored(".#a.md") and is_ignored("a.md~")`."""
    return bool(_TEMPORARY.search(name))


def list_candidates(folder: Path) -> tuple[list[Candidate], list[tuple[Path, str]]]:
    """Files under `folder` that may be articles, and (path, reason) for each file skipped on the way.

    Folder links are never followed (a link to a folder inside is read through the real folder), and
    the walk holds directory descriptors (`os.fwalk`), so a subfolder swapped for a link mid-walk is
    not entered. Hidden folders are not entered. The result is sorted by relative path, so it is the
    same every run.
    """
    root = folder.resolve(strict=True)
    listed: list[tuple[Path, bool]] = []  # (path as listed, is a link)
    skipped: list[tuple[Path, str]] = []
    root_fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        for current, dirs, files, dir_fd in os.fwalk(".", dir_fd=root_fd, follow_symlinks=False):
            here = folder / current
            dirs[:] = sorted(d for d in dirs if not is_ignored(d))
            for name in dirs:
                if _is_link(name, dir_fd):
                    real = _resolve(here / name)
                    if real is None or not _inside(real, root):
                        skipped.append((here / name, "it is a link to a folder outside the knowledge folder"))
            listed += [
                (here / name, _is_link(name, dir_fd))
                for name in files
                if not is_ignored(name) and Path(name).suffix.lower() in SUPPORTED_SUFFIXES
            ]
    finally:
        os.close(root_fd)
    found: list[Candidate] = []
    seen_real: set[Path] = set()
    for path, is_link in sorted(listed, key=lambda p: (p[1], p[0])):  # a file before the links to it
        relative = path.relative_to(folder)
        real = _resolve(path) if is_link else root / relative
        if real is None:
            skipped.append((path, _broken_link_reason(path)))
        elif not _inside(real, root):
            skipped.append((path, "it is a link to a file outside the knowledge folder"))
        elif real in seen_real:
            skipped.append((path, f"it is a link to {real.relative_to(root).as_posix()}, which is loaded already"))
        else:
            seen_real.add(real)
            found.append(Candidate(path=path, real=real, relative=relative.as_posix(), root=root))
    found.sort(key=lambda c: c.relative)
    return found, skipped


def read_inside(candidate: Candidate, max_bytes: int) -> bytes:
    """The file's bytes, reached from the folder one component at a time, following no link.

    Each folder on the way is opened relative to its parent with `O_NOFOLLOW | O_DIRECTORY`, so a
    folder swapped for a link since listing fails the open instead of leading outside. Raises
    `SkipFile` for a file that is not regular, is larger than `max_bytes`, or cannot be read.
    """
    fd = _open_beneath(candidate.root, candidate.real.relative_to(candidate.root).parts)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise SkipFile("it is not a regular file")
        if info.st_size > max_bytes:
            raise SkipFile(f"it is {_mb(info.st_size)}, over the {_mb(max_bytes)} limit per file")
        chunks, size = [], 0
        while size <= max_bytes:
            chunk = os.read(fd, min(1 << 20, max_bytes + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except OSError as exc:
        raise SkipFile(f"cannot read it ({exc.strerror or exc})") from exc
    finally:
        os.close(fd)
    raw = b"".join(chunks)
    if len(raw) > max_bytes:  # it grew while we read it
        raise SkipFile(f"it is over the {_mb(max_bytes)} limit per file")
    return raw


def _open_beneath(root: Path, parts: tuple[str, ...]) -> int:
    """A read descriptor for root/parts…, opened by `openat` from `root`'s descriptor, no link followed."""
    parent = None
    try:
        parent = os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        for part in parts[:-1]:
            child = os.open(part, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=parent)
            os.close(parent)
            parent = child
        return os.open(parts[-1], os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, dir_fd=parent)
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.ENOTDIR):  # a link where a folder or the file was listed
            raise SkipFile("its path was changed into a link while it was read") from exc
        raise SkipFile(f"cannot read it ({exc.strerror or exc})") from exc
    finally:
        if parent is not None:
            os.close(parent)


def _is_link(name: str, dir_fd: int) -> bool:
    try:
        return stat.S_ISLNK(os.stat(name, dir_fd=dir_fd, follow_symlinks=False).st_mode)
    except OSError:
        return False


def slugify(text: str) -> str:
    """A stable, readable id: letters and digits of any script, lower-cased, joined by dashes.

    >>> slugify("000 IDSEA.md"), slugify("Report_1"), slugify("日本語")
    ('000-idsea-md', 'report-1', '日本語')
    """
    slug = re.sub(r"[\W_]+", "-", unicodedata.normalize("NFKC", text).casefold()).strip("-") or "article"
    if len(slug) > _MAX_ID_CHARS:  # keep ids short; the hash keeps two long names apart
        slug = slug[: _MAX_ID_CHARS - 9].rstrip("-") + "-" + hashlib.sha1(slug.encode()).hexdigest()[:8]
    return slug


def base_id(relative: str) -> str:
    """The id a file at `relative` (posix, inside the folder) asks for: its slug without the suffix.

    >>> base_id("news/Report 1.md")
    'news-report-1'
    """
    return slugify(str(Path(relative).with_suffix("")))


def assign_ids(relatives: list[str]) -> tuple[dict[str, str], list[str]]:
    """A unique id for each relative path, and a message for each id that had to change.

    A path's id is its slug without the suffix (`Report 1.md` → `report-1`). When several paths
    share a slug, the one whose name is already that slug (then `.md`, then path order) keeps it, and
    each other gets the slug with its suffix (`a.txt` → `a-txt`), or that with a number. The result
    depends only on the set of paths, so ids stay stable from run to run.

    >>> assign_ids(["a.md", "a.txt", "a-txt.md"])[0]
    {'a-txt.md': 'a-txt', 'a.md': 'a', 'a.txt': 'a-txt-2'}
    """
    base = {rel: base_id(rel) for rel in relatives}

    def priority(rel: str) -> tuple:
        named_as_id = Path(rel).with_suffix("").as_posix().replace("/", "-") == base[rel]
        return (not named_as_id, Path(rel).suffix.lower() != ".md", rel)

    ids: dict[str, str] = {}
    taken: set[str] = set()
    losers: list[str] = []
    for rel in sorted(relatives, key=priority):
        if base[rel] in taken:
            losers.append(rel)
        else:
            ids[rel] = base[rel]
            taken.add(base[rel])
    notes = []
    for rel in losers:
        wanted = slugify(rel)
        new, n = wanted, 1
        while new in taken:
            n += 1
            new = f"{wanted}-{n}"
        ids[rel] = new
        taken.add(new)
        holder = next(r for r, i in ids.items() if i == base[rel])
        notes.append(f"{rel} would have the id '{base[rel]}' of {holder}: it is article '{new}'")
    return dict(sorted(ids.items())), notes


def _resolve(path: Path) -> Path | None:
    try:
        return path.resolve(strict=True)
    except (OSError, RuntimeError):  # dangling, a loop, no permission
        return None


def _broken_link_reason(path: Path) -> str:
    if not path.is_symlink():
        return "cannot resolve its path"
    target = os.readlink(path)
    try:
        path.resolve(strict=True)
    except RuntimeError:  # Python < 3.13 reports a loop this way
        return f"it is a link in a loop (-> {target})"
    except OSError as exc:
        if exc.errno == errno.ELOOP:  # Python >= 3.13
            return f"it is a link in a loop (-> {target})"
    return f"it is a dangling link (-> {target})"


def _inside(real: Path, root: Path) -> bool:
    return real == root or root in real.parents


def _mb(size: int) -> str:
    return f"{size / 1_000_000:.1f} MB"
