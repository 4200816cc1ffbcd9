"""The docstring examples of bot/llm/ run (tests/test_docstrings.py covers top-level modules only)."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import bot.llm

MODULES = sorted(f"bot.llm.{info.name}" for info in pkgutil.iter_modules(bot.llm.__path__))


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    assert doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS).failed == 0
