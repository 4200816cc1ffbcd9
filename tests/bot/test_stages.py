"""Each Protocol in bot/stages.py says what its concrete stages really take: the parameters of every
method a Protocol declares match those of each class that stands behind it."""

from __future__ import annotations

import inspect

import pytest

from bot.analyze import QuestionAnalyzer
from bot.llm.answerer import LLMAnswerer
from bot.llm.rewriter import LLMRewriter
from bot.rewrite import ConversationRewriter
from bot.stages import Analyzer, Answerer, Rewriter


def parameter_names(function) -> list[str]:
    return [p.name for p in inspect.signature(function).parameters.values()]


@pytest.mark.parametrize(
    ("protocol", "concrete"),
    [
        (Analyzer, QuestionAnalyzer),
        (Rewriter, ConversationRewriter),
        (Rewriter, LLMRewriter),
        (Answerer, LLMAnswerer),
    ],
)
def test_concrete_stages_match_their_protocol(protocol, concrete):
    methods = [name for name, value in vars(protocol).items() if inspect.isfunction(value) and not name.startswith("_")]
    assert methods
    for name in methods:
        assert parameter_names(getattr(concrete, name)) == parameter_names(getattr(protocol, name)), name
