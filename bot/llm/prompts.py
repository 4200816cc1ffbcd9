"""Every text the LLM path sends or says, as data, filled by plain functions (snapshot-tested).

For the optional LLM server: the grounded answer over numbered passages, "condense the question" for
follow-ups, and the notes an answer carries when the LLM's text is not shown. For the local reading
model: the verbatim span to copy, and a follow-up's standalone form. No logic here beyond filling
templates.
"""

from __future__ import annotations

from collections.abc import Sequence

from bot.stages import Role, Turn
from bot.types import RetrievedChunk

# What the model must reply, alone, when the passages do not hold the answer.
NOT_FOUND = "NOT FOUND"

ANSWER_SYSTEM = """\
You answer questions about news articles using only the numbered passages you are given.
Rules:
- Answer in one to three short sentences, in the language of the question.
- Use only facts that the passages state. Add nothing from your own knowledge.
- {format}\
"""
FORMAT_MARKERS = """\
End every sentence with the number of the passage it comes from in square brackets, like [1] or [2][3].
- If the passages do not contain the answer, reply with exactly: {not_found}
Example: given passage [1] "The bridge opened to traffic in 1932.", the question "When did the bridge \
open?" is answered "The bridge opened to traffic in 1932 [1]."\
"""
FORMAT_JSON = """\
Reply in JSON: {"sentences": [{"text": "<one sentence>", "passages": [<numbers of the passages it \
comes from>]}]}.
- If the passages do not contain the answer, reply with {"sentences": []}.
Example: given passage [1] "The bridge opened to traffic in 1932.", the question "When did the bridge \
open?" is answered {"sentences": [{"text": "The bridge opened to traffic in 1932.", "passages": [1]}]}\
"""
# Structured output (llama-server, Ollama, vLLM, LM Studio, OpenAI): the JSON the model must write.
ANSWER_SCHEMA = {
    "type": "object",
    "properties": {
        "sentences": {
            "type": "array",
            "maxItems": 3,
            "items": {
                "type": "object",
                "properties": {
                    "text": {"type": "string"},
                    "passages": {"type": "array", "items": {"type": "integer"}, "minItems": 1, "maxItems": 3},
                },
                "required": ["text", "passages"],
                "additionalProperties": False,
            },
        }
    },
    "required": ["sentences"],
    "additionalProperties": False,
}
RESPONSE_FORMAT = {"type": "json_schema", "json_schema": {"name": "cited_answer", "schema": ANSWER_SCHEMA}}

PASSAGE = "[{number}] {source}\n{text}"
ANSWER_USER = "Passages:\n\n{passages}\n\nQuestion: {question}"

CONDENSE_SYSTEM = """\
Rewrite the user's last question as one standalone question that can be understood without the \
conversation: replace words like "it", "they", "he" or "that" with what they refer to. Keep the \
question's language and meaning. Reply with the rewritten question only, on one line.\
"""
CONDENSE_USER = "Conversation:\n{conversation}\n\nLast question: {question}\n\nStandalone question:"
CONDENSE_TURN = "{role}: {content}"
CONDENSE_MAX_TURNS = 6  # the last few turns hold what a follow-up points back to

# Notes on an answer whose LLM text is not shown (the extractive answer is shown instead).
NOTE_TIMEOUT = "LLM timed out after {seconds:g} s; showing the quoted answer."
NOTE_SETUP = "LLM client could not be set up ({detail}); showing the quoted answer."
NOTE_UNREACHABLE = "LLM server unreachable ({detail}); showing the quoted answer."
NOTE_HTTP = "LLM server answered HTTP {status}; showing the quoted answer."
NOTE_BROKEN = "LLM reply was malformed or cut off ({detail}); showing the quoted answer."
NOTE_EMPTY = "LLM gave an empty answer; showing the quoted answer."
NOTE_DECLINED = "The LLM said the passages do not hold the answer; showing the quoted answer."
NOTE_FORMAT = "The LLM did not answer in the requested format (sentences citing passages); showing the quoted answer."
NOTE_UNVERIFIED = "No sentence of the LLM answer could be verified against its sources; showing the quoted answer."
NOTE_DROPPED = (
    "{count} sentence(s) of the LLM answer could not be verified against the cited passages and were left out."
)
NOTE_ABSTAINED = "LLM not asked: the articles do not hold the answer."


def source_line(passage: RetrievedChunk) -> str:
    """How a passage is introduced: its article title and date. `(“Title”, 2025-07-01)`"""
    return f"(“{passage.title}”" + (f", {passage.date})" if passage.date else ")")


def answer_messages(question: str, passages: Sequence[RetrievedChunk], structured: bool) -> list[tuple[str, str]]:
    """(role, content) messages asking for a grounded, cited answer, as JSON (`structured`) or as text
    with [n] markers; passage n is numbered [n].

    >>> answer_messages("Q?", [], structured=False)[1]
    ('user', 'Passages:\\n\\n\\n\\nQuestion: Q?')
    """
    numbered = "\n\n".join(
        PASSAGE.format(number=number, source=source_line(p), text=p.text.strip())
        for number, p in enumerate(passages, start=1)
    )
    return [
        (
            "system",
            ANSWER_SYSTEM.format(format=FORMAT_JSON if structured else FORMAT_MARKERS.format(not_found=NOT_FOUND)),
        ),
        ("user", ANSWER_USER.format(passages=numbered, question=question.strip())),
    ]


def condense_messages(question: str, history: Sequence[Turn]) -> list[tuple[str, str]]:
    """(role, content) messages asking for a standalone version of a follow-up question."""
    recent = list(history)[-CONDENSE_MAX_TURNS:]
    conversation = "\n".join(
        CONDENSE_TURN.format(role="User" if t.role == Role.USER else "Assistant", content=" ".join(t.content.split()))
        for t in recent
    )
    return [
        ("system", CONDENSE_SYSTEM),
        ("user", CONDENSE_USER.format(conversation=conversation, question=question.strip())),
    ]


# The local reading model (`bot/llm_reader.py`): it only points at words of the passage, never writes.
READ_SYSTEM = """\
You find answers in passages. Copy the shortest part of a passage that answers the question, word for \
word, as it is written there. Do not explain and do not rephrase. If the passages do not state the \
answer, reply with an empty span.
Reply in JSON: {"span": "<words copied exactly from a passage>"} or {"span": ""}.
Example: given the passage "The bridge opened to traffic in 1932 after four years of work.", the \
question "When did the bridge open?" is answered {"span": "1932"}.\
"""
READ_USER = "{passages}\n\nQuestion: {question}"
READ_PASSAGE = "Passage {number}:\n{text}"
READ_MAX_SPAN_CHARS = 200  # a longer span is no short answer
READ_SCHEMA = {
    "type": "object",
    "properties": {"span": {"type": "string", "maxLength": READ_MAX_SPAN_CHARS}},
    "required": ["span"],
    "additionalProperties": False,
}


def read_messages(question: str, windows: Sequence[str]) -> list[dict]:
    """OpenAI-style messages asking for the shortest verbatim span of `windows` that answers `question`.

    >>> read_messages("Q?", ["A b."])[1]["content"]
    'Passage 1:\\nA b.\\n\\nQuestion: Q?'
    """
    passages = "\n\n".join(READ_PASSAGE.format(number=n, text=w.strip()) for n, w in enumerate(windows, start=1))
    return [
        {"role": "system", "content": READ_SYSTEM},
        {"role": "user", "content": READ_USER.format(passages=passages, question=question.strip())},
    ]


# The local reading model condensing a follow-up (`bot/condense.py`): structured, with worked examples,
# because a small model asked in plain words answers the earlier question instead.
STANDALONE_SYSTEM = """\
You rewrite the user's last question so that it can be understood without the conversation. Replace \
words such as "it", "he", "they" or "there" with what they refer to, and complete a short follow-up \
such as "And in 2014?" from the question before it. Keep every word of the last question that names \
something, and add only words from the conversation. Do not answer the question.
Reply in JSON: {"question": "<the standalone question>"}.\
"""
STANDALONE_USER = "Conversation:\n{conversation}\n\nLast question: {question}"
STANDALONE_TURN = "{role}: {content}"
STANDALONE_MAX_TURNS = 4  # the last few turns hold what a follow-up points back to
STANDALONE_MAX_TURN_CHARS = 240  # an answer's opening says what it was about; its whole quote costs time
# Worked examples, as earlier chat turns: (conversation, last question, standalone question).
STANDALONE_EXAMPLES = (
    (
        (("User", "When did the bridge open?"), ("Assistant", "The bridge opened to traffic in 1932.")),
        "Who designed it?",
        "Who designed the bridge?",
    ),
    (
        (("User", "Which teams played in the 2010 final?"), ("Assistant", "Spain and the Netherlands.")),
        "And in 2014?",
        "Which teams played in the 2014 final?",
    ),
    (
        (("User", "Where was Marie Curie born?"), ("Assistant", "Marie Curie was born in Warsaw.")),
        "What did she study in Paris?",
        "What did Marie Curie study in Paris?",
    ),
)
STANDALONE_SCHEMA = {
    "type": "object",
    "properties": {"question": {"type": "string", "maxLength": 300}},
    "required": ["question"],
    "additionalProperties": False,
}


def standalone_messages(question: str, history: Sequence[Turn]) -> list[dict]:
    """OpenAI-style messages asking the local model for the standalone form of a follow-up, after the
    worked examples.

    >>> standalone_messages("And in 2014?", [Turn(Role.USER, "Who won in 2010?")])[-1]["content"]
    'Conversation:\\nUser: Who won in 2010?\\n\\nLast question: And in 2014?'
    """

    def conversation(turns) -> str:
        return "\n".join(
            STANDALONE_TURN.format(role=role, content=" ".join(content.split())[:STANDALONE_MAX_TURN_CHARS])
            for role, content in turns
        )

    messages = [{"role": "system", "content": STANDALONE_SYSTEM}]
    for turns, asked, standalone in STANDALONE_EXAMPLES:
        messages.append(
            {"role": "user", "content": STANDALONE_USER.format(conversation=conversation(turns), question=asked)}
        )
        messages.append({"role": "assistant", "content": f'{{"question": "{standalone}"}}'})
    recent = [
        ("User" if t.role is Role.USER else "Assistant", t.content) for t in list(history)[-STANDALONE_MAX_TURNS:]
    ]
    messages.append(
        {
            "role": "user",
            "content": STANDALONE_USER.format(conversation=conversation(recent), question=question.strip()),
        }
    )
    return messages
