"""Practice's PracticeStore over a Database: FSRS cards and reviews, sessions, reminders.

Every write goes through the Database's one writer connection. Multiple-choice answers'
card updates come from the stored answers (schema 9): the answer's own statement adds a row to
`practice_feed`, `pending_choices` reads the oldest ones past `practice_watermark` (on the
reader), and `apply_choices` writes their cards and reviews and moves the watermark in one
transaction, only if the watermark is still where the batch started, so a crash or a backlog
loses no update and none is applied twice. Those writes are background writes: they wait for a
gap in the answers (bench/README.md step 9). A batch of reviews is one statement per table,
rows as JSON, run as one step on the writer's thread (step 1). A card
counts its own reviews (schema 6: 20.0 -> 14.2 us and 2.67 -> 1.50 WAL frames per card write),
and no index orders cards by due date (schema 5): every card query is for one player, which
the primary key already finds. Held to the same contract tests as the in-memory store
(tests/practice/test_practice_store.py).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from bot.core.practice.grading import PASS_SCORE
from bot.core.practice.ports import (
    DueSummary,
    PendingChoices,
    PracticeStore,
    Reminder,
    Session,
    StudyPlan,
    TopicProgress,
    TopicStats,
)
from bot.core.practice.srs import CardState, Review, Source
from bot.storage.rows import practice as convert
from bot.storage.sqlite.database import Database
from bot.storage.sqlite.values import from_ts, json_text, to_ts

__all__ = ["SqlitePracticeStore"]

# Column lists are constants (bot/storage/rows/practice.py); the `noqa: S608` below mark
# f-strings that only splice them in.

# Only while the watermark is still where a batch of multiple-choice updates started (its
# second parameter): a batch someone already applied writes nothing.
_AT_WATERMARK = "(SELECT applied FROM practice_watermark) = ?"


def _save_cards(where: str) -> str:
    """Cards' new states, each counting the reviews that produced it: rows as JSON arrays in
    CARD_COLUMNS order plus the number of reviews and of those that recalled the answer."""
    return (
        f"INSERT INTO practice_cards ({convert.CARD_COLUMNS}, reviews, recalled) SELECT "
        + ", ".join(f"json_extract(value, '$[{i}]')" for i in range(11))
        + ", json_extract(value, '$[11]'), json_extract(value, '$[12]') "
        f"FROM json_each(?) WHERE {where} "
        "ON CONFLICT (player_id, question_id) DO UPDATE SET topic = excluded.topic, "
        "phase = excluded.phase, step = excluded.step, stability = excluded.stability, "
        "difficulty = excluded.difficulty, due = excluded.due, "
        "last_review = excluded.last_review, reps = excluded.reps, lapses = excluded.lapses, "
        "reviews = reviews + excluded.reviews, recalled = recalled + excluded.recalled"
    )


def _save_reviews(where: str) -> str:
    return (
        "INSERT INTO practice_reviews (player_id, question_id, topic, rating, source, score, "  # noqa: S608
        "reviewed_at) SELECT "
        + ", ".join(f"json_extract(value, '$[{i}]')" for i in range(7))
        + f" FROM json_each(?) WHERE {where}"
    )


_SAVE_CARDS, _SAVE_CARDS_AT = _save_cards("true"), _save_cards(_AT_WATERMARK)
_SAVE_REVIEWS, _SAVE_REVIEWS_AT = _save_reviews("true"), _save_reviews(_AT_WATERMARK)
_ADVANCE = "UPDATE practice_watermark SET applied = ? WHERE applied = ?"
# The rows before the watermark are done with; the one at it stays, so that new rows keep
# getting larger numbers (SQLite numbers a row one past the largest in the table).
_FORGET = "DELETE FROM practice_feed WHERE seq < (SELECT applied FROM practice_watermark)"

# The watermark, the newest answer, and the oldest `limit` answers past the watermark with
# what they were (an answer that is gone comes back as NULLs: it is skipped, not waited for).
# One statement, so all of it is one snapshot; the LIMIT is applied before the join and the
# sort, so a backlog of any size costs one batch.
_PENDING = """
WITH mark(applied, latest) AS (
    SELECT applied, (SELECT max(seq) FROM practice_feed) FROM practice_watermark
), next(seq, round_id, player_id) AS (
    SELECT seq, round_id, player_id FROM practice_feed
    WHERE seq > (SELECT applied FROM practice_watermark) ORDER BY seq LIMIT ?
)
SELECT mark.applied, mark.latest, next.seq, a.player_id, a.question_id, a.topic, a.correct,
    a.answered_at
FROM mark LEFT JOIN next LEFT JOIN answers a
    ON a.round_id = next.round_id AND a.player_id = next.player_id
ORDER BY next.seq
"""


def _review_rows(items: Sequence[tuple[CardState, Review]]) -> tuple[str, str]:
    """The cards' new states and their reviews as JSON rows, one array per table (repeated
    events for one card merge into one row: rows.practice.review_rows)."""
    cards, reviews = convert.review_rows(items)
    return json_text(cards), json_text(reviews)


# Per topic: the reviews since :since and how many count as right (Review.recalled: a right
# choice, or an open answer the grader passed and the learner did not rate Again), and the
# lapses and number of its cards.
_TOPIC_STATS = """
WITH recent(topic, reviews, recalled) AS (
    SELECT topic, count(*), sum(CASE WHEN rating > 1 AND (source = 'choice' OR score >= :pass)
        THEN 1 ELSE 0 END)
    FROM practice_reviews WHERE player_id = :p AND reviewed_at >= :since GROUP BY topic
), held(topic, lapses, cards) AS (
    SELECT topic, sum(lapses), count(*) FROM practice_cards WHERE player_id = :p GROUP BY topic
)
SELECT t.topic, coalesce(r.reviews, 0), coalesce(r.recalled, 0), coalesce(h.lapses, 0),
    coalesce(h.cards, 0)
FROM (SELECT topic FROM recent UNION SELECT topic FROM held) t
LEFT JOIN recent r ON r.topic = t.topic LEFT JOIN held h ON h.topic = t.topic
ORDER BY t.topic
"""


class SqlitePracticeStore:
    """The practice tables, reached only through the Database's reads and writes."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def __repr__(self) -> str:
        return f"SqlitePracticeStore({self._db!r})"

    async def card(self, player_id: int, question_id: str) -> CardState | None:
        rows = await self._db.read(
            f"SELECT {convert.CARD_COLUMNS} FROM practice_cards "  # noqa: S608
            "WHERE player_id = ? AND question_id = ?",
            (player_id, question_id),
        )
        return convert.card(rows[0]) if rows else None

    async def cards(self, keys: Sequence[tuple[int, str]]) -> dict[tuple[int, str], CardState]:
        if not keys:
            return {}
        rows = await self._db.read(
            f"SELECT {convert.CARD_COLUMNS} FROM practice_cards "  # noqa: S608
            "WHERE (player_id, question_id) IN (SELECT json_extract(value, '$[0]'), "
            "json_extract(value, '$[1]') FROM json_each(?))",
            (json_text(keys),),
        )
        return {(c.player_id, c.question_id): c for c in map(convert.card, rows)}

    async def save_review(self, card: CardState, review: Review) -> None:
        cards, reviews = _review_rows([(card, review)])
        await self._db.write_all([(_SAVE_CARDS, (cards,)), (_SAVE_REVIEWS, (reviews,))])

    async def note_choice(
        self, player_id: int, question_id: str, topic: str, correct: bool, at: datetime
    ) -> None:
        """Nothing to do: the answer's own INSERT fed it to practice_feed (schema 9)."""

    async def pending_choices(self, limit: int) -> PendingChoices:
        return convert.pending(await self._db.read(_PENDING, (limit,)))

    async def apply_choices(
        self, after: int, through: int, items: Sequence[tuple[CardState, Review]]
    ) -> None:
        statements: list[tuple[str, Any]] = []
        if items:
            cards, reviews = _review_rows(items)
            statements += [(_SAVE_CARDS_AT, (cards, after)), (_SAVE_REVIEWS_AT, (reviews, after))]
        statements += [(_ADVANCE, (through, after)), (_FORGET, ())]
        # in the background: answers never queue behind card updates
        await self._db.write_all(statements, background=True)

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
            f"SELECT {convert.CARD_COLUMNS} FROM practice_cards "  # noqa: S608 - `when` is ours
            f"WHERE player_id = ? AND {when} "
            "AND (? IS NULL OR topic = ?) ORDER BY due, question_id LIMIT ?",
            (player_id, to_ts(now), topic, topic, limit),
        )
        return [convert.card(r) for r in rows]

    async def carded(self, player_id: int) -> set[str]:
        rows = await self._db.read(
            "SELECT question_id FROM practice_cards WHERE player_id = ?", (player_id,)
        )
        return {r[0] for r in rows}

    async def due_summary(self, player_id: int, now: datetime) -> DueSummary:
        rows = await self._db.read(
            "SELECT coalesce(sum(due <= :now), 0), count(*), min(CASE WHEN due > :now "
            "THEN due END) FROM practice_cards WHERE player_id = :p",
            {"now": to_ts(now), "p": player_id},
        )
        due_now, cards, upcoming = rows[0]
        return DueSummary(due_now, cards, from_ts(upcoming) if upcoming is not None else None)

    async def hardest(self, player_id: int, limit: int) -> list[CardState]:
        rows = await self._db.read(
            f"SELECT {convert.CARD_COLUMNS} FROM practice_cards "  # noqa: S608
            "WHERE player_id = ? "
            "ORDER BY lapses DESC, coalesce(difficulty, 0) DESC, question_id LIMIT ?",
            (player_id, limit),
        )
        return [convert.card(r) for r in rows]

    async def progress(self, player_id: int) -> list[TopicProgress]:
        rows = await self._db.read(
            "SELECT topic, sum(reviews), sum(recalled), count(*), sum(phase = 2) "
            "FROM practice_cards WHERE player_id = ? GROUP BY topic ORDER BY topic",
            (player_id,),
        )
        return [TopicProgress(*r) for r in rows]

    async def topic_stats(self, player_id: int, since: datetime) -> list[TopicStats]:
        rows = await self._db.read(
            _TOPIC_STATS, {"p": player_id, "since": to_ts(since), "pass": PASS_SCORE}
        )
        return [TopicStats(*r) for r in rows]

    async def player_cards(self, player_id: int) -> list[CardState]:
        rows = await self._db.read(
            f"SELECT {convert.CARD_COLUMNS} FROM practice_cards "  # noqa: S608
            "WHERE player_id = ? ORDER BY question_id",
            (player_id,),
        )
        return [convert.card(r) for r in rows]

    async def reviewed_since(self, player_id: int, since: datetime) -> set[str]:
        rows = await self._db.read(
            "SELECT DISTINCT question_id FROM practice_reviews "
            "WHERE player_id = ? AND reviewed_at >= ?",
            (player_id, to_ts(since)),
        )
        return {r[0] for r in rows}

    async def reviews_since(self, player_id: int, since: datetime) -> list[Review]:
        rows = await self._db.read(
            "SELECT player_id, question_id, topic, rating, source, reviewed_at, score "
            "FROM practice_reviews WHERE player_id = ? AND reviewed_at >= ? "
            "ORDER BY reviewed_at, id",
            (player_id, to_ts(since)),
        )
        return [
            Review(p, q, t, rating, Source(source), from_ts(at), score)
            for p, q, t, rating, source, at, score in rows
        ]

    async def save_session(self, session: Session) -> None:
        s = session
        try:
            await self._save_session(s)
        except sqlite3.IntegrityError:
            raise ValueError(f"player {s.player_id} already has an active session") from None

    async def _save_session(self, s: Session) -> None:
        await self._db.write(
            f"INSERT INTO practice_sessions ({convert.SESSION_COLUMNS}) "  # noqa: S608
            "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?) ON CONFLICT (id) DO UPDATE SET "
            "position = excluded.position, awaiting = excluded.awaiting, "
            "state = excluded.state, round_id = excluded.round_id, "
            "suggestion = excluded.suggestion, score = excluded.score, "
            "answered = excluded.answered, recalled = excluded.recalled, "
            "touched_at = excluded.touched_at, missed = excluded.missed",
            convert.session_values(s),
        )

    async def active_session(self, player_id: int) -> Session | None:
        rows = await self._db.read(
            f"SELECT {convert.SESSION_COLUMNS} FROM practice_sessions "  # noqa: S608
            "WHERE player_id = ? AND state = 'active'",
            (player_id,),
        )
        return convert.session(rows[0]) if rows else None

    async def idle_sessions(self, before: datetime, limit: int) -> list[Session]:
        rows = await self._db.read(
            f"SELECT {convert.SESSION_COLUMNS} FROM practice_sessions "  # noqa: S608
            "WHERE state = 'active' AND touched_at < ? ORDER BY touched_at LIMIT ?",
            (to_ts(before), limit),
        )
        return [convert.session(r) for r in rows]

    async def overdue_mocks(self, now: datetime, limit: int) -> list[Session]:
        rows = await self._db.read(
            f"SELECT {convert.SESSION_COLUMNS} FROM practice_sessions "  # noqa: S608
            "WHERE state = 'active' AND deadline IS NOT NULL AND deadline <= ? "
            "ORDER BY deadline LIMIT ?",
            (to_ts(now), limit),
        )
        return [convert.session(r) for r in rows]

    async def set_reminder(self, reminder: Reminder) -> None:
        await self._db.write(
            f"INSERT INTO practice_reminders ({convert.REMINDER_COLUMNS}) "  # noqa: S608
            "VALUES (?,?,?,?,?,?) ON CONFLICT (player_id) DO UPDATE SET "
            "platform = excluded.platform, chat_id = excluded.chat_id, time = excluded.time, "
            "timezone = excluded.timezone, last_sent = excluded.last_sent",
            convert.reminder_values(reminder),
        )

    async def delete_reminder(self, player_id: int) -> bool:
        changed = await self._db.write(
            "DELETE FROM practice_reminders WHERE player_id = ?", (player_id,)
        )
        return changed > 0

    async def reminder(self, player_id: int) -> Reminder | None:
        rows = await self._db.read(
            f"SELECT {convert.REMINDER_COLUMNS} FROM practice_reminders "  # noqa: S608
            "WHERE player_id = ?",
            (player_id,),
        )
        return convert.reminder(rows[0]) if rows else None

    async def reminders(self) -> list[Reminder]:
        rows = await self._db.read(
            f"SELECT {convert.REMINDER_COLUMNS} FROM practice_reminders "  # noqa: S608
            "ORDER BY player_id"
        )
        return [convert.reminder(r) for r in rows]

    async def claim_reminder(self, player_id: int, day: date) -> bool:
        changed = await self._db.write(
            "UPDATE practice_reminders SET last_sent = ? WHERE player_id = ? "
            "AND (last_sent IS NULL OR last_sent < ?)",
            (day.isoformat(), player_id, day.isoformat()),
        )
        return changed > 0

    async def set_plan(self, plan: StudyPlan) -> None:
        await self._db.write(
            f"INSERT OR REPLACE INTO practice_plans ({convert.PLAN_COLUMNS}) "  # noqa: S608
            "VALUES (?,?,?,?,?,?,?)",
            convert.plan_values(plan),
        )

    async def plan(self, player_id: int) -> StudyPlan | None:
        rows = await self._db.read(
            f"SELECT {convert.PLAN_COLUMNS} FROM practice_plans WHERE player_id = ?",  # noqa: S608
            (player_id,),
        )
        return convert.plan(rows[0]) if rows else None

    async def delete_plan(self, player_id: int) -> bool:
        changed = await self._db.write(
            "DELETE FROM practice_plans WHERE player_id = ?", (player_id,)
        )
        return changed > 0

    async def plans_to_offer(self, start: date, until: date) -> list[StudyPlan]:
        rows = await self._db.read(
            f"SELECT {convert.PLAN_COLUMNS} FROM practice_plans "  # noqa: S608
            "WHERE target BETWEEN ? AND ? AND (mock_offered IS NULL OR mock_offered != target) "
            "ORDER BY player_id",
            (start.isoformat(), until.isoformat()),
        )
        return [convert.plan(r) for r in rows]

    async def claim_mock_offer(self, player_id: int, target: date) -> bool:
        changed = await self._db.write(
            "UPDATE practice_plans SET mock_offered = target WHERE player_id = ? "
            "AND target = ? AND (mock_offered IS NULL OR mock_offered != target)",
            (player_id, target.isoformat()),
        )
        return changed > 0


def _conforms(store: SqlitePracticeStore) -> PracticeStore:
    return store  # mypy checks that the repository satisfies the protocol
