"""Rounds and answers to feed a store directly (storage tests that need many of them)."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.core.common.identity import ChatRef, Platform
from bot.core.quiz.ports import Attempt
from bot.core.quiz.rounds import Round, RoundKind
from bot.core.quiz.scoring import AnswerContext, Award, iso_week

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
CHAT = ChatRef(Platform.TELEGRAM, "-100", "-100")


def a_round(i: int) -> Round:
    """Round number `i` of alpha-one in CHAT, opened at T0."""
    return Round(f"round{i:06d}", "alpha-one", CHAT, RoundKind.ASK, (0, 1, 2), T0, None)


def an_attempt(rnd: Round, player: int) -> Attempt:
    """`player`'s right answer A to `rnd`, at T0."""
    return Attempt(
        rnd, player, "alpha-one", "alpha", "A", True, T0, ("global",), iso_week(T0), T0.date()
    )


def ten_points(ctx: AnswerContext) -> Award:
    """The scoring callback: every answer right and worth 10."""
    return Award(True, 10, 10)
