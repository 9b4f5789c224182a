"""Several processes on one PostgreSQL database, as storage sees them: one PgDatabase (its own
pool of connections) per process, in a fresh schema (tests/fakes/postgres.py), and rows made
with plain SQL where a test needs players or answers without the quiz's store."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from datetime import datetime

from bot.core.quiz.scoring import iso_week
from bot.storage.postgres import PgDatabase
from tests.fakes.postgres import fresh_schema


@contextlib.asynccontextmanager
async def processes(count: int = 2, *, max_size: int = 4) -> AsyncIterator[list[PgDatabase]]:
    """`count` opened PgDatabases on one fresh schema (each opening migrates, under the
    migration lock: the first does it)."""
    async with fresh_schema() as url:
        opened: list[PgDatabase] = []
        try:
            for _ in range(count):
                db = PgDatabase(url, min_size=1, max_size=max_size)
                await db.open()
                opened.append(db)
            yield opened
        finally:
            for db in opened:
                await db.close()


async def add_players(db: PgDatabase, count: int) -> list[int]:
    """`count` new players' ids."""
    rows = await db.fetch(
        "INSERT INTO players (name, created_at) SELECT 'p' || n, 0 "
        "FROM generate_series(1, $1) AS n RETURNING id",
        count,
    )
    return sorted(r[0] for r in rows)


async def store_answer(
    db: PgDatabase, round_id: str, player_id: int, question_id: str, correct: bool, at: datetime
) -> int:
    """A practice round and its multiple-choice answer, stored in one transaction as the quiz
    stores them (the answers trigger feeds practice_feed); the answer's feed number."""
    async with db.transaction() as conn:
        await conn.execute(
            "INSERT INTO rounds (id, question_id, platform, chat_id, kind, choice_order, "
            "opened_at) VALUES ($1, $2, 'discord', 'dm', 'practice', '0,1,2', $3)",
            round_id,
            question_id,
            at.timestamp(),
        )
        await conn.execute(
            "INSERT INTO answers (round_id, player_id, question_id, topic, kind, label, correct, "
            "points, answered_at, seconds, week, day) "
            "VALUES ($1, $2, $3, 'alpha', 'practice', 'A', $4, 0, $5, 1, $6, $7)",
            round_id,
            player_id,
            question_id,
            int(correct),
            at.timestamp(),
            iso_week(at),
            at.date().isoformat(),
        )
        seq: int = await conn.fetchval(
            "SELECT currval(pg_get_serial_sequence('practice_feed', 'seq'))"
        )
        return seq
