"""Display names at the core's boundary: what a platform hands us is cleaned before it is
stored or shown (issue 18, items 17 and 19)."""

from __future__ import annotations

import re
import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.core.common.identity import NAME_MAX, ChatRef, Platform, clean_name, shown_name
from tests.core.properties import PROPERTIES

BIDI_CONTROLS = set("\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
WORD_JOINER = "\u2060"
# what Discord or Telegram would turn into a mention, a ping, a pill or a tappable command
LIVE_MARKUP = re.compile(
    r"@(everyone|here)|<@[!&]?\d|<#\d|</[\w -]+:\d|<a?:\w+:\d|<t:-?\d|<id:\w"
    r"|@[A-Za-z0-9_]|(^|\s)/[A-Za-z0-9_]"
)
ANY_NAME = st.text(st.characters(codec=None, categories=None), max_size=300)


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("Ada Lovelace", "Ada Lovelace"),
        ("\x1b[2J\x1b[31mEvil\x1b[0m", "[2J[31mEvil[0m"),  # no ESC reaches a terminal
        ("abc\u202etxt.exe", "abctxt.exe"),  # a right-to-left override would show exe.txt
        ("\u2066Ada\u2069\u200f\u061c", "Ada"),
        ("  Ada\n\tLove\u2028lace  ", "Ada Love lace"),
        ("Ada\u200b\ufeff\u00ad", "Ada"),  # invisible characters that make a look-alike
        ("\u3164\u3164", ""),  # Hangul fillers: a blank name
        ("\u200dAda\u200d\u200d", "Ada"),  # joiners at the ends or doubled
        ("👨\u200d👩\u200d👧", "👨\u200d👩\u200d👧"),  # ... but kept inside an emoji
        ("a" + "\u0301" * 40, "\u00e1" + "\u0301" * 4),  # no tall stack of marks
        ("x\ud800y", "xy"),  # a lone surrogate cannot be stored or sent
        ("Ада Лавлейс", "Ада Лавлейс"),
        ("عمر", "عمر"),
        ("n" * 100, "n" * NAME_MAX),
    ],
)
def test_clean_name(raw: str, clean: str) -> None:
    assert clean_name(raw) == clean


def test_shown_name_isolates_right_to_left_names_and_defuses_mentions() -> None:
    assert shown_name("Ada") == "Ada"
    assert shown_name("عمر") == "\u2068عمر\u2069"  # the rank and points keep their places
    assert shown_name("@everyone") == f"@{WORD_JOINER}everyone"
    assert shown_name("<@123456789012345678>") == f"<@{WORD_JOINER}123456789012345678>"
    assert shown_name("<#123> <t:0:R> </a b:1>") == (
        f"<{WORD_JOINER}#123> <{WORD_JOINER}t:0:R> <{WORD_JOINER}/a b:1>"
    )
    assert shown_name("<b>Eve</b> & <a href>") == "<b>Eve</b> & <a href>"  # not markup here
    assert shown_name("/daily off") == f"/{WORD_JOINER}daily off"
    assert shown_name("x /stop") == f"x /{WORD_JOINER}stop"
    assert shown_name("a/b") == "a/b"
    assert shown_name("\u202e@durov") == f"@{WORD_JOINER}durov"


def test_same_place_is_platform_and_chat() -> None:
    group = ChatRef(Platform.TELEGRAM, "-100", "-100")
    assert group.same_place(ChatRef(Platform.TELEGRAM, "-100", None))
    assert not group.same_place(ChatRef(Platform.TELEGRAM, "-101", "-101"))
    assert not group.same_place(ChatRef(Platform.DISCORD, "-100", "-100"))


@PROPERTIES
@given(ANY_NAME)
def test_clean_name_of_anything_is_safe_short_and_stable(raw: str) -> None:
    name = clean_name(raw)
    assert len(name) <= NAME_MAX
    assert name == clean_name(name)  # idempotent: cleaning a stored name changes nothing
    name.encode("utf-8")  # storable and sendable: no lone surrogates
    assert name == name.strip() and "  " not in name
    for ch in name:
        category = unicodedata.category(ch)
        assert category not in {"Cc", "Cs", "Zl", "Zp"}, repr(ch)
        assert ch not in BIDI_CONTROLS, repr(ch)
        assert ch == " " or not ch.isspace(), repr(ch)
        if category == "Cf":
            assert ch in "\u200c\u200d" or 0xE0020 <= ord(ch) < 0xE0080, repr(ch)


@PROPERTIES
@given(ANY_NAME)
def test_shown_name_of_anything_has_no_live_mention_or_stray_bidi(raw: str) -> None:
    shown = shown_name(raw)
    inner = shown.removeprefix("\u2068").removesuffix("\u2069")
    assert not (set(inner) & BIDI_CONTROLS)
    assert not LIVE_MARKUP.search(inner), inner
    assert inner.replace(WORD_JOINER, "") == clean_name(raw).replace(WORD_JOINER, "")


@PROPERTIES
@given(st.text(st.characters(codec="ascii", categories=["L", "N", "P", "S"]), max_size=NAME_MAX))
def test_plain_names_are_kept_as_they_are(raw: str) -> None:
    assert clean_name(raw) == raw
