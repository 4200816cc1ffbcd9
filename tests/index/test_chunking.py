"""index/chunking.py: sentence splitting and chunk offsets that round-trip to the article text."""

from __future__ import annotations

import time

from index.chunking import MAX_SENTENCE_CHARS, split_into_chunks, split_into_sentences
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


def test_sentences_in_french_chinese_and_quotes():
    text = (
        "Le rover est arrivé à midi. Il a trouvé de la glace ! Était-ce prévu ?\n"
        "国际深空探测学会设在合肥。它将于七月启动！这是真的吗？\n"
        "“The Moon belongs to all human beings. Therefore we welcome all scientists.” — “Every country can apply.”"
    )
    assert [text[s:e] for s, e in split_into_sentences(text)] == [
        "Le rover est arrivé à midi.",
        "Il a trouvé de la glace !",
        "Était-ce prévu ?",
        "国际深空探测学会设在合肥。",
        "它将于七月启动！",
        "这是真的吗？",
        "“The Moon belongs to all human beings. Therefore we welcome all scientists.”",
        "— “Every country can apply.”",
    ]


def test_sentences_of_a_slice_have_absolute_offsets():
    text = "Skip this. Keep one. Keep two.\nAnd this line too."
    start = text.index("Keep")
    spans = split_into_sentences(text, start, text.index("\n"))
    assert [text[s:e] for s, e in spans] == ["Keep one.", "Keep two."]


def test_an_unclosed_quote_cannot_make_a_sentence_longer_than_the_cap():
    text = "He said “" + " ".join(f"Sentence {i} is in a quote that never closes." for i in range(200))
    spans = split_into_sentences(text)
    assert max(e - s for s, e in spans) <= MAX_SENTENCE_CHARS
    assert len(spans) > 100 and all(text[s:e].strip() == text[s:e] for s, e in spans)
    nothing = "x" * 5000  # no punctuation, no spaces: cut at the cap
    assert split_into_sentences(nothing) == [(0, 1000), (1000, 2000), (2000, 3000), (3000, 4000), (4000, 5000)]


def test_sentences_are_the_same_across_the_window_borders():
    body = " ".join(f"Sentence number {i} is about the rover, Dr. Li and the U.S. team." for i in range(2000))
    spans = split_into_sentences(body)  # one line of 130,000 characters: read in windows
    assert len(spans) == 2000
    assert [body[s:e] for s, e in spans[:2]] == [
        "Sentence number 0 is about the rover, Dr. Li and the U.S. team.",
        "Sentence number 1 is about the rover, Dr. Li and the U.S. team.",
    ]
    assert all(body[s:e].startswith("Sentence number ") and body[s:e].endswith("team.") for s, e in spans)


def test_chunk_ids_are_stable_for_unchanged_text(shipped_article):
    first = [c.id for c in split_into_chunks(shipped_article)]
    assert [c.id for c in split_into_chunks(shipped_article)] == first
    changed = Article(id=shipped_article.id, title=shipped_article.title, text=shipped_article.text + "\nA new line.")
    assert [c.id for c in split_into_chunks(changed)][: len(first) - 1] == first[:-1]


def test_chinese_text_is_chunked_at_its_own_punctuation():
    text = "".join(f"第{i}句话说明月球探测器在南极附近着陆，并且发现了水冰。" for i in range(100))
    chunks = split_into_chunks(Article(id="zh", title="月球", text=text), chunk_size=200, chunk_overlap=40)
    assert len(chunks) > 10
    assert all(c.text.endswith(("。", "，")) for c in chunks[:-1])  # never in the middle of a clause
    assert all(text[c.start : c.end] == c.text for c in chunks)


def test_chunking_a_long_one_line_article_is_linear():
    """The old splitter took 64 s for 0.25 MB on one line (quadratic); 1 MB must not take minutes."""
    sentence = "The lander, built by Dr. Li's team in the U.S., reached the crater (Source) on 3 Jan. 2024. "
    small = Article(id="s", title="S", text=sentence * 1_000)
    big = Article(id="b", title="B", text=sentence * 10_000)
    timings = []
    for article in (small, big):
        began = time.perf_counter()
        chunks = split_into_chunks(article, 700, 150)
        timings.append(time.perf_counter() - began)
        assert chunks[-1].end == len(article.text.rstrip())
    print(f"chunking 0.1 MB: {timings[0]:.2f} s, 1 MB: {timings[1]:.2f} s")
    assert timings[1] < 10  # a guard against going quadratic again (measured: about 10× the 0.1 MB time)
