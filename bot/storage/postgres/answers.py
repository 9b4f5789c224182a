"""Answers on PostgreSQL with group commit: every record_answer call queues its attempt, and one
flusher task per store writes the queued attempts (up to MAX_BATCH at a time) in two round
trips (sql/0002_answer_functions.sql):

1. every attempt's AnswerContext in one query (`answer_contexts`, unnest over arrays), with
   no lock and no transaction of its own;
2. each attempt's `decide` in Python;
3. every answer in one statement, `record_answers`, which is its own transaction (its COMMIT
   travels with it): it takes pg_advisory_xact_lock per distinct player, in ascending order
   (no deadlock), reads the contexts again under them (a statement of its own, so it sees
   every answer committed while it waited), and inserts only the answers whose context is
   still the one they were scored on; the schema's `answers_maintain` trigger updates the
   boards, the player's totals, topic stats, the day's points and practice's feed in that
   same statement. Another process writing the same player waits for its lock until this
   one has committed, so neither can pass a per-player cap (points a day, a question's
   points once a week, the daily streak) on a context the other has changed;
4. each caller's outcome once its answer is committed. An answer whose context changed
   between 1 and 3 (another process wrote the same player meanwhile: rare) is scored again
   holding the locks: BEGIN and the players' locks, its context, `record_answers`, COMMIT.

A batch holding one player several times is written in chunks, each player at most once a
chunk, chunk after chunk, so every context counts the player's earlier answers in the batch
(the second answer of a person to a round finds the first: AlreadyAnswered).

Faults: a connection or server fault fails the answers not yet committed with
StorageUnavailable ("try again in a moment"); those committed were told already (a fault
while `record_answers` ran may still have committed it: then a retry finds the answer
recorded): a caller hears of success only after its answer is committed. A statement that
fails for another reason (a bug, a constraint) is retried answer by answer, so one bad answer
fails alone. The flusher never dies of a batch: the next one takes a fresh connection.
`close()` writes what is queued.
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
from bot.storage.rows.quiz import AnswerRow, answer_context, answer_values

log = logging.getLogger(__name__)

MAX_BATCH = 256  # attempts taken at a time (one record_answers call at most)
# the players' transaction locks: (PLAYER_LOCKS, player id folded into 32 bits); two players
# whose ids fold alike (4 billion apart) only share a lock

# BEGIN and the locks in one round trip, for answers scored again under their locks (the
# simple protocol takes no parameters: the keys are ints of ours, formatted in)
_BEGIN_SQL = (
    "BEGIN; SELECT count(pg_advisory_xact_lock({space}, k)) "
    "FROM (SELECT unnest('{{{keys}}}'::integer[]) AS k ORDER BY 1) AS keys"
)
_CONTEXTS_SQL = "SELECT * FROM answer_contexts($1::bigint[], $2::text[], $3::text[], $4::text[])"
# one array per answer column (ANSWER_COLUMNS' order), then the contexts they were scored on;
# returns the positions (from 1) it wrote
_RECORD_SQL = """
SELECT k FROM record_answers($1::text[], $2::bigint[], $3::text[], $4::text[], $5::text[],
    $6::text[], $7::integer[], $8::integer[], $9::double precision[], $10::double precision[],
    $11::text[], $12::text[], $13::text[], $14::text[], $15::integer[], $16::text[],
    $17::bigint[], $18::double precision[], $19::integer[], $20::text[])
"""

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
                        await self._write(conn, batch)
                        batch = []
            except BaseException as exc:
                if not connected:  # no connection (the server is down): the next batch fails
                    batch = self._take()
                _fail([p for p in batch if not p.future.done()], exc)
                if not isinstance(exc, Exception):  # cancelled: tell everyone still queued
                    rest = list(self._queue)
                    self._queue.clear()
                    _fail(rest, exc)
                    raise

    async def _write(self, conn: asyncpg.Connection, batch: list[_Pending]) -> None:
        """A batch, chunk after chunk, each caller told once its answer is committed."""
        for chunk in _chunks(batch):
            try:
                await _write_chunk(conn, chunk)
            except Exception as exc:
                if self._db.failure(exc) is not None:
                    raise
                await self._each_alone(conn, chunk, exc)

    async def _each_alone(
        self, conn: asyncpg.Connection, chunk: list[_Pending], exc: Exception
    ) -> None:
        """A chunk whose statement failed for another reason than a fault (nothing of it was
        written), answer by answer, so a bad one fails alone."""
        if len(chunk) == 1:
            _fail(chunk, exc)
            return
        log.warning("%d answers failed together (%s); writing each alone", len(chunk), exc)
        for pending in chunk:
            try:
                await _write_chunk(conn, [pending])
            except Exception as alone:
                _fail([pending], self._db.failure(alone) or alone)


def _chunks(batch: Sequence[_Pending]) -> list[list[_Pending]]:
    """The batch in chunks that hold each player at most once, in order."""
    chunks: list[list[_Pending]] = []
    seen: dict[int, int] = {}
    for pending in batch:
        n = seen.get(pending.attempt.player_id, 0)
        seen[pending.attempt.player_id] = n + 1
        if n == len(chunks):
            chunks.append([])
        chunks[n].append(pending)
    return chunks


async def _write_chunk(conn: asyncpg.Connection, chunk: Sequence[_Pending]) -> None:
    """A chunk (each player once) in two round trips; the answers whose context another
    process changed in between, again in a transaction that holds their players' locks
    first (four round trips); each caller told once its answer is committed."""
    outcomes = await _attempt(conn, chunk)
    _settle(chunk, outcomes)
    stale = [p for p, outcome in zip(chunk, outcomes, strict=True) if outcome is None]
    if not stale:
        return
    keys = ",".join(map(str, sorted({lock_key(p.attempt.player_id) for p in stale})))
    await conn.execute(_BEGIN_SQL.format(space=int(PLAYER_LOCKS), keys=keys))
    try:
        again = await _attempt(conn, stale)
        await conn.execute("COMMIT")
    except BaseException:
        if conn.is_in_transaction() and not conn.is_closed():
            with contextlib.suppress(Exception):  # the error that got us here is the one told
                await conn.execute("ROLLBACK")
        raise
    # nobody can change a context while its player's lock is held: a refusal now is a bug
    refused = RuntimeError("an answer was refused although its player's lock was held")
    _settle(stale, [_not_recorded(1, refused) if o is None else o for o in again])


async def _attempt(conn: asyncpg.Connection, chunk: Sequence[_Pending]) -> list[Outcome | None]:
    """The chunk's contexts in one query, scoring, its answers in one `record_answers` call:
    each answer's outcome, None for one that was not written because its context changed
    after it was read."""
    attempts = [p.attempt for p in chunk]
    found = await conn.fetch(
        _CONTEXTS_SQL,
        [a.player_id for a in attempts],
        [a.question_id for a in attempts],
        [a.day.isoformat() for a in attempts],
        [a.round.id for a in attempts],
    )
    contexts = {row[0] - 1: row for row in found}
    outcomes: list[Outcome | None] = [None] * len(chunk)
    rows: list[AnswerRow] = []
    seen: list[tuple[int | None, float | None, int, str | None]] = []
    written: list[tuple[int, Award]] = []
    for k, (a, pending) in enumerate(zip(attempts, chunk, strict=True)):
        row = contexts.get(k)
        if row is None:
            outcomes[k] = LookupError(f"no player {a.player_id}")
            continue
        _, today, last_scored, streak, last_daily, answered = row
        if answered:
            outcomes[k] = AlreadyAnswered()
            continue
        try:
            award = pending.decide(answer_context(today, last_scored, streak, last_daily))
        except Exception as exc:  # a bug in scoring fails this answer only
            log.exception("scoring failed for round %s", a.round.id)
            outcomes[k] = exc
            continue
        rows.append(answer_values(a, award))
        seen.append((today, last_scored, streak, last_daily))
        written.append((k, award))
    if rows:
        columns = [list(column) for column in (*zip(*rows, strict=True), *zip(*seen, strict=True))]
        recorded = {r[0] for r in await conn.fetch(_RECORD_SQL, *columns)}
        for j, (k, award) in enumerate(written, start=1):
            if j in recorded:
                outcomes[k] = award
    return outcomes


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


def _fail(pending: Sequence[_Pending], exc: BaseException) -> None:
    """Tell these callers (none of whose answers is committed) that `exc` stopped them."""
    if pending:
        failure = _not_recorded(len(pending), exc)
        _settle(pending, [failure] * len(pending))


def _settle(batch: Sequence[_Pending], outcomes: Sequence[Outcome | None]) -> None:
    """Each caller's award or error (None: not yet known; a caller who gave up waiting:
    nothing)."""
    for pending, outcome in zip(batch, outcomes, strict=True):
        if outcome is None or pending.future.done():
            continue
        if isinstance(outcome, Exception):
            pending.future.set_exception(outcome)
        else:
            pending.future.set_result(outcome)
