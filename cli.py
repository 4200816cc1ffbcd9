"""The `dsqa` command line: `dsqa ask`, `dsqa chat`, `dsqa index`, `dsqa serve`, `dsqa mcp`, and `dsqa eval` (from evals/).

Only typer loads at start; each command imports what its path needs, so `dsqa ask` starts fast.
Bad input (an argument, a setting, a question, a file) prints one line and exits with code 2, never
a traceback: `main()` runs typer in non-standalone mode and turns its usage errors into that line too.
"""

from __future__ import annotations

import json
import logging
import os
import sys

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
QuietOption = typer.Option(False, "--quiet", "-q", help="No progress bar while indexing.")
LLMOption = typer.Option(
    None,
    "--llm/--no-llm",
    help="For this run: answer with the LLM server in $DSQA_LLM_BASE_URL (every sentence verified, quoted "
    "answer as fallback), or without any LLM. Default: the LLM when $DSQA_LLM_BASE_URL is set.",
)


def _fail(message: str) -> None:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    raise typer.Exit(2)


def _settings(knowledge: str | None = None, index: str | None = None, **overrides):
    """Settings from the environment and these options; a bad value exits 2 with one line (in `main`).

    Folders arrive as text, not `Path`: `Path("")` is ".", and `--knowledge ""` must be refused, not
    mean the current folder."""
    from knowledge.settings import Settings, go_offline

    go_offline()  # offline and quiet (no model-loading bars) before any library loads
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s: %(message)s")  # warnings: one line each
    settings = Settings.from_env(knowledge_dir=knowledge, index_dir=index, **overrides)
    from index import faults

    faults.arm(settings.kill_at)  # a no-op unless a crash test asks for it
    return settings


def _bot(knowledge: str | None, index: str | None, llm: bool | None = None):
    settings = _settings(knowledge, index, llm_base_url="" if llm is False else None)
    if llm and not settings.llm_base_url:
        _fail("--llm needs a server: set DSQA_LLM_BASE_URL, e.g. http://127.0.0.1:8080/v1")
    from bot import Bot

    return Bot(settings=settings)


def _guard(action):
    """Run `action()`, turning bad-input errors into a message and exit code 2."""
    from index.folder import IndexBusyError
    from knowledge.errors import Unavailable

    try:
        return action()
    except (ValueError, FileNotFoundError, IndexBusyError) as exc:  # SettingsError, ArticleFolderError, UploadError …
        _fail(str(exc))
    except Unavailable as exc:  # no articles, a model that cannot load, a store that does not answer
        _fail(str(exc))


def format_answer(answer) -> str:
    """The answer text, any notes, and a numbered source list (title, quote)."""
    from bot.answer_text import answer_as_text

    notes = [f"({note})" for note in answer.notes if not note.startswith("abstained:")]
    text, _, sources = answer_as_text(answer).partition("\n\nSources:\n")
    lines = [text]
    if answer.mode == "llm":
        lines.append("(written by the LLM; every sentence checked against the passage it cites)")
    lines += notes
    if sources:
        lines += ["", "Sources:", *(f"  {line}" for line in sources.splitlines())]
    return "\n".join(lines)


@app.command()
def ask(
    question: str = typer.Argument(..., help="The question, in quotes."),
    as_json: bool = typer.Option(False, "--json", help="Print the whole Answer as JSON."),
    knowledge: str = KnowledgeOption,
    index: str = IndexOption,
    llm: bool | None = LLMOption,
) -> None:
    """Answer one question with citations. Example: dsqa ask "Where will IDSEA be located?" """
    if not question.strip():
        _fail('the question is empty: dsqa ask "Where will IDSEA be located?"')
    bot = _bot(knowledge, index, llm)
    answer = _guard(lambda: bot.ask(question))
    if as_json:
        typer.echo(json.dumps(answer.to_dict(), ensure_ascii=False, indent=2))
    else:
        typer.echo(format_answer(answer))


@app.command()
def chat(knowledge: str = KnowledgeOption, index: str = IndexOption, llm: bool | None = LLMOption) -> None:
    """A terminal chat that remembers the conversation (empty line or Ctrl-D to leave, /new to restart)."""
    bot = _bot(knowledge, index, llm)
    _guard(lambda: bot.index(progress=True))
    _guard(bot.warm_up)  # the reading model loads while you type the first question
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
    knowledge: str = KnowledgeOption,
    index: str = IndexOption,
    rebuild: bool = typer.Option(False, "--rebuild", help="Drop the index and embed everything again."),
    quiet: bool = QuietOption,
    wait: float = typer.Option(
        600, "--wait", min=0, help="Seconds to wait while another process writes this index (0: fail at once)."
    ),
) -> None:
    """Build the index, or sync it with the articles (only new or changed articles are embedded)."""
    bot = _bot(knowledge, index)

    def waiting(owner: str) -> None:
        typer.secho(f"Waiting for {owner}, which is writing {bot.settings.index_path} …", err=True)

    progress = not quiet and bot.settings.progress
    report = _guard(lambda: bot.index(rebuild=rebuild, progress=progress, wait=wait, on_wait=waiting))
    typer.echo(f"Index at {bot.settings.index_path}: {report.summary()}")


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", "--host", help="Address to bind. Beyond loopback needs --auth."),
    port: int = typer.Option(7860, "--port", "-p", min=1, max=65535, help="Port to serve on."),
    auth: str = typer.Option(None, "--auth", help="user:pass: require a login (or set $DSQA_AUTH)."),
    knowledge: str = KnowledgeOption,
    index: str = IndexOption,
    quiet: bool = QuietOption,
) -> None:
    """Serve the web chat (index first if needed). Example: dsqa serve --port 7861"""
    settings = _settings(knowledge, index)  # offline first: the page's modules import gradio
    from web.server import AUTH_ENV, parse_auth
    from web.server import serve as serve_chat

    credentials = _guard(lambda: parse_auth(auth or os.environ.get(AUTH_ENV)))
    _guard(lambda: serve_chat(settings, host, port, credentials, progress=not quiet and settings.progress))


@app.command()
def mcp(knowledge: str = KnowledgeOption, index: str = IndexOption, llm: bool | None = LLMOption) -> None:
    """Serve the MCP tools (ask, search, list_documents) over stdin/stdout, for agents that start a process."""
    bot = _bot(knowledge, index, llm)
    _guard(lambda: bot.index(progress=False))  # stdout carries the protocol: no progress bar, ever
    _guard(bot.warm_up)  # the reading model loads before the agent's first question
    if bot.settings.watch:
        bot.watch()  # a long-lived agent session answers from edits to the folder, as `dsqa chat` does
    from web.mcp_server import serve_stdio

    serve_stdio(bot)


def _register_eval() -> None:
    from evals.cli import eval_app  # evals/cli.py imports only typer at module level

    app.add_typer(eval_app, name="eval")


def _one_line(message: str) -> str:
    return " ".join(message.split())


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point: every bad argument or setting is one line on stderr and exit code 2."""
    from knowledge.settings import SettingsError

    try:
        _register_eval()
    except ImportError:  # evals/ not installed: the other commands still work
        pass
    args = sys.argv[1:] if argv is None else list(argv)
    try:
        code = app(args=args or ["--help"], prog_name="dsqa", standalone_mode=False)
    except typer.TyperException as exc:  # a usage error: bad or missing argument, unknown option
        message = exc.format_message() if hasattr(exc, "format_message") else str(exc)
        typer.secho(f"error: {_one_line(message)}", fg=typer.colors.RED, err=True)
        code = getattr(exc, "exit_code", 2)
    except SettingsError as exc:
        typer.secho(f"error: {_one_line(str(exc))}", fg=typer.colors.RED, err=True)
        code = 2
    except typer.Abort:  # Ctrl+C at a prompt
        typer.echo("", err=True)
        code = 130
    sys.exit(code or 0)


if __name__ == "__main__":
    main()
