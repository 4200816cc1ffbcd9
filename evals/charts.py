"""The report's charts as inline SVG strings: per-tag bars with 95% intervals, the headline metrics
side by side with the baseline, and a latency histogram.

Matplotlib with the Agg backend only (no display); fonts stay text-free paths so the SVG renders
the same in any browser. Layout of the page is `evals/report.py`'s job.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence

BOT_COLOUR = "#2563eb"
BASELINE_COLOURS = ("#f59e0b", "#10b981", "#a855f7")  # one per baseline, in order


def _colour(number: int) -> str:
    """The bot's colour for series 0, then one baseline colour each."""
    return BOT_COLOUR if number == 0 else BASELINE_COLOURS[(number - 1) % len(BASELINE_COLOURS)]


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams.update({"font.size": 10, "axes.spines.top": False, "axes.spines.right": False, "svg.fonttype": "path"})
    return plt


def _to_svg(figure) -> str:
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", bbox_inches="tight")
    _pyplot().close(figure)
    svg = buffer.getvalue()
    return svg[svg.index("<svg") :]  # drop the XML prolog and doctype: the SVG sits inside HTML


def _errors(entries: Sequence[dict]) -> list[list[float]]:
    """Asymmetric error bars from value/low/high (0 where there is no interval)."""
    lows = [max(0.0, e["value"] - e["low"]) if _ok(e.get("low")) else 0.0 for e in entries]
    highs = [max(0.0, e["high"] - e["value"]) if _ok(e.get("high")) else 0.0 for e in entries]
    return [lows, highs]


def _ok(value) -> bool:
    return isinstance(value, int | float) and not math.isnan(value)


def rate_bars(title: str, labels: Sequence[str], series: dict[str, Sequence[dict]], percent: bool = True) -> str:
    """Horizontal bars, one group per label and one bar per system, each with its 95% interval.

    `series` maps a system name to one metric dict per label ({"value", "low", "high"}); NaN bars are
    left out and marked "n/a".
    """
    import numpy as np

    plt = _pyplot()
    height = 0.8 / max(1, len(series))
    figure, axes = plt.subplots(figsize=(6.5, 0.42 * len(labels) * max(1, len(series)) ** 0.5 + 1.0))
    positions = np.arange(len(labels))
    for number, (name, entries) in enumerate(series.items()):
        colour = _colour(number)
        values = [e["value"] if _ok(e.get("value")) else 0.0 for e in entries]
        offsets = positions + (number - (len(series) - 1) / 2) * height
        axes.barh(
            offsets,
            values,
            height=height * 0.9,
            color=colour,
            label=name,
            xerr=_errors(entries),
            error_kw={"ecolor": "#374151", "capsize": 2, "lw": 0.8},
        )
        for y, entry, value in zip(offsets, entries, values, strict=True):
            text = "n/a" if not _ok(entry.get("value")) else (f"{value:.0%}" if percent else f"{value:.2f}")
            n = f"  n={entry['n']}" if entry.get("n") is not None else ""
            axes.text(1.02 if percent else value * 1.02, y, text + n, va="center", fontsize=8.5, color="#374151")
    axes.set_yticks(positions, labels)
    axes.invert_yaxis()
    if percent:
        axes.set_xlim(0, 1.0)
        axes.xaxis.set_major_formatter(plt.FuncFormatter(lambda x, _: f"{x:.0%}"))
    axes.set_title(title, loc="left", fontweight="bold")
    if len(series) > 1:
        axes.legend(loc="lower right", frameon=False, fontsize=8)
    axes.grid(axis="x", color="#e5e7eb", lw=0.6)
    axes.set_axisbelow(True)
    return _to_svg(figure)


def latency_histogram(title: str, series: dict[str, Sequence[float]], p95: dict[str, float] | None = None) -> str:
    """Histogram of per-question total latency (ms) for each system, with its p95 as a dashed line."""
    import numpy as np

    plt = _pyplot()
    figure, axes = plt.subplots(figsize=(6.5, 3.0))
    every = [v for values in series.values() for v in values if v > 0]
    if every:
        low, high = min(every), max(every)
        wide = high / low > 30  # a fast and a slow system together: log bins show both
        bins = np.geomspace(low * 0.9, high * 1.1, 40) if wide else np.linspace(0, high * 1.05 + 1, 30)
        for number, (name, values) in enumerate(series.items()):
            colour = _colour(number)
            axes.hist(values, bins=bins, color=colour, alpha=0.75 if number == 0 else 0.6, label=name)
            if p95 and _ok(p95.get(name)):
                axes.axvline(p95[name], color=colour, ls="--", lw=1.2)
                axes.text(
                    p95[name], axes.get_ylim()[1] * 0.95, f" p95 {p95[name]:.0f} ms", color=colour, fontsize=8, va="top"
                )
    if every and wide:
        axes.set_xscale("log")
        axes.xaxis.set_major_formatter(plt.FuncFormatter(lambda x, _: f"{x:g}"))
    axes.set_xlabel("milliseconds per question" + (" (log scale)" if every and wide else ""))
    axes.set_ylabel("questions")
    axes.yaxis.get_major_locator().set_params(integer=True)
    axes.set_title(title, loc="left", fontweight="bold")
    if len(series) > 1:
        axes.legend(frameon=False, fontsize=8)
    return _to_svg(figure)
