"""`dsqa eval` (the suite, gated by `evals/thresholds.toml`) and `dsqa eval squad FILE` (SQuAD 2.0).

Only typer and the standard library load at import, so `dsqa` starts fast; the bot loads inside the
command. Exit codes: 0 all thresholds met, 1 a threshold missed, 2 bad input (clear message, no traceback).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

eval_app = typer.Typer(
    help="Measure the bot: run the eval suite (default) or a SQuAD 2.0 benchmark, and write a report.",
    invoke_without_command=True,
    no_args_is_help=False,
)

_EVALS_DIR = Path(__file__).resolve().parent
_CASES, _OUT, _THRESHOLDS = _EVALS_DIR / "cases", _EVALS_DIR / "out", _EVALS_DIR / "thresholds.toml"


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
    from evals.report import write_outputs

    paths = write_outputs(out, summary, rows, baseline_rows)
    if as_json:
        typer.echo(paths["summary.json"].read_text(encoding="utf-8"))
    else:
        _print_summary(summary, paths)


def _print_summary(summary: dict, paths: dict[str, Path]) -> None:
    from evals.report import fmt

    baseline = summary.get("baseline")
    typer.echo(f"{summary['title']}: {summary['overall']['cases']} questions")
    for key, (label, _higher, kind) in summary["metrics"].items():
        line = f"  {label:<34} {fmt(summary['overall'].get(key), kind)}"
        if baseline:
            line += f"   | {baseline['name']}: {fmt(baseline['overall'].get(key), kind, interval=False)}"
        typer.echo(line)
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
    cases: Annotated[Path, typer.Option("--cases", help="A cases .jsonl file or a folder of them.")] = _CASES,
    out: Annotated[
        Path, typer.Option("--out", help="Folder for results.jsonl, summary.json, report.md, report.html.")
    ] = _OUT,
    as_json: Annotated[bool, typer.Option("--json", help="Print summary.json to stdout instead of a table.")] = False,
    baseline: Annotated[
        bool, typer.Option("--baseline", help="Also run the LangChain recipe baseline, side by side.")
    ] = False,
    thresholds: Annotated[Path, typer.Option("--thresholds", help="The versioned thresholds file.")] = _THRESHOLDS,
    llm: Annotated[
        bool, typer.Option("--llm", help="Run through the LLM in $DSQA_LLM_BASE_URL, extractive numbers beside.")
    ] = False,
    limit: Annotated[
        int, typer.Option("--limit", min=0, help="Ask only N cases, spread evenly over the suite (0 = all).")
    ] = 0,
) -> None:
    """Run the eval suite over the configured articles; exit 1 when a threshold is missed."""
    if ctx.invoked_subcommand is not None:
        return
    from knowledge.settings import go_offline

    go_offline()
    from evals.runner import EvalInputError, evaluate, load_cases, load_thresholds

    try:
        loaded_cases = load_cases(cases)
        limits = load_thresholds(thresholds)
    except (EvalInputError, OSError) as exc:
        _fail(str(exc))
    from bot import Bot
    from knowledge.loaders import ArticleFolderError
    from knowledge.settings import Settings

    settings = Settings.from_env(progress=not as_json)
    if limit and limit < len(loaded_cases):
        loaded_cases = [loaded_cases[i * len(loaded_cases) // limit] for i in range(limit)]
    if llm and baseline:
        _fail("--llm already shows the extractive bot beside the LLM; run --baseline separately")
    if llm:
        return _run_llm_suite(settings, loaded_cases, out, as_json, str(cases))
    try:
        bot = Bot(settings=settings)
        bot.index()
        reference = None
        if baseline:
            from evals.baseline import BaselineBot

            reference = BaselineBot(settings.knowledge_dir)
        summary, rows, baseline_rows = evaluate(
            bot, loaded_cases, limits, reference, _progress("Asking", as_json), source=str(cases)
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
    file: Annotated[Path, typer.Argument(help="A SQuAD 2.0 JSON file (e.g. dev-v2.0.json).")],
    limit: Annotated[
        int, typer.Option("--limit", min=0, help="Ask only N questions, spread evenly over the file (0 = all).")
    ] = 0,
    out: Annotated[Path, typer.Option("--out", help="Folder for the report files.")] = _OUT / "squad",
    as_json: Annotated[bool, typer.Option("--json", help="Print summary.json to stdout instead of a table.")] = False,
    baseline: Annotated[
        bool, typer.Option("--baseline", help="Also run the LangChain recipe baseline, side by side.")
    ] = False,
) -> None:
    """Benchmark on a SQuAD 2.0 file: its articles become a temporary knowledge folder."""
    from knowledge.settings import go_offline

    go_offline()
    from evals.runner import EvalInputError
    from evals.squad import run_squad
    from knowledge.loaders import ArticleFolderError

    try:
        summary, rows, baseline_rows = run_squad(file, limit or None, baseline, _progress("SQuAD", as_json))
    except (EvalInputError, ArticleFolderError, OSError) as exc:
        _fail(str(exc))
    _write_and_show(out, summary, rows, baseline_rows, as_json)
