"""PracticeStore implementations: over the SQLite store (its public read/write/transaction
helpers, so every write goes through its one writer connection) and in memory (tests, dry runs).
Both are held to the same contract tests (tests/practice/test_practice_store.py).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, date, datetime
from typing import Any

from bot.core.common.identity import ChatRef, Platform
from bot.core.practice.grading import Suggestion
from bot.core.practice.ports import (
    Awaiting,
    DueSummary,
    PracticeStore,
    Reminder,
    Session,
    SessionState,
    TopicProgress,
)
from bot.core.practice.srs import CardPhase, CardState, Review
from bot.storage.sqlite.database import SqliteStore

__all__ = ["MemoryPracticeStore", "PracticeStore", "SqlitePracticeStore"]

# Column lists are constants; the `noqa: S608` below mark f-strings that only splice them in.
_CARD_COLUMNS = (
    "player_id, question_id, topic, phase, step, stability, difficulty, due, last_review, "
    "reps, lapses"
)
_SESSION_COLUMNS = (
    "id, player_id, platform, chat_id, topic, plan, position, awaiting, state, round_id, "
    "suggestion, score, answered, recalled, started_at, touched_at"
)


def _ts(moment: datetime) -> float:
    return moment.timestamp()


def _dt(value: float) -> datetime:
    return datetime.fromtimestamp(value, UTC)


# Cards' new states, each counting the review that produced it: rows as JSON arrays in
# _CARD_COLUMNS order plus 1 if the review recalled the answer; the same card twice in one
# statement is applied in order.
_SAVE_CARDS = (
    f"INSERT INTO practice_cards ({_CARD_COLUMNS}, reviews, recalled) SELECT "  # noqa: S608
    + ", ".join(f"json_extract(value, '$[{i}]')" for i in range(11))
    + ", 1, json_extract(value, '$[11]') FROM json_each(?) WHERE true "
    "ON CONFLICT (player_id, question_id) DO UPDATE SET topic = excluded.topic, "
    "phase = excluded.phase, step = excluded.step, stability = excluded.stability, "
    "difficulty = excluded.difficulty, due = excluded.due, "
    "last_review = excluded.last_review, reps = excluded.reps, lapses = excluded.lapses, "
    "reviews = reviews + 1, recalled = recalled + excluded.recalled"
)

_SAVE_REVIEWS = (
    "INSERT INTO practice_reviews (player_id, question_id, topic, rating, source, score, "  # noqa: S608
    "reviewed_at) SELECT "
    + ", ".join(f"json_extract(value, '$[{i}]')" for i in range(7))
    + " FROM json_each(?)"
)


def _review_statements(items: Sequence[tuple[CardState, Review]]) -> list[tuple[str, Any]]:
    """The cards' new states and their reviews: one statement per table (rows as JSON)."""
    cards = [
        (
            c.player_id, c.question_id, c.topic, int(c.phase), c.step, c.stability,
            c.difficulty, _ts(c.due), _ts(c.last_review) if c.last_review else None,
            c.reps, c.lapses, int(r.rating > 1),
        )
        for c, r in items
    ]  # fmt: skip
    reviews = [
        (r.player_id, r.question_id, r.topic, r.rating, r.source.value, r.score, _ts(r.at))
        for _, r in items
    ]
    return [(_SAVE_CARDS, (json.dumps(cards),)), (_SAVE_REVIEWS, (json.dumps(reviews),))]


def _card(row: Any) -> CardState:
    pid, qid, topic, phase, step, stab, diff, due, last, reps, lapses = row
    return CardState(
        pid, qid, topic, CardPhase(phase), step, stab, diff, _dt(due),
        _dt(last) if last is not None else None, reps, lapses,
    )  # fmt: skip


def _session(row: Any) -> Session:
    (sid, pid, platform, chat_id, topic, plan, position, awaiting, state, round_id,
     suggestion, score, answered, recalled, started, touched) = row  # fmt: skip
    return Session(
        id=sid, player_id=pid, chat=ChatRef(Platform(platform), chat_id), topic=topic,
        plan=tuple(plan.split(",")) if plan else (), position=position,
        awaiting=Awaiting(awaiting), started_at=_dt(started), touched_at=_dt(touched),
        state=SessionState(state), round_id=round_id,
        suggestion=Suggestion(suggestion) if suggestion else None, score=score,
        answered=answered, recalled=recalled,
    )  # fmt: skip


def _reminder(row: Any) -> Reminder:
    pid, platform, chat_id, time, timezone, last = row
    return Reminder(
        pid, ChatRef(Platform(platform), chat_id), time, timezone,
        date.fromisoformat(last) if last else None,
    )  # fmt: skip


class SqlitePracticeStore:
    def __init__(self, store: SqliteStore) -> None:
        self._db = store

    def __repr__(self) -> str:
        return f"SqlitePracticeStore({self._db!r})"

    async def card(self, player_id: int, question_id: str) -> CardState | None:
        rows = await self._db.read(
            f"SELECT {_CARD_COLUMNS} FROM practice_cards "  # noqa: S608
            "WHERE player_id = ? AND question_id = ?",
            (player_id, question_id),
        )
        return _card(rows[0]) if rows else None

    async def cards(self, keys: Sequence[tuple[int, str]]) -> dict[tuple[int, str], CardState]:
        if not keys:
            return {}
        rows = await self._db.read(
            f"SELECT {_CARD_COLUMNS} FROM practice_cards "  # noqa: S608
            "WHERE (player_id, question_id) IN (SELECT json_extract(value, '$[0]'), "
            "json_extract(value, '$[1]') FROM json_each(?))",
            (json.dumps([list(k) for k in keys]),),
        )
        return {(c.player_id, c.question_id): c for c in map(_card, rows)}

    async def save_review(self, card: CardState, review: Review) -> None:
        await self._db.write_all(_review_statements([(card, review)]))

    async def save_reviews(self, items: Sequence[tuple[CardState, Review]]) -> None:
        if items:  # in the background: answers never queue behind card updates
            await self._db.write_all(_review_statements(items), background=True)

    async def due_cards(
        self, player_id: int, now: datetime, topic: str | None, limit: int
    ) -> list[CardState]:
        return await self._by_due(player_id, "due <= ?", now, topic, limit)

    async def upcoming_cards(
        self, player_id: int, now: datetime, topic: str | None, limit: int
    ) -> list[CardState]:
        return await self._by_due(player_id, "due > ?", now, topic, limit)

    async def _by_due(
        self, player_id: int, when: str, now: datetime, topic: str | None, limit: int
    ) -> list[CardState]:
        rows = await self._db.read(
            f"SELECT {_CARD_COLUMNS} FROM practice_cards "  # noqa: S608 - `when` is ours
            f"WHERE player_id = ? AND {when} "
            "AND (? IS NULL OR topic = ?) ORDER BY due, question_id LIMIT ?",
            (player_id, _ts(now), topic, topic, limit),
        )
        return [_card(r) for r in rows]

    async def carded(self, player_id: int) -> set[str]:
        rows = await self._db.read(
            "SELECT question_id FROM practice_cards WHERE player_id = ?", (player_id,)
        )
        return {r[0] for r in rows}

    async def due_summary(self, player_id: int, now: datetime) -> DueSummary:
        rows = await self._db.read(
            "SELECT coalesce(sum(due <= :now), 0), count(*), min(CASE WHEN due > :now "
            "THEN due END) FROM practice_cards WHERE player_id = :p",
            {"now": _ts(now), "p": player_id},
        )
        due_now, cards, upcoming = rows[0]
        return DueSummary(due_now, cards, _dt(upcoming) if upcoming is not None else None)

    async def hardest(self, player_id: int, limit: int) -> list[CardState]:
        rows = await self._db.read(
            f"SELECT {_CARD_COLUMNS} FROM practice_cards "  # noqa: S608
            "WHERE player_id = ? "
            "ORDER BY lapses DESC, coalesce(difficulty, 0) DESC, question_id LIMIT ?",
            (player_id, limit),
        )
        return [_card(r) for r in rows]

    async def progress(self, player_id: int) -> list[TopicProgress]:
        rows = await self._db.read(
            "SELECT topic, sum(reviews), sum(recalled), count(*), sum(phase = 2) "
            "FROM practice_cards WHERE player_id = ? GROUP BY topic ORDER BY topic",
            (player_id,),
        )
        return [TopicProgress(*r) for r in rows]

    async def save_session(self, session: Session) -> None:
        s = session
        try:
            await self._save_session(s)
        except sqlite3.IntegrityError:
            raise ValueError(f"player {s.player_id} already has an active session") from None

    async def _save_session(self, s: Session) -> None:
        await self._db.write(
            f"INSERT INTO practice_sessions ({_SESSION_COLUMNS}) "  # noqa: S608
            "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT (id) DO UPDATE SET "
            "position = excluded.position, awaiting = excluded.awaiting, "
            "state = excluded.state, round_id = excluded.round_id, "
            "suggestion = excluded.suggestion, score = excluded.score, "
            "answered = excluded.answered, recalled = excluded.recalled, "
            "touched_at = excluded.touched_at",
            (
                s.id, s.player_id, s.chat.platform.value, s.chat.chat_id, s.topic,
                ",".join(s.plan), s.position, s.awaiting.value, s.state.value, s.round_id,
                s.suggestion.value if s.suggestion else None, s.score, s.answered, s.recalled,
                _ts(s.started_at), _ts(s.touched_at),
            ),
        )  # fmt: skip

    async def active_session(self, player_id: int) -> Session | None:
        rows = await self._db.read(
            f"SELECT {_SESSION_COLUMNS} FROM practice_sessions "  # noqa: S608
            "WHERE player_id = ? AND state = 'active'",
            (player_id,),
        )
        return _session(rows[0]) if rows else None

    async def idle_sessions(self, before: datetime, limit: int) -> list[Session]:
        rows = await self._db.read(
            f"SELECT {_SESSION_COLUMNS} FROM practice_sessions "  # noqa: S608
            "WHERE state = 'active' AND touched_at < ? ORDER BY touched_at LIMIT ?",
            (_ts(before), limit),
        )
        return [_session(r) for r in rows]

    async def set_reminder(self, reminder: Reminder) -> None:
        r = reminder
        await self._db.write(
            "INSERT INTO practice_reminders (player_id, platform, chat_id, time, timezone, "
            "last_sent) VALUES (?,?,?,?,?,?) ON CONFLICT (player_id) DO UPDATE SET "
            "platform = excluded.platform, chat_id = excluded.chat_id, time = excluded.time, "
            "timezone = excluded.timezone, last_sent = excluded.last_sent",
            (
                r.player_id, r.chat.platform.value, r.chat.chat_id, r.time, r.timezone,
                r.last_sent.isoformat() if r.last_sent else None,
            ),
        )  # fmt: skip

    async def delete_reminder(self, player_id: int) -> bool:
        changed = await self._db.write(
            "DELETE FROM practice_reminders WHERE player_id = ?", (player_id,)
        )
        return changed > 0

    async def reminder(self, player_id: int) -> Reminder | None:
        rows = await self._db.read(
            "SELECT player_id, platform, chat_id, time, timezone, last_sent "
            "FROM practice_reminders WHERE player_id = ?",
            (player_id,),
        )
        return _reminder(rows[0]) if rows else None

    async def reminders(self) -> list[Reminder]:
        rows = await self._db.read(
            "SELECT player_id, platform, chat_id, time, timezone, last_sent "
            "FROM practice_reminders ORDER BY player_id"
        )
        return [_reminder(r) for r in rows]

    async def claim_reminder(self, player_id: int, day: date) -> bool:
        changed = await self._db.write(
            "UPDATE practice_reminders SET last_sent = ? WHERE player_id = ? "
            "AND (last_sent IS NULL OR last_sent < ?)",
            (day.isoformat(), player_id, day.isoformat()),
        )
        return changed > 0


class MemoryPracticeStore:
    def __init__(self) -> None:
        self._cards: dict[tuple[int, str], CardState] = {}
        self._reviews: list[Review] = []
        self._sessions: dict[str, Session] = {}
        self._reminders: dict[int, Reminder] = {}

    async def card(self, player_id: int, question_id: str) -> CardState | None:
        return self._cards.get((player_id, question_id))

    async def cards(self, keys: Sequence[tuple[int, str]]) -> dict[tuple[int, str], CardState]:
        return {k: self._cards[k] for k in keys if k in self._cards}

    async def save_review(self, card: CardState, review: Review) -> None:
        await self.save_reviews([(card, review)])

    async def save_reviews(self, items: Sequence[tuple[CardState, Review]]) -> None:
        for card, review in items:
            self._cards[(card.player_id, card.question_id)] = card
            self._reviews.append(review)

    def _mine(self, player_id: int, topic: str | None) -> list[CardState]:
        return [
            c
            for (p, _), c in self._cards.items()
            if p == player_id and (topic is None or c.topic == topic)
        ]

    async def due_cards(
        self, player_id: int, now: datetime, topic: str | None, limit: int
    ) -> list[CardState]:
        due = [c for c in self._mine(player_id, topic) if c.due <= now]
        return sorted(due, key=lambda c: (c.due, c.question_id))[:limit]

    async def upcoming_cards(
        self, player_id: int, now: datetime, topic: str | None, limit: int
    ) -> list[CardState]:
        later = [c for c in self._mine(player_id, topic) if c.due > now]
        return sorted(later, key=lambda c: (c.due, c.question_id))[:limit]

    async def carded(self, player_id: int) -> set[str]:
        return {c.question_id for c in self._mine(player_id, None)}

    async def due_summary(self, player_id: int, now: datetime) -> DueSummary:
        cards = self._mine(player_id, None)
        later = [c.due for c in cards if c.due > now]
        return DueSummary(sum(c.due <= now for c in cards), len(cards), min(later, default=None))

    async def hardest(self, player_id: int, limit: int) -> list[CardState]:
        cards = self._mine(player_id, None)
        return sorted(cards, key=lambda c: (-c.lapses, -(c.difficulty or 0), c.question_id))[:limit]

    async def progress(self, player_id: int) -> list[TopicProgress]:
        rows: dict[str, list[int]] = {}
        for r in self._reviews:
            if r.player_id == player_id:
                row = rows.setdefault(r.topic, [0, 0, 0, 0])
                row[0] += 1
                row[1] += int(r.rating > 1)
        for c in self._mine(player_id, None):
            row = rows.setdefault(c.topic, [0, 0, 0, 0])
            row[2] += 1
            row[3] += int(c.phase is CardPhase.REVIEW)
        return [TopicProgress(t, *v) for t, v in sorted(rows.items())]

    async def save_session(self, session: Session) -> None:
        if session.state is SessionState.ACTIVE:
            other = await self.active_session(session.player_id)
            if other is not None and other.id != session.id:
                raise ValueError(f"player {session.player_id} already has an active session")
        self._sessions[session.id] = session

    async def active_session(self, player_id: int) -> Session | None:
        return next(
            (
                s
                for s in self._sessions.values()
                if s.player_id == player_id and s.state is SessionState.ACTIVE
            ),
            None,
        )

    async def idle_sessions(self, before: datetime, limit: int) -> list[Session]:
        idle = [
            s
            for s in self._sessions.values()
            if s.state is SessionState.ACTIVE and s.touched_at < before
        ]
        return sorted(idle, key=lambda s: s.touched_at)[:limit]

    async def set_reminder(self, reminder: Reminder) -> None:
        self._reminders[reminder.player_id] = reminder

    async def delete_reminder(self, player_id: int) -> bool:
        return self._reminders.pop(player_id, None) is not None

    async def reminder(self, player_id: int) -> Reminder | None:
        return self._reminders.get(player_id)

    async def reminders(self) -> list[Reminder]:
        return [self._reminders[p] for p in sorted(self._reminders)]

    async def claim_reminder(self, player_id: int, day: date) -> bool:
        current = self._reminders.get(player_id)
        if current is None or (current.last_sent is not None and current.last_sent >= day):
            return False
        self._reminders[player_id] = replace(current, last_sent=day)
        return True
