"""Telegram place ids (a chat, or a forum topic of one): built by `place_id`, read back by
`parse_place`, and anything else refused with a message that says what is wrong."""

from __future__ import annotations

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from bot.adapters.telegram.places import GENERAL_TOPIC, BadPlace, Place, parse_place, place_id

chat_ids = st.integers(-(10**18), 10**18).filter(lambda n: n != 0)
usernames = st.from_regex(r"@[A-Za-z][A-Za-z0-9_]{3,31}", fullmatch=True)
topics = st.none() | st.just(GENERAL_TOPIC) | st.integers(2, 2**31 - 1)


@given(chat=chat_ids | usernames, thread=topics)
def test_a_place_id_reads_back_as_its_chat_and_topic(chat: int | str, thread: int | None) -> None:
    place = place_id(chat, thread)
    general = thread in (None, GENERAL_TOPIC)
    assert parse_place(place) == Place(chat, None if general else thread)
    assert place == (str(chat) if general else f"{chat}/{thread}")  # General: the chat alone
    assert place_id(*_fields(parse_place(place))) == place


@given(text=st.text(max_size=60) | st.from_regex(r"-?[0-9]{1,20}(/-?[0-9]{0,12})*"))
@example("")
@example("-1001234/1")  # General's own id is never written
@example("-1001234/0")
@example("-1001234/07")
@example("-1001234/")
@example("-1001234/7/8")
@example("-1001234/2147483648")
@example("-0")
@example("0123")
@example("+1001234")
@example(" -1001234")
@example("@ab")
@example("-1001234/７")  # a full-width digit
def test_any_text_is_a_place_id_that_reads_back_exactly_or_refused_saying_why(text: str) -> None:
    refusal: BadPlace | None = None
    try:
        place = parse_place(text)
    except BadPlace as exc:
        refusal = exc
    if refusal is not None:
        assert str(refusal).startswith(f"not a Telegram place id: {text[:40]!r} (")
    else:  # what parses is what place_id writes, and only that
        assert place_id(*_fields(place)) == text


def test_the_refusals_say_which_part_is_wrong() -> None:
    with pytest.raises(BadPlace, match=r"\(a chat id or @username first\)"):
        parse_place("general/7")
    with pytest.raises(BadPlace, match=r"after '/' a forum topic id, 2 to 2147483647"):
        parse_place("-1001234/1")
    with pytest.raises(BadPlace, match="not a Telegram chat id: 'chat 1'"):
        place_id("chat 1", 7)
    with pytest.raises(BadPlace, match="not a forum topic id: 0"):
        place_id(-1001234, 0)
    long = "x" * 500
    with pytest.raises(BadPlace) as caught:
        parse_place(long)
    assert len(str(caught.value)) < 120  # quoted cut short


def _fields(place: Place) -> tuple[int | str, int | None]:
    return place.chat_id, place.thread_id
