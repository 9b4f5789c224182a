"""A Round: one asking of one question in one place, with its own shuffled option order."""

from __future__ import annotations

import random
import secrets
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

from bot.core.bank.questions import LABELS, Question
from bot.core.common.identity import ChatRef


class RoundKind(StrEnum):
    ASK = "ask"  # /question, self-served
    DAILY = "daily"  # the daily question of a study channel
    PRACTICE = "practice"  # a private practice session
    GAME = "game"  # one question of a timed group quiz (/quiz)


@dataclass(frozen=True, slots=True)
class Round:
    id: str
    question_id: str
    chat: ChatRef
    kind: RoundKind
    order: tuple[int, ...]  # order[i] = index in question.choices shown under LABELS[i]
    opened_at: datetime
    closes_at: datetime | None
    asked_by: int | None = None  # player id of the asker (None for daily posts)
    day: date | None = None  # the place's local date, for daily rounds
    hint_at: datetime | None = None  # a game's hint time: answers from then on earn less

    def is_open(self, now: datetime) -> bool:
        return self.closes_at is None or now < self.closes_at

    def choice_index(self, label: str) -> int:
        position = LABELS.index(label)
        if position >= len(self.order):
            raise ValueError(label)
        return self.order[position]

    def correct_label(self, question: Question) -> str:
        return LABELS[self.order.index(question.correct_index)]


def new_round_id() -> str:
    """11 URL-safe characters (64 random bits): unguessable, short enough for any button."""
    return secrets.token_urlsafe(8)


def shuffled_order(question: Question, rng: random.Random) -> tuple[int, ...]:
    order = list(range(len(question.choices)))
    rng.shuffle(order)
    return tuple(order)
