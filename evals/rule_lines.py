"""Count the hand-written rule lines of `bot/`: how much of the answer path is patterns and word
lists rather than general code. `python -m evals.rule_lines [GIT_REVISION]`

A rule line is a source line inside (a) a call of the `re` module (a pattern and its use), or (b) a
literal collection of three or more words or short phrases: a list, set, tuple or dict of string
constants, or a `"a b c".split()`. Not counted: sentences of four words or more (messages are data),
`__all__` and a model's feature names (`*FEATURES`). Counted with `ast` over every module of `bot/`, at the working
tree or at a git revision, so a before/after comparison is reproducible.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
_RE_FUNCTIONS = {"compile", "search", "match", "fullmatch", "sub", "subn", "findall", "finditer", "split"}


def _sentence(node: ast.AST) -> bool:
    return isinstance(node, ast.Constant) and isinstance(node.value, str) and len(node.value.split()) >= 4


def _words(nodes) -> bool:
    texts = [n for n in nodes if isinstance(n, ast.Constant) and isinstance(n.value, str)]
    return len(texts) >= 3 and len(texts) == len(nodes) and not any(_sentence(n) for n in texts)


def _is_word_list(node: ast.AST) -> bool:
    if isinstance(node, ast.List | ast.Set | ast.Tuple):
        return _words(node.elts)
    if isinstance(node, ast.Dict):  # a table of words; a table of messages (sentences) is data
        return _words(node.keys) and not any(_sentence(n) for n in ast.walk(node))
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "split":
        value = node.func.value
        return isinstance(value, ast.Constant) and isinstance(value.value, str) and len(value.value.split()) >= 3
    return False


def _is_re_call(node: ast.AST) -> bool:
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and isinstance(node.func.value, ast.Name)
        and node.func.value.id == "re"
        and node.func.attr in _RE_FUNCTIONS
    )


def rule_lines(source: str) -> tuple[int, int]:
    """(rule lines, code lines) of one module's source; code lines exclude blanks and comments."""
    tree = ast.parse(source)
    schema = {
        id(node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Assign)
        and any(isinstance(t, ast.Name) and (t.id == "__all__" or t.id.endswith("FEATURES")) for t in node.targets)
    }
    marked: set[int] = set()
    for node in ast.walk(tree):
        if _is_re_call(node) or (_is_word_list(node) and id(node) not in schema):
            marked.update(range(node.lineno, node.end_lineno + 1))
    code = {i for i, line in enumerate(source.splitlines(), 1) if line.strip() and not line.strip().startswith("#")}
    return len(marked & code), len(code)


def sources(revision: str | None) -> dict[str, str]:
    """bot/*.py at a git revision, or in the working tree when `revision` is None."""
    if revision is None:
        return {p.name: p.read_text(encoding="utf-8") for p in sorted((ROOT / "bot").rglob("*.py"))}
    names = subprocess.run(
        ["git", "ls-tree", "-r", "--name-only", revision, "bot/"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.split()
    return {
        name: subprocess.run(["git", "show", f"{revision}:{name}"], cwd=ROOT, capture_output=True, text=True).stdout
        for name in names
        if name.endswith(".py")
    }


def main(argv: list[str]) -> None:
    revision = argv[0] if argv else None
    total_rules = total_code = 0
    for name, source in sources(revision).items():
        rules, code = rule_lines(source)
        total_rules, total_code = total_rules + rules, total_code + code
        if rules:
            print(f"  {name:<28} {rules:>4} rule lines of {code}")
    print(f"bot/ at {revision or 'the working tree'}: {total_rules} rule lines of {total_code} code lines")


if __name__ == "__main__":
    main(sys.argv[1:])
