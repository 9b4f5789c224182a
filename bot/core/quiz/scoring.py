"""Points, speed bonus, streaks, anti-farming caps and leaderboard ranking (pure)."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import NamedTuple

from bot.core.quiz.rounds import Round, RoundKind


@dataclass(frozen=True, slots=True)
class ScoringRules:
    base_points: tuple[int, int, int] = (10, 20, 30)
    speed_bonus_fraction: float = 0.5  # daily: up to +50% of base ...
    speed_window: timedelta = timedelta(hours=1)  # ... decaying linearly over the first hour
    streak_step: int = 2  # daily: +2 per consecutive day ...
    streak_cap: int = 20  # ... capped
    repeat_window: timedelta = timedelta(days=7)  # self-served: a question scores once per week
    daily_cap: int = 200  # self-served and games: points per person per UTC day
    game_speed_fraction: float = 0.5  # games: up to +50% of base for speed ...
    game_full_speed: float = 0.2  # ... all of it in the first fifth of the window, then less
    game_hint_factor: float = 0.5  # games: an answer after the hint earns half


class AnswerContext(NamedTuple):
    """What scoring needs to know, read inside the answer's transaction (named tuples here
    and in Award: one of each per answer, on the writer's thread)."""

    points_today: int  # self-served points already scored this UTC day
    last_scored_at: datetime | None  # when this person last scored this question
    daily_streak: int  # consecutive days with a daily answer, as of last_daily_day
    last_daily_day: date | None


class Award(NamedTuple):
    correct: bool
    points: int
    base: int = 0
    speed_bonus: int = 0
    streak_bonus: int = 0
    daily_streak: int | None = None  # the new streak after a daily answer, else None
    capped: str | None = None  # why fewer points than usual: "repeat" or "daily_cap"


def next_streak(ctx: AnswerContext, day: date) -> int:
    if ctx.last_daily_day == day:
        return ctx.daily_streak
    if ctx.last_daily_day is not None and ctx.last_daily_day == day - timedelta(days=1):
        return ctx.daily_streak + 1
    return 1


def award(
    rules: ScoringRules,
    rnd: Round,
    difficulty: int,
    correct: bool,
    at: datetime,
    ctx: AnswerContext,
) -> Award:
    base = rules.base_points[difficulty - 1]
    if rnd.kind is RoundKind.DAILY:
        streak = next_streak(ctx, rnd.day or at.date())
        if not correct:
            return Award(False, 0, daily_streak=streak)
        elapsed = max(timedelta(0), at - rnd.opened_at)
        left = max(0.0, 1 - elapsed / rules.speed_window)
        speed = round(base * rules.speed_bonus_fraction * left)
        streak_bonus = min(rules.streak_cap, rules.streak_step * (streak - 1))
        return Award(True, base + speed + streak_bonus, base, speed, streak_bonus, streak)
    if not correct:
        return Award(False, 0)
    if rnd.kind is RoundKind.PRACTICE:
        return Award(True, 0)  # practice feeds learning, not the leaderboard
    full, speed = base, 0
    if rnd.kind is RoundKind.GAME:
        full = game_points(rules, base, rnd, at)
        speed = max(0, full - base)
    if ctx.last_scored_at is not None and at - ctx.last_scored_at < rules.repeat_window:
        return Award(True, 0, capped="repeat")
    room = max(0, rules.daily_cap - ctx.points_today)
    if room < full:
        return Award(True, room, room, capped="daily_cap")
    return Award(True, full, full - speed, speed)


def game_points(rules: ScoringRules, base: int, rnd: Round, at: datetime) -> int:
    """A right answer's points in a game, before the board's caps: the base plus a speed share
    (all of it in the first fifth of the window, then falling linearly to none at the close),
    scaled down for an answer after the hint. Never negative; never more for a later answer."""
    closes = rnd.closes_at or rnd.opened_at
    window = (closes - rnd.opened_at).total_seconds()
    elapsed = min(max(0.0, (at - rnd.opened_at).total_seconds()), window)
    share = elapsed / window if window > 0 else 1.0
    full_until = rules.game_full_speed
    left = 1.0 if share <= full_until else max(0.0, (1.0 - share) / (1.0 - full_until))
    points = base + round(base * rules.game_speed_fraction * left)
    if rnd.hint_at is not None and at >= rnd.hint_at:
        points = round(points * rules.game_hint_factor)
    return max(0, points)


@dataclass(frozen=True, slots=True)
class BoardRow:
    player_id: int
    name: str
    points: int
    correct: int
    answered: int


@dataclass(frozen=True, slots=True)
class RankedRow:
    rank: int
    row: BoardRow


def rank_rows(rows: Sequence[BoardRow]) -> list[RankedRow]:
    """Competition ranking ("1, 2, 2, 4"): equal points share a rank. Rows come sorted."""
    ranked: list[RankedRow] = []
    for position, row in enumerate(rows, 1):
        if ranked and ranked[-1].row.points == row.points:
            ranked.append(RankedRow(ranked[-1].rank, row))
        else:
            ranked.append(RankedRow(position, row))
    return ranked


def iso_week(at: date) -> str:
    """ISO week label of a date or datetime, e.g. 2026-W49."""
    return _week_of(at.toordinal())


@functools.lru_cache(maxsize=16)
def _week_of(day: int) -> str:
    """By the day's ordinal (a datetime is its own cache key at every microsecond): every
    answer asks, so the label is built once a day."""
    year, week, _ = date.fromordinal(day).isocalendar()
    return f"{year}-W{week:02d}"
