"""The `dsqa` command line: `dsqa ask`, `dsqa chat`, `dsqa index`, `dsqa eval` (from evals/).

Only typer loads at start; each command imports what its path needs, so `dsqa ask` starts fast.
Bad input prints a clear message and exits with code 2, never a traceback.
"""

from __future__ import annotations

import typer

app = typer.Typer(add_completion=False, no_args_is_help=True, help="Ask questions of a folder of news articles.")


def _register_eval() -> None:
    from evals.cli import eval_app  # evals/cli.py imports only typer at module level

    app.add_typer(eval_app, name="eval")


def main() -> None:
    """Console-script entry point."""
    try:
        _register_eval()
    except ImportError:  # evals/ not present: the other commands still work
        pass
    app()


if __name__ == "__main__":
    main()
