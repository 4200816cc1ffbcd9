"""Read the model's reply, complete or still streaming, into sentences and the passages they cite.

Two formats: JSON following `prompts.ANSWER_SCHEMA` (`{"sentences": [{"text", "passages"}]}`, what
structured output asks for) and plain text with `[n]` markers. A reply that ignored the JSON
request is read as plain text. Judging the sentences is `verify.py`'s job.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from bot.llm.prompts import NOT_FOUND
from index.chunking import split_into_sentences

MARKER = re.compile(r"\[\s*(\d+(?:\s*[,;]\s*\d+)*)\s*\]")
_MARKERS_AFTER_STOP = re.compile(r"([.!?。！？])((?:\s*\[\s*\d+(?:\s*[,;]\s*\d+)*\s*\])+)")
_LIST_ITEM = re.compile(r"^\s*(?:[-*•]|\d+[.)])\s+", re.M)
_SPACE_BEFORE_STOP = re.compile(r"\s+([.,;:!?。！？])")
_STRING = r'"((?:[^"\\]|\\.)*)"'
_ITEM = re.compile(
    r'\{\s*"text"\s*:\s*' + _STRING + r'\s*,\s*"passages"\s*:\s*\[([^\]]*)\]\s*\}'
    r'|\{\s*"passages"\s*:\s*\[([^\]]*)\]\s*,\s*"text"\s*:\s*' + _STRING + r"\s*\}"
)
_OPEN_TEXT = re.compile(r'"text"\s*:\s*"((?:[^"\\]|\\.)*)\\?$')


@dataclass(frozen=True)
class GeneratedSentence:
    """One sentence of the model's answer: its text without markers, and the passage numbers it cites."""

    text: str
    markers: tuple[int, ...]


@dataclass(frozen=True)
class ParsedReply:
    """What a reply (so far) says: its complete sentences, the one still being written, and whether
    the model declined or followed the requested format at all."""

    sentences: list[GeneratedSentence]
    draft: str = ""
    declined: bool = False
    followed_format: bool = True


def parse_reply(text: str, structured: bool, final: bool) -> ParsedReply:
    """Sentences of a reply; while streaming (`final=False`) the last, growing one is the draft.

    >>> parse_reply('{"sentences": [{"text": "It opened in 1932.", "passages": [1]}]}', True, True).sentences
    [GeneratedSentence(text='It opened in 1932.', markers=(1,))]
    """
    if structured and text.lstrip()[:1] in ("{", ""):
        return _parse_json(text, final)
    sentences = split_generated(text)
    declined = is_decline(text)
    followed = declined or any(s.markers for s in sentences) or not final
    if final or not sentences:
        return ParsedReply(sentences, "", declined, followed)
    return ParsedReply(sentences[:-1], sentences[-1].text, declined, followed)


def _parse_json(text: str, final: bool) -> ParsedReply:
    items: list[tuple[str, tuple[int, ...]]] | None = None
    if final:
        try:
            whole = json.loads(text)
            listed = whole.get("sentences") if isinstance(whole, dict) else None
            if isinstance(listed, list):
                items = [(str(i.get("text", "")), _numbers(i.get("passages"))) for i in listed if isinstance(i, dict)]
        except ValueError:
            pass
    if items is None:  # still streaming, or cut short: the items that are complete
        items = [
            (_unescape(m.group(1) if m.group(1) is not None else m.group(4)), _numbers(m.group(2) or m.group(3)))
            for m in _ITEM.finditer(text)
        ]
    sentences = [s for item_text, numbers in items for s in _item_sentences(item_text, numbers)]
    draft = ""
    if not final:
        tail = text[max((m.end() for m in _ITEM.finditer(text)), default=0) :]
        opened = _OPEN_TEXT.search(tail)
        draft = _unescape(opened.group(1)) if opened else ""
    declined = (final and not sentences and _is_empty_list(text)) or any(is_decline(s.text) for s in sentences)
    return ParsedReply(sentences, draft, declined, followed_format=bool(items) or declined or not final)


def _item_sentences(text: str, numbers: tuple[int, ...]) -> list[GeneratedSentence]:
    """The sentences of one JSON item; a sentence without markers of its own cites the item's passages."""
    return [s if s.markers else GeneratedSentence(s.text, numbers) for s in split_generated(text)]


def _numbers(value) -> tuple[int, ...]:
    if isinstance(value, str):
        return tuple(int(n) for n in re.findall(r"\d+", value))
    if isinstance(value, list):
        return tuple(int(v) for v in value if isinstance(v, int | float) or (isinstance(v, str) and v.isdigit()))
    return ()


def _unescape(raw: str) -> str:
    try:
        return json.loads(f'"{raw}"')
    except ValueError:
        return raw.replace('\\"', '"').replace("\\n", " ")


def _is_empty_list(text: str) -> bool:
    try:
        whole = json.loads(text)
    except ValueError:
        return False
    return isinstance(whole, dict) and whole.get("sentences") == []


def normalise_answer(text: str) -> str:
    """Markers moved before the full stop they follow, list bullets dropped.

    >>> normalise_answer("- It opened in 1932. [1]")
    'It opened in 1932 [1].'
    """
    text = _LIST_ITEM.sub("", text.replace("\r", ""))
    return _MARKERS_AFTER_STOP.sub(lambda m: m.group(2) + m.group(1), text)


def split_generated(text: str) -> list[GeneratedSentence]:
    """The sentences of a plain-text answer, each with the markers it carries.

    >>> split_generated("It opened in 1932 [1]. It is long [2, 3].")
    [GeneratedSentence(text='It opened in 1932.', markers=(1,)), GeneratedSentence(text='It is long.', markers=(2, 3))]
    """
    text = normalise_answer(text)
    sentences: list[GeneratedSentence] = []
    for start, end in split_into_sentences(text):
        raw = text[start:end]
        markers = tuple(int(n) for group in MARKER.findall(raw) for n in re.split(r"[,;]", group))
        plain = _SPACE_BEFORE_STOP.sub(r"\1", " ".join(MARKER.sub(" ", raw).split()))
        if not any(ch.isalnum() for ch in plain):  # a stray "[2]" on its own belongs to the sentence before
            if sentences and markers:
                last = sentences[-1]
                sentences[-1] = GeneratedSentence(last.text, last.markers + markers)
            continue
        sentences.append(GeneratedSentence(plain, markers))
    return sentences


def is_decline(text: str) -> bool:
    """Whether the model answered that the passages do not hold the answer. `is_decline("NOT FOUND.")`"""
    letters = re.sub(r"[^A-Za-z ]", "", text).split()
    return " ".join(letters[:2]).upper() == NOT_FOUND
