"""Text from outside as the core takes it: a platform's payload, a terminal's line, argv.

Python's json reads a lone surrogate escape ("\\ud800", which a Telegram update or a model's
reply can carry) into a str, and argv holds one for each byte that is not UTF-8
(surrogateescape). Such a str cannot be encoded as UTF-8: SQLite and PostgreSQL refuse to
bind it, no platform sends it back, a strict stream cannot print it. So each service takes
free text through `storable` where it enters the core: lone surrogates go (they stand for no
character), everything else is kept for the service's own rules to judge. JSON kept whole (an
update in Telegram's inbox) goes through `storable_json`, which loses nothing.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

_SURROGATES = re.compile("[\ud800-\udfff]+")


def storable(text: str) -> str:
    """`text` without lone surrogates (a pair json did not join counts as two)."""
    return text if text.isascii() else _SURROGATES.sub("", text)


def storable_words(words: Iterable[str]) -> list[str]:
    """Each word `storable`; a word that was nothing but lone surrogates is left out (as if
    it had not been typed)."""
    return [kept for word in words if (kept := storable(word)) or not word]


def storable_json(text: str) -> str:
    """JSON text with each lone surrogate written as its escape: the same JSON (in valid JSON a
    character other than ASCII is inside a string, where it means what its \\u escape means),
    and storable. What an encoder writing non-ASCII as is (ensure_ascii=False) makes of one."""
    if text.isascii():
        return text
    return _SURROGATES.sub(lambda found: "".join(f"\\u{ord(c):04x}" for c in found[0]), text)
