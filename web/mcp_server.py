"""The bot as MCP tools (official `mcp` SDK): `ask`, `search` and `list_documents`.

One `MCPServer` definition, two transports: Streamable HTTP at `/mcp` on the page's server (`dsqa serve`,
behind the same login gate; see `web/server.py`), and stdio for desktop agents that start a process
(`dsqa mcp`). Gradio's own MCP server is not used: it has no stdio transport, it would publish the page's
/upload and /delete endpoints as tools, and its `gradio[mcp]` extra pins pydantic below the locked one.
The tools only read: nothing here adds or deletes documents.
"""

from __future__ import annotations

import contextlib

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import BaseModel, Field

from bot import Bot
from web.render import citation_records

SERVER_NAME = "deepspace-qa"
INSTRUCTIONS = (
    "Answers questions from a fixed folder of news articles, quoting them with numbered citations. "
    "Use `ask` for an answer with its sources, `search` for raw passages, `list_documents` for what it holds. "
    "When `ask` declines, the articles do not hold the answer: say so rather than guessing."
)
MAX_SEARCH_K = 20
MCP_PATH = "/mcp"


class Source(BaseModel):
    """The source of one `[number]` marker: `quote` is exactly the article's text from `start` to `end`."""

    number: int
    title: str
    date: str
    page: int | None
    quote: str
    article_id: str
    start: int
    end: int


class AskResult(BaseModel):
    """An answer with its sources, or a decline and its reason."""

    answer: str = Field(description="The answer text with [n] markers, or why the bot declined and what it covers.")
    citations: list[Source] = Field(description="One per [n] marker in the answer.")
    declined: bool = Field(description="True when the articles do not hold the answer.")
    decline_reason: str | None = Field(
        description="off-topic, not-stated, false-premise, instruction or unclear; null when answered."
    )
    understood_as: str = Field(description="The question as the bot searched for it (a follow-up resolved).")


class Passage(BaseModel):
    """One retrieved passage: `text` is exactly the article's text from `start` to `end`."""

    rank: int
    title: str
    date: str
    article_id: str
    start: int
    end: int
    score: float
    text: str


class Document(BaseModel):
    """One indexed document."""

    article_id: str
    title: str
    date: str
    format: str
    pages: int | None
    passages: int


def build_mcp_server(bot: Bot) -> MCPServer:
    """The MCP server with the bot's three read-only tools."""
    server = MCPServer(SERVER_NAME, instructions=INSTRUCTIONS, log_level="WARNING")

    @server.tool()
    def ask(question: str, history: list[dict[str, str]] | None = None) -> AskResult:
        """Answer a question from the articles, quoting them: the answer has [n] markers, and each citation gives
        the article's title, date, the quoted sentence and its exact character offsets in the article.
        For a follow-up ("Where will it be based?"), pass the earlier turns as history:
        [{"role": "user", "content": "..."}, {"role": "assistant", "content": "..."}].
        If `declined` is true the articles do not hold the answer; do not answer from elsewhere in its name."""
        if len(question.strip()) > bot.settings.max_question_chars:
            raise ToolError(f"the question is over {bot.settings.max_question_chars:,} characters; shorten it")
        try:
            answer = bot.ask(question, history=history or [])
        except (ValueError, TypeError) as error:  # a blank question, …: the agent sees why
            raise ToolError(str(error)) from None
        return AskResult(
            answer=answer.text,
            citations=[Source(**record) for record in citation_records(answer)],
            declined=answer.abstained,
            decline_reason=answer.abstain_reason.value if answer.abstain_reason else None,
            understood_as=answer.query,
        )

    @server.tool()
    def search(query: str, k: int = 5) -> list[Passage]:
        """Find the k passages (1 to 20, default 5) of the articles that best match a query, best first, each
        with its article's title and date and its character offsets in the article. No answer is composed:
        use this to read around a topic, and `ask` for a cited answer."""
        if not 1 <= k <= MAX_SEARCH_K:
            raise ToolError(f"k must be from 1 to {MAX_SEARCH_K}, not {k}")
        try:
            passages = bot.search(query, k)
        except (ValueError, TypeError) as error:
            raise ToolError(str(error)) from None
        return [
            Passage(
                rank=rank,
                title=c.title,
                date=c.date,
                article_id=c.article_id,
                start=c.start,
                end=c.end,
                score=round(c.score, 6),
                text=c.text,
            )
            for rank, c in enumerate(passages, start=1)
        ]

    @server.tool()
    def list_documents() -> list[Document]:
        """List the documents the bot answers from: id, title, reported date, format, pages (PDF) and passages."""
        return [
            Document(
                article_id=s.article_id,
                title=s.title,
                date=s.date,
                format=s.format,
                pages=s.pages,
                passages=s.chunks,
            )
            for s in bot.summaries()
        ]

    return server


def http_app(server: MCPServer, host: str):
    """The Streamable HTTP app to mount at `MCP_PATH`, and the lifespan that runs its sessions.

    `host` is the address served: on loopback the SDK also checks Host and Origin (DNS rebinding)."""
    app = server.streamable_http_app(streamable_http_path=MCP_PATH, host=host)

    @contextlib.asynccontextmanager
    async def lifespan(_app):
        async with server.session_manager.run():
            yield

    return app, lifespan


def serve_stdio(bot: Bot) -> None:
    """Serve the tools over stdin/stdout until the client closes them (what `dsqa mcp` runs)."""
    build_mcp_server(bot).run("stdio")
