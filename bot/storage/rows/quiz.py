"""The quiz's rows <-> values, for both SQL engines: rounds, answers, the answer's context and
a player's totals. A row is anything that unpacks to its columns in the order of the column
list named beside its reader (a sqlite3 tuple or an asyncpg Record)."""

from __future__ import annotations

from datetime import date
from typing import Any

from bot.core.common.identity import ChatRef, Platform
from bot.core.quiz.ports import Attempt, PlayerStats
from bot.core.quiz.rounds import Round, RoundKind
from bot.core.quiz.scoring import AnswerContext, Award
from bot.storage.rows.values import from_ts, to_ts

ROUND_COLUMNS = (
    "id, question_id, platform, chat_id, community_id, kind, choice_order, opened_at, "
    "closes_at, asked_by, day, hint_at"
)
ANSWER_COLUMNS = (
    "round_id, player_id, question_id, topic, kind, label, correct, points, answered_at, "
    "seconds, scope1, scope2, week, day, daily_streak, daily_day"
)
PLAYER_STATS_COLUMNS = "answered, correct, points, daily_streak, best_streak, last_daily_day"

AnswerRow = tuple[
    str, int, str, str, str, str, int, int, float, float,
    str | None, str | None, str, str, int | None, str | None,
]  # fmt: skip
"""An answer's values in ANSWER_COLUMNS order."""


def round_values(rnd: Round) -> tuple[Any, ...]:
    """A round's values in ROUND_COLUMNS order."""
    return (
        rnd.id, rnd.question_id, rnd.chat.platform.value, rnd.chat.chat_id,
        rnd.chat.community_id, rnd.kind.value, ",".join(map(str, rnd.order)),
        to_ts(rnd.opened_at), to_ts(rnd.closes_at) if rnd.closes_at else None,
        rnd.asked_by, rnd.day.isoformat() if rnd.day else None,
        to_ts(rnd.hint_at) if rnd.hint_at else None,
    )  # fmt: skip


def round_of(row: Any) -> Round:
    """A round from a row in ROUND_COLUMNS order."""
    rid, qid, platform, chat_id, community, kind, order, opened, closes, asker, day, hint = row
    return Round(
        id=rid, question_id=qid, chat=ChatRef(Platform(platform), chat_id, community),
        kind=RoundKind(kind), order=tuple(int(i) for i in order.split(",")),
        opened_at=from_ts(opened), closes_at=from_ts(closes) if closes is not None else None,
        asked_by=asker, day=date.fromisoformat(day) if day else None,
        hint_at=from_ts(hint) if hint is not None else None,
    )  # fmt: skip


def answer_context(
    today: int | None, last_scored: float | None, streak: int, last_daily: str | None
) -> AnswerContext:
    """The context scoring gets, from the stored points today (None: none yet), when the
    question last scored, the stored streak and its day."""
    return AnswerContext(
        today or 0,
        None if last_scored is None else from_ts(last_scored),
        streak,
        date.fromisoformat(last_daily) if last_daily else None,
    )


def answer_values(a: Attempt, award: Award) -> AnswerRow:
    """An answer's values in ANSWER_COLUMNS order; the schema's trigger turns them into the
    boards, the player's totals, topic stats and the daily cap's points."""
    rnd, scopes, streak = a.round, a.scopes, award.daily_streak
    return (
        rnd.id, a.player_id, a.question_id, a.topic, rnd.kind.value, a.label,
        int(award.correct), award.points, to_ts(a.at),
        max(0.0, (a.at - rnd.opened_at).total_seconds()),
        scopes[0] if scopes else None, scopes[1] if len(scopes) > 1 else None,
        a.week, a.day.isoformat(), streak,
        rnd.day.isoformat() if rnd.day and streak is not None else None,
    )  # fmt: skip


def player_stats(row: Any) -> PlayerStats:
    """A player's totals from a row in PLAYER_STATS_COLUMNS order."""
    a, c, p, s, b, last = row
    return PlayerStats(a, c, p, s, b, date.fromisoformat(last) if last else None)
