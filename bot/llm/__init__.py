"""The optional LLM stages: a grounded answerer whose every sentence is verified, and a
"condense the question" rewriter, over any OpenAI-compatible server (Ollama, llama-server, vLLM…).

`client.py` connects (LangChain's `ChatOpenAI`, one deadline per answer), `prompts.py` holds every
text as data, `verify.py` checks sentences against passages, `answerer.py` and `rewriter.py`
implement the `bot.stages` protocols. Nothing here loads unless `Settings.llm_base_url` is set.
"""

from __future__ import annotations

from bot.llm.answerer import LLMAnswerer
from bot.llm.client import Deadline, LLMClient, LLMFailure
from bot.llm.rewriter import LLMRewriter

__all__ = ["Deadline", "LLMAnswerer", "LLMClient", "LLMFailure", "LLMRewriter"]
