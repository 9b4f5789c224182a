"""Button tokens: opaque, versioned, short; they never reveal the right option.

`a1.<round_id>.<label>` answers a round; `n1.<topic or ->.<difficulty or 0>` asks the next
question. Both fit Telegram's 64-byte callback_data and Discord's 100-char custom_id.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.core.bank.questions import LABELS
from bot.core.common.errors import InvalidAnswer

MAX_TOKEN_BYTES = 64
# matched whole (fullmatch): `$` would also accept a trailing newline
_ANSWER_RE = re.compile(r"a1\.([A-Za-z0-9_-]{6,24})\.([A-D])")
_NEXT_RE = re.compile(r"n1\.([a-z0-9-]{1,32})\.([0-3])")


@dataclass(frozen=True, slots=True)
class AnswerToken:
    round_id: str
    label: str


@dataclass(frozen=True, slots=True)
class NextToken:
    topic: str | None
    difficulty: int | None


def answer_token(round_id: str, label: str) -> str:
    if label not in LABELS:
        raise ValueError(f"label must be one of {LABELS}")
    return f"a1.{round_id}.{label}"


def next_token(topic: str | None, difficulty: int | None) -> str:
    return f"n1.{topic or '-'}.{difficulty or 0}"


def is_next_token(token: object) -> bool:
    """Whether a button asks for the next question (checked before opening a round, e.g. when
    the chat could not be sent one now)."""
    return isinstance(token, str) and _NEXT_RE.fullmatch(token) is not None


def decode(token: object) -> AnswerToken | NextToken:
    """Decode a token from a button; anything forged, truncated or foreign -> InvalidAnswer."""
    if not isinstance(token, str) or len(token.encode("utf-8", "replace")) > MAX_TOKEN_BYTES:
        raise InvalidAnswer()
    if m := _ANSWER_RE.fullmatch(token):
        return AnswerToken(m.group(1), m.group(2))
    if m := _NEXT_RE.fullmatch(token):
        topic = None if m.group(1) == "-" else m.group(1)
        return NextToken(topic, int(m.group(2)) or None)
    raise InvalidAnswer()
