"""No import circles anywhere in the product or in evals/: every import is read with `ast`, including
those inside functions (which hide a circle from Python but not from a reader), and any cycle fails the
test with its modules named in order."""

from __future__ import annotations

import ast
import doctest
import sys
from pathlib import Path

from knowledge.settings import PROJECT_ROOT

PACKAGES = ("bot", "index", "knowledge", "web", "evals", "training")
TOP_MODULES = ("app", "cli")


def module_files(root: Path = PROJECT_ROOT) -> dict[str, Path]:
    """{dotted module name: file} for the project's own modules."""
    found = {name: root / f"{name}.py" for name in TOP_MODULES if (root / f"{name}.py").exists()}
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")) if (root / package).is_dir() else []:
            parts = path.relative_to(root).with_suffix("").parts
            found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def imports_of(name: str, path: Path, known: set[str]) -> set[str]:
    """The project modules `name` imports anywhere in its file (`from a import b` names a.b when that
    is a module, else a)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    targets = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            targets |= {f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base for alias in node.names}
    return {t for t in targets if t in known and t != name}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle as [a, b, …, a], or None (depth-first search, colouring nodes).

    >>> find_cycle({"a": {"b"}, "b": {"a"}})
    ['a', 'b', 'a']
    >>> find_cycle({"a": {"b"}, "b": set()}) is None
    True
    """
    state: dict[str, str] = {}

    def visit(node: str, path: list[str]) -> list[str] | None:
        state[node] = "open"
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == "open":
                return [*path[path.index(nxt) :], node, nxt] if nxt in path else [node, nxt]
            if nxt not in state and (cycle := visit(nxt, [*path, node])):
                return cycle
        state[node] = "done"
        return None

    for start in sorted(graph):
        if start not in state and (cycle := visit(start, [])):
            return cycle
    return None


def test_no_import_cycles():
    files = module_files()
    graph = {name: imports_of(name, path, set(files)) for name, path in files.items()}
    cycle = find_cycle(graph)
    assert cycle is None, "import cycle: " + " → ".join(cycle)


def test_the_cycle_finder_sees_a_cycle_hidden_in_a_function(tmp_path):
    (tmp_path / "web").mkdir()
    (tmp_path / "web" / "__init__.py").write_text("")
    (tmp_path / "web" / "a.py").write_text("from web.b import thing\n")
    (tmp_path / "web" / "b.py").write_text("def thing():\n    from web import a\n")
    files = module_files(tmp_path)
    graph = {name: imports_of(name, path, set(files)) for name, path in files.items()}
    assert find_cycle(graph) == ["web.a", "web.b", "web.a"]


def test_the_examples_in_this_file_hold():
    assert doctest.testmod(sys.modules[__name__]).failed == 0
