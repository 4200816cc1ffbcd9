"""The Markdown report of an eval run (`report.md`), failures first with their reasons, and the
formatting it shares with the HTML one (`evals/report_html.py`); `evals/report_files.py` writes both.

Works from the summary dict and result rows alone (the schema `evals/runner.py` and `evals/squad.py`
produce), so a report can be rebuilt from files. Scoring lives elsewhere.
"""

from __future__ import annotations

import math


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


def expected_text(row: dict) -> str:
    if "gold" in row:
        return " / ".join(dict.fromkeys(row["gold"])) or "(no answer: should abstain)"
    if not row.get("answerable", True):
        return "(not in the articles: should abstain)"
    return " AND ".join("(" + " / ".join(group) + ")" for group in row.get("must", []))


def baselines(summary: dict) -> list[dict]:
    """The reference systems shown beside the bot: a run's `baselines` list, or its one `baseline`."""
    if summary.get("baselines"):
        return list(summary["baselines"])
    return [summary["baseline"]] if summary.get("baseline") else []


def highlighted(summary: dict) -> list[str]:
    """Tags whose numbers a run shows beside the overall ones (CoQA: follow-ups)."""
    return [t for t in summary.get("highlight_tags", []) if t in summary.get("by_tag", {})]


def metric_rows(summary: dict, tag: str | None = None) -> list[tuple[str, str, list[str], str]]:
    """(label, bot, one value per baseline, threshold) per metric, overall or over one tag's questions."""

    def pick(system: dict) -> dict:
        return system.get("overall", {}) if tag is None else system.get("by_tag", {}).get(tag, {})

    others = [pick(b) for b in baselines(summary)]
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
                fmt(pick(summary).get(key), kind),
                [fmt(other.get(key), kind) for other in others],
                limits.get(key, ""),
            )
        )
    return rows


def _number(value: float, kind: str) -> str:
    return f"{value:.1%}" if kind == "rate" else f"{value:.3f}"


def render_markdown(summary: dict, rows: list[dict]) -> str:
    """The report as Markdown: verdict, metrics (side by side with the baseline), failures, tags, latency, cases."""
    names = [b["name"] for b in baselines(summary)]
    lines = [
        f"# {summary['title']}",
        "",
        f"{summary['date']} · {summary['overall']['cases']} questions · source `{summary['source']}`",
        "",
    ]
    if summary.get("passed") is not None:
        lines += [f"**Thresholds: {'PASS' if summary['passed'] else 'FAIL'}**", ""]
    lines += [f"| Metric | {summary['system']} |" + "".join(f" {name} |" for name in names) + " Threshold |"]
    lines += ["|---|---|" + "---|" * len(names) + "---|"]
    for label, ours, theirs, limit in metric_rows(summary):
        lines.append(f"| {label} | {ours} |" + "".join(f" {t} |" for t in theirs) + f" {limit} |")
    for tag in highlighted(summary):
        lines.append(f"| **{tag}** ({summary['by_tag'][tag]['cases']} questions) | |" + " |" * len(names) + " |")
        for label, ours, theirs, _limit in metric_rows(summary, tag):
            lines.append(f"| {label} | {ours} |" + "".join(f" {t} |" for t in theirs) + " |")
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
            f"  - Expected: {expected_text(row)}",
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
    if summary.get("thresholds"):
        lines += [
            "",
            f"## Thresholds (version {summary.get('thresholds_version')})",
            "",
            "| Metric | Limit | Measured | |",
            "|---|---|---|---|",
        ]
        for c in summary["thresholds"]:
            bound = "≥" if c["bound"] == "min" else "≤"
            lines.append(
                f"| `{c['name']}` | {bound} {c['limit']:g} | {c['value']:.4g} | {'met' if c['ok'] else 'MISSED'} |"
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
