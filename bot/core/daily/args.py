"""What an admin types after `/daily set`, parsed: time, timezone, topics, level, window."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import time, timedelta

from bot.core.bank.question_bank import QuestionBank, parse_difficulty
from bot.core.common.errors import QuizError, UnknownDifficulty
from bot.core.common.timeparse import (
    TIME_RE,
    looks_like_timezone,
    parse_time,
    parse_timezone,
    zones_of_city,
)
from bot.core.daily import texts

MIN_WINDOW = timedelta(minutes=1)
MAX_WINDOW = timedelta(hours=23)
_WINDOW_RE = re.compile(r"^(?:(\d{1,2})h)?(?:(\d{1,4})m(?:in)?)?\Z")


def parse_window(text: str) -> timedelta:
    """'12h', '90m', '1h30m' -> the answer window (1 minute to 23 hours)."""
    m = _WINDOW_RE.match(text.strip().casefold())
    if not m or not (m.group(1) or m.group(2)):
        raise QuizError(texts.not_a_window(text))
    window = timedelta(hours=int(m.group(1) or 0), minutes=int(m.group(2) or 0))
    if not MIN_WINDOW <= window <= MAX_WINDOW:
        raise QuizError(texts.WINDOW_RANGE)
    return window


@dataclass(frozen=True, slots=True)
class SetArgs:
    time: time | None = None
    timezone: str | None = None
    topics: tuple[str, ...] = ()
    difficulty: int | None = None
    window: timedelta | None = None


def parse_set_args(words: Sequence[str], bank: QuestionBank) -> SetArgs:
    """`/daily set [HH:MM] [timezone] [topics...] [junior|mid|senior] [window]`, in any order
    after the time. Topics may be separated by spaces or commas."""
    when: time | None = None
    zone: str | None = None
    topics: list[str] = []
    level: int | None = None
    window: timedelta | None = None
    tokens = [t for w in words for t in w.replace(",", " ").split() if t]
    for position, word in enumerate(tokens):
        if position == 0 and (TIME_RE.match(word) or (word[:1].isdigit() and ":" in word)):
            when = parse_time(word)
        elif _WINDOW_RE.match(word.casefold()) and word[:1].isdigit() and word[-1:].isalpha():
            window = parse_window(word)
        elif looks_like_timezone(word):
            zone = parse_timezone(word)
        else:
            try:
                level = parse_difficulty(word)
                continue
            except UnknownDifficulty:
                pass
            try:
                slug = bank.resolve_topic(word)
            except QuizError:
                if zones_of_city(word):
                    parse_timezone(word)  # raises, suggesting the full name
                if any(c.isdigit() for c in word):
                    raise QuizError(texts.not_understood(word)) from None
                raise QuizError(texts.neither_topic_nor_timezone(word)) from None
            if slug and slug not in topics:
                topics.append(slug)
    return SetArgs(when, zone, tuple(topics), level, window)
