"""Property-based: options typed one a line (Discord's proposal form, a Telegram step) come
back as the options, whatever else the text holds."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from bot.core.bank.questions import LABELS
from bot.core.community.proposals import options_from_lines
from tests.core.properties import ANY_TEXT, PROPERTIES

# one line of an option: no line break of any kind str.splitlines knows, and not starting
# like a marker itself ("B) ", "- ")
BREAKS = "\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"
MARKER_LIKE = re.compile(r"^(?:[A-Da-d][).:]|[-*•])\s")
LINE = (
    st.text(st.characters(codec=None, categories=None, exclude_characters=BREAKS), max_size=40)
    .map(str.strip)
    .filter(lambda line: bool(line) and not MARKER_LIKE.match(line))
)


@PROPERTIES
@given(ANY_TEXT)
def test_any_text_gives_clean_options(text: str) -> None:
    options = options_from_lines(text)
    assert len(options) <= len(text.splitlines())
    for option in options:
        assert option and option == option.strip() and len(option.splitlines()) == 1


@PROPERTIES
@given(st.lists(LINE, min_size=1, max_size=6), st.sampled_from(["{L}) ", "{l}. ", "- ", ""]),
       st.sampled_from(["\n", "\r\n", "\n\n  \n"]))  # fmt: skip
def test_options_come_back_whatever_marks_them(
    options: list[str], marker: str, newline: str
) -> None:
    lines = [
        marker.format(L=LABELS[i % 4], l=LABELS[i % 4].lower()) + option
        for i, option in enumerate(options)
    ]
    assert options_from_lines(newline.join(lines)) == tuple(options)


def test_examples() -> None:
    assert options_from_lines("A) 8080\nB) 8443\n\nC) 9000\nD) 3000") == (
        "8080", "8443", "9000", "3000"
    )  # fmt: skip
    assert options_from_lines("- a\n* b\n• c\nd. d") == ("a", "b", "c", "d")
    assert options_from_lines("A)no space\nE) five") == ("A)no space", "E) five")
    assert options_from_lines(" \n\t\n") == ()
