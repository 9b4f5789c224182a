"""Practice's button tokens: `p1.c.<round>.<label>` a multiple-choice option,
`p1.r.<session>.<1-4>` a recall rating, `p1.o.<session>` "answer in my own words".

Like the quiz's tokens they are opaque and short (Telegram's 64-byte callback_data) and say
nothing about the right answer.
"""

from __future__ import annotations

import re

# `\Z`, not `$`: `$` also matches before a trailing newline, and callers use .match()
CHOICE_RE = re.compile(r"^p1\.c\.([A-Za-z0-9_-]{6,24})\.([A-D])\Z")
RATING_RE = re.compile(r"^p1\.r\.([A-Za-z0-9_-]{6,24})\.([1-4])\Z")
OWN_WORDS_RE = re.compile(r"^p1\.o\.([A-Za-z0-9_-]{6,24})\Z")


def choice_token(round_id: str, label: str) -> str:
    return f"p1.c.{round_id}.{label}"


def rating_token(session_id: str, rating: int) -> str:
    return f"p1.r.{session_id}.{rating}"


def own_words_token(session_id: str) -> str:
    return f"p1.o.{session_id}"


def is_practice_token(token: object) -> bool:
    return isinstance(token, str) and token.startswith("p1.")
