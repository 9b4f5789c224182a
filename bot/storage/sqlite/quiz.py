"""The quiz's Store over a Database: players, rounds, answers with group commit, boards.

Answers go through the Database's batched path (`write_batched`): the writer's thread takes a
batch of queued answers, splits it into chunks that hold each player at most once, and hands
each chunk to `_write_chunk` here: one query for every answer's context (points today, last
scored, streak, already answered), scoring, and one INSERT of the chunk's rows, autocommitted;
the schema's trigger maintains the boards inside that statement. So an answer is acknowledged
only once it and its points are committed together, and a burst of answers shares a few
commits (measured on a 2-core VM: about 6,500 answers/s with one awaited transaction per
answer, about 40,000/s with group commit; the answer path as deployed: bench/README.md).

Boards are maintained tables (`scores`, keyed by scope, period and player), never aggregated on
read: a top-10 read costs the same at 1k or 10M answers.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Awaitable, Callable
from datetime import datetime

from bot.core.common.errors import AlreadyAnswered
from bot.core.common.identity import UserRef, clean_name
from bot.core.quiz.ports import Attempt, PlayerStats, RoundStats, Solver, Store, TopicStat
from bot.core.quiz.rounds import Round
from bot.core.quiz.scoring import AnswerContext, Award, BoardRow
from bot.storage.rows.quiz import (
    ANSWER_COLUMNS,
    PLAYER_STATS_COLUMNS,
    ROUND_COLUMNS,
    answer_context,
    answer_values,
    player_stats,
    round_of,
    round_values,
)
from bot.storage.sqlite.database import Database
from bot.storage.sqlite.players import Players
from bot.storage.sqlite.ranks import Ranks
from bot.storage.sqlite.values import from_json, from_ts, json_text, to_ts

log = logging.getLogger(__name__)

CONTEXT_SQL = """
WITH req(k, p, q, day, r) AS (
    SELECT key, json_extract(value, '$[0]'), json_extract(value, '$[1]'),
        json_extract(value, '$[2]'), json_extract(value, '$[3]') FROM json_each(?)
)
SELECT json_group_array(json_array(req.k,
    (SELECT points FROM player_days WHERE player_id = req.p AND day = req.day),
    (SELECT max(answered_at) FROM answers
      WHERE player_id = req.p AND question_id = req.q AND points > 0),
    pl.daily_streak, pl.last_daily_day,
    EXISTS (SELECT 1 FROM answers WHERE round_id = req.r AND player_id = req.p)))
FROM req JOIN players pl ON pl.id = req.p
"""
# The whole chunk's context comes back as one row (a JSON array): every result row is one
# sqlite3_step that must win the GIL back from the busy event loop, which cost 36-42 us an
# answer where the query itself takes 4-6 (bench/README.md, issue 17).
# All of a chunk's answers in one statement (rows as a JSON array): one step in C instead of a
# Python round trip, and a GIL hand-over, per row.
INSERT_ANSWERS_SQL = f"""
INSERT INTO answers ({ANSWER_COLUMNS})
SELECT
    json_extract(value, '$[0]'),
    json_extract(value, '$[1]'),
    json_extract(value, '$[2]'),
    json_extract(value, '$[3]'),
    json_extract(value, '$[4]'),
    json_extract(value, '$[5]'),
    json_extract(value, '$[6]'),
    json_extract(value, '$[7]'),
    json_extract(value, '$[8]'),
    json_extract(value, '$[9]'),
    json_extract(value, '$[10]'),
    json_extract(value, '$[11]'),
    json_extract(value, '$[12]'),
    json_extract(value, '$[13]'),
    json_extract(value, '$[14]'),
    json_extract(value, '$[15]')
FROM json_each(?) WHERE true
ON CONFLICT (round_id, player_id) DO NOTHING
"""  # noqa: S608 - the column list is ours

_Answer = tuple[Attempt, Callable[[AnswerContext], Award]]


def _write_chunk(conn: sqlite3.Connection, answers: list[_Answer]) -> list[Award | Exception]:
    """On the writer's thread: a chunk's context query, scoring and one INSERT (each player at
    most once in a chunk, so every context already counts the player's earlier answers)."""
    request = json_text(
        [[a.player_id, a.question_id, a.day.isoformat(), a.round.id] for a, _ in answers]
    )
    (found,) = conn.execute(CONTEXT_SQL, (request,)).fetchone()
    contexts = {row[0]: row for row in from_json(found)}
    results: list[Award | Exception] = []
    rows = []
    for k, (a, decide) in enumerate(answers):
        _, today, last_scored, streak, last_daily, answered = contexts[k]
        if answered:
            results.append(AlreadyAnswered())
            continue
        ctx = answer_context(today, last_scored, streak, last_daily)
        try:
            award = decide(ctx)
        except Exception as exc:  # a bug in scoring fails this answer only
            log.exception("scoring failed for round %s", a.round.id)
            results.append(exc)
            continue
        rows.append(answer_values(a, award))
        results.append(award)
    if rows:
        conn.execute(INSERT_ANSWERS_SQL, (json_text(rows),))
    return results


class SqliteQuizStore:
    """The quiz's tables, reached only through the Database's reads, writes and batches."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._players = Players(db)
        self._ranks = Ranks(db)

    def __repr__(self) -> str:
        return f"SqliteQuizStore({self._db!r})"

    @property
    def db(self) -> Database:
        """The database this store's tables live in."""
        return self._db

    # -- players ----------------------------------------------------------------------------

    async def player(self, user: UserRef, display_name: str) -> int:
        name = clean_name(display_name) or f"player {user.user_id[-4:]}"
        return await self._players.player(user, name)

    async def player_stats(self, player_id: int) -> PlayerStats:
        rows = await self._db.read(
            f"SELECT {PLAYER_STATS_COLUMNS} FROM players WHERE id = ?",  # noqa: S608
            (player_id,),
        )
        return player_stats(rows[0]) if rows else PlayerStats()

    async def topic_stats(self, player_id: int) -> list[TopicStat]:
        rows = await self._db.read(
            "SELECT topic, answered, correct FROM topic_stats WHERE player_id = ? ORDER BY topic",
            (player_id,),
        )
        return [TopicStat(t, a, c) for t, a, c in rows]

    # -- rounds -----------------------------------------------------------------------------

    async def create_round(self, rnd: Round) -> None:
        await self._db.write(
            f"INSERT INTO rounds ({ROUND_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",  # noqa: S608
            round_values(rnd),
        )

    async def get_round(self, round_id: str) -> Round | None:
        rows = await self._db.read(
            f"SELECT {ROUND_COLUMNS} FROM rounds WHERE id = ?",  # noqa: S608
            (round_id,),
        )
        return round_of(rows[0]) if rows else None

    async def retime_round(self, round_id: str, opened_at: datetime, closes_at: datetime) -> None:
        await self._db.write(
            "UPDATE rounds SET opened_at = ?, closes_at = ? WHERE id = ?",
            (to_ts(opened_at), to_ts(closes_at), round_id),
        )

    async def hint_round(self, round_id: str, at: datetime) -> None:
        await self._db.write("UPDATE rounds SET hint_at = ? WHERE id = ?", (to_ts(at), round_id))

    async def close_round(self, round_id: str, at: datetime) -> None:
        await self._db.write(
            "UPDATE rounds SET closes_at = ? WHERE id = ? AND (closes_at IS NULL OR closes_at > ?)",
            (to_ts(at), round_id, to_ts(at)),
        )

    async def last_seen(self, player_id: int, place: str) -> dict[str, datetime]:
        rows = await self._db.read(
            "SELECT question_id, seen_at FROM seen WHERE player_id = ? AND place = ?",
            (player_id, place),
        )
        return {qid: from_ts(at) for qid, at in rows}

    async def link_round(self, platform: str, ref: str, round_id: str) -> None:
        await self._db.write(
            "INSERT OR REPLACE INTO round_links (platform, ref, round_id) VALUES (?, ?, ?)",
            (platform, ref, round_id),
        )

    async def linked_round(self, platform: str, ref: str) -> str | None:
        rows = await self._db.read(
            "SELECT round_id FROM round_links WHERE platform = ? AND ref = ?", (platform, ref)
        )
        return str(rows[0][0]) if rows else None

    async def round_stats(self, round_id: str) -> RoundStats:
        rows = await self._db.read(
            "SELECT count(*), coalesce(sum(correct), 0) FROM answers WHERE round_id = ?",
            (round_id,),
        )
        fastest = await self._db.read(
            "SELECT a.player_id, p.name, a.seconds FROM answers a JOIN players p "
            "ON p.id = a.player_id WHERE a.round_id = ? AND a.correct = 1 "
            "ORDER BY a.seconds, a.player_id LIMIT 3",
            (round_id,),
        )
        return RoundStats(rows[0][0], rows[0][1], tuple(Solver(*f) for f in fastest))

    # -- answers (group commit) -------------------------------------------------------------

    def record_answer(
        self, attempt: Attempt, decide: Callable[[AnswerContext], Award]
    ) -> Awaitable[Award]:
        # the batch's awaitable itself: one coroutine less on every answer (issue 17)
        return self._db.write_batched(attempt.player_id, (attempt, decide), _write_chunk)

    # -- leaderboards -----------------------------------------------------------------------

    async def top(self, scope: str, period: str, limit: int) -> list[BoardRow]:
        rows = await self._db.read(
            "SELECT s.player_id, p.name, s.points, s.correct, s.answered FROM scores s "
            "JOIN players p ON p.id = s.player_id WHERE s.scope = ? AND s.period = ? "
            "AND s.points > 0 ORDER BY s.points DESC, s.correct DESC, s.player_id LIMIT ?",
            (scope, period, limit),
        )
        return [BoardRow(*r) for r in rows]

    async def board_entry(
        self, scope: str, period: str, player_id: int
    ) -> tuple[int, BoardRow] | None:
        rows = await self._db.read(
            "SELECT s.player_id, p.name, s.points, s.correct, s.answered, "
            "(SELECT count(*) FROM (SELECT 1 FROM scores o WHERE o.scope = s.scope "
            "AND o.period = s.period AND o.points > s.points LIMIT ?)) "
            "FROM scores s JOIN players p ON p.id = s.player_id "
            "WHERE s.scope = ? AND s.period = ? AND s.player_id = ? AND s.points > 0",
            (self._ranks.exact_above, scope, period, player_id),
        )
        if not rows:
            return None
        *row, counted = rows[0]
        above = await self._ranks.above(scope, period, row[2], counted)
        return above + 1, BoardRow(*row)


def _conforms(store: SqliteQuizStore) -> Store:
    return store  # mypy checks that the repository satisfies the protocol
