"""bot/llm/reply.py: replies read into sentences, complete or while streaming, JSON or [n] text."""

from __future__ import annotations

from bot.llm.reply import GeneratedSentence, parse_reply, split_generated

JSON = '{"sentences": [{"text": "It opened in 1932.", "passages": [1]}, {"text": "It is long. It is red [2].", "passages": [3]}]}'


def test_json_items_become_sentences_citing_the_items_passages():
    reply = parse_reply(JSON, structured=True, final=True)
    assert reply.sentences == [
        GeneratedSentence("It opened in 1932.", (1,)),
        GeneratedSentence("It is long.", (3,)),
        GeneratedSentence("It is red.", (2,)),  # its own marker wins
    ]
    assert reply.followed_format and not reply.declined


def test_while_streaming_only_closed_items_count_and_the_open_one_is_the_draft():
    partial = JSON[: JSON.index("It is long") + 7]
    reply = parse_reply(partial, structured=True, final=False)
    assert reply.sentences == [GeneratedSentence("It opened in 1932.", (1,))]
    assert reply.draft == "It is l"


def test_a_stream_cut_inside_json_keeps_its_complete_items():
    reply = parse_reply(JSON[:-20], structured=True, final=True)
    assert [s.text for s in reply.sentences] == ["It opened in 1932."]


def test_an_empty_list_or_not_found_is_a_decline():
    assert parse_reply('{"sentences": []}', True, True).declined
    assert parse_reply("NOT FOUND.", False, True).declined
    assert parse_reply('{"sentences": [{"text": "NOT FOUND", "passages": [1]}]}', True, True).declined


def test_text_without_markers_or_json_off_schema_did_not_follow_the_format():
    assert not parse_reply("It opened in 1932.", False, True).followed_format
    assert not parse_reply("It opened in 1932.", True, True).followed_format  # JSON asked, plain text came
    assert not parse_reply('{"answer": "1932"}', True, True).followed_format
    assert parse_reply("It opened in 1932 [1].", True, True).followed_format  # plain text, but cited


def test_markers_after_the_full_stop_and_bullets_are_read():
    assert split_generated("- It opened in 1932. [1]\n- It is long.[2][3]") == [
        GeneratedSentence("It opened in 1932.", (1,)),
        GeneratedSentence("It is long.", (2, 3)),
    ]


def test_plain_text_streaming_keeps_the_last_sentence_as_draft():
    reply = parse_reply("It opened in 1932 [1]. It is lo", structured=False, final=False)
    assert reply.sentences == [GeneratedSentence("It opened in 1932.", (1,))] and reply.draft == "It is lo"
