"""Write an eval run to disk: `results.jsonl`, `summary.json`, `report.md` (`evals/report.py`) and
`report.html` (`evals/report_html.py`). Works from the summary dict and result rows alone, so a report
can be rebuilt from files.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

from evals.report import render_markdown
from evals.report_html import render_html


def write_outputs(
    out_dir: str | Path, summary: dict, rows: list[dict], baseline_rows: list[dict] | None = None
) -> dict[str, Path]:
    """Write the four files into `out_dir` (created); returns their paths by name."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {name: out / name for name in ("results.jsonl", "summary.json", "report.md", "report.html")}
    with paths["results.jsonl"].open("w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
    if baseline_rows:
        paths["baseline_results.jsonl"] = out / "baseline_results.jsonl"
        with paths["baseline_results.jsonl"].open("w", encoding="utf-8") as handle:
            for row in baseline_rows:
                handle.write(json.dumps(row, ensure_ascii=False) + "\n")
    paths["summary.json"].write_text(
        json.dumps(_jsonable(summary), indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    paths["report.md"].write_text(render_markdown(summary, rows), encoding="utf-8")
    paths["report.html"].write_text(render_html(summary, rows, baseline_rows), encoding="utf-8")
    return paths


def _jsonable(value):
    """NaN is not JSON: write it as null."""
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value
