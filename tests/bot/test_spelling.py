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


@pytest.mark.parametrize("word", ["transpire", "compliant", "sweeten"])
def test_a_rare_real_word_near_an_article_word_is_kept(word):
    # Not in the model's vocabulary, and close to an article word ("transported", "complaint", "Sweden"),
    # but a real English word, not 100 times rarer than the article word: typed on purpose.
    spellings = {**SPELLINGS, "transported": "transported", "complaint": "complaint"}
    assert SpellingRepair(spellings, set()).repair(f"Did it {word}?") == f"Did it {word}?"


def test_an_unseen_word_is_repaired_even_towards_a_rare_article_word():
    assert SpellingRepair(SPELLINGS, set()).repair("Where is Hefie?") == "Where is Hefei?"
