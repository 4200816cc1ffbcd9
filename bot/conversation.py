"""Follow-ups without an LLM: turn the latest question plus the chat history into a standalone query.

A pronoun ("Who set it up?") is replaced by the entity it points back to; an ellipsis ("And Chang'e 8?",
"What about Sweden?", "And the next mission?") re-uses the previous question with its entity swapped;
a question that names its own subject is a topic switch and stands alone. Rules, not a model: they
read capitalised names, acronyms, numbers and Chinese characters, and nothing about any one article.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from index.lexical import STOPWORDS

_TOKEN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]+|[A-Za-z0-9][\w’'\-.]*[\w]|[A-Za-z0-9]")
_NAME_INNER = {"of", "de", "du", "la", "von", "van", "del", "da"}
_CONNECTORS = {"and", "for", "the", "on", "&"}
_LEADING = {
    "what",
    "which",
    "who",
    "whom",
    "whose",
    "when",
    "where",
    "why",
    "how",
    "is",
    "are",
    "was",
    "were",
    "do",
    "does",
    "did",
    "can",
    "could",
    "will",
    "would",
    "should",
    "has",
    "have",
    "had",
    "and",
    "also",
    "tell",
    "list",
    "name",
    "give",
    "show",
    "please",
    "so",
    "but",
    "then",
    "in",
    "on",
    "at",
    "for",
    "the",
    "a",
    "an",
    "i",
    "to",
    "according",
    "besides",
    "apart",
    "beyond",
    "other",
    "than",
    "about",
}
# Words that make a capitalised phrase an organisation, place or thing rather than a person.
_NOT_PERSON = {
    "association",
    "laboratory",
    "agency",
    "administration",
    "university",
    "institute",
    "society",
    "station",
    "center",
    "centre",
    "commission",
    "program",
    "programme",
    "space",
    "national",
    "international",
    "nations",
    "united",
    "republic",
    "province",
    "city",
    "moon",
    "mars",
    "earth",
    "south",
    "north",
    "east",
    "west",
    "global",
    "lunar",
    "report",
    "mission",
    "project",
    "council",
    "ministry",
    "department",
    "organization",
    "organisation",
    "group",
    "company",
    "bank",
    "union",
    "league",
    "party",
    "court",
    "state",
    "states",
    "kingdom",
    "sea",
    "river",
    "ocean",
    "mount",
    "island",
    "islands",
    "world",
    "asia",
    "africa",
    "europe",
    "america",
    "china",
    "india",
    "russia",
    "chinese",
    "european",
    "american",
    "african",
}
PERSON_PRONOUNS = {"he", "him", "his", "she", "her", "hers", "himself", "herself"}
THING_PRONOUNS = {"it", "its", "they", "them", "their", "theirs", "itself", "themselves"}
_POSSESSIVE = {"his", "her", "hers", "its", "their", "theirs"}
_ELLIPSIS_START = re.compile(r"^\s*(?:and|also|plus|what about|how about|and what about|what of|same for|now)\b", re.I)
_WH = re.compile(
    r"^\s*(?:what|which|who|whom|whose|when|where|why|how|is|are|was|were|do|does|did|can|could|will|would|has|have|had|list|name|tell|give)\b",
    re.I,
)
_NEXT = {
    "next": 1,
    "following": 1,
    "subsequent": 1,
    "later": 1,
    "previous": -1,
    "prior": -1,
    "preceding": -1,
    "earlier": -1,
}


@dataclass(frozen=True)
class Entity:
    """A named span in a question: `Entity("Chang’e 6", person=False)`."""

    text: str
    person: bool


def find_entities(text: str) -> list[Entity]:
    """Capitalised names, acronyms, names with numbers and Chinese words, in order of appearance.

    >>> [e.text for e in find_entities("Which countries helped Chang’e 6 and the European Space Agency?")]
    ['Chang’e 6', 'European Space Agency']
    """
    tokens = [(m.group(0), m.start(), m.end()) for m in _TOKEN.finditer(text)]
    entities: list[Entity] = []
    i = 0
    while i < len(tokens):
        word = tokens[i][0]
        starts = _is_name_word(word) and word.lower() not in _LEADING and word.lower() not in STOPWORDS
        if re.match(r"[\u3400-\u9fff]", word):
            entities.append(Entity(word, person=False))
            i += 1
            continue
        if not starts:
            i += 1
            continue
        j = i + 1
        while (
            j < len(tokens) and _joined(text, tokens[j - 1], tokens[j]) and not _POSSESSIVE_END.search(tokens[j - 1][0])
        ):
            nxt = tokens[j][0]
            if _is_name_word(nxt) or (nxt.isdigit() and _is_name_word(tokens[j - 1][0])):
                j += 1
            elif (
                (nxt.lower() in _NAME_INNER or (nxt.lower() in _CONNECTORS and j - i >= 2))
                and j + 1 < len(tokens)
                and _joined(text, tokens[j], tokens[j + 1])
                and _is_name_word(tokens[j + 1][0])
            ):  # "University of Science and Technology of China", but "Egypt" and "Bahrain" stay two
                j += 2
            else:
                break
        span = _POSSESSIVE_END.sub("", text[tokens[i][1] : tokens[j - 1][2]])  # "IDSEA’s budget" → IDSEA
        parts = span.split()
        person = 2 <= len(parts) <= 3 and all(
            p[:1].isupper() and p.isalpha() and p.lower() not in _NOT_PERSON for p in parts
        )
        entities.append(Entity(span, person=person))
        i = j
    return entities


_POSSESSIVE_END = re.compile(r"['’]s$")


def _joined(text: str, left: tuple, right: tuple) -> bool:
    """Two tokens belong to one name only when nothing but spaces stands between them."""
    return bool(re.fullmatch(r"[ \t]+", text[left[2] : right[1]]))


def _is_name_word(word: str) -> bool:
    return bool(word[:1].isupper()) and word.lower() not in {"i"}


def _subject_phrase(question: str) -> str:
    """A lower-case definite noun phrase ("the association") when a question names no entity."""
    match = re.search(r"\b(?:the|this|that)\s+((?:[a-z][\w-]*\s*){1,3})", question)
    if not match:
        return ""
    run = []
    for word in match.group(1).split():
        if word in STOPWORDS:
            break
        run.append(word)
    if not run:
        return ""
    return "the " + " ".join(run if len(run) <= 2 else run[:1])


def _pronouns(question: str) -> list[re.Match]:
    return [
        m for m in re.finditer(r"\b([A-Za-z]+)\b", question) if m.group(1).lower() in PERSON_PRONOUNS | THING_PRONOUNS
    ]


def _shift_number(entity: str, step: int) -> str:
    match = re.search(r"(\d+)\s*$", entity)
    return entity[: match.start(1)] + str(int(match.group(1)) + step) if match else entity


def standalone_query(question: str, history: list[dict] | None = None) -> str:
    """The retrieval query for `question` in the context of `history` (role/content dicts).

    >>> standalone_query("Who set it up?", [{"role": "user", "content": "What is the Deep Space Exploration Laboratory?"}])
    'Who set up Deep Space Exploration Laboratory?'
    """
    turns = [m for m in history or [] if isinstance(m, dict) and isinstance(m.get("content"), str)]
    previous: list[str] = []  # standalone forms of earlier user questions
    answers: list[str] = []
    for message in turns:
        if message.get("role") == "user" and message["content"].strip():
            previous.append(_resolve(message["content"].strip(), previous, answers))
        elif message.get("role") == "assistant":
            answers.append(message["content"])
    return _resolve(question.strip(), previous, answers)


def _resolve(question: str, previous: list[str], answers: list[str]) -> str:
    if not previous:
        return question
    own = find_entities(question)
    pronouns = _pronouns(question)
    if pronouns:
        return _replace_pronouns(question, pronouns, previous, answers)
    elliptical = bool(_ELLIPSIS_START.match(question)) or (not _WH.match(question) and len(question.split()) <= 4)
    if not elliptical:
        return question  # names its own subject, or asks something complete: a topic switch
    return _fill_ellipsis(question, own, previous[-1])


def _antecedent(previous: list[str], answers: list[str], person: bool) -> str:
    for earlier in reversed(previous):
        found = [e for e in find_entities(earlier) if e.person == person]
        if found:
            return found[0].text
        if not person and (phrase := _subject_phrase(earlier)):
            return phrase
    if person:
        for answer in reversed(answers[-1:]):
            found = [e for e in find_entities(re.sub(r"\[\d+\]", "", answer)) if e.person]
            if found:
                return found[0].text
    return ""


def _replace_pronouns(question: str, pronouns: list[re.Match], previous: list[str], answers: list[str]) -> str:
    result, offset = question, 0
    for match in pronouns:
        word = match.group(1).lower()
        person = word in PERSON_PRONOUNS
        target = _antecedent(previous, answers, person) or (
            _antecedent(previous, answers, not person) if person else ""
        )
        if not target:
            continue
        replacement = target + "’s" if word in _POSSESSIVE else target
        if word == "her" and not re.match(r"\s+[a-z]", question[match.end() :]):
            replacement = target  # object "her", not possessive
        start, end = match.start() + offset, match.end() + offset
        result = result[:start] + replacement + result[end:]
        offset += len(replacement) - (end - start)
    if result != question and re.search(r"\b\w+\s+(?:up|out|off|down)\s+" + re.escape(target) + r"\b", result) is None:
        result = re.sub(
            r"\b(set|sign|carry|take|put|build|give|find|make)\s+(.+?)\s+(up|out|off|down)([?.!]?)$",
            r"\1 \3 \2\4",
            result,
        )
    return result


def _fill_ellipsis(question: str, own: list[Entity], earlier: str) -> str:
    earlier_entities = find_entities(earlier)
    fragment = _ELLIPSIS_START.sub("", question).strip(" ?.!,")
    step = next((s for w, s in _NEXT.items() if re.search(rf"\b{w}\b", fragment, re.I)), 0)
    if not own and step:
        numbered = [e for e in earlier_entities if re.search(r"\d+\s*$", e.text)]
        if numbered:
            return earlier.replace(numbered[0].text, _shift_number(numbered[0].text, step), 1)
    if own and earlier_entities:
        new = own[0]
        has_digit = bool(re.search(r"\d", new.text))
        same_kind = [e for e in earlier_entities if bool(re.search(r"\d", e.text)) == has_digit and e.text != new.text]
        target = (same_kind or earlier_entities)[0]
        return earlier.replace(target.text, new.text, 1)
    if not fragment:
        return earlier
    return f"{question.rstrip(' ?.!')} — {earlier}" if not own else f"{earlier} {fragment}"
