"""The MCP tools through the official `mcp` client: over Streamable HTTP at `/mcp` of a real `dsqa serve`, and
over stdio from a real `dsqa mcp` process. Both list ask, search and list_documents and answer with citations.
"""

from __future__ import annotations

import asyncio
import os
import sys

import pytest
from mcp import Client, StdioServerParameters

from knowledge.settings import PROJECT_ROOT

pytestmark = pytest.mark.slow
QUESTION = "When will IDSEA launch?"


async def exercise(target) -> dict:
    """List the tools, then call each; returns what came back, for the assertions."""
    async with Client(target, read_timeout_seconds=180) as client:
        tools = {tool.name: tool for tool in (await client.list_tools()).tools}
        asked = await client.call_tool("ask", {"question": QUESTION})
        first = asked.structured_content
        history = [{"role": "user", "content": QUESTION}, {"role": "assistant", "content": first["answer"]}]
        follow_up = await client.call_tool("ask", {"question": "Where will it be based?", "history": history})
        searched = await client.call_tool("search", {"query": "Where is the association located?", "k": 3})
        documents = await client.call_tool("list_documents", {})
        too_many = await client.call_tool("search", {"query": "Hefei", "k": 500})
        blank = await client.call_tool("ask", {"question": "   "})
    return {
        "tools": tools,
        "ask": asked,
        "follow_up": follow_up,
        "search": searched,
        "documents": documents,
        "too_many": too_many,
        "blank": blank,
    }


def check(result: dict, articles_text: dict[str, str]) -> None:
    tools = result["tools"]
    assert set(tools) == {"ask", "search", "list_documents"}
    assert all(len(tool.description) > 80 for tool in tools.values())  # something an agent can act on
    assert set(tools["ask"].input_schema["properties"]) == {"question", "history"}
    assert tools["ask"].input_schema["required"] == ["question"]
    assert set(tools["search"].input_schema["properties"]) == {"query", "k"}

    asked = result["ask"].structured_content
    assert not result["ask"].is_error and "July 7th 2025" in asked["answer"] and "[1]" in asked["answer"]
    assert asked["declined"] is False and asked["citations"]
    for citation in asked["citations"]:
        assert articles_text[citation["article_id"]][citation["start"] : citation["end"]] == citation["quote"]

    follow_up = result["follow_up"].structured_content
    assert "IDSEA" in follow_up["understood_as"] and "Hefei" in follow_up["answer"]

    passages = result["search"].structured_content["result"]
    assert [p["rank"] for p in passages] == [1, 2, 3] and any("Hefei" in p["text"] for p in passages)
    for passage in passages:
        assert (
            passage["title"]
            and articles_text[passage["article_id"]][passage["start"] : passage["end"]] == passage["text"]
        )

    documents = result["documents"].structured_content["result"]
    assert {d["article_id"] for d in documents} == set(articles_text)
    assert result["too_many"].is_error and "k must be from 1 to 20" in result["too_many"].content[0].text
    assert result["blank"].is_error


def article_texts(settings) -> dict[str, str]:
    from knowledge import load_articles

    return {a.id: a.text for a in load_articles(settings.knowledge_dir)}


def test_mcp_over_http_on_the_served_chat(served_chat):
    result = asyncio.run(exercise(served_chat.url.rstrip("/") + "/mcp"))
    check(result, article_texts(served_chat.settings))


def test_dsqa_mcp_serves_the_same_tools_over_stdio(served_chat):
    settings = served_chat.settings
    env = {k: v for k, v in os.environ.items() if not k.startswith("DSQA_")} | {"DSQA_DATA_DIR": str(settings.data_dir)}
    command = StdioServerParameters(
        command=sys.executable,
        args=[
            str(PROJECT_ROOT / "cli.py"),
            "mcp",
            "--knowledge",
            str(settings.knowledge_dir),
            "--index",
            str(settings.index_dir),
        ],
        env=env,
        cwd=str(PROJECT_ROOT),
    )
    check(asyncio.run(exercise(command)), article_texts(settings))
