"""Practice's rows <-> values, for both SQL engines: cards, sessions, plans, reminders, the
pending multiple-choice answers. A row is anything that unpacks to its columns in the order
of the column list named beside its reader (a sqlite3 tuple or an asyncpg Record)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date
from typing import Any

from bot.core.common.identity import ChatRef, Platform
from bot.core.practice.grading import Suggestion
from bot.core.practice.ports import (
    Awaiting,
    ChoiceAnswer,
    PendingChoices,
    Reminder,
    Session,
    SessionKind,
    SessionState,
    StudyPlan,
)
from bot.core.practice.srs import CardPhase, CardState, Review
from bot.storage.rows.values import from_ts, to_ts

CARD_COLUMNS = (
    "player_id, question_id, topic, phase, step, stability, difficulty, due, last_review, "
    "reps, lapses"
)
SESSION_COLUMNS = (
    "id, player_id, platform, chat_id, topic, plan, position, awaiting, state, round_id, "
    "suggestion, score, answered, recalled, started_at, touched_at, kind, deadline, missed"
)
PLAN_COLUMNS = "player_id, platform, chat_id, target, timezone, topics, created_at"
REMINDER_COLUMNS = "player_id, platform, chat_id, time, timezone, last_sent"

CardRow = tuple[int, str, str, int, int | None, float | None, float | None, float,
                float | None, int, int, int, int]  # fmt: skip
"""A card's new state in CARD_COLUMNS order, then its reviews and how many recalled."""
ReviewRow = tuple[int, str, str, int, str, float | None, float]
"""player_id, question_id, topic, rating, source, score, reviewed_at."""


def card(row: Any) -> CardState:
    pid, qid, topic, phase, step, stab, diff, due, last, reps, lapses = row
    return CardState(
        pid, qid, topic, CardPhase(phase), step, stab, diff, from_ts(due),
        from_ts(last) if last is not None else None, reps, lapses,
    )  # fmt: skip


def review_rows(items: Sequence[tuple[CardState, Review]]) -> tuple[list[CardRow], list[ReviewRow]]:
    """The cards' new states and their reviews. A card reviewed several times in `items` (in
    order) is one row, in its last state, counting all of them: repeated events for one card
    merge into one row."""
    merged: dict[tuple[int, str], tuple[CardState, int, int]] = {}
    for c, r in items:
        _, times, recalls = merged.pop((c.player_id, c.question_id), (c, 0, 0))
        merged[c.player_id, c.question_id] = (c, times + 1, recalls + int(r.recalled))
    cards: list[CardRow] = [
        (
            c.player_id, c.question_id, c.topic, int(c.phase), c.step, c.stability,
            c.difficulty, to_ts(c.due), to_ts(c.last_review) if c.last_review else None,
            c.reps, c.lapses, times, recalls,
        )
        for c, times, recalls in merged.values()
    ]  # fmt: skip
    reviews: list[ReviewRow] = [
        (r.player_id, r.question_id, r.topic, r.rating, r.source.value, r.score, to_ts(r.at))
        for _, r in items
    ]
    return cards, reviews


def pending(rows: Sequence[Any]) -> PendingChoices:
    """The pending answers from rows of (watermark, newest seq, seq, player_id, question_id,
    topic, correct, answered_at): one row with seq NULL when there are none; an answer that is
    gone comes back as NULLs past its seq (skipped, not waited for)."""
    applied, latest = rows[0][0], rows[0][1]
    answers, through = [], applied
    for _, _, seq, pid, qid, topic, correct, at in rows:
        if seq is None:
            continue
        through = seq
        if pid is not None:
            answers.append(ChoiceAnswer(seq, pid, qid, topic, bool(correct), from_ts(at)))
    return PendingChoices(applied, through, max(latest or 0, applied), tuple(answers))


def session(row: Any) -> Session:
    (sid, pid, platform, chat_id, topic, plan, position, awaiting, state, round_id,
     suggestion, score, answered, recalled, started, touched, kind, deadline,
     missed) = row  # fmt: skip
    return Session(
        id=sid, player_id=pid, chat=ChatRef(Platform(platform), chat_id), topic=topic,
        plan=tuple(plan.split(",")) if plan else (), position=position,
        awaiting=Awaiting(awaiting), started_at=from_ts(started), touched_at=from_ts(touched),
        state=SessionState(state), round_id=round_id,
        suggestion=Suggestion(suggestion) if suggestion else None, score=score,
        answered=answered, recalled=recalled, kind=SessionKind(kind),
        deadline=from_ts(deadline) if deadline is not None else None,
        missed=tuple((str(t), str(p)) for t, p in json.loads(missed)),
    )  # fmt: skip


def session_values(s: Session) -> tuple[Any, ...]:
    """A session's values in SESSION_COLUMNS order."""
    return (
        s.id, s.player_id, s.chat.platform.value, s.chat.chat_id, s.topic, ",".join(s.plan),
        s.position, s.awaiting.value, s.state.value, s.round_id,
        s.suggestion.value if s.suggestion else None, s.score, s.answered, s.recalled,
        to_ts(s.started_at), to_ts(s.touched_at), s.kind.value,
        to_ts(s.deadline) if s.deadline is not None else None,
        json.dumps([list(m) for m in s.missed]),
    )  # fmt: skip


def plan(row: Any) -> StudyPlan:
    pid, platform, chat_id, target, timezone, topics, created = row
    return StudyPlan(
        pid, ChatRef(Platform(platform), chat_id), date.fromisoformat(target), timezone,
        tuple(topics.split(",")) if topics else (), from_ts(created),
    )  # fmt: skip


def plan_values(p: StudyPlan) -> tuple[Any, ...]:
    """A plan's values in PLAN_COLUMNS order."""
    return (
        p.player_id, p.chat.platform.value, p.chat.chat_id, p.target.isoformat(), p.timezone,
        ",".join(p.topics), to_ts(p.created_at),
    )  # fmt: skip


def reminder(row: Any) -> Reminder:
    pid, platform, chat_id, time, timezone, last = row
    return Reminder(
        pid, ChatRef(Platform(platform), chat_id), time, timezone,
        date.fromisoformat(last) if last else None,
    )  # fmt: skip


def reminder_values(r: Reminder) -> tuple[Any, ...]:
    """A reminder's values in REMINDER_COLUMNS order."""
    return (
        r.player_id, r.chat.platform.value, r.chat.chat_id, r.time, r.timezone,
        r.last_sent.isoformat() if r.last_sent else None,
    )  # fmt: skip
