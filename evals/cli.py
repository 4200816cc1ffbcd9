"""`dsqa eval` (the suite, gated by `evals/thresholds.toml` or a case folder's own thresholds),
`dsqa eval squad FILE` (SQuAD 2.0) and `dsqa eval coqa FILE` (CoQA conversations).

Only typer and the standard library load at import, so `dsqa` starts fast; the bot loads inside the
command. Exit codes: 0 all thresholds met, 1 a threshold missed, 2 bad input (clear message, no traceback).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

eval_app = typer.Typer(
    help="Measure the bot: run the eval suite (default), a SQuAD 2.0 or a CoQA benchmark, and write a report.",
    invoke_without_command=True,
    no_args_is_help=False,
)

_EVALS_DIR = Path(__file__).resolve().parent
_CASES, _OUT = _EVALS_DIR / "cases", _EVALS_DIR / "out"


def _fail(message: str) -> None:
    typer.secho(f"Error: {message}", fg=typer.colors.RED, err=True)
    raise typer.Exit(2)


def _progress(description: str, quiet: bool):
    """A tqdm progress bar on stderr (off when quiet)."""

    def wrap(items):
        from tqdm import tqdm

        return tqdm(items, desc=description, unit="q", file=sys.stderr, disable=quiet, leave=False)

    return wrap


def _write_and_show(out: Path, summary: dict, rows: list, baseline_rows: list, as_json: bool) -> None:
    """Write the report files, then print summary.json (--json) or the table."""
    from evals.report_files import write_outputs

    paths = write_outputs(out, summary, rows, baseline_rows)
    if as_json:
        typer.echo(paths["summary.json"].read_text(encoding="utf-8"))
    else:
        _print_summary(summary, paths)


def _print_summary(summary: dict, paths: dict[str, Path]) -> None:
    typer.echo(f"{summary['title']}: {summary['overall']['cases']} questions")
    _print_metrics(summary, lambda system: system["overall"])
    for tag in [t for t in summary.get("highlight_tags", []) if t in summary["by_tag"]]:  # e.g. CoQA's follow-ups
        typer.echo(f"{tag}: {summary['by_tag'][tag]['cases']} questions")
        _print_metrics(summary, lambda system, tag=tag: system["by_tag"].get(tag, {}))
    total = summary["latency_ms"].get("total")
    if total:
        typer.echo(f"  {'Latency total p50 / p95':<34} {total['p50']:.0f} / {total['p95']:.0f} ms")
    for check in summary.get("thresholds") or []:
        if not check["ok"]:
            typer.secho(
                f"  MISSED {check['name']}: {check['value']:.4g} ({check['bound']} {check['limit']})",
                fg=typer.colors.RED,
            )
    if summary.get("passed") is not None:
        typer.secho(
            f"Thresholds: {'PASS' if summary['passed'] else 'FAIL'}",
            fg=typer.colors.GREEN if summary["passed"] else typer.colors.RED,
        )
    typer.echo(f"Report: {paths['report.html']}")


@eval_app.callback()
def run_suite(
    ctx: typer.Context,
    cases: Annotated[
        Path,
        typer.Option(
            "--cases", help="A cases .jsonl file or a folder of them; an articles/ folder beside them is asked instead."
        ),
    ] = _CASES,
    out: Annotated[
        Path, typer.Option("--out", help="Folder for results.jsonl, summary.json, report.md, report.html.")
    ] = _OUT,
    as_json: Annotated[bool, typer.Option("--json", help="Print summary.json to stdout instead of a table.")] = False,
    baseline: Annotated[
        bool, typer.Option("--baseline", help="Also run the LangChain recipe baseline, side by side.")
    ] = False,
    thresholds: Annotated[
        Path | None,
        typer.Option(
            "--thresholds",
            help="Thresholds file [default: the case folder's thresholds.toml, else evals/thresholds.toml].",
        ),
    ] = None,
    llm: Annotated[
        bool, typer.Option("--llm", help="Run through the LLM in $DSQA_LLM_BASE_URL, extractive numbers beside.")
    ] = False,
    limit: Annotated[
        int, typer.Option("--limit", min=0, help="Ask only N cases, spread evenly over the suite (0 = all).")
    ] = 0,
) -> None:
    """Run the eval suite over the configured articles (or the case folder's own); exit 1 when a threshold is missed."""
    if ctx.invoked_subcommand is not None:
        return
    from knowledge.settings import go_offline

    go_offline()
    from evals.runner import EvalInputError, evaluate, load_suite, load_thresholds, suite_settings

    try:
        suite = load_suite(cases, thresholds)
        limits = load_thresholds(suite.thresholds)
    except (EvalInputError, OSError) as exc:
        _fail(str(exc))
    from bot import Bot
    from knowledge.loaders import ArticleFolderError
    from knowledge.settings import Settings

    cases_asked = suite.cases
    if limit and limit < len(cases_asked):
        cases_asked = [cases_asked[i * len(cases_asked) // limit] for i in range(limit)]
    if llm and baseline:
        _fail("--llm already shows the extractive bot beside the LLM; run --baseline separately")
    if llm:
        with suite_settings(suite, Settings.from_env(progress=not as_json)) as settings:
            return _run_llm_suite(settings, cases_asked, out, as_json, str(suite.source))
    try:
        with suite_settings(suite, Settings.from_env(progress=not as_json)) as settings:
            bot = Bot(settings=settings)
            bot.index()
            reference = None
            if baseline:
                from evals.baseline import BaselineBot

                reference = BaselineBot(settings.knowledge_dir)
            summary, rows, baseline_rows = evaluate(
                bot, cases_asked, limits, reference, _progress("Asking", as_json), source=str(suite.source)
            )
        if suite.articles is not None:
            summary["notes"].append(
                f"Asked over the case folder's own articles, {suite.articles}, in a temporary index."
            )
    except (EvalInputError, ArticleFolderError) as exc:
        _fail(str(exc))
    _write_and_show(out, summary, rows, baseline_rows, as_json)
    if not summary["passed"]:
        raise typer.Exit(1)


def _run_llm_suite(settings, cases, out: Path, as_json: bool, source: str) -> None:
    """`dsqa eval --llm`: the suite with the LLM and without, gated on what verification promises."""
    from evals.llm import evaluate_llm
    from knowledge.loaders import ArticleFolderError

    try:
        summary, rows, extractive_rows = evaluate_llm(settings, cases, _progress("Asking", as_json), source=source)
    except (ValueError, ArticleFolderError) as exc:
        _fail(str(exc))
    _write_and_show(out, summary, rows, extractive_rows, as_json)
    if not summary["passed"]:
        raise typer.Exit(1)


@eval_app.command("squad")
def run_squad_benchmark(
    files: Annotated[list[Path], typer.Argument(help="SQuAD-format JSON files (e.g. ../shared/data/qa/*.json).")],
    limit: Annotated[
        int, typer.Option("--limit", min=0, help="Ask only N questions per file, spread evenly over it (0 = all).")
    ] = 0,
    out: Annotated[
        Path, typer.Option("--out", help="Folder for the report files (one subfolder per file when several).")
    ] = _OUT / "squad",
    as_json: Annotated[bool, typer.Option("--json", help="Print summary.json to stdout instead of a table.")] = False,
    baseline: Annotated[
        bool, typer.Option("--baseline", help="Also run the LangChain recipe baseline, side by side.")
    ] = False,
    char: Annotated[
        bool, typer.Option("--char", help="Character F1 and containment (Chinese, which has no spaces).")
    ] = False,
    reader: Annotated[
        str | None,
        typer.Option(
            "--reader",
            help="llm: the local reading model (the extractive answers of the same run are shown beside); "
            "extractive: without it [default: the configured reader, DSQA_READER].",
        ),
    ] = None,
    part: Annotated[
        str | None,
        typer.Option(
            "--part", help="calibration: every third article from the first; report: the others [default: all]."
        ),
    ] = None,
) -> None:
    """Benchmark on SQuAD-format files: each file's articles become a temporary knowledge folder; one row per file."""
    from knowledge.settings import go_offline

    go_offline()
    from evals.runner import EvalInputError
    from evals.squad import run_squad
    from knowledge.loaders import ArticleFolderError

    if reader not in (None, "llm", "extractive"):
        _fail(f"--reader {reader}: expected llm or extractive")
    overrides = {"reader": reader} if reader else None
    table = []
    for file in files:
        try:
            summary, rows, baseline_rows = run_squad(
                file, limit or None, baseline, _progress(f"SQuAD {file.name}", as_json), overrides, char, part
            )
        except (EvalInputError, ArticleFolderError, OSError) as exc:
            _fail(str(exc))
        folder = out if len(files) == 1 else out / file.stem
        if len(files) == 1:
            _write_and_show(folder, summary, rows, baseline_rows, as_json)
        else:
            from evals.report_files import write_outputs

            write_outputs(folder, summary, rows, baseline_rows)
        table.append((file.name, summary))
    if not as_json:
        _print_squad_rows(table)


SQUAD_COLUMNS = ("contained", "F1", "EM", "declined", "false refusals", "hit@1", "hit@5", "p50 s", "p95 s")


def squad_row(summary: dict) -> list[str]:
    """One system's figures on one file: contained, F1, EM, declined, false refusals, hit@1/5, and the
    p50/p95 wall-clock seconds to its answer."""
    overall = summary["overall"]

    def value(key: str) -> str:
        v = overall.get(key, {}).get("value")
        return "—" if v is None or v != v else f"{v:.3f}"

    wall = summary["latency_ms"].get("wall") or summary["latency_ms"].get("total") or {}
    seconds = [f"{wall[p] / 1000:.2f}" if p in wall else "—" for p in ("p50", "p95")]
    keys = ("contains_gold", "f1", "exact", "no_answer_accuracy", "false_refusal_rate", "hit_at_1", "hit_at_5")
    return [value(k) for k in keys] + seconds


def _print_squad_rows(table: list[tuple[str, dict]]) -> None:
    """The table of every file: one row per file and reader (with the reading model on, the same run's
    instant extractive answers beside)."""
    typer.echo("| file | reader | questions | " + " | ".join(SQUAD_COLUMNS) + " |")
    typer.echo("|---|---|---|" + "---|" * len(SQUAD_COLUMNS))
    for name, summary in table:
        systems = [(summary.get("reader", "extractive"), summary)]
        if "extractive" in summary:
            systems.append(("extractive (same run)", summary["extractive"]))
        if "baseline" in summary:
            systems.append((summary["baseline"]["name"], summary["baseline"]))
        for label, system in systems:
            cells = [name, label, str(system["overall"]["cases"]), *squad_row(system)]
            typer.echo("| " + " | ".join(cells) + " |")


@eval_app.command("coqa")
def run_coqa_benchmark(
    file: Annotated[Path, typer.Argument(help="A CoQA sample file (e.g. coqa-dev-sample.json).")],
    limit: Annotated[
        int, typer.Option("--limit", min=0, help="Play only N runs, spread evenly over the file (0 = all).")
    ] = 0,
    out: Annotated[Path, typer.Option("--out", help="Folder for the report files.")] = _OUT / "coqa",
    as_json: Annotated[bool, typer.Option("--json", help="Print summary.json to stdout instead of a table.")] = False,
) -> None:
    """Play CoQA conversations: every story in one temporary knowledge folder, the bot's answers as history,
    beside two baselines (no history; previous question + question)."""
    from knowledge.settings import go_offline

    go_offline()
    from evals.coqa import run_coqa
    from evals.runner import EvalInputError
    from knowledge.loaders import ArticleFolderError

    try:
        summary, rows, baseline_rows = run_coqa(file, limit or None, lambda label: _progress(label, as_json))
    except (EvalInputError, ArticleFolderError, OSError) as exc:
        _fail(str(exc))
    _write_and_show(out, summary, rows, baseline_rows, as_json)


def _print_metrics(summary: dict, pick) -> None:
    """One line per metric: the bot's value with its interval, then each baseline's; `pick` chooses the
    aggregate (overall, or a tag's) from a system's summary."""
    from evals.report import baselines, fmt

    for key, (label, _higher, kind) in summary["metrics"].items():
        line = f"  {label:<34} {fmt(pick(summary).get(key), kind)}"
        for other in baselines(summary):
            line += f"   | {other['name']}: {fmt(pick(other).get(key), kind, interval=False)}"
        typer.echo(line)
