"""The web chat's entry point: `python app.py [options]` is `dsqa serve [options]` (--host, --port,
--auth, --knowledge, --index). The page itself lives in `web/`: `web/page.py` builds it, `web/server.py`
serves it."""

from __future__ import annotations

import sys

from cli import main as dsqa


def main(argv: list[str] | None = None) -> None:
    """Build and serve the chat, as `dsqa serve` does."""
    dsqa(["serve", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    main()
