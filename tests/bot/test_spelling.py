"""bot/spelling.py: typos are repaired against the articles; correct words in any script never change."""

from __future__ import annotations

import pytest

from bot.spelling import SpellingRepair

SPELLINGS = {"hefei": "Hefei", "idsea": "IDSEA", "located": "located", "sweden": "Sweden", "türkiye": "Türkiye"}


@pytest.mark.parametrize(
    ("typed", "repaired"),
    [
        ("Wher will idsea be locted?", "Where will idsea be located?"),
        ("What did Swedn provide?", "What did Sweden provide?"),
        ("What is the budget?", "What is the budget?"),  # a real word absent from the articles is kept
    ],
)
def test_typos_are_repaired(typed, repaired):
    assert SpellingRepair(SPELLINGS, {"budget"}).repair(typed) == repaired


@pytest.mark.parametrize(
    "text",
    [
        "What is Türkiye developing?",
        "Is Zürich a member?",
        "Who went to São Paulo?",
        "合肥在哪里？",
        "Chang’e 8",
        "Ålesund",
    ],
)
def test_correct_words_in_any_script_are_never_changed(text):
    assert SpellingRepair(SPELLINGS, set()).repair(text) == text
