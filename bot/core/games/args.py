"""`/quiz` typed as text (Telegram, the console): `[count] [topic] [difficulty] [seconds]
[hints]`, in any order, with `key:value` forms for clarity.

    /quiz                       5 questions, any topic and level, 30 s each
    /quiz 10 django mid 45s     10 Django questions of mid level, 45 s each
    /quiz count:8 seconds:20 topic:sql hints:on

A bare number is the count, a second one the seconds; `45s` is always seconds. A word is a
difficulty (junior, mid, senior, easy, medium, hard) or a topic (slug, title or a unique
prefix). Anything else gets a message that names the word and shows the form.
"""

from __future__ import annotations

import re

from bot.core.bank.question_bank import QuestionBank, parse_difficulty
from bot.core.common.errors import QuizError, UnknownDifficulty
from bot.core.common.untrusted import storable
from bot.core.games import texts
from bot.core.games.model import (
    COUNT_RANGE,
    DEFAULT_COUNT,
    DEFAULT_SECONDS,
    SECONDS_RANGE,
    GameSettings,
)

MAX_ARGS_LENGTH = 300
_SECONDS = re.compile(r"(\d{1,6})\s*(?:s|sec|secs|second|seconds)", re.IGNORECASE)
_NUMBER = re.compile(r"\d{1,6}")
_ON = {"on", "yes", "true", "1"}
_OFF = {"off", "no", "false", "0"}


def parse_game_args(text: str, bank: QuestionBank) -> GameSettings:
    """Settings from `/quiz`'s arguments (without the command); QuizError names the problem.
    Lone surrogates (a JSON escape can carry one) are not read: they stand for nothing."""
    text = storable(text)
    if len(text) > MAX_ARGS_LENGTH:
        raise QuizError(texts.ARGS_TOO_LONG)
    count: int | None = None
    seconds: int | None = None
    topic: str | None = None
    difficulty: int | None = None
    hints = False
    for word in text.split():
        key, sep, value = word.partition(":") if ":" in word else word.partition("=")
        key = key.casefold()
        if sep and key in {"count", "questions", "n"}:
            count = _number(value, word)
        elif sep and key in {"seconds", "secs", "time", "timer"}:
            seconds = _seconds(value, word)
        elif sep and key in {"topic", "t"}:
            topic = bank.resolve_topic(value) if value else None
        elif sep and key in {"difficulty", "level", "d"}:
            difficulty = _difficulty(value, word)
        elif sep and key in {"hints", "hint"}:
            hints = _switch(value, word)
        elif sep:
            raise QuizError(texts.unknown_word(word))
        elif key in {"hints", "hint"}:
            hints = True
        elif _SECONDS.fullmatch(word):
            seconds = _seconds(word, word)
        elif _NUMBER.fullmatch(word):
            if count is None:
                count = int(word)
            elif seconds is None:
                seconds = int(word)
            else:
                raise QuizError(texts.unknown_word(word))
        else:
            try:
                difficulty = parse_difficulty(word)
            except UnknownDifficulty:
                topic = bank.resolve_topic(word)  # UnknownTopic: its message names the topics
    return game_settings(
        bank, count=count, seconds=seconds, topic=topic, difficulty=difficulty, hints=hints
    )


def game_settings(
    bank: QuestionBank,
    *,
    count: int | None = None,
    seconds: int | None = None,
    topic: str | None = None,
    difficulty: int | None = None,
    hints: bool | None = False,
) -> GameSettings:
    """Settings from separate values (the typed form's words, Discord's options): the
    defaults for what is missing, the topic resolved (slug, title or a unique prefix), every
    number checked; QuizError with the person's message otherwise."""
    return validated(
        GameSettings(
            count=DEFAULT_COUNT if count is None else count,
            seconds=DEFAULT_SECONDS if seconds is None else seconds,
            topic=bank.resolve_topic(topic),
            difficulty=difficulty,
            hints=bool(hints),
        )
    )


def validated(settings: GameSettings) -> GameSettings:
    """The settings if every number is in range (Discord's options are checked here too)."""
    low, high = COUNT_RANGE
    if not low <= settings.count <= high:
        raise QuizError(texts.count_out_of_range(settings.count))
    low, high = SECONDS_RANGE
    if not low <= settings.seconds <= high:
        raise QuizError(texts.seconds_out_of_range(settings.seconds))
    if settings.difficulty is not None and settings.difficulty not in (1, 2, 3):
        raise UnknownDifficulty()
    return settings


def _number(value: str, word: str) -> int:
    if not _NUMBER.fullmatch(value):
        raise QuizError(texts.unknown_word(word))
    return int(value)


def _seconds(value: str, word: str) -> int:
    match = _SECONDS.fullmatch(value) or _NUMBER.fullmatch(value)
    if match is None:
        raise QuizError(texts.unknown_word(word))
    return int(match.group(1) if match.re is _SECONDS else match.group())


def _difficulty(value: str, word: str) -> int | None:
    try:
        return parse_difficulty(value)
    except UnknownDifficulty:
        raise QuizError(texts.unknown_word(word)) from None


def _switch(value: str, word: str) -> bool:
    if value.casefold() in _ON:
        return True
    if value.casefold() in _OFF:
        return False
    raise QuizError(texts.unknown_word(word))
