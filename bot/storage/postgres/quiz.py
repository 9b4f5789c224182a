"""The quiz's Store on PostgreSQL: players, rounds, answers with group commit, boards.

The same guarantees as SqliteQuizStore, for any number of processes sharing the database:
one answer per round and person (the answers' primary key); boards, player totals, topic
stats and the day's points maintained by the `answers_maintain` trigger in the answer's own
statement, never aggregated on read (a top-10 read costs the same at 1k or 10M answers); group
commit under load with per-player transaction locks, so caps hold across processes
(answers.py); players created and renamed without contention (players.py); own ranks counted
exactly near the top and from a snapshot below (ranks.py).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from bot.core.common.identity import UserRef, clean_name
from bot.core.quiz.ports import Attempt, PlayerStats, RoundStats, Solver, Store, TopicStat
from bot.core.quiz.rounds import Round
from bot.core.quiz.scoring import AnswerContext, Award, BoardRow
from bot.storage.postgres.answers import AnswerWriter
from bot.storage.postgres.database import PgDatabase
from bot.storage.postgres.players import PgPlayers
from bot.storage.postgres.ranks import PgRanks
from bot.storage.rows.quiz import (
    PLAYER_STATS_COLUMNS,
    ROUND_COLUMNS,
    player_stats,
    round_of,
    round_values,
)
from bot.storage.rows.values import from_ts, to_ts

_ROUND_INSERT = (
    f"INSERT INTO rounds ({ROUND_COLUMNS}) "  # noqa: S608 - the column list is ours
    "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
)
_ROUND_SELECT = f"SELECT {ROUND_COLUMNS} FROM rounds WHERE id = $1"  # noqa: S608
_STATS_SELECT = f"SELECT {PLAYER_STATS_COLUMNS} FROM players WHERE id = $1"  # noqa: S608
_TOP = """
SELECT s.player_id, p.name, s.points, s.correct, s.answered FROM scores s
JOIN players p ON p.id = s.player_id
WHERE s.scope = $1 AND s.period = $2 AND s.points > 0
ORDER BY s.points DESC, s.correct DESC, s.player_id LIMIT $3
"""
# the player's row, and how many are above them counted up to $1 (ranks.py takes it from
# there): the count walks scores_board from the top, at most $1 entries
_ENTRY = """
SELECT s.player_id, p.name, s.points, s.correct, s.answered,
    (SELECT count(*) FROM (SELECT 1 FROM scores o WHERE o.scope = s.scope
        AND o.period = s.period AND o.points > s.points LIMIT $1) AS above)
FROM scores s JOIN players p ON p.id = s.player_id
WHERE s.scope = $2 AND s.period = $3 AND s.player_id = $4 AND s.points > 0
"""
_ROUND_STATS = """
SELECT count(*), coalesce(sum(correct), 0),
    (SELECT coalesce(array_agg(f ORDER BY f.seconds, f.player_id), '{}') FROM (
        SELECT a.player_id, p.name, a.seconds FROM answers a JOIN players p ON p.id = a.player_id
        WHERE a.round_id = $1 AND a.correct = 1 ORDER BY a.seconds, a.player_id LIMIT 3) AS f)
FROM answers WHERE round_id = $1
"""


class PgQuizStore:
    """The quiz's tables in one PostgreSQL database, shared with other processes."""

    def __init__(self, database: PgDatabase) -> None:
        self._db = database
        self._players = PgPlayers(database)
        self._ranks = PgRanks(database)
        self._answers = AnswerWriter(database)
        database.before_close(self.close)

    def __repr__(self) -> str:
        return f"PgQuizStore({self._db!r})"

    @property
    def db(self) -> PgDatabase:
        """The database this store's tables live in."""
        return self._db

    async def close(self) -> None:
        """Write the answers still queued and the names being stored again (the database
        calls it before it closes)."""
        await self._answers.close()
        await self._players.settle()

    # -- players ----------------------------------------------------------------------------

    async def player(self, user: UserRef, display_name: str) -> int:
        name = clean_name(display_name) or f"player {user.user_id[-4:]}"
        return await self._players.player(user, name)

    async def player_stats(self, player_id: int) -> PlayerStats:
        row = await self._db.fetchrow(_STATS_SELECT, player_id)
        return player_stats(row) if row is not None else PlayerStats()

    async def topic_stats(self, player_id: int) -> list[TopicStat]:
        rows = await self._db.fetch(
            "SELECT topic, answered, correct FROM topic_stats WHERE player_id = $1 "
            'ORDER BY topic COLLATE "C"',
            player_id,
        )
        return [TopicStat(t, a, c) for t, a, c in rows]

    # -- rounds -----------------------------------------------------------------------------

    async def create_round(self, rnd: Round) -> None:
        await self._db.execute(_ROUND_INSERT, *round_values(rnd))

    async def get_round(self, round_id: str) -> Round | None:
        row = await self._db.fetchrow(_ROUND_SELECT, round_id)
        return round_of(row) if row is not None else None

    async def retime_round(self, round_id: str, opened_at: datetime, closes_at: datetime) -> None:
        await self._db.execute(
            "UPDATE rounds SET opened_at = $2, closes_at = $3 WHERE id = $1",
            round_id, to_ts(opened_at), to_ts(closes_at),
        )  # fmt: skip

    async def hint_round(self, round_id: str, at: datetime) -> None:
        await self._db.execute("UPDATE rounds SET hint_at = $2 WHERE id = $1", round_id, to_ts(at))

    async def close_round(self, round_id: str, at: datetime) -> None:
        await self._db.execute(
            "UPDATE rounds SET closes_at = $2 "
            "WHERE id = $1 AND (closes_at IS NULL OR closes_at > $2)",
            round_id, to_ts(at),
        )  # fmt: skip

    async def last_seen(self, player_id: int, place: str) -> dict[str, datetime]:
        rows = await self._db.fetch(
            "SELECT question_id, seen_at FROM seen WHERE player_id = $1 AND place = $2",
            player_id, place,
        )  # fmt: skip
        return {qid: from_ts(at) for qid, at in rows}

    async def link_round(self, platform: str, ref: str, round_id: str) -> None:
        await self._db.execute(
            "INSERT INTO round_links (platform, ref, round_id) VALUES ($1, $2, $3) "
            "ON CONFLICT (platform, ref) DO UPDATE SET round_id = excluded.round_id",
            platform, ref, round_id,
        )  # fmt: skip

    async def linked_round(self, platform: str, ref: str) -> str | None:
        found = await self._db.fetchval(
            "SELECT round_id FROM round_links WHERE platform = $1 AND ref = $2", platform, ref
        )
        return None if found is None else str(found)

    async def round_stats(self, round_id: str) -> RoundStats:
        row = await self._db.fetchrow(_ROUND_STATS, round_id)
        assert row is not None  # an aggregate always returns its row
        answered, correct, fastest = row
        return RoundStats(answered, correct, tuple(Solver(*f) for f in fastest))

    # -- answers (group commit) -------------------------------------------------------------

    async def record_answer(
        self, attempt: Attempt, decide: Callable[[AnswerContext], Award]
    ) -> Award:
        return await self._answers.record(attempt, decide)

    # -- leaderboards -----------------------------------------------------------------------

    async def top(self, scope: str, period: str, limit: int) -> list[BoardRow]:
        rows = await self._db.fetch(_TOP, scope, period, limit)
        return [BoardRow(*r) for r in rows]

    async def board_entry(
        self, scope: str, period: str, player_id: int
    ) -> tuple[int, BoardRow] | None:
        row = await self._db.fetchrow(_ENTRY, self._ranks.exact_above, scope, period, player_id)
        if row is None:
            return None
        *values, counted = row
        above = await self._ranks.above(scope, period, values[2], counted)
        return above + 1, BoardRow(*values)


def _conforms(store: PgQuizStore) -> Store:
    return store  # mypy checks that the repository satisfies the protocol
