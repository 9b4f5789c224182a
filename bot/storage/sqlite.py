"""The aiosqlite Store: WAL, foreign keys, one writer connection with group commit, one reader.

Answers are queued and written by one writer task in batches: each batch is one transaction,
and a caller's `record_answer` returns only after the batch that holds its answer has
committed. So a burst of answers shares one commit, and an acknowledged answer is never lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import sqlite3
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar, cast

import aiosqlite

from bot.core.errors import AlreadyAnswered, StorageUnavailable
from bot.core.identity import ChatRef, Platform, UserRef
from bot.core.ports import Attempt, PlayerStats, RoundStats, Solver, TopicStat
from bot.core.rounds import Round, RoundKind
from bot.core.scoring import AnswerContext, Award, BoardRow

log = logging.getLogger(__name__)
_T = TypeVar("_T")

MAX_BATCH = 512
CHECKPOINT_INTERVAL = 1.0  # seconds
# Rows here are small and an answer touches a dozen random pages, each copied whole to the
# WAL at commit: 2 KiB pages halve those bytes (and the checkpoints' copying and syncing).
# Set when a file is created; an existing file keeps its page size.
PAGE_SIZE = 2048
CHECKPOINT_PASSES = 4  # passive passes beside the writer before the catch-up with it paused
CATCH_UP_FRAMES = 256  # frames added during a pass below which another pass is not worth it
WAL_SIZE_LIMIT = 64 * 1024 * 1024  # bytes a started-over WAL file is truncated back to
_PLAYER_CACHE = 100_000

_CONTEXT_SQL = """
WITH req(k, p, q, day, r) AS (
    SELECT key, json_extract(value, '$[0]'), json_extract(value, '$[1]'),
        json_extract(value, '$[2]'), json_extract(value, '$[3]') FROM json_each(?)
)
SELECT req.k,
    (SELECT points FROM player_days WHERE player_id = req.p AND day = req.day),
    (SELECT max(answered_at) FROM answers
      WHERE player_id = req.p AND question_id = req.q AND points > 0),
    pl.daily_streak, pl.last_daily_day,
    EXISTS (SELECT 1 FROM answers WHERE round_id = req.r AND player_id = req.p)
FROM req JOIN players pl ON pl.id = req.p
"""
# All of a chunk's answers in one statement (rows as a JSON array): one step in C instead of a
# Python round trip, and a GIL hand-over, per row.
_INSERT_ANSWERS_SQL = """
INSERT INTO answers (round_id, player_id, question_id, topic, kind, label, correct, points,
    answered_at, seconds, scope1, scope2, week, day, daily_streak, daily_day)
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
"""


def _ts(moment: datetime) -> float:
    return moment.timestamp()


def _dt(value: float) -> datetime:
    return datetime.fromtimestamp(value, UTC)


def migrations() -> list[tuple[int, str]]:
    """(version, sql) of every shipped migration, in order."""
    folder = resources.files("bot.storage") / "migrations"
    found = []
    for entry in folder.iterdir():
        if entry.name.endswith(".sql") and entry.name[:4].isdigit():
            found.append((int(entry.name[:4]), entry.read_text(encoding="utf-8")))
    return sorted(found)


SCHEMA_VERSION = migrations()[-1][0]


@dataclass
class _Job:
    attempt: Attempt
    decide: Callable[[AnswerContext], Award]
    future: asyncio.Future[Award] = field(repr=False)


Params = tuple[Any, ...] | dict[str, Any]


def _transaction(conn: sqlite3.Connection, statements: Sequence[tuple[str, Params]]) -> None:
    """On the writer's thread: BEGIN IMMEDIATE, every statement, COMMIT (ROLLBACK on error)."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        for sql, params in statements:
            conn.execute(sql, params)
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def _not_recorded(count: int, exc: Exception) -> StorageUnavailable:
    """Log a failed write of `count` answers; the error each of their callers gets."""
    log.error("writing %d answers failed; none was recorded", count, exc_info=exc)
    failure = StorageUnavailable()
    failure.__cause__ = exc
    return failure


def _write_chunks(
    conn: sqlite3.Connection, chunks: list[list[_Job]]
) -> list[list[Award | Exception]]:
    """On the writer's thread: each chunk's context query, scoring and one INSERT."""
    outcomes: list[list[Award | Exception]] = []
    for chunk in chunks:
        try:
            outcomes.append(_write_chunk(conn, chunk))
        except Exception as exc:
            outcomes.append([_not_recorded(len(chunk), exc)] * len(chunk))
    return outcomes


def _write_chunk(conn: sqlite3.Connection, jobs: list[_Job]) -> list[Award | Exception]:
    request = json.dumps(
        [
            [j.attempt.player_id, j.attempt.question_id, j.attempt.day.isoformat(),
             j.attempt.round.id]
            for j in jobs
        ]
    )  # fmt: skip
    contexts = {int(k): rest for k, *rest in conn.execute(_CONTEXT_SQL, (request,))}
    results: list[Award | Exception] = []
    rows = []
    for k, job in enumerate(jobs):
        today, last_scored, streak, last_daily, answered = contexts[k]
        if answered:
            results.append(AlreadyAnswered())
            continue
        ctx = AnswerContext(
            points_today=today or 0,
            last_scored_at=_dt(last_scored) if last_scored is not None else None,
            daily_streak=streak,
            last_daily_day=date.fromisoformat(last_daily) if last_daily else None,
        )
        try:
            award = job.decide(ctx)
        except Exception as exc:  # a bug in scoring fails this answer only
            log.exception("scoring failed for round %s", job.attempt.round.id)
            results.append(exc)
            continue
        a, rnd = job.attempt, job.attempt.round
        rows.append(
            (
                rnd.id, a.player_id, a.question_id, a.topic, rnd.kind.value, a.label,
                int(award.correct), award.points, _ts(a.at),
                max(0.0, (a.at - rnd.opened_at).total_seconds()),
                a.scopes[0] if a.scopes else None,
                a.scopes[1] if len(a.scopes) > 1 else None,
                a.week, a.day.isoformat(), award.daily_streak,
                rnd.day.isoformat() if rnd.day and award.daily_streak is not None else None,
            )
        )  # fmt: skip
        results.append(award)
    if rows:
        conn.execute(_INSERT_ANSWERS_SQL, (json.dumps(rows),))
    return results


class SqliteStore:
    def __init__(self, path: Path | str, *, busy_timeout_ms: int = 5000) -> None:
        self.path = Path(path)
        self._busy_timeout_ms = busy_timeout_ms
        self._writer: aiosqlite.Connection | None = None
        self._reader: aiosqlite.Connection | None = None
        self._checkpointer: aiosqlite.Connection | None = None
        self._checkpoints: asyncio.Task[None] | None = None
        self._write_lock = asyncio.Lock()
        self._pending: list[_Job] = []
        self._wake = asyncio.Event()
        self._closing = False
        self._task: asyncio.Task[None] | None = None
        self._players: OrderedDict[tuple[str, str], tuple[int, str]] = OrderedDict()

    def __repr__(self) -> str:
        return f"SqliteStore({str(self.path)!r})"

    # -- lifecycle --------------------------------------------------------------------------

    async def open(self) -> None:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._writer = await self._connect()
            await migrate(self._writer)
            # Checkpoints move WAL pages into the database file and fsync it; on the writer
            # they would stall answers for milliseconds, so a third connection does them.
            await self._writer.execute("PRAGMA wal_autocheckpoint = 0")
            await self._writer.execute(f"PRAGMA journal_size_limit = {WAL_SIZE_LIMIT}")
            self._reader = await self._connect()
            self._checkpointer = await self._connect()
        except (sqlite3.Error, OSError) as exc:
            await self._close_connections()
            raise StorageUnavailable(
                f"Cannot open the database {self.path}: {exc}. Check that the file is a "
                "Stackprep database, that its folder is writable, and that no other program "
                "holds a lock on it."
            ) from exc
        self._closing = False
        self._task = asyncio.create_task(self._write_loop(), name="sqlite-writer")
        self._checkpoints = asyncio.create_task(self._checkpoint_loop(), name="sqlite-checkpoint")

    async def _connect(self) -> aiosqlite.Connection:
        conn = await aiosqlite.connect(self.path, isolation_level=None)
        try:
            await conn.execute(f"PRAGMA busy_timeout = {int(self._busy_timeout_ms)}")
            await conn.execute(f"PRAGMA page_size = {PAGE_SIZE}")  # new files only
            await conn.execute("PRAGMA journal_mode = WAL")
            await conn.execute("PRAGMA synchronous = NORMAL")
            await conn.execute("PRAGMA foreign_keys = ON")
        except BaseException:
            await conn.close()  # else its worker thread outlives the loop and blocks exit
            raise
        return conn

    async def close(self) -> None:
        """Finish every queued answer, then close. Safe to call twice."""
        self._closing = True
        self._wake.set()
        if self._task is not None:
            await self._task
            self._task = None
        if self._checkpoints is not None:
            self._checkpoints.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._checkpoints
            self._checkpoints = None
        if self._checkpointer is not None:
            with contextlib.suppress(sqlite3.Error):
                await self._checkpointer.execute_fetchall("PRAGMA wal_checkpoint(TRUNCATE)")
        await self._close_connections()

    async def _checkpoint_loop(self) -> None:
        """Checkpoint once a second when anything was written, without stalling the writer."""
        last = -1
        while True:
            await asyncio.sleep(CHECKPOINT_INTERVAL)
            if self._writer is None or self._checkpointer is None:
                continue
            changes = self._writer.total_changes
            if changes == last:
                continue
            last = changes
            try:
                await self._checkpoint(self._checkpointer)
            except sqlite3.Error:
                log.warning("WAL checkpoint failed; will retry", exc_info=True)

    async def _checkpoint(self, checkpointer: aiosqlite.Connection) -> None:
        """Copy the WAL into the database, then let the next write start the WAL over.

        A passive checkpoint runs beside the writer and copies the frames that were there when
        it began; under steady writes the writer has added more by the time it ends, and
        SQLite starts the WAL over only after a checkpoint that left nothing behind, so the WAL
        would grow for as long as the load lasts (600 MB in 15 s at 1,000 answers/s). So
        passes repeat while the writer adds much during each, and the last one runs with the
        writer paused: it copies only what came in during the pass before (measured: a pause
        of 1-5 ms at 1,000 answers/s, 5-22 ms at 4,000/s on the benchmark VM's disk).
        """
        before = -1
        for _ in range(CHECKPOINT_PASSES):
            rows = await checkpointer.execute_fetchall("PRAGMA wal_checkpoint(PASSIVE)")
            frames = int(next(iter(rows))[1])
            if 0 <= frames - before <= CATCH_UP_FRAMES:
                break
            before = frames
        async with self._write_lock:
            await checkpointer.execute_fetchall("PRAGMA wal_checkpoint(PASSIVE)")

    async def _close_connections(self) -> None:
        for conn in (self._checkpointer, self._reader, self._writer):
            if conn is not None:
                await conn.close()
        self._checkpointer = self._reader = self._writer = None

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """Several writes in one transaction on the writer connection (rolled back on error)."""
        try:
            async with self._write_lock, self._begin() as conn:
                yield conn
        except sqlite3.OperationalError as exc:
            raise StorageUnavailable() from exc

    @contextlib.asynccontextmanager
    async def _begin(self) -> AsyncIterator[aiosqlite.Connection]:
        """BEGIN IMMEDIATE ... COMMIT on the writer, ROLLBACK on error; caller holds the lock."""
        await self._w.execute("BEGIN IMMEDIATE")
        try:
            yield self._w
            await self._w.execute("COMMIT")
        except BaseException:
            await self._w.execute("ROLLBACK")
            raise

    @property
    def _w(self) -> aiosqlite.Connection:
        if self._writer is None:
            raise StorageUnavailable("The database is not open.")
        return self._writer

    @property
    def _r(self) -> aiosqlite.Connection:
        if self._reader is None:
            raise StorageUnavailable("The database is not open.")
        return self._reader

    async def write(self, sql: str, params: Params = ()) -> int:
        """Run one write statement on the writer connection (autocommit); return rowcount.

        Feature stores (daily, practice) built on this store use it and `read` so that all
        writes go through the one writer connection.
        """
        try:
            async with self._write_lock:
                cursor = await self._w.execute(sql, params)
                return cursor.rowcount
        except sqlite3.OperationalError as exc:
            raise StorageUnavailable() from exc

    async def write_all(self, statements: Sequence[tuple[str, Params]]) -> None:
        """Several write statements in one transaction, run as one step on the writer's thread.

        For feature stores' hot batched writes: the writer is held for the statements
        themselves, not for a round trip through the event loop after each of them.
        """
        try:
            async with self._write_lock:
                await self._on_writer(_transaction, statements)
        except sqlite3.OperationalError as exc:
            raise StorageUnavailable() from exc

    async def read(self, sql: str, params: Params = ()) -> list[Any]:
        """Run one query on the reader connection (sees committed data only)."""
        try:
            return list(await self._r.execute_fetchall(sql, params))
        except sqlite3.OperationalError as exc:
            raise StorageUnavailable() from exc

    # -- players ----------------------------------------------------------------------------

    async def player(self, user: UserRef, display_name: str) -> int:
        key = (user.platform.value, user.user_id)
        name = display_name.strip()[:64] or f"player {user.user_id[-4:]}"
        cached = self._players.get(key)
        if cached is not None and cached[1] == name:
            self._players.move_to_end(key)
            return cached[0]
        try:
            async with self._write_lock:
                rows = await self._w.execute_fetchall(
                    "SELECT player_id FROM identities WHERE platform = ? AND user_id = ?", key
                )
                if rows:
                    player_id = int(next(iter(rows))[0])
                    await self._w.execute(
                        "UPDATE players SET name = ? WHERE id = ? AND name != ?",
                        (name, player_id, name),
                    )
                else:
                    async with self._begin() as conn:
                        cursor = await conn.execute(
                            "INSERT INTO players (name, created_at) VALUES (?, ?)",
                            (name, time.time()),
                        )
                        player_id = int(cursor.lastrowid or 0)
                        await conn.execute(
                            "INSERT INTO identities (platform, user_id, player_id) "
                            "VALUES (?, ?, ?)",
                            (*key, player_id),
                        )
        except sqlite3.OperationalError as exc:
            raise StorageUnavailable() from exc
        self._players[key] = (player_id, name)
        if len(self._players) > _PLAYER_CACHE:
            self._players.popitem(last=False)
        return player_id

    async def player_stats(self, player_id: int) -> PlayerStats:
        rows = await self.read(
            "SELECT answered, correct, points, daily_streak, best_streak, last_daily_day "
            "FROM players WHERE id = ?",
            (player_id,),
        )
        if not rows:
            return PlayerStats()
        a, c, p, s, b, last = rows[0]
        return PlayerStats(a, c, p, s, b, date.fromisoformat(last) if last else None)

    async def topic_stats(self, player_id: int) -> list[TopicStat]:
        rows = await self.read(
            "SELECT topic, answered, correct FROM topic_stats WHERE player_id = ? ORDER BY topic",
            (player_id,),
        )
        return [TopicStat(t, a, c) for t, a, c in rows]

    # -- rounds -----------------------------------------------------------------------------

    async def create_round(self, rnd: Round) -> None:
        await self.write(
            "INSERT INTO rounds (id, question_id, platform, chat_id, community_id, kind, "
            "choice_order, opened_at, closes_at, asked_by, day) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
            (
                rnd.id, rnd.question_id, rnd.chat.platform.value, rnd.chat.chat_id,
                rnd.chat.community_id, rnd.kind.value, ",".join(map(str, rnd.order)),
                _ts(rnd.opened_at), _ts(rnd.closes_at) if rnd.closes_at else None,
                rnd.asked_by, rnd.day.isoformat() if rnd.day else None,
            ),
        )  # fmt: skip

    async def get_round(self, round_id: str) -> Round | None:
        rows = await self.read(
            "SELECT id, question_id, platform, chat_id, community_id, kind, choice_order, "
            "opened_at, closes_at, asked_by, day FROM rounds WHERE id = ?",
            (round_id,),
        )
        if not rows:
            return None
        rid, qid, platform, chat_id, community, kind, order, opened, closes, asker, day = rows[0]
        return Round(
            id=rid, question_id=qid, chat=ChatRef(Platform(platform), chat_id, community),
            kind=RoundKind(kind), order=tuple(int(i) for i in order.split(",")),
            opened_at=_dt(opened), closes_at=_dt(closes) if closes is not None else None,
            asked_by=asker, day=date.fromisoformat(day) if day else None,
        )  # fmt: skip

    async def last_seen(self, player_id: int, place: str) -> dict[str, datetime]:
        rows = await self.read(
            "SELECT question_id, seen_at FROM seen WHERE player_id = ? AND place = ?",
            (player_id, place),
        )
        return {qid: _dt(at) for qid, at in rows}

    async def link_round(self, platform: str, ref: str, round_id: str) -> None:
        await self.write(
            "INSERT OR REPLACE INTO round_links (platform, ref, round_id) VALUES (?, ?, ?)",
            (platform, ref, round_id),
        )

    async def linked_round(self, platform: str, ref: str) -> str | None:
        rows = await self.read(
            "SELECT round_id FROM round_links WHERE platform = ? AND ref = ?", (platform, ref)
        )
        return str(rows[0][0]) if rows else None

    async def round_stats(self, round_id: str) -> RoundStats:
        rows = await self.read(
            "SELECT count(*), coalesce(sum(correct), 0) FROM answers WHERE round_id = ?",
            (round_id,),
        )
        fastest = await self.read(
            "SELECT a.player_id, p.name, a.seconds FROM answers a JOIN players p "
            "ON p.id = a.player_id WHERE a.round_id = ? AND a.correct = 1 "
            "ORDER BY a.seconds, a.player_id LIMIT 3",
            (round_id,),
        )
        return RoundStats(rows[0][0], rows[0][1], tuple(Solver(*f) for f in fastest))

    # -- answers (group commit) -------------------------------------------------------------

    async def record_answer(
        self, attempt: Attempt, decide: Callable[[AnswerContext], Award]
    ) -> Award:
        if self._task is None or self._closing:
            raise StorageUnavailable("The quiz is shutting down; nothing was recorded.")
        future: asyncio.Future[Award] = asyncio.get_running_loop().create_future()
        self._pending.append(_Job(attempt, decide, future))
        self._wake.set()
        # shield: a caller that gives up still gets its answer recorded, never half-recorded
        return await asyncio.shield(future)

    async def _write_loop(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._pending:
                batch, self._pending = self._pending[:MAX_BATCH], self._pending[MAX_BATCH:]
                await self._write_batch(batch)
            if self._closing:
                return

    async def _write_batch(self, batch: list[_Job]) -> None:
        """Write a batch in one step on the writer's thread; then settle every caller.

        The batch is split into chunks that hold each player at most once, so every answer's
        context (points today, streak...) already includes the same player's earlier answers
        in the batch. Each chunk's INSERT is one autocommitted statement (the trigger maintains
        the boards inside it), so an answer is acknowledged only once it and its points are
        committed together; a failing chunk fails only its own answers.
        """
        chunks: list[list[_Job]] = []
        seen_count: dict[int, int] = {}
        for job in batch:
            n = seen_count.get(job.attempt.player_id, 0)
            seen_count[job.attempt.player_id] = n + 1
            if n == len(chunks):
                chunks.append([])
            chunks[n].append(job)
        async with self._write_lock:
            try:
                outcomes = await self._on_writer(_write_chunks, chunks)
            except Exception as exc:  # the writer's thread itself failed (closed connection)
                failure = _not_recorded(len(batch), exc)
                outcomes = [[failure] * len(chunk) for chunk in chunks]
        for chunk, results in zip(chunks, outcomes, strict=True):
            for job, result in zip(chunk, results, strict=True):
                if job.future.done():
                    continue
                if isinstance(result, Award):
                    job.future.set_result(result)
                else:
                    job.future.set_exception(result)

    async def _on_writer(self, fn: Callable[..., _T], *args: Any) -> _T:
        """Run `fn(sqlite3_connection, *args)` on the writer connection's thread, in one step.

        Each aiosqlite call is a round trip through the event loop (and a GIL hand-over); a
        unit of several statements done call by call waits for the loop between them while
        holding the writer. aiosqlite runs arbitrary functions on its thread only through
        `Connection._execute`, so this is the one place that uses it (aiosqlite is pinned in
        uv.lock; the store's tests run every path through here).
        """
        conn = self._w
        execute = cast(Callable[..., Awaitable[_T]], conn._execute)
        return await execute(fn, conn._conn, *args)

    # -- leaderboards -----------------------------------------------------------------------

    async def top(self, scope: str, period: str, limit: int) -> list[BoardRow]:
        rows = await self.read(
            "SELECT s.player_id, p.name, s.points, s.correct, s.answered FROM scores s "
            "JOIN players p ON p.id = s.player_id WHERE s.scope = ? AND s.period = ? "
            "AND s.points > 0 ORDER BY s.points DESC, s.correct DESC, s.player_id LIMIT ?",
            (scope, period, limit),
        )
        return [BoardRow(*r) for r in rows]

    async def board_entry(
        self, scope: str, period: str, player_id: int
    ) -> tuple[int, BoardRow] | None:
        rows = await self.read(
            "SELECT s.player_id, p.name, s.points, s.correct, s.answered, "
            "(SELECT count(*) FROM scores o WHERE o.scope = s.scope AND o.period = s.period "
            "AND o.points > s.points) + 1 "
            "FROM scores s JOIN players p ON p.id = s.player_id "
            "WHERE s.scope = ? AND s.period = ? AND s.player_id = ? AND s.points > 0",
            (scope, period, player_id),
        )
        if not rows:
            return None
        *row, rank = rows[0]
        return rank, BoardRow(*row)


async def migrate(conn: aiosqlite.Connection) -> int:
    """Apply every migration newer than the file's `user_version`; return the version."""
    rows = await conn.execute_fetchall("PRAGMA user_version")
    current = int(next(iter(rows))[0])
    if current > SCHEMA_VERSION:
        raise sqlite3.DatabaseError(
            f"the database has schema version {current}, newer than this Stackprep "
            f"({SCHEMA_VERSION}); upgrade Stackprep"
        )
    for version, sql in migrations():
        if version <= current:
            continue
        try:
            await conn.executescript(
                f"BEGIN IMMEDIATE;\n{sql}\nPRAGMA user_version = {version};\nCOMMIT;"
            )
        except sqlite3.Error:
            if conn.in_transaction:
                await conn.execute("ROLLBACK")
            raise
        log.info("database migrated to schema version %d", version)
        current = version
    return current


async def backup(source: Path, target: Path) -> None:
    """Copy a live database with SQLite's online backup API (safe while the bot runs)."""
    if not await asyncio.to_thread(source.exists):
        raise StorageUnavailable(f"There is no database at {source}.")
    await asyncio.to_thread(target.parent.mkdir, parents=True, exist_ok=True)
    async with aiosqlite.connect(source) as src, aiosqlite.connect(target) as dst:
        await src.backup(dst)
