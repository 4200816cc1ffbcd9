"""Source cards: overlapping passages of one article merge into one card, every quote is marked."""

from __future__ import annotations

from bot.types import Citation
from web.sources import merge_citations

ARTICLE = (
    "China to Launch IDSEA\nCollaborative projects could begin.\n\n"
    "Xinhua reported on July 1st that China will launch IDSEA on Monday, July 7th 2025. "
    "The association is set to be located in Hefei. It will promote cooperation. "
    "Wang Zhongmin said developing countries are welcome. The laboratory was founded in 2022."
)


def cite(number: int, quote: str, chunk_start: int, chunk_end: int, article_id: str = "idsea", **extra) -> Citation:
    """A citation of `quote` inside the chunk ARTICLE[chunk_start:chunk_end], as the bot builds it."""
    start = ARTICLE.index(quote)
    return Citation(
        number=number,
        article_id=article_id,
        title="China to Launch IDSEA",
        quote=quote,
        start=start,
        end=start + len(quote),
        text=ARTICLE[chunk_start:chunk_end],
        chunk_start=chunk_start,
        date="2025-07-01",
        **extra,
    )


def marked(card) -> list[str]:
    return [text for text, is_quote in card.segments if is_quote]


def test_overlapping_passages_of_one_article_make_one_card_with_both_quotes_marked():
    hefei, wang = (
        "The association is set to be located in Hefei.",
        "Wang Zhongmin said developing countries are welcome.",
    )
    a = cite(1, hefei, 0, ARTICLE.index("Wang") + 10)
    b = cite(2, wang, ARTICLE.index("It will"), len(ARTICLE))  # overlaps a's chunk
    (card,) = merge_citations([a, b])
    assert card.numbers == (1, 2) and marked(card) == [hefei, wang]
    shown = "".join(text for text, _ in card.segments)
    assert shown.count("It will promote cooperation.") == 1  # the overlap is shown once


def test_passages_that_do_not_overlap_or_come_from_other_articles_stay_apart():
    a = cite(1, "The association is set to be located in Hefei.", 0, ARTICLE.index("It will"))
    b = cite(2, "The laboratory was founded in 2022.", ARTICLE.index("The laboratory"), len(ARTICLE))
    c = cite(3, "The laboratory was founded in 2022.", ARTICLE.index("The laboratory"), len(ARTICLE), article_id="x")
    cards = merge_citations([c, a, b])
    assert [card.numbers for card in cards] == [(1,), (2,), (3,)]  # in order of their first number


def test_the_same_sentence_cited_twice_is_one_card_and_one_mark():
    quote = "The association is set to be located in Hefei."
    (card,) = merge_citations([cite(1, quote, 0, 200), cite(2, quote, 0, 200)])
    assert card.numbers == (1, 2) and marked(card) == [quote]


def test_a_long_passage_is_trimmed_around_its_quote_at_word_boundaries():
    quote = "QUOTE HERE."
    chunk = "word " * 200 + quote + " tail" * 200
    citation = Citation(1, "a", "T", quote, 1000, 1000 + len(quote), chunk, 0)
    (card,) = merge_citations([citation])
    text = "".join(t for t, _ in card.segments)
    assert text.startswith("…word") and text.endswith("tail…") and len(text) < 600


def test_a_quote_the_offsets_miss_is_found_in_its_chunk_or_shown_alone():
    quote = "The association is set to be located in Hefei."
    off = Citation(1, "a", "T", quote, 0, 5, ARTICLE, 0)  # offsets that do not point at the quote
    assert marked(merge_citations([off])[0]) == [quote]
    missing = Citation(1, "a", "T", "A sentence from elsewhere.", 0, 26, "Some other chunk.", 0)
    assert merge_citations([missing])[0].segments == (("A sentence from elsewhere.", True),)


def test_pages_of_a_card_are_listed():
    quote = "The association is set to be located in Hefei."
    (card,) = merge_citations([cite(1, quote, 0, 300, page=17), cite(2, quote, 0, 300, page=18)])
    assert card.pages == (17, 18)
