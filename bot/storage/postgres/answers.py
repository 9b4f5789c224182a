"""Answers on PostgreSQL with group commit: every record_answer call queues its attempt, and one
flusher task per store writes all queued attempts (up to MAX_BATCH) in ONE transaction:

1. pg_advisory_xact_lock per distinct player, in sorted order (no deadlock): another process
   writing the same player waits until this transaction commits, so neither can pass a
   per-player cap (points a day, a question's points once a week, the daily streak) by
   reading the player's context before the other's answer is committed;
2. every attempt's AnswerContext in one query (unnest over arrays);
3. each attempt's `decide` in Python;
4. every answer in one INSERT (unnest again; ON CONFLICT DO NOTHING RETURNING tells which were
   answered already); the schema's `answers_maintain` trigger updates the boards, the player's
   totals, topic stats and the day's points in that same statement;
5. COMMIT, and only then each caller's outcome.

A batch holding one player several times is written in chunks of the transaction, each player
at most once a chunk, so every context counts the player's earlier answers in the batch (the
second answer of a person to a round finds the first: AlreadyAnswered).

Faults: a connection or server fault fails the whole batch with StorageUnavailable ("try again
in a moment"), and nothing of it is committed unless COMMIT itself got through (then a retry
finds the answer recorded): a caller hears of success only after its answer is committed. A
statement that fails for another reason (a bug, a constraint) is retried answer by answer, so
one bad answer fails alone. The flusher never dies of a batch: the next one takes a fresh
connection. `close()` writes what is queued.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Callable, Sequence
from typing import NamedTuple

import asyncpg

from bot.core.common.errors import AlreadyAnswered, StorageUnavailable
from bot.core.quiz.ports import Attempt
from bot.core.quiz.scoring import AnswerContext, Award
from bot.storage.postgres.database import PLAYER_LOCKS, PgDatabase
from bot.storage.rows.quiz import ANSWER_COLUMNS, AnswerRow, answer_context, answer_values

log = logging.getLogger(__name__)

MAX_BATCH = 256  # attempts in one transaction at most
# the players' transaction locks: (PLAYER_LOCKS, player id folded into 32 bits); two players
# whose ids fold alike (4 billion apart) only share a lock

# BEGIN and the locks in one round trip (the simple protocol takes no parameters: the keys
# are ints of ours, formatted in)
_BEGIN_SQL = (
    "BEGIN; SET LOCAL plan_cache_mode = force_generic_plan; "
    "SELECT count(pg_advisory_xact_lock({space}, k)) "
    "FROM (SELECT unnest('{{{keys}}}'::integer[]) AS k ORDER BY 1) AS keys"
)
_CONTEXT_SQL = """
SELECT r.k,
    (SELECT d.points FROM player_days d WHERE d.player_id = r.p AND d.day = r.day),
    (SELECT a.answered_at FROM answers a
      WHERE a.player_id = r.p AND a.question_id = r.q AND a.points > 0
      ORDER BY a.answered_at DESC LIMIT 1),
    pl.daily_streak, pl.last_daily_day,
    (SELECT true FROM answers a WHERE a.round_id = r.rid AND a.player_id = r.p LIMIT 1)
FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[])
    WITH ORDINALITY AS r(p, q, day, rid, k)
CROSS JOIN LATERAL (
    SELECT daily_streak, last_daily_day FROM players WHERE id = r.p LIMIT 1) AS pl
"""
# Every lookup is a probe of a primary key or of answers_scored_by_player_question, one per
# attempt, whatever the tables' sizes or statistics: LIMIT keeps the planner from turning a
# subquery into a join or a hashed scan of a whole table (it made EXISTS one over `answers`).
_INSERT_SQL = f"""
INSERT INTO answers ({ANSWER_COLUMNS})
SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[], $4::text[], $5::text[], $6::text[],
    $7::integer[], $8::integer[], $9::double precision[], $10::double precision[],
    $11::text[], $12::text[], $13::text[], $14::text[], $15::integer[], $16::text[])
ON CONFLICT (round_id, player_id) DO NOTHING
RETURNING round_id, player_id
"""  # noqa: S608 - the column list is ours

Decide = Callable[[AnswerContext], Award]
Outcome = Award | Exception


class _Pending(NamedTuple):
    attempt: Attempt
    decide: Decide
    future: asyncio.Future[Award]


def lock_key(player_id: int) -> int:
    """A player id folded into the signed 32 bits of an advisory lock's second key."""
    return (player_id + 2**31) % 2**32 - 2**31


class AnswerWriter:
    """The queue of attempts and its flusher task (started when answers come, ends when the
    queue is empty)."""

    def __init__(self, db: PgDatabase, max_batch: int = MAX_BATCH) -> None:
        self._db = db
        self._max = max_batch
        self._queue: deque[_Pending] = deque()
        self._flusher: asyncio.Task[None] | None = None

    async def record(self, attempt: Attempt, decide: Decide) -> Award:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Award] = loop.create_future()
        self._queue.append(_Pending(attempt, decide, future))
        if self._flusher is None or self._flusher.done():
            self._flusher = loop.create_task(self._flush(), name="answers flusher")
        return await future

    async def close(self) -> None:
        """Wait until every queued answer is written (or has failed) and its caller told."""
        while self._flusher is not None and not self._flusher.done():
            await asyncio.wait({self._flusher})

    # -- the flusher ------------------------------------------------------------------------

    def _take(self) -> list[_Pending]:
        return [self._queue.popleft() for _ in range(min(len(self._queue), self._max))]

    async def _flush(self) -> None:
        """Batch after batch on one connection while answers keep coming; a fresh connection
        after a fault; returns when the queue is empty."""
        while self._queue:
            batch: list[_Pending] = []
            connected = False
            try:
                async with self._db.connection() as conn:
                    connected = True
                    while self._queue and not conn.is_closed():
                        batch = self._take()
                        _settle(batch, await self._write(conn, batch))
                        batch = []
            except BaseException as exc:
                if not connected:  # no connection (the server is down): the next batch fails
                    batch = self._take()
                if batch:
                    _settle(batch, [_not_recorded(len(batch), exc)] * len(batch))
                if not isinstance(exc, Exception):  # cancelled: tell everyone still queued
                    rest = list(self._queue)
                    self._queue.clear()
                    _settle(rest, [_not_recorded(len(rest), exc)] * len(rest))
                    raise

    async def _write(self, conn: asyncpg.Connection, batch: list[_Pending]) -> list[Outcome]:
        """A batch in one transaction; if a statement fails for another reason than a fault,
        each answer in its own, so a bad one fails alone."""
        try:
            return await _write_batch(conn, batch)
        except Exception as exc:
            if self._db.failure(exc) is not None or len(batch) == 1:
                raise
            log.warning("%d answers failed together (%s); writing each alone", len(batch), exc)
        outcomes: list[Outcome] = []
        for pending in batch:
            try:
                outcomes += await _write_batch(conn, [pending])
            except Exception as exc:
                outcomes.append(_not_recorded(1, self._db.failure(exc) or exc))
        return outcomes


async def _write_batch(conn: asyncpg.Connection, batch: Sequence[_Pending]) -> list[Outcome]:
    """The batch's transaction: BEGIN and the players' locks, chunk after chunk, COMMIT (four
    round trips for a batch without a player twice); rolled back on any error."""
    keys = ",".join(map(str, sorted({lock_key(p.attempt.player_id) for p in batch})))
    await conn.execute(_BEGIN_SQL.format(space=int(PLAYER_LOCKS), keys=keys))
    try:
        outcomes: list[Outcome | None] = [None] * len(batch)
        for chunk in _chunks(batch):
            await _write_chunk(conn, batch, chunk, outcomes)
        await conn.execute("COMMIT")
    except BaseException:
        if conn.is_in_transaction() and not conn.is_closed():
            with contextlib.suppress(Exception):  # the error that got us here is the one told
                await conn.execute("ROLLBACK")
        raise
    return [o if o is not None else AlreadyAnswered() for o in outcomes]


def _chunks(batch: Sequence[_Pending]) -> list[list[int]]:
    """The batch's positions in chunks that hold each player at most once, in order."""
    chunks: list[list[int]] = []
    seen: dict[int, int] = {}
    for i, pending in enumerate(batch):
        n = seen.get(pending.attempt.player_id, 0)
        seen[pending.attempt.player_id] = n + 1
        if n == len(chunks):
            chunks.append([])
        chunks[n].append(i)
    return chunks


async def _write_chunk(
    conn: asyncpg.Connection,
    batch: Sequence[_Pending],
    chunk: list[int],
    outcomes: list[Outcome | None],
) -> None:
    """One query for the chunk's contexts, scoring, one INSERT of its answers."""
    attempts = [batch[i].attempt for i in chunk]
    found = await conn.fetch(
        _CONTEXT_SQL,
        [a.player_id for a in attempts],
        [a.question_id for a in attempts],
        [a.day.isoformat() for a in attempts],
        [a.round.id for a in attempts],
    )
    contexts = {row[0] - 1: row for row in found}
    rows: list[AnswerRow] = []
    written: list[tuple[int, Award]] = []
    for k, i in enumerate(chunk):
        a, row = attempts[k], contexts.get(k)
        if row is None:
            outcomes[i] = LookupError(f"no player {a.player_id}")
            continue
        _, today, last_scored, streak, last_daily, answered = row
        if answered:
            outcomes[i] = AlreadyAnswered()
            continue
        try:
            award = batch[i].decide(answer_context(today, last_scored, streak, last_daily))
        except Exception as exc:  # a bug in scoring fails this answer only
            log.exception("scoring failed for round %s", a.round.id)
            outcomes[i] = exc
            continue
        rows.append(answer_values(a, award))
        written.append((i, award))
    if not rows:
        return
    inserted = await conn.fetch(_INSERT_SQL, *(list(column) for column in zip(*rows, strict=True)))
    new = {(r[0], r[1]) for r in inserted}
    for i, award in written:
        a = batch[i].attempt
        outcomes[i] = award if (a.round.id, a.player_id) in new else AlreadyAnswered()


def _not_recorded(count: int, exc: BaseException) -> StorageUnavailable:
    """Log a failed write of `count` answers; the error each of their callers gets."""
    if isinstance(exc, StorageUnavailable):  # a fault, logged where it was told apart
        log.warning("%d answers were not recorded: %s", count, exc)
        failure = type(exc)(exc.message)
    elif not isinstance(exc, Exception):  # the flusher was cancelled (the loop is ending)
        log.warning("%d answers were not recorded: stopped before they were written", count)
        failure = StorageUnavailable()
    else:
        log.error("writing %d answers failed; none was recorded", count, exc_info=exc)
        failure = StorageUnavailable()
    failure.__cause__ = exc
    return failure


def _settle(batch: Sequence[_Pending], outcomes: Sequence[Outcome]) -> None:
    """Each caller's award or error (unless the caller gave up waiting)."""
    for pending, outcome in zip(batch, outcomes, strict=True):
        if pending.future.done():
            continue
        if isinstance(outcome, Exception):
            pending.future.set_exception(outcome)
        else:
            pending.future.set_result(outcome)
