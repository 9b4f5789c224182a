"""Text from outside as the core takes it: without lone surrogates (a JSON escape "\\ud800" in a
platform's payload, a byte that is not UTF-8 in argv), everything else kept."""

from __future__ import annotations

import json

from hypothesis import example, given
from hypothesis import strategies as st

from bot.core.common.texts import unknown_command
from bot.core.common.untrusted import storable, storable_json, storable_words
from tests.core.properties import PROPERTIES

ANY = st.text(st.characters(exclude_categories=()), max_size=200)


@PROPERTIES
@given(ANY)
@example("\ud800")
@example("a\ud83d\ude00b")  # a pair of escapes json did not join is two lone surrogates
@example("caf\udce9 au lait")  # argv's surrogateescape for the byte 0xe9
def test_storable_text_encodes_and_keeps_all_but_lone_surrogates(text: str) -> None:
    kept = storable(text)
    kept.encode("utf-8")  # storable, sendable, printable
    assert kept == "".join(c for c in text if not 0xD800 <= ord(c) <= 0xDFFF)
    assert storable(kept) == kept


def test_storable_words_leave_out_only_words_of_nothing_but_surrogates() -> None:
    words = ["alpha\ud800", "\udfff\ud800", "Europe/Berlin", ""]
    assert storable_words(words) == ["alpha", "Europe/Berlin", ""]
    assert storable("Zürich 東京 👩\u200d💻\x00") == "Zürich 東京 👩\u200d💻\x00"  # not our job


@PROPERTIES
@given(ANY)
@example("quiz\ud800")  # Telegram's "/quiz\ud800": the reply quoted it and could not be sent
def test_the_reply_to_an_unknown_command_quotes_it_without_lone_surrogates(word: str) -> None:
    reply = unknown_command(word)
    reply.encode("utf-8")
    assert f"/{storable(word)[:32]}." in reply


@PROPERTIES
@given(st.recursive(ANY | st.integers(), lambda inner: st.lists(inner, max_size=3), max_leaves=6))
@example(["a\ud800b", "\udfff"])
def test_storable_json_is_the_same_json_and_encodes(value: object) -> None:
    written = json.dumps(value, ensure_ascii=False)  # a lone surrogate written as is
    kept = storable_json(written)
    kept.encode("utf-8")
    assert json.loads(kept) == json.loads(json.dumps(value))  # what it means as JSON
    assert storable_json(json.dumps(value)) == json.dumps(value)  # ASCII JSON: as given
