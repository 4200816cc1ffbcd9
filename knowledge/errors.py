"""Failures that are nobody's bad input but still reach the user as one clear line.

`Unavailable` is the base: no articles to answer from, an embedding model that cannot be loaded or
is not the expected one, a vector store that does not answer in time. The CLI prints it as
`error: …` with exit code 2, the page as a message, gradio_client as an `AppError`. Bugs stay
ordinary exceptions, with their tracebacks.
"""

from __future__ import annotations


class Unavailable(RuntimeError):
    """The bot cannot answer or index now; the message says why and what to do, in one line."""
