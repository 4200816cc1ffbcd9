"""Carrying kept articles' bytes from the previous snapshot version into the next one, unread.

A kept run of articles occupies one byte range of each previous file, in the same order in the new
one, so it is copied file to file by the kernel (`os.copy_file_range`: a reflink where the file
system shares blocks, an in-kernel copy elsewhere; `os.pread` where it is missing) instead of being
read into Python and written back. Used for the per-row `.npy` arrays (vectors above all) and the
articles' JSON-encoded texts. What to copy is decided by `index/snapshot_write.py`.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

_BLOCK = 1 << 24  # bytes per read where the kernel cannot copy


class PreviousFile:
    """One file of the previous version, or None-like when it is not the size we expect (then the
    caller falls back to what it holds in memory). `with PreviousFile(path, size) as f: f.copy(...)`."""

    def __init__(self, path: str | Path | None, size: int):
        self.handle = None
        try:
            if path is not None:
                self.handle = open(path, "rb")
                if os.fstat(self.handle.fileno()).st_size != size:
                    self.close()
        except OSError:
            self.close()

    def __bool__(self) -> bool:
        return self.handle is not None

    def __enter__(self) -> PreviousFile:
        return self

    def __exit__(self, *_) -> None:
        self.close()

    def close(self) -> None:
        if self.handle is not None:
            self.handle.close()
            self.handle = None

    def copy(self, start: int, stop: int, out) -> None:
        """Append bytes [start, stop) of this file to the raw file `out`."""
        source = self.handle.fileno()
        if hasattr(os, "copy_file_range"):
            try:
                while start < stop:
                    done = os.copy_file_range(source, out.fileno(), stop - start, start)
                    if done <= 0:
                        break
                    start += done
            except OSError:  # a file system or kernel that cannot: the rest by reading
                pass
        while start < stop:
            data = os.pread(source, min(_BLOCK, stop - start), start)
            if not data:
                raise OSError(f"{self.handle.name} ended early")
            write_all(out, memoryview(data))
            start += len(data)


def write_rows(path: Path, dtype: np.dtype, tail: tuple, blocks: list, previous: np.ndarray | None) -> None:
    """Write an `.npy` array of rows from `blocks`, in order: `(a, b)` is rows a..b of the previous
    version's array (memory-mapped `previous`, copied from its file), an array is new rows. Not
    synced to disk: the caller does it (while it does other work)."""
    dtype = np.dtype(dtype)
    count = sum(b[1] - b[0] if isinstance(b, tuple) else len(b) for b in blocks)
    header = {"descr": np.lib.format.dtype_to_descr(dtype), "fortran_order": False, "shape": (count, *tail)}
    row_bytes = dtype.itemsize * int(np.prod(tail, dtype=np.int64))
    with open(path, "wb", buffering=0) as out:
        np.lib.format.write_array_header_1_0(out, header)
        source = _array_file(previous) if any(isinstance(b, tuple) for b in blocks) else PreviousFile(None, 0)
        with source:
            for block in blocks:
                if not isinstance(block, tuple):
                    write_all(out, memoryview(np.ascontiguousarray(block, dtype=dtype)).cast("B"))
                elif source:
                    source.copy(previous.offset + block[0] * row_bytes, previous.offset + block[1] * row_bytes, out)
                else:  # no file to copy from: through the mapping, which stays readable
                    write_all(out, memoryview(np.ascontiguousarray(previous[block[0] : block[1]])).cast("B"))


def _array_file(array: np.ndarray) -> PreviousFile:
    offset, filename = getattr(array, "offset", None), getattr(array, "filename", None)
    if offset is None or filename is None:
        return PreviousFile(None, 0)
    return PreviousFile(filename, offset + array.nbytes)


def write_json_strings(
    path: Path, blocks: list, previous_path: Path | None, previous_offsets, previous_texts
) -> np.ndarray:
    """Write a JSON list of strings, as `json.dumps(..., ensure_ascii=False)` would, and return each
    string's byte offset (plus the file's size) so the next version can copy ranges of it: string
    `i` is bytes `[offsets[i], offsets[i + 1] - 1)`. A block `(a, b)` is strings a..b of the
    previous version (copied from its file when its offsets check out), a `str` is a new one."""
    valid = _valid_offsets(previous_path, previous_offsets, len(previous_texts)) if previous_path else False
    offsets: list[np.ndarray] = []
    source = PreviousFile(previous_path, int(previous_offsets[-1])) if valid else PreviousFile(None, 0)
    with open(path, "wb", buffering=0) as out:
        with source:
            position = out.write(b"[")
            for block in blocks:
                if isinstance(block, tuple) and source:
                    a, b = block
                    if position > 1:
                        position += out.write(b",")
                    start, stop = int(previous_offsets[a]), int(previous_offsets[b]) - 1
                    offsets.append(np.asarray(previous_offsets[a:b], dtype=np.int64) - start + position)
                    source.copy(start, stop, out)
                    position += stop - start
                    continue
                for text in [previous_texts[i] for i in range(*block)] if isinstance(block, tuple) else [block]:
                    if position > 1:
                        position += out.write(b",")
                    offsets.append(np.asarray([position], dtype=np.int64))
                    encoded = json.dumps(text, ensure_ascii=False).encode("utf-8")
                    write_all(out, memoryview(encoded))
                    position += len(encoded)
            position += out.write(b"]")
        os.fsync(out.fileno())
    return np.concatenate([*offsets, np.asarray([position], dtype=np.int64)])


def _valid_offsets(path: Path, offsets, count: int) -> bool:
    """The previous offsets describe its file: one per string, rising, each string quoted, each
    followed by a comma (the last by the closing bracket)."""
    try:
        offsets = np.asarray(offsets, dtype=np.int64)
        size = path.stat().st_size
        if (
            len(offsets) != count + 1
            or offsets[-1] != size
            or (count and (offsets[0] != 1 or np.any(np.diff(offsets) < 3)))
        ):
            return False
        if not count:
            return True
        data = np.memmap(path, dtype=np.uint8, mode="r")
        after = data[offsets[1:] - 1]
        return bool(
            np.all(data[offsets[:-1]] == ord('"'))
            and np.all(data[offsets[1:] - 2] == ord('"'))
            and np.all(after[:-1] == ord(","))
            and after[-1] == ord("]")
            and data[0] == ord("[")
        )
    except (OSError, ValueError):
        return False


def write_all(out, data: memoryview) -> None:
    """Write all of `data` to a raw (unbuffered) file, which may take less per call."""
    while len(data):
        data = data[out.write(data) :]
