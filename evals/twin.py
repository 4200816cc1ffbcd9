"""Build the counterfactual twin (`evals/cases/twin/`): the shipped article and the suite's answerable
single-turn and conversation cases, with every proper name replaced from one table.

    python -m evals.twin          # rewrites evals/cases/twin/articles/ and evals/cases/twin/*.jsonl

A bot that answers from what the text says, not from names it was fitted to, scores the same on the
twin as on the original (the eval gate holds it within 3 points). The table is
`evals/cases/twin/replacements.toml`; how it is applied is documented there. Twin cases keep their
original ids, so each pairs with the case it was made from. Deterministic: the gate checks that
running this again reproduces the committed files byte for byte.
"""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Callable
from pathlib import Path

from evals.runner import DEFAULT_CASES

TWIN_DIR = DEFAULT_CASES / "twin"
TABLE = TWIN_DIR / "replacements.toml"
ARTICLES = DEFAULT_CASES.parents[1] / "knowledge" / "articles"


def load_table(path: str | Path = TABLE) -> dict[str, str]:
    """Every name → its replacement (the `[names]` and `[typos]` tables together)."""
    data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    table: dict[str, str] = {}
    for section in ("names", "typos"):
        for old, new in data.get(section, {}).items():
            if not old.strip() or not isinstance(new, str) or not new.strip():
                raise ValueError(f"{path}: [{section}] {old!r} needs a non-empty replacement")
            if old in table:
                raise ValueError(f"{path}: {old!r} is listed twice")
            table[old] = new
    return table


def name_pattern(names) -> re.Pattern[str]:
    """One pattern for every name: longest first, case-insensitive, never inside a longer word."""

    def bounded(name: str) -> str:
        before = r"(?<!\w)" if name[0].isascii() and name[0].isalnum() else ""
        after = r"(?!\w)" if name[-1].isascii() and name[-1].isalnum() else ""
        return before + re.escape(name) + after

    return re.compile("|".join(bounded(n) for n in sorted(names, key=len, reverse=True)), re.IGNORECASE)


def replacer(table: dict[str, str]) -> Callable[[str], str]:
    """A function that replaces every name of `table` in a text, in one pass.

    >>> replacer({"IDSEA": "ICEA", "Wang": "Liu"})("when does idsea launch? Ask Wang.")
    'when does icea launch? Ask Liu.'
    """
    pattern = name_pattern(table)
    folded = {name.casefold(): name for name in table}

    def swap(match: re.Match[str]) -> str:
        found = match.group(0)
        name = folded[found.casefold()]
        if found == name:
            return table[name]
        if found == name.lower():
            return table[name].lower()
        raise ValueError(f"{found!r} is spelled unlike {name!r}: add this spelling to the twin's table")

    return lambda text: pattern.sub(swap, text)


def source_cases(cases_dir: Path = DEFAULT_CASES) -> dict[str, list[dict]]:
    """The suite's answerable single-turn cases and all its conversation cases, by file name."""
    chosen: dict[str, list[dict]] = {}
    for path in sorted(cases_dir.glob("*.jsonl")):
        rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        kept = [c for c in rows if c.get("history") or c.get("answerable")]
        if kept:
            chosen[path.name] = kept
    return chosen


def twin_case(case: dict, replace: Callable[[str], str]) -> dict:
    """A case with the names replaced in every text field; its id and tags stay (ids pair the twins)."""
    return {
        **case,
        "history": [replace(turn) for turn in case.get("history", [])],
        "question": replace(case["question"]),
        "must": [[replace(option) for option in group] for group in case.get("must", [])],
        "evidence": replace(case.get("evidence", "")),
    }


def build_twin(
    out_dir: Path = TWIN_DIR, table_path: Path = TABLE, articles_dir: Path = ARTICLES, cases_dir: Path = DEFAULT_CASES
) -> list[Path]:
    """Write the twin article(s) into `out_dir/articles/` and the twin cases beside them; returns the paths."""
    replace = replacer(load_table(table_path))
    written = []
    articles = out_dir / "articles"
    articles.mkdir(parents=True, exist_ok=True)
    for source in sorted(articles_dir.glob("*.md")):
        target = articles / replace(source.name)
        target.write_text(replace(source.read_text(encoding="utf-8")), encoding="utf-8")
        written.append(target)
    for name, cases in source_cases(cases_dir).items():
        target = out_dir / replace(name)
        lines = [json.dumps(twin_case(case, replace), ensure_ascii=False) for case in cases]
        target.write_text("\n".join(lines) + "\n", encoding="utf-8")
        written.append(target)
    return written


if __name__ == "__main__":
    for path in build_twin():
        print(path.relative_to(DEFAULT_CASES.parents[1]))
