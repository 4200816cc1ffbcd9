"""The `dsqa` command line: `dsqa ask`, `dsqa chat`, `dsqa index`, and `dsqa eval` (from evals/).

Only typer loads at start; each command imports what its path needs, so `dsqa ask` starts fast.
Bad input prints a clear message and exits with code 2, never a traceback.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="Ask questions of a folder of news articles, offline, with citations.",
)

KnowledgeOption = typer.Option(
    None,
    "--knowledge",
    "-k",
    help="Folder of articles (.md, .txt, .html). Default: knowledge/articles or $DSQA_KNOWLEDGE_DIR.",
)
IndexOption = typer.Option(
    None,
    "--index",
    "-i",
    help="Folder for the on-disk index. Default: $DSQA_INDEX_DIR, else .index/<folder name>-<hash> (one per folder).",
)


def _fail(message: str) -> None:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    raise typer.Exit(2)


def _bot(knowledge: Path | None, index: Path | None):
    from knowledge.settings import Settings, go_offline

    go_offline()
    _quiet_libraries()
    from bot import Bot

    return Bot(settings=Settings.from_env(knowledge_dir=knowledge, index_dir=index))


def _quiet_libraries() -> None:
    """Library progress bars and info logs are noise on a terminal answer path."""
    import logging
    import os

    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s: %(message)s")  # warnings: one line each
    logging.getLogger("sentence_transformers").setLevel(logging.WARNING)


def _guard(action):
    """Run `action()`, turning bad-input errors into a message and exit code 2."""
    from index.folder import IndexBusyError
    from knowledge.loaders import ArticleFolderError

    try:
        return action()
    except (ValueError, ArticleFolderError, FileNotFoundError, IndexBusyError) as exc:
        _fail(str(exc))


def format_answer(answer) -> str:
    """The answer text, any notes, and a numbered source list (title, quote)."""
    lines = [answer.text]
    lines += [f"({note})" for note in answer.notes if not note.startswith("abstained:")]
    if answer.citations:
        lines.append("")
        lines.append("Sources:")
        for c in answer.citations:
            lines.append(f"  [{c.number}] {c.title}" + (f" ({c.date})" if c.date else "") + f" — “{c.quote}”")
    return "\n".join(lines)


@app.command()
def ask(
    question: str = typer.Argument(..., help="The question, in quotes."),
    as_json: bool = typer.Option(False, "--json", help="Print the whole Answer as JSON."),
    knowledge: Path = KnowledgeOption,
    index: Path = IndexOption,
) -> None:
    """Answer one question with citations. Example: dsqa ask "Where will IDSEA be located?" """
    if not question.strip():
        _fail('the question is empty: dsqa ask "Where will IDSEA be located?"')
    bot = _bot(knowledge, index)
    answer = _guard(lambda: bot.ask(question))
    if as_json:
        typer.echo(json.dumps(answer.to_dict(), ensure_ascii=False, indent=2))
    else:
        typer.echo(format_answer(answer))


@app.command()
def chat(knowledge: Path = KnowledgeOption, index: Path = IndexOption) -> None:
    """A terminal chat that remembers the conversation (empty line or Ctrl-D to leave, /new to restart)."""
    bot = _bot(knowledge, index)
    _guard(lambda: bot.index(progress=True))
    if bot.settings.watch:
        bot.watch()  # edits to the folder are picked up while you chat
    titles = ", ".join(f"“{s.title}”" for s in bot.summaries()[:3])
    typer.echo(f"deepspace-qa — ask about {titles}. /new starts over, an empty line quits.")
    history: list[dict] = []
    while True:
        try:
            question = input("\nyou> ").strip()
        except (EOFError, KeyboardInterrupt):
            typer.echo("")
            break
        if not question:
            break
        if question == "/new":
            history = []
            typer.echo("(new conversation)")
            continue
        answer = _guard(lambda q=question, h=history: bot.ask(q, history=h))
        if answer.query != answer.question:
            typer.secho(f"(understood as: {answer.query})", dim=True)
        typer.echo("bot> " + format_answer(answer))
        history += [{"role": "user", "content": question}, {"role": "assistant", "content": answer.text}]


@app.command("index")
def build_index(
    knowledge: Path = KnowledgeOption,
    index: Path = IndexOption,
    rebuild: bool = typer.Option(False, "--rebuild", help="Drop the index and embed everything again."),
    wait: float = typer.Option(
        600, "--wait", min=0, help="Seconds to wait while another process writes this index (0: fail at once)."
    ),
) -> None:
    """Build the index, or sync it with the articles (only new or changed articles are embedded)."""
    bot = _bot(knowledge, index)

    def waiting(owner: str) -> None:
        typer.secho(f"Waiting for {owner}, which is writing {bot.settings.index_path} …", err=True)

    report = _guard(lambda: bot.index(rebuild=rebuild, progress=True, wait=wait, on_wait=waiting))
    typer.echo(f"Index at {bot.settings.index_path}: {report.summary()}")


def _register_eval() -> None:
    from evals.cli import eval_app  # evals/cli.py imports only typer at module level

    app.add_typer(eval_app, name="eval")


def main() -> None:
    """Console-script entry point."""
    try:
        _register_eval()
    except ImportError:  # evals/ not installed: the other commands still work
        pass
    app()


if __name__ == "__main__":
    sys.exit(main())
