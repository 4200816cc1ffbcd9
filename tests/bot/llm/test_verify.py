"""bot/llm/verify.py: which generated sentences the passages support, and the citations kept."""

from __future__ import annotations

from bot.llm.reply import GeneratedSentence
from bot.llm.verify import cite_verified, claim_tokens, support_gap, verify_sentence
from bot.types import RetrievedChunk

ARTICLE = (
    "The bridge opened to traffic in 1932. It was designed by Ana Lima. "
    "The city council did not approve a second bridge.\n"
    "A museum opened beside it in 1990. Visitors come from Peru and Chile. Peru sent a drum, and Chile sent a flute."
)


def chunk(start: int, end: int, number: int) -> RetrievedChunk:
    return RetrievedChunk(f"a:{number}", "a", "Bridges", ARTICLE[start:end], start, end, 1.0, "2025-01-01")


FIRST = ARTICLE.index("\n")
PASSAGES = [chunk(0, FIRST, 1), chunk(FIRST + 1, len(ARTICLE), 2)]


def verdict(text: str, *markers: int):
    return verify_sentence(GeneratedSentence(text, markers), PASSAGES)


def test_claims_are_stems_numbers_and_names():
    assert claim_tokens("Ana Lima designed the bridges in 1932.") == {"ana", "lima", "design", "bridg", "1932"}
    assert claim_tokens("on July 7th") == {"juli", "7"}


def test_a_paraphrase_using_the_passage_words_is_supported_and_quotes_its_sentence():
    v = verdict("Ana Lima designed the bridge.", 1)
    assert v.supported and v.kept_markers == (1,)
    (quote,) = v.quotes
    assert quote.text == "It was designed by Ana Lima." == ARTICLE[quote.start : quote.end]


def test_a_wrong_number_a_new_name_or_a_new_word_is_not_supported():
    assert verdict("The bridge opened to traffic in 1933.", 1).unsupported == ("1933",)
    assert verdict("The bridge was designed by Ana Lima and Rui Costa.", 1).unsupported == ("costa", "rui")
    assert not verdict("The bridge closed to traffic in 1932.", 1).supported


def test_a_number_must_come_from_a_sentence_about_the_same_thing():
    assert verdict("A museum opened beside it in 1932.", 1, 2).unsupported == ("1932",)  # 1932 is the bridge's
    assert verdict("The bridge opened in 1932 and a museum opened in 1990.", 1, 2).supported


def test_a_name_in_place_of_the_one_the_passage_gives_is_not_supported():
    assert verdict("Rui Costa designed the bridge.", 1).unsupported == ("costa", "rui")
    assert verdict("Chile sent a drum.", 2).unsupported == ("chile",)  # every word is there, bound otherwise
    assert verdict("Chile sent a flute.", 2).supported
    assert verdict("Visitors come from Peru.", 2).supported  # Chile is left out, none put in its place


def test_a_negation_must_be_in_the_passage():
    assert verdict("The bridge did not open to traffic in 1932.", 1).unsupported == ("not",)
    assert verdict("The city council did not approve a second bridge.", 1).supported
    assert verdict("The city council approved a second bridge.", 1).unsupported == ("not",)


def test_markers_must_point_at_given_passages_that_support_the_sentence():
    assert not verdict("The bridge opened to traffic in 1932.").supported  # no marker at all
    assert not verdict("The bridge opened to traffic in 1932.", 3).supported  # passage 3 was not given
    assert not verdict("The bridge opened to traffic in 1932.", 2).supported  # passage 2 does not say it
    mixed = verdict("The bridge opened to traffic in 1932.", 2, 1, 7)
    assert mixed.supported and mixed.kept_markers == (1,)  # ALCE precision: [2] adds nothing, [7] is invalid


def test_a_sentence_joining_two_passages_keeps_both_citations():
    v = verdict("The bridge opened in 1932 and a museum opened in 1990.", 1, 2)
    assert v.supported and v.kept_markers == (1, 2)
    assert [q.text for q in v.quotes] == ["The bridge opened to traffic in 1932.", "A museum opened beside it in 1990."]
    assert not verdict("The bridge opened in 1932 and a museum opened in 1990.", 1).supported


def test_a_sentence_claiming_nothing_is_not_kept():
    assert not verdict("Yes.", 1).supported


def test_cited_text_numbers_quotes_in_order_and_reuses_a_repeated_quote():
    verdicts = [
        verdict("A museum opened in 1990.", 2),
        verdict("Rui Costa built it.", 1),
        verdict("The museum opened beside it.", 2),
    ]
    text, citations = cite_verified(verdicts, PASSAGES)
    assert text == "A museum opened in 1990. [1] The museum opened beside it. [1]"
    assert [(c.number, c.quote) for c in citations] == [(1, "A museum opened beside it in 1990.")]
    assert all(ARTICLE[c.start : c.end] == c.quote and c.chunk_start == FIRST + 1 for c in citations)


def test_support_gap_lists_what_is_missing():
    assert support_gap("Visitors come from Peru and Brazil.", [PASSAGES[1].text]) == ("brazil",)
