"""Every message the bot says in its own voice, as data, in five languages, filled by plain functions.

Answers themselves are quotes from the articles; only these wrappers are ours. A language without
its own messages gets English.
"""

from __future__ import annotations

from bot.types import AbstainReason

MESSAGES: dict[str, dict[str, str]] = {
    "en": {
        "abstain": "I can't find that in the articles I have, so I won't guess.",
        "instruction": "I can only answer questions from the articles I have; I can't follow instructions that change that.",
        "gibberish": "I can't make sense of that question; could you rephrase it?",
        "clarify": "Which “{word}” do you mean? Please name it.",
        "coverage": "They cover {titles}.",
        "more": "{count} more",
        "and": " and ",
    },
    "fr": {
        "abstain": "Je ne trouve pas cela dans les articles dont je dispose, je préfère ne pas deviner.",
        "instruction": "Je ne réponds qu'aux questions sur mes articles ; je ne peux pas suivre d'instructions qui changent cela.",
        "gibberish": "Je ne comprends pas cette question ; pouvez-vous la reformuler ?",
        "clarify": "De quoi parlez-vous avec « {word} » ? Précisez-le, s'il vous plaît.",
        "coverage": "Ils portent sur {titles}.",
        "more": "{count} autres",
        "and": " et ",
    },
    "es": {
        "abstain": "No encuentro eso en los artículos que tengo, así que no voy a adivinar.",
        "instruction": "Solo respondo preguntas sobre mis artículos; no puedo seguir instrucciones que cambien eso.",
        "gibberish": "No entiendo esa pregunta; ¿podría reformularla?",
        "clarify": "¿A qué se refiere con «{word}»? Por favor, nómbrelo.",
        "coverage": "Tratan de {titles}.",
        "more": "{count} más",
        "and": " y ",
    },
    "de": {
        "abstain": "Das finde ich in meinen Artikeln nicht, also rate ich nicht.",
        "instruction": "Ich beantworte nur Fragen zu meinen Artikeln; Anweisungen, die das ändern, kann ich nicht befolgen.",
        "gibberish": "Diese Frage verstehe ich nicht; können Sie sie anders formulieren?",
        "clarify": "Was meinen Sie mit „{word}“? Bitte nennen Sie es.",
        "coverage": "Sie behandeln {titles}.",
        "more": "{count} weitere",
        "and": " und ",
    },
    "zh": {
        "abstain": "我在现有文章中找不到这个答案，所以不会猜测。",
        "instruction": "我只回答关于现有文章的问题，不能执行改变这一点的指令。",
        "gibberish": "我无法理解这个问题，请换一种说法。",
        "clarify": "请问“{word}”指的是什么？请说出它的名称。",
        "coverage": "这些文章涉及{titles}。",
        "more": "另外{count}篇",
        "and": "和",
    },
}
EMPTY_QUESTION = "The question is empty: type a question about the articles."
TRUNCATED = "Your question was longer than {limit} characters, so only its first {limit} were used."
NO_ARTICLES = "There are no articles to answer from."
MAX_TITLES = 5


def text_for(language: str) -> dict[str, str]:
    """The messages of a language, English when it has none."""
    return MESSAGES.get(language, MESSAGES["en"])


def abstain_message(reason: AbstainReason, titles: list[str], language: str = "en", word: str = "") -> str:
    """The reply when the bot does not answer, naming what the articles cover.

    >>> abstain_message(AbstainReason.NOT_STATED, ["“A” (2025-07-01)"])
    "I can't find that in the articles I have, so I won't guess. They cover “A” (2025-07-01)."
    """
    say = text_for(language)
    if reason is AbstainReason.INSTRUCTION:
        head = say["instruction"]
    elif reason is AbstainReason.UNCLEAR:
        head = say["clarify"].format(word=word) if word else say["gibberish"]
    else:
        head = say["abstain"]
    if not titles:
        return head
    shown = titles[:MAX_TITLES] + (
        [say["more"].format(count=len(titles) - MAX_TITLES)] if len(titles) > MAX_TITLES else []
    )
    listed = shown[0] if len(shown) == 1 else ", ".join(shown[:-1]) + say["and"] + shown[-1]
    return f"{head} {say['coverage'].format(titles=listed)}"


def is_refusal(text: str) -> bool:
    """Is this one of the bot's own refusals (never content to reuse in a conversation)?"""
    heads = [m[k] for m in MESSAGES.values() for k in ("abstain", "instruction", "gibberish")]
    heads += [m["clarify"].split("{word}")[0] for m in MESSAGES.values()]
    return any(text.startswith(head) for head in heads if head)


def truncated_note(limit: int) -> str:
    """The note added when a question was cut to `limit` characters."""
    return TRUNCATED.format(limit=limit)
