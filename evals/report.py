"""Write an eval run to disk: `results.jsonl`, `summary.json`, `report.md` and a self-contained
`report.html` (inline SVG charts, no scripts, no network), failures first with their reasons.

Works from the summary dict and result rows alone (the schema `evals/runner.py` and `evals/squad.py`
produce), so a report can be rebuilt from files. Scoring lives elsewhere.
"""

from __future__ import annotations

import html
import json
import math
from pathlib import Path
from string import Template

from evals import charts

TEMPLATE = Path(__file__).resolve().parent / "templates" / "report.html"


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


def fmt(metric: dict | None, kind: str = "rate", interval: bool = True) -> str:
    """One metric for a table. `fmt({"value": .9, "low": .6, "high": .98, "n": 10})` → '90.0% [60–98] n=10'"""
    if not metric or metric.get("value") is None or math.isnan(metric["value"]):
        return "n/a"
    value, low, high = metric["value"], metric.get("low"), metric.get("high")
    has_interval = interval and low is not None and high is not None and not math.isnan(low)
    if kind == "rate":
        text = f"{value:.1%}" + (f" [{low:.0%}–{high:.0%}]" if has_interval else "")
    else:
        text = f"{value:.3f}" + (f" [{low:.2f}–{high:.2f}]" if has_interval else "")
    return text + (f" n={metric['n']}" if metric.get("n") is not None else "")


def _expected(row: dict) -> str:
    if "gold" in row:
        return " / ".join(dict.fromkeys(row["gold"])) or "(no answer: should abstain)"
    if not row.get("answerable", True):
        return "(not in the articles: should abstain)"
    return " AND ".join("(" + " / ".join(group) + ")" for group in row.get("must", []))


def _metric_rows(summary: dict) -> list[tuple[str, str, str, str]]:
    """(label, bot, baseline, threshold) per metric."""
    baseline = (summary.get("baseline") or {}).get("overall", {})
    limits = {
        c["name"]: ("≥ " if c["bound"] == "min" else "≤ ")
        + _number(c["limit"], summary["metrics"].get(c["name"], ["", True, "rate"])[2])
        for c in summary.get("thresholds") or []
    }
    rows = []
    for key, (label, _higher, kind) in summary["metrics"].items():
        rows.append(
            (
                label,
                fmt(summary["overall"].get(key), kind),
                fmt(baseline.get(key), kind) if baseline else "",
                limits.get(key, ""),
            )
        )
    return rows


def _number(value: float, kind: str) -> str:
    return f"{value:.1%}" if kind == "rate" else f"{value:.3f}"


def render_markdown(summary: dict, rows: list[dict]) -> str:
    """The report as Markdown: verdict, metrics (side by side with the baseline), failures, tags, latency, cases."""
    baseline_name = (summary.get("baseline") or {}).get("name", "")
    lines = [
        f"# {summary['title']}",
        "",
        f"{summary['date']} · {summary['overall']['cases']} questions · source `{summary['source']}`",
        "",
    ]
    if summary.get("passed") is not None:
        lines += [f"**Thresholds: {'PASS' if summary['passed'] else 'FAIL'}**", ""]
    lines += [f"| Metric | {summary['system']} |" + (f" {baseline_name} |" if baseline_name else "") + " Threshold |"]
    lines += ["|---|---|" + ("---|" if baseline_name else "") + "---|"]
    for label, ours, theirs, limit in _metric_rows(summary):
        lines.append(f"| {label} | {ours} |" + (f" {theirs} |" if baseline_name else "") + f" {limit} |")
    lines += [
        "",
        "Rates show the 95% Wilson interval in brackets; n is the number of questions the metric applies to.",
        "",
    ]
    missed = [c for c in summary.get("thresholds") or [] if not c["ok"]]
    if missed:
        lines += (
            ["## Missed thresholds", ""]
            + [f"- `{c['name']}` {c['bound']} {c['limit']}, measured {c['value']:.4g}" for c in missed]
            + [""]
        )
    failures = [r for r in rows if not r["passed"]]
    lines += [f"## Failures ({len(failures)} of {len(rows)})", ""]
    for row in failures[:100]:
        lines += [
            f"- **{row['id']}** ({', '.join(row.get('tags', []))}): {'; '.join(row['reasons'])}",
            f"  - Q: {_conversation(row)}",
            f"  - A: {row['answer'] or '(empty)'}",
            f"  - Expected: {_expected(row)}",
        ]
    if len(failures) > 100:
        lines.append(f"- … and {len(failures) - 100} more (every case is in results.jsonl)")
    lines += [
        "",
        "## By tag",
        "",
        "| Tag | Questions | " + " | ".join(label for label, _, _ in summary["metrics"].values()) + " |",
        "|---|---|" + "---|" * len(summary["metrics"]),
    ]
    for tag, agg in summary["by_tag"].items():
        lines.append(
            f"| {tag} | {agg['cases']} | "
            + " | ".join(fmt(agg.get(k), kind, interval=False) for k, (_, _, kind) in summary["metrics"].items())
            + " |"
        )
    lines += ["", "## Latency (ms)", "", "| Stage | p50 | p95 | mean |", "|---|---|---|---|"]
    for stage, stats in summary["latency_ms"].items():
        lines.append(f"| {stage} | {stats['p50']:.0f} | {stats['p95']:.0f} | {stats['mean']:.0f} |")
    lines += ["", "## All questions", "", "| Id | Result | Question | Answer |", "|---|---|---|---|"]
    for row in sorted(rows, key=lambda r: r["passed"]):
        answer = (row["answer"] or "(empty)").replace("|", "\\|").replace("\n", " ")
        lines.append(
            f"| {row['id']} | {'pass' if row['passed'] else 'FAIL'} | {row['question'].replace('|', '/')} | {answer[:240]} |"
        )
    return "\n".join(lines) + "\n"


def _conversation(row: dict) -> str:
    return " → ".join([*row.get("history", []), row["question"]])


def render_html(summary: dict, rows: list[dict], baseline_rows: list[dict] | None = None) -> str:
    """The report as one self-contained HTML page (charts inline as SVG)."""
    e = html.escape
    baseline = summary.get("baseline")
    system, other = summary["system"], (baseline or {}).get("name", "")
    cards = "".join(
        f'<div class="card"><div class="big">{e(fmt(summary["overall"].get(k), summary["metrics"][k][2], interval=False).split(" n=")[0])}</div>'
        f'<div class="label">{e(summary["metrics"][k][0])}</div>'
        + (
            f'<div class="ref">{e(other)}: {e(fmt(baseline["overall"].get(k), summary["metrics"][k][2], interval=False).split(" n=")[0])}</div>'
            if baseline
            else ""
        )
        + "</div>"
        for k in summary["headline"]
    )
    head = (
        f"<tr><th>Metric</th><th>{e(system)}</th>"
        + (f"<th>{e(other)}</th>" if baseline else "")
        + "<th>Threshold</th></tr>"
    )
    table = head + "".join(
        f"<tr><td>{e(label)}</td><td><b>{e(ours)}</b></td>"
        + (f"<td>{e(theirs)}</td>" if baseline else "")
        + f"<td>{e(limit)}</td></tr>"
        for label, ours, theirs, limit in _metric_rows(summary)
    )
    verdict = ""
    if summary.get("passed") is not None:
        missed = [c for c in summary.get("thresholds") or [] if not c["ok"]]
        detail = (
            "every threshold met"
            if not missed
            else "missed: " + ", ".join(f"{c['name']} ({c['value']:.3g} vs {c['bound']} {c['limit']})" for c in missed)
        )
        verdict = f'<span class="badge {"pass" if summary["passed"] else "fail"}">{"PASS" if summary["passed"] else "FAIL"}</span> <span class="muted">{e(detail)}</span>'
    failures = [r for r in rows if not r["passed"]]
    return Template(TEMPLATE.read_text(encoding="utf-8")).substitute(
        title=e(summary["title"]),
        meta=e(f"{summary['date']} · {summary['overall']['cases']} questions · {summary['source']}"),
        verdict=verdict,
        cards=cards,
        table=table,
        notes="".join(f"<li>{e(n)}</li>" for n in summary.get("notes", [])),
        charts=_charts(summary, rows, baseline_rows),
        failure_count=len(failures),
        failures=_failures_html(failures),
        tags=_tag_table(summary),
        latency="".join(
            f"<tr><td>{e(s)}</td><td>{v['p50']:.0f}</td><td>{v['p95']:.0f}</td><td>{v['mean']:.0f}</td></tr>"
            for s, v in summary["latency_ms"].items()
        ),
        passes="".join(_case_html(r) for r in rows if r["passed"]),
        pass_count=len(rows) - len(failures),
    )


def _charts(summary: dict, rows: list[dict], baseline_rows: list[dict] | None) -> str:
    key = summary["chart_metric"]
    label, _, kind = summary["metrics"][key]
    tags = sorted(summary["by_tag"], key=lambda t: _sort_value(summary["by_tag"][t].get(key)))  # weakest first
    series = {summary["system"]: [summary["by_tag"][t].get(key, {}) for t in tags]}
    if summary.get("baseline"):
        series[summary["baseline"]["name"]] = [summary["baseline"]["by_tag"].get(t, {}).get(key, {}) for t in tags]
    parts = [charts.rate_bars(f"{label} by tag (95% intervals)", tags, series, percent=kind == "rate")]
    rate_keys = [k for k, (_, _, kind) in summary["metrics"].items() if kind == "rate"]
    overall = {summary["system"]: [summary["overall"].get(k, {}) for k in rate_keys]}
    if summary.get("baseline"):
        overall[summary["baseline"]["name"]] = [summary["baseline"]["overall"].get(k, {}) for k in rate_keys]
    labels = [summary["metrics"][k][0] + ("" if summary["metrics"][k][1] else " (lower is better)") for k in rate_keys]
    parts.append(charts.rate_bars("Every rate, overall", labels, overall))
    totals = {summary["system"]: [r["timings"].get("total", math.nan) for r in rows]}
    p95 = {summary["system"]: summary["latency_ms"].get("total", {}).get("p95", math.nan)}
    if baseline_rows:
        name = summary["baseline"]["name"]
        totals[name] = [r["timings"].get("total", math.nan) for r in baseline_rows]
        p95[name] = summary["baseline"]["latency_ms"].get("total", {}).get("p95", math.nan)
    totals = {k: [v for v in vs if not math.isnan(v)] for k, vs in totals.items()}
    parts.append(charts.latency_histogram("Latency per question (answer stage total)", totals, p95))
    figures = [f'<figure class="chart">{svg}</figure>' for svg in parts]
    return f'<div class="column">{figures[0]}</div><div class="column">{"".join(figures[1:])}</div>'


def _failures_html(failures: list[dict], shown: int = 40) -> str:
    """The first failures in full, the rest behind a click (a SQuAD run can fail hundreds)."""
    if not failures:
        return '<p class="muted">No failures.</p>'
    html_text = "".join(_case_html(r) for r in failures[:shown])
    if len(failures) > shown:
        rest = "".join(_case_html(r) for r in failures[shown:])
        html_text += f"<details><summary>Show the other {len(failures) - shown} failures</summary>{rest}</details>"
    return html_text


def _sort_value(metric: dict | None) -> float:
    value = (metric or {}).get("value")
    return -1.0 if value is None or math.isnan(value) else value


def _tag_table(summary: dict) -> str:
    e = html.escape
    keys = list(summary["metrics"])
    head = "<tr><th>Tag</th><th>n</th>" + "".join(f"<th>{e(summary['metrics'][k][0])}</th>" for k in keys) + "</tr>"
    body = "".join(
        f"<tr><td>{e(tag)}</td><td>{agg['cases']}</td>"
        + "".join(
            f"<td>{e(fmt(agg.get(k), summary['metrics'][k][2], interval=False).split(' n=')[0])}</td>" for k in keys
        )
        + "</tr>"
        for tag, agg in summary["by_tag"].items()
    )
    return head + body


def _case_html(row: dict) -> str:
    e = html.escape
    status = "pass" if row["passed"] else "fail"
    history = "".join(f'<div class="hist">earlier: {e(h)}</div>' for h in row.get("history", []))
    quotes = "".join(
        f"<li>[{c['number']}] {e(c['quote'])} <span class='muted'>({e(c['article_id'])})</span></li>"
        for c in row.get("citations", [])
    )
    reasons = f'<div class="reason">{e("; ".join(row["reasons"]))}</div>' if row["reasons"] else ""
    query = (
        f'<div class="muted">query: {e(row["query"])}</div>'
        if row.get("query") and row["query"] != row["question"]
        else ""
    )
    return (
        f'<div class="case {status}"><div class="casehead"><span class="badge {status}">{status.upper()}</span> '
        f'<code>{e(row["id"])}</code> <span class="muted">{e(", ".join(row.get("tags", [])))}</span></div>{reasons}{history}'
        f'<div class="q">{e(row["question"])}</div>{query}<div class="a">{e(row["answer"] or "(empty)")}</div>'
        f'<div class="muted">expected: {e(_expected(row))}</div>'
        + (f"<ul class='quotes'>{quotes}</ul>" if quotes else "")
        + "</div>"
    )
