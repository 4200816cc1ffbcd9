"""bot/retrieve.py and index/lexical.py: hybrid retrieval finds Chinese names, typos and lower case."""

from __future__ import annotations

import pytest

from bot.retrieve import FILL_ONLY, reciprocal_rank_fusion
from index.lexical import tokenize


def _top_texts(bot, query, k=3):
    return [d.page_content for d in bot.retriever.invoke(query)[:k]]


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("What is 合肥市?", "Hefei (合肥市)"),
        ("Who is 王中民?", "Wang Zhongmin (王中民)"),
        ("What does 深空探测实验室 do?", "Deep Space Exploration Laboratory (深空探测实验室)"),
        ("Who is 傅聪?", "Fu Cong (傅聪)"),
        ("合肥 在哪里", "Hefei (合肥市)"),  # a shorter form of the name still matches (character bigrams)
    ],
)
def test_chinese_names_are_retrieved_first(shipped_bot, question, expected):
    assert expected in _top_texts(shipped_bot, question, k=1)[0]


def test_retriever_is_a_langchain_retriever(shipped_bot):
    from langchain_core.retrievers import BaseRetriever

    assert isinstance(shipped_bot.retriever, BaseRetriever)
    documents = shipped_bot.retriever.invoke("Which countries provide instruments for Chang'e 7?")
    assert len(documents) == shipped_bot.settings.top_k
    scores = [d.metadata["score"] for d in documents]
    assert scores == sorted(scores, reverse=True)
    assert "Chang’e 7:" in " ".join(d.page_content for d in documents[:2])


def test_tokens_fold_case_quotes_and_cjk():
    assert tokenize("IDSEA’s LAUNCH") == tokenize("idsea's launch") == ["idsea", "launch"]
    assert "合肥" in tokenize("合肥市") and "肥市" in tokenize("合肥市")
    assert tokenize("Chang’e 7") == ["chang'e", "7"] and "chang'e" not in tokenize("How did it change?")
    assert tokenize("l'association") == tokenize("association")  # a French elision


def test_typo_and_lowercase_questions_still_find_the_answer(shipped_bot):
    for question in ("wher will idsea be locted", "WHERE WILL IDSEA BE LOCATED", "where is the idsea headquarters"):
        answer = shipped_bot.ask(question)
        assert not answer.abstained and "Hefei" in answer.text, question


def test_reciprocal_rank_fusion_rewards_agreement():
    fused = reciprocal_rank_fusion([[1, 2, 3], [2, 1], [2]], k=60)
    assert max(fused, key=fused.get) == 2 and set(fused) == {1, 2, 3}


def test_a_ranking_that_only_fills_comes_after_every_place_of_the_others():
    words = list(range(1, 21))  # a full list of candidates
    fused = reciprocal_rank_fusion([[99, 98], words], k=60, weights=(FILL_ONLY, 1.0))
    assert sorted(fused, key=lambda i: -fused[i]) == [*words, 99, 98]


def test_acronyms_are_spelled_out_only_where_the_question_writes_one():
    from bot.retrieve import SearchIndex

    # Across many articles common words are acronyms too ("WHO", "IT"); a question using them as words asks none.
    index = SearchIndex(
        [],
        None,
        None,
        {},
        {},
        [],
        [],
        {},
        acronyms={
            "who": "World Health Organization",
            "it": "Information Technology",
            "idsea": "Deep Space Association",
        },
    )
    words = frozenset({"who", "founded"})  # like the model's whole words: three letters or more
    assert index.spelled_out("Who founded it?", words) == "Who founded it?"
    assert index.spelled_out("Is WHO in IT?", words) == (
        "Is WHO (World Health Organization) in IT (Information Technology)?"
    )
    assert index.spelled_out("who founded idsea", words) == "who founded idsea (Deep Space Association)"


def test_bot_search_returns_k_passages_at_their_exact_offsets(shipped_bot, shipped_article):
    passages = shipped_bot.search("Where will the association be located?", k=3)
    assert len(passages) == 3
    assert [p.score for p in passages] == sorted((p.score for p in passages), reverse=True)
    assert any("Hefei" in p.text for p in passages)
    for p in passages:
        assert p.title == shipped_article.title and p.text == shipped_article.text[p.start : p.end]
    assert len(shipped_bot.search("Hefei", k=1)) == 1


@pytest.mark.parametrize("k", [0, -1, 2.5, True])
def test_bot_search_refuses_a_k_that_is_not_a_positive_whole_number(shipped_bot, k):
    with pytest.raises(ValueError, match="k must be"):
        shipped_bot.search("Hefei", k=k)
