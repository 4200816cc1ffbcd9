"""The HTML report: one self-contained page (inline CSS and SVG charts, no scripts, no network) that
leads with the verdict and headline numbers, then charts, failures with their reasons, tags, latency
and thresholds. The page skeleton is `evals/templates/report.html`; the Markdown twin is `evals/report.py`.
"""

from __future__ import annotations

import html
import math
from pathlib import Path
from string import Template

from evals import charts
from evals.report import baselines, expected_text, fmt, highlighted, metric_rows

TEMPLATE = Path(__file__).resolve().parent / "templates" / "report.html"


def render_html(summary: dict, rows: list[dict], baseline_rows: list[dict] | None = None) -> str:
    """The report as one self-contained HTML page (charts inline as SVG)."""
    e = html.escape
    others = baselines(summary)

    def short(metric: dict | None, key: str) -> str:
        return fmt(metric, summary["metrics"][key][2], interval=False).split(" n=")[0]

    cards = "".join(
        f'<div class="card"><div class="big">{e(short(summary["overall"].get(k), k))}</div>'
        f'<div class="label">{e(summary["metrics"][k][0])}</div>'
        + "".join(f'<div class="ref">{e(b["name"])}: {e(short(b["overall"].get(k), k))}</div>' for b in others)
        + "</div>"
        for k in summary["headline"]
    )
    head = (
        f"<tr><th>Metric</th><th>{e(summary['system'])}</th>"
        + "".join(f"<th>{e(b['name'])}</th>" for b in others)
        + "<th>Threshold</th></tr>"
    )

    def body(tag: str | None) -> str:
        return "".join(
            f"<tr><td>{e(label)}</td><td><b>{e(ours)}</b></td>"
            + "".join(f"<td>{e(t)}</td>" for t in theirs)
            + f"<td>{e(limit)}</td></tr>"
            for label, ours, theirs, limit in metric_rows(summary, tag)
        )

    table = head + body(None)
    for tag in highlighted(summary):
        count = summary["by_tag"][tag]["cases"]
        table += f"<tr><th colspan='{len(others) + 3}'>{e(tag)} ({count} questions)</th></tr>" + body(tag)
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
        thresholds=_thresholds_html(summary),
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
    others = baselines(summary)
    tags = sorted(summary["by_tag"], key=lambda t: _sort_value(summary["by_tag"][t].get(key)))  # weakest first
    series = {summary["system"]: [summary["by_tag"][t].get(key, {}) for t in tags]}
    for other in others:
        series[other["name"]] = [other["by_tag"].get(t, {}).get(key, {}) for t in tags]
    parts = [charts.rate_bars(f"{label} by tag (95% intervals)", tags, series, percent=kind == "rate")]
    rate_keys = [k for k, (_, _, kind) in summary["metrics"].items() if kind == "rate"]
    overall = {summary["system"]: [summary["overall"].get(k, {}) for k in rate_keys]}
    for other in others:
        overall[other["name"]] = [other["overall"].get(k, {}) for k in rate_keys]
    labels = [summary["metrics"][k][0] + ("" if summary["metrics"][k][1] else " (lower is better)") for k in rate_keys]
    parts.append(charts.rate_bars("Every rate, overall", labels, overall))
    totals = {summary["system"]: [r["timings"].get("total", math.nan) for r in rows]}
    p95 = {summary["system"]: summary["latency_ms"].get("total", {}).get("p95", math.nan)}
    for other in others if baseline_rows else []:
        # Rows name their system when several baselines share one file; a lone baseline's rows need not.
        own = [r for r in baseline_rows if r.get("system", other["name"]) == other["name"]]
        totals[other["name"]] = [r["timings"].get("total", math.nan) for r in own]
        p95[other["name"]] = other["latency_ms"].get("total", {}).get("p95", math.nan)
    totals = {k: [v for v in vs if not math.isnan(v)] for k, vs in totals.items()}
    parts.append(charts.latency_histogram("Latency per question (answer stage total)", totals, p95))
    figures = [f'<figure class="chart">{svg}</figure>' for svg in parts]
    return f'<div class="column">{figures[0]}</div><div class="column">{"".join(figures[1:])}</div>'


def _thresholds_html(summary: dict) -> str:
    checks = summary.get("thresholds")
    if not checks:
        return '<p class="muted">No thresholds for this run.</p>'
    rows = "".join(
        f"<tr><td><code>{html.escape(c['name'])}</code></td><td>{'≥' if c['bound'] == 'min' else '≤'} {c['limit']:g}</td>"
        f"<td>{c['value']:.4g}</td><td><span class='badge {'pass' if c['ok'] else 'fail'}'>{'met' if c['ok'] else 'MISSED'}</span></td></tr>"
        for c in checks
    )
    version = html.escape(str(summary.get("thresholds_version", "")))
    return f"<p class='muted'>evals/thresholds.toml, version {version}</p><table><tr><th>Metric</th><th>Limit</th><th>Measured</th><th></th></tr>{rows}</table>"


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
        f'<div class="muted">expected: {e(expected_text(row))}</div>'
        + (f"<ul class='quotes'>{quotes}</ul>" if quotes else "")
        + "</div>"
    )
