"""Which language a text is in: the bundled identifier, kept to the widely written languages."""

from __future__ import annotations

from knowledge.language import WRITTEN_LANGUAGES, LanguageIdentifier


def test_questions_are_read_in_their_language():
    identify = LanguageIdentifier().identify
    assert identify("Where will the association be based?") == "en"
    assert identify("Où sera basée l'association ?") == "fr"
    assert identify("¿Dónde estará la sede de la asociación?") == "es"
    assert identify("国际深空探测学会设在哪里？") == "zh"


def test_a_short_question_taken_for_a_constructed_language_keeps_the_default():
    identifier = LanguageIdentifier()
    identifier.identify("warm up")
    raw = identifier._detector.detect("And to Chang'e 7?", model="lite", k=1)[0]["lang"]
    assert raw not in WRITTEN_LANGUAGES  # the identifier alone reads it as Lojban
    assert identifier.identify("And to Chang'e 7?") == "en"
    assert identifier.identify("And to Chang'e 7?", "fr") == "fr"
