"""index/chunking.py: sentence splitting and chunk offsets that round-trip to the article text."""

from __future__ import annotations

from index.chunking import split_into_chunks, split_into_sentences
from knowledge.types import Article


def test_chunk_and_sentence_offsets_round_trip(shipped_article):
    chunks = split_into_chunks(shipped_article, chunk_size=700, chunk_overlap=150)
    assert len(chunks) > 5
    text = shipped_article.text
    for chunk in chunks:
        assert text[chunk.start : chunk.end] == chunk.text
        assert chunk.article_id == shipped_article.id and chunk.title == shipped_article.title
        assert len(chunk.text) <= 700
        for (start, end), sentence in zip(chunk.sentences, chunk.sentence_texts(), strict=True):
            assert text[start:end] == sentence and chunk.start <= start < end <= chunk.end
    covered = set()
    for chunk in chunks:
        covered.update(range(chunk.start, chunk.end))
    assert all(i in covered for i, ch in enumerate(text) if not ch.isspace())  # nothing is left out


def test_sentences_respect_abbreviations_and_trailing_sources():
    text = "Dr. Li met J. Smith in the U.S. capital. It rained. (Source)\nNew line here! Next?"
    spans = split_into_sentences(text)
    assert [text[s:e] for s, e in spans] == [
        "Dr. Li met J. Smith in the U.S. capital.",
        "It rained. (Source)",
        "New line here!",
        "Next?",
    ]


def test_chunks_of_a_long_article_overlap_and_round_trip():
    body = " ".join(f"Sentence number {i} talks about the rover and the lander." for i in range(200))
    article = Article(id="long", title="Long", text=body)
    chunks = split_into_chunks(article, chunk_size=300, chunk_overlap=60)
    assert len(chunks) > 20
    for before, after in zip(chunks, chunks[1:], strict=False):
        assert after.start < before.end  # overlap keeps a fact that straddles a border
        assert body[after.start : after.end] == after.text
