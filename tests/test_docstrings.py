"""The docstring examples of the pipeline modules run, so the documentation stays true."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import bot
import index
import knowledge

MODULES = sorted(
    f"{package.__name__}.{info.name}"
    for package in (bot, index, knowledge)
    for info in pkgutil.iter_modules(package.__path__)
)


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
