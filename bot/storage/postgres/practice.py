"""Practice's PracticeStore on PostgreSQL: FSRS cards and reviews, sessions, reminders, plans,
safe with any number of processes on one database.

Multiple-choice answers' card updates come from the stored answers, as on SQLite: the
answer's own statement adds a row to `practice_feed` (the `answers_maintain` trigger, which
draws `seq` under a transaction-level advisory lock, so numbers commit in order and a reader
that sees n has every lower n that will ever commit); `pending_choices` reads the oldest rows
past `practice_watermark` in one statement (one snapshot); `apply_choices` moves the watermark
with a compare-and-set FIRST, then writes the cards and reviews and deletes the applied feed
rows, all in one statement (one round trip, its own transaction). The compare-and-set takes
the watermark's row lock, so two processes' card writers applying the same slice queue on it,
and the second finds the watermark moved and writes nothing.

One more rule makes that exact across processes: the card writer computes a batch's slices in
memory, each on top of the slices before it, so a slice whose predecessor wrote nothing (lost
the race) was computed on top of a write that never happened; it writes nothing either, even
if the watermark has since reached its start (another process's slice moved it there, from
cards that may differ). The next `pending_choices` starts a fresh chain from the cards as
stored. This process's slices are written one at a time, in the order they were made.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

import asyncpg

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
from bot.storage.postgres.database import PgDatabase, affected
from bot.storage.rows import practice as convert
from bot.storage.rows.values import from_ts, to_ts

__all__ = ["PgPracticeStore"]

# Column lists are constants (bot/storage/rows/practice.py); the `noqa: S608` below mark
# f-strings that only splice them in.
_CARDS = f"SELECT {convert.CARD_COLUMNS} FROM practice_cards "  # noqa: S608
_SESSIONS = f"SELECT {convert.SESSION_COLUMNS} FROM practice_sessions "  # noqa: S608
_PLANS = f"SELECT {convert.PLAN_COLUMNS} FROM practice_plans "  # noqa: S608
_REMINDERS = f"SELECT {convert.REMINDER_COLUMNS} FROM practice_reminders "  # noqa: S608


def _written(only_if: str = "") -> str:
    """Cards and reviews written in one statement, each a batch as one array per column:
    the cards $1-$13 (convert.CardRow's order; repeats of a card merged into one row first,
    as ON CONFLICT DO UPDATE may touch a row once per statement), the reviews $14-$20;
    `only_if` a condition on both. Two WITH clauses (a data-modifying one runs even when
    nothing reads it)."""
    return f"""
cards AS (
    INSERT INTO practice_cards AS c ({convert.CARD_COLUMNS}, reviews, recalled)
    SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::int[], $5::int[],
        $6::float8[], $7::float8[], $8::float8[], $9::float8[], $10::int[], $11::int[],
        $12::int[], $13::int[])
    {only_if}
    ON CONFLICT (player_id, question_id) DO UPDATE SET topic = excluded.topic,
        phase = excluded.phase, step = excluded.step, stability = excluded.stability,
        difficulty = excluded.difficulty, due = excluded.due,
        last_review = excluded.last_review, reps = excluded.reps, lapses = excluded.lapses,
        reviews = c.reviews + excluded.reviews, recalled = c.recalled + excluded.recalled
    RETURNING 1
), reviews AS (
    INSERT INTO practice_reviews (player_id, question_id, topic, rating, source, score,
        reviewed_at)
    SELECT * FROM unnest($14::bigint[], $15::text[], $16::text[], $17::int[], $18::text[],
        $19::float8[], $20::float8[])
    {only_if}
    RETURNING 1
)"""  # noqa: S608 - the column list and the condition are ours


_SAVE_REVIEWS = f"WITH {_written()} SELECT 1"
# A slice of choices applied in one statement, its own transaction (one round trip, COMMIT
# included): the watermark moved from $21 to $22 with a compare-and-set, and only if it moved,
# the cards and reviews written and the applied feed rows deleted (identity numbers never go
# back). Every other part reads `moved`, so the UPDATE and its wait for the watermark's row
# lock come first. Returns whether the watermark moved.
_APPLY = f"""
WITH moved AS (
    UPDATE practice_watermark SET applied = $22 WHERE id = 1 AND applied = $21 RETURNING 1
), {_written("WHERE EXISTS (SELECT 1 FROM moved)")}, forgotten AS (
    DELETE FROM practice_feed WHERE seq <= $22 AND EXISTS (SELECT 1 FROM moved) RETURNING 1
)
SELECT EXISTS (SELECT 1 FROM moved)
"""  # noqa: S608 - ours

# The watermark, the newest answer, and the oldest `limit` answers past the watermark with
# what they were (an answer that is gone comes back as NULLs: it is skipped, not waited for).
# One statement, so one snapshot; the LIMIT is applied before the join.
_PENDING = """
WITH mark AS (
    SELECT applied FROM practice_watermark WHERE id = 1
), next AS (
    SELECT seq, round_id, player_id FROM practice_feed
    WHERE seq > (SELECT applied FROM mark) ORDER BY seq LIMIT $1
)
SELECT mark.applied, (SELECT max(seq) FROM practice_feed), next.seq, a.player_id,
    a.question_id, a.topic, a.correct, a.answered_at
FROM mark LEFT JOIN next ON true
LEFT JOIN answers a ON a.round_id = next.round_id AND a.player_id = next.player_id
ORDER BY next.seq
"""

# Per topic: the reviews since $2 and how many count as right (Review.recalled: a right
# choice, or an open answer the grader passed and the learner did not rate Again), and the
# lapses and number of its cards.
_TOPIC_STATS = """
WITH recent AS (
    SELECT topic, count(*) AS reviews, count(*) FILTER (WHERE rating > 1
        AND (source = 'choice' OR score >= $3)) AS recalled
    FROM practice_reviews WHERE player_id = $1 AND reviewed_at >= $2 GROUP BY topic
), held AS (
    SELECT topic, sum(lapses) AS lapses, count(*) AS cards
    FROM practice_cards WHERE player_id = $1 GROUP BY topic
)
SELECT t.topic, coalesce(r.reviews, 0), coalesce(r.recalled, 0), coalesce(h.lapses, 0),
    coalesce(h.cards, 0)
FROM (SELECT topic FROM recent UNION SELECT topic FROM held) t
LEFT JOIN recent r ON r.topic = t.topic LEFT JOIN held h ON h.topic = t.topic
ORDER BY t.topic
"""

_SAVE_SESSION = f"""
INSERT INTO practice_sessions ({convert.SESSION_COLUMNS})
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)
ON CONFLICT (id) DO UPDATE SET position = excluded.position, awaiting = excluded.awaiting,
    state = excluded.state, round_id = excluded.round_id, suggestion = excluded.suggestion,
    score = excluded.score, answered = excluded.answered, recalled = excluded.recalled,
    touched_at = excluded.touched_at, missed = excluded.missed
"""  # noqa: S608
_ONE_ACTIVE = "practice_sessions_active"  # the partial unique index: one active per player

# A plan replaces the player's old one whole: its mock offer is unclaimed again.
_SET_PLAN = f"""
INSERT INTO practice_plans ({convert.PLAN_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7)
ON CONFLICT (player_id) DO UPDATE SET platform = excluded.platform,
    chat_id = excluded.chat_id, target = excluded.target, timezone = excluded.timezone,
    topics = excluded.topics, created_at = excluded.created_at, mock_offered = NULL
"""  # noqa: S608
_SET_REMINDER = f"""
INSERT INTO practice_reminders ({convert.REMINDER_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6)
ON CONFLICT (player_id) DO UPDATE SET platform = excluded.platform,
    chat_id = excluded.chat_id, time = excluded.time, timezone = excluded.timezone,
    last_sent = excluded.last_sent
"""  # noqa: S608


def _columns(rows: Sequence[Sequence[Any]], width: int) -> list[list[Any]]:
    """Rows as `width` columns: a batch goes to PostgreSQL as one array per column."""
    out: list[list[Any]] = [[] for _ in range(width)]
    for row in rows:
        for column, value in zip(out, row, strict=True):
            column.append(value)
    return out


def _review_columns(items: Sequence[tuple[CardState, Review]]) -> list[list[Any]]:
    """The cards' new states (each counting its reviews) and the reviews, as _written's
    twenty arrays."""
    cards, reviews = convert.review_rows(items)
    return [*_columns(cards, 13), *_columns(reviews, 7)]


class PgPracticeStore:
    """The practice tables in one PostgreSQL database shared by any number of processes."""

    def __init__(self, database: PgDatabase) -> None:
        self._db = database
        self._writes = asyncio.Lock()  # this process's slices, one at a time, in order
        self._lost: int | None = None  # the end of the last slice that wrote nothing

    def __repr__(self) -> str:
        return f"PgPracticeStore({self._db!r})"

    # -- cards and reviews ------------------------------------------------------------------

    async def card(self, player_id: int, question_id: str) -> CardState | None:
        row = await self._db.fetchrow(
            _CARDS + "WHERE player_id = $1 AND question_id = $2", player_id, question_id
        )
        return convert.card(row) if row is not None else None

    async def cards(self, keys: Sequence[tuple[int, str]]) -> dict[tuple[int, str], CardState]:
        if not keys:
            return {}
        players, questions = _columns(keys, 2)
        rows = await self._db.fetch(
            _CARDS + "WHERE (player_id, question_id) IN "  # noqa: S608
            "(SELECT * FROM unnest($1::bigint[], $2::text[]))",
            players,
            questions,
        )
        return {(c.player_id, c.question_id): c for c in map(convert.card, rows)}

    async def save_review(self, card: CardState, review: Review) -> None:
        await self._db.execute(_SAVE_REVIEWS, *_review_columns([(card, review)]))

    async def note_choice(
        self, player_id: int, question_id: str, topic: str, correct: bool, at: datetime
    ) -> None:
        """Nothing to do: the answer's own INSERT fed it to practice_feed (its trigger)."""

    async def pending_choices(self, limit: int) -> PendingChoices:
        async with self._writes:  # after this process's slices already asked for
            pending = convert.pending(await self._db.fetch(_PENDING, limit))
            self._lost = None  # a fresh chain: its cards are read from the database
            return pending

    async def apply_choices(
        self, after: int, through: int, items: Sequence[tuple[CardState, Review]]
    ) -> None:
        async with self._writes:
            if after == self._lost:  # computed on top of a slice that wrote nothing
                self._lost = through
                return
            self._lost = through  # until it is written: a failure counts as writing nothing
            # the watermark's row lock first: a second writer of this slice waits for it,
            # then finds the watermark moved (READ COMMITTED re-reads the row) and writes
            # nothing; one round trip, its COMMIT included
            if await self._db.fetchval(_APPLY, *_review_columns(items), after, through):
                self._lost = None

    async def due_cards(
        self, player_id: int, now: datetime, topic: str | None, limit: int
    ) -> list[CardState]:
        return await self._by_due(player_id, "due <= $2", now, topic, limit)

    async def upcoming_cards(
        self, player_id: int, now: datetime, topic: str | None, limit: int
    ) -> list[CardState]:
        return await self._by_due(player_id, "due > $2", now, topic, limit)

    async def _by_due(
        self, player_id: int, when: str, now: datetime, topic: str | None, limit: int
    ) -> list[CardState]:
        rows = await self._db.fetch(
            _CARDS + f"WHERE player_id = $1 AND {when} "  # `when` is ours
            "AND ($3::text IS NULL OR topic = $3) ORDER BY due, question_id LIMIT $4",
            player_id,
            to_ts(now),
            topic,
            limit,
        )
        return [convert.card(r) for r in rows]

    async def carded(self, player_id: int) -> set[str]:
        rows = await self._db.fetch(
            "SELECT question_id FROM practice_cards WHERE player_id = $1", player_id
        )
        return {r[0] for r in rows}

    async def due_summary(self, player_id: int, now: datetime) -> DueSummary:
        row = await self._db.fetchrow(
            "SELECT count(*) FILTER (WHERE due <= $2), count(*), min(due) FILTER (WHERE due > $2) "
            "FROM practice_cards WHERE player_id = $1",
            player_id,
            to_ts(now),
        )
        assert row is not None  # an aggregate: always one row
        due_now, cards, upcoming = row
        return DueSummary(due_now, cards, from_ts(upcoming) if upcoming is not None else None)

    async def hardest(self, player_id: int, limit: int) -> list[CardState]:
        rows = await self._db.fetch(
            _CARDS + "WHERE player_id = $1 "
            "ORDER BY lapses DESC, coalesce(difficulty, 0) DESC, question_id LIMIT $2",
            player_id,
            limit,
        )
        return [convert.card(r) for r in rows]

    async def progress(self, player_id: int) -> list[TopicProgress]:
        rows = await self._db.fetch(
            "SELECT topic, sum(reviews), sum(recalled), count(*), count(*) FILTER "
            "(WHERE phase = 2) FROM practice_cards WHERE player_id = $1 "
            "GROUP BY topic ORDER BY topic",
            player_id,
        )
        return [TopicProgress(*r) for r in rows]

    async def topic_stats(self, player_id: int, since: datetime) -> list[TopicStats]:
        rows = await self._db.fetch(_TOPIC_STATS, player_id, to_ts(since), PASS_SCORE)
        return [TopicStats(*r) for r in rows]

    async def player_cards(self, player_id: int) -> list[CardState]:
        rows = await self._db.fetch(_CARDS + "WHERE player_id = $1 ORDER BY question_id", player_id)
        return [convert.card(r) for r in rows]

    async def reviewed_since(self, player_id: int, since: datetime) -> set[str]:
        rows = await self._db.fetch(
            "SELECT DISTINCT question_id FROM practice_reviews "
            "WHERE player_id = $1 AND reviewed_at >= $2",
            player_id,
            to_ts(since),
        )
        return {r[0] for r in rows}

    async def reviews_since(self, player_id: int, since: datetime) -> list[Review]:
        rows = await self._db.fetch(
            "SELECT player_id, question_id, topic, rating, source, reviewed_at, score "
            "FROM practice_reviews WHERE player_id = $1 AND reviewed_at >= $2 "
            "ORDER BY reviewed_at, id",
            player_id,
            to_ts(since),
        )
        return [
            Review(p, q, t, rating, Source(source), from_ts(at), score)
            for p, q, t, rating, source, at, score in rows
        ]

    # -- sessions ---------------------------------------------------------------------------

    async def save_session(self, session: Session) -> None:
        try:
            await self._db.execute(_SAVE_SESSION, *convert.session_values(session))
        except asyncpg.UniqueViolationError as exc:
            if exc.constraint_name != _ONE_ACTIVE:
                raise
            raise ValueError(f"player {session.player_id} already has an active session") from None

    async def active_session(self, player_id: int) -> Session | None:
        row = await self._db.fetchrow(
            _SESSIONS + "WHERE player_id = $1 AND state = 'active'", player_id
        )
        return convert.session(row) if row is not None else None

    async def idle_sessions(self, before: datetime, limit: int) -> list[Session]:
        rows = await self._db.fetch(
            _SESSIONS + "WHERE state = 'active' AND touched_at < $1 ORDER BY touched_at LIMIT $2",
            to_ts(before),
            limit,
        )
        return [convert.session(r) for r in rows]

    async def overdue_mocks(self, now: datetime, limit: int) -> list[Session]:
        rows = await self._db.fetch(
            _SESSIONS + "WHERE state = 'active' AND deadline IS NOT NULL AND deadline <= $1 "
            "ORDER BY deadline LIMIT $2",
            to_ts(now),
            limit,
        )
        return [convert.session(r) for r in rows]

    # -- reminders --------------------------------------------------------------------------

    async def set_reminder(self, reminder: Reminder) -> None:
        await self._db.execute(_SET_REMINDER, *convert.reminder_values(reminder))

    async def delete_reminder(self, player_id: int) -> bool:
        status = await self._db.execute(
            "DELETE FROM practice_reminders WHERE player_id = $1", player_id
        )
        return affected(status) > 0

    async def reminder(self, player_id: int) -> Reminder | None:
        row = await self._db.fetchrow(_REMINDERS + "WHERE player_id = $1", player_id)
        return convert.reminder(row) if row is not None else None

    async def reminders(self) -> list[Reminder]:
        rows = await self._db.fetch(_REMINDERS + "ORDER BY player_id")
        return [convert.reminder(r) for r in rows]

    async def claim_reminder(self, player_id: int, day: date) -> bool:
        """One process wins a day's reminder: the row's lock, then the condition again."""
        status = await self._db.execute(
            "UPDATE practice_reminders SET last_sent = $2 WHERE player_id = $1 "
            "AND (last_sent IS NULL OR last_sent < $2)",
            player_id,
            day.isoformat(),
        )
        return affected(status) > 0

    # -- interview plans --------------------------------------------------------------------

    async def set_plan(self, plan: StudyPlan) -> None:
        await self._db.execute(_SET_PLAN, *convert.plan_values(plan))

    async def plan(self, player_id: int) -> StudyPlan | None:
        row = await self._db.fetchrow(_PLANS + "WHERE player_id = $1", player_id)
        return convert.plan(row) if row is not None else None

    async def delete_plan(self, player_id: int) -> bool:
        status = await self._db.execute(
            "DELETE FROM practice_plans WHERE player_id = $1", player_id
        )
        return affected(status) > 0

    async def plans_to_offer(self, start: date, until: date) -> list[StudyPlan]:
        rows = await self._db.fetch(
            _PLANS + "WHERE target BETWEEN $1 AND $2 "
            "AND (mock_offered IS NULL OR mock_offered <> target) ORDER BY player_id",
            start.isoformat(),
            until.isoformat(),
        )
        return [convert.plan(r) for r in rows]

    async def claim_mock_offer(self, player_id: int, target: date) -> bool:
        status = await self._db.execute(
            "UPDATE practice_plans SET mock_offered = target WHERE player_id = $1 "
            "AND target = $2 AND (mock_offered IS NULL OR mock_offered <> target)",
            player_id,
            target.isoformat(),
        )
        return affected(status) > 0


def _conforms(store: PgPracticeStore) -> PracticeStore:
    return store  # mypy checks that the repository satisfies the protocol
