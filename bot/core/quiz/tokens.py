"""Button tokens: opaque, versioned, short; they never reveal the right option.

`a1.<round_id>.<label>` answers a round; `n1.<topic or ->.<difficulty or 0>` asks the next
question; `r1.<round_id>[.<word>]` reports the round's question (bot/core/quiz/reports.py: the
word is a reason or `skip`; the question always comes from the stored round). All fit
Telegram's 64-byte callback_data and Discord's 100-char custom_id.
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
_REPORT_RE = re.compile(r"r1\.([A-Za-z0-9_-]{6,24})(?:\.([a-z]{1,12}))?")
REPORT_PREFIX = "r1."


@dataclass(frozen=True, slots=True)
class AnswerToken:
    round_id: str
    label: str


@dataclass(frozen=True, slots=True)
class NextToken:
    topic: str | None
    difficulty: int | None


@dataclass(frozen=True, slots=True)
class ReportToken:
    round_id: str
    word: str | None  # None: the Report button itself; else a reason or "skip" (Telegram)


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


def report_token(round_id: str, word: str | None = None) -> str:
    return f"{REPORT_PREFIX}{round_id}" + (f".{word}" if word else "")


def is_report_token(token: object) -> bool:
    """Whether a button belongs to a report (routed to the report flow, not the quiz's)."""
    return isinstance(token, str) and token.startswith(REPORT_PREFIX)


def decode_report(token: object) -> ReportToken | None:
    """A report button's round and word; None for anything forged, truncated or foreign."""
    if not isinstance(token, str) or len(token.encode("utf-8", "replace")) > MAX_TOKEN_BYTES:
        return None
    if m := _REPORT_RE.fullmatch(token):
        return ReportToken(m.group(1), m.group(2))
    return None
