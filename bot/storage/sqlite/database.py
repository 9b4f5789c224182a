"""The aiosqlite Store: WAL, foreign keys, one writer connection with group commit, one reader.

Answers are queued and written by the writer connection's thread in batches (`_drain`): each
chunk of a batch is one statement and one commit, and a caller's `record_answer` returns only
after the chunk that holds its answer has committed. So a burst of answers shares a few
commits, and an acknowledged answer is never lost. Other writes share the same queue.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import sqlite3
import threading
import time
from collections import OrderedDict, deque
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar, cast

import aiosqlite

from bot.core.common.errors import AlreadyAnswered, StorageUnavailable
from bot.core.common.identity import ChatRef, Platform, UserRef
from bot.core.quiz.ports import Attempt, PlayerStats, RoundStats, Solver, TopicStat
from bot.core.quiz.rounds import Round, RoundKind
from bot.core.quiz.scoring import AnswerContext, Award, BoardRow

log = logging.getLogger(__name__)
_T = TypeVar("_T")

MAX_BATCH = 512
IDLE_LINGER = 0.02  # seconds the writer's thread waits for more work before handing back
LATER_AT_MOST = 0.25  # seconds a background write waits for a gap in the answers at most
CHECKPOINT_INTERVAL = 1.0  # seconds
# Rows here are small and an answer touches a dozen random pages, each copied whole to the
# WAL at commit: 2 KiB pages halve those bytes (and the checkpoints' copying and syncing).
# Set when a file is created; an existing file keeps its page size.
PAGE_SIZE = 2048
CHECKPOINT_PASSES = 4  # passive passes beside the writer before the catch-up with it paused
CATCH_UP_FRAMES = 256  # frames added during a pass below which another pass is not worth it
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
    folder = resources.files("bot.storage.sqlite") / "sql"
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


@dataclass
class _Unit:
    """A write other than an answer (a batch of cards, a session row, the checkpoint's last
    pass): a function of the writer's connection, run on its thread between answer batches."""

    fn: Callable[[sqlite3.Connection], Any]
    future: asyncio.Future[Any] = field(repr=False)
    queued_at: float = field(default_factory=time.monotonic)


class _Queue:
    """What the event loop hands the writer's thread: answers; units someone waits for
    (`units`: rounds, sessions, the checkpoint's last pass); background units (`later`:
    practice's card updates); a doorbell rung on each; how many callers wait for the write
    lock (`transaction`).

    The loop only appends and rings; the thread only takes (deque append and popleft are
    thread-safe).
    """

    def __init__(self) -> None:
        self.answers: deque[_Job] = deque()
        self.units: deque[_Unit] = deque()
        self.later: deque[_Unit] = deque()
        self.bell = threading.Event()
        self.waiting = False  # the thread is (about to be) waiting for the bell
        self.lock_wanted = 0
        self.closing = False

    def __bool__(self) -> bool:
        return bool(self.answers or self.units or self.later)

    def ring(self) -> None:
        """After appending: wake the thread if it waits (setting an Event takes a lock, too
        dear to do for every answer while the thread is busy anyway)."""
        if self.waiting:
            self.bell.set()

    def wait(self, timeout: float) -> None:
        """On the thread, when it found nothing queued: wait for a ring or the timeout.

        `waiting` is set before the queues are looked at again, and the loop appends before
        it looks at `waiting`, so an append either is seen here or rings the bell.
        """
        self.bell.clear()
        self.waiting = True
        if not self and not self.lock_wanted and not self.closing:
            self.bell.wait(timeout)
        self.waiting = False


def _drain(conn: sqlite3.Connection, queue: _Queue, post: Callable[..., object]) -> None:
    """On the writer's thread: write queued answers batch after batch, a queued unit between
    two batches, and background units only in gaps between answers; wait up to IDLE_LINGER
    for more when nothing is queued.

    `post` (the loop's call_soon_threadsafe) hands each outcome back as soon as it is
    committed. So under load the writer's thread never idles waiting for a busy event loop to
    come round and give it the next batch, a unit waits for at most one answer batch, and an
    answer waits for at most one unit or one small background unit (a background unit that
    found no gap for LATER_AT_MOST runs anyway). It returns when a multi-statement
    transaction wants the writer, when nothing was queued for IDLE_LINGER, or (closing) as
    soon as nothing is queued.
    """
    idle_until = time.monotonic() + IDLE_LINGER
    while not queue.lock_wanted:
        if not queue:
            now = time.monotonic()
            if queue.closing or now >= idle_until:
                return
            queue.wait(idle_until - now)
            continue
        if queue.units:
            _run(conn, queue.units.popleft(), post)
        overdue = time.monotonic() - LATER_AT_MOST
        if queue.later and (not queue.answers or queue.later[0].queued_at < overdue):
            _run(conn, queue.later.popleft(), post)
        if queue.answers:
            _write_batch(conn, queue.answers, post)
        idle_until = time.monotonic() + IDLE_LINGER


def _run(conn: sqlite3.Connection, unit: _Unit, post: Callable[..., object]) -> None:
    try:
        result = unit.fn(conn)
    except Exception as exc:
        post(_resolve, unit.future, None, exc)
    else:
        post(_resolve, unit.future, result, None)


def _write_batch(
    conn: sqlite3.Connection, answers: deque[_Job], post: Callable[..., object]
) -> None:
    """Write the next batch of queued answers and post their outcomes.

    A batch is split into chunks that hold each player at most once, so every answer's
    context (points today, streak...) already includes the same player's earlier answers in
    the batch. Each chunk's INSERT is one autocommitted statement (the trigger maintains the
    boards inside it), so an answer is acknowledged only once it and its points are committed
    together; a failing chunk fails only its own answers.
    """
    chunks: list[list[_Job]] = []
    seen_count: dict[int, int] = {}
    for _ in range(min(len(answers), MAX_BATCH)):
        job = answers.popleft()
        n = seen_count.get(job.attempt.player_id, 0)
        seen_count[job.attempt.player_id] = n + 1
        if n == len(chunks):
            chunks.append([])
        chunks[n].append(job)
    try:
        outcomes = _write_chunks(conn, chunks)
    except BaseException as exc:  # never leave a taken answer unsettled
        failure = _not_recorded(sum(map(len, chunks)), Exception(repr(exc)))
        post(_settle, chunks, [[failure] * len(chunk) for chunk in chunks])
        raise
    post(_settle, chunks, outcomes)


def _resolve(future: asyncio.Future[Any], result: Any, error: Exception | None) -> None:
    """On the event loop: a unit's outcome to its caller (unless the caller gave up)."""
    if future.done():
        return
    if error is None:
        future.set_result(result)
    else:
        future.set_exception(error)


def _settle(chunks: list[list[_Job]], outcomes: list[list[Award | Exception]]) -> None:
    """On the event loop: give every caller of a written batch its award or its error."""
    for chunk, results in zip(chunks, outcomes, strict=True):
        for job, result in zip(chunk, results, strict=True):
            if job.future.done():
                continue
            if isinstance(result, Award):
                job.future.set_result(result)
            else:
                job.future.set_exception(result)


def _rowcount(conn: sqlite3.Connection, sql: str, params: Params) -> int:
    return conn.execute(sql, params).rowcount


def _checkpoint_pass(conn: sqlite3.Connection) -> list[Any]:
    return conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()


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
        self._queue = _Queue()
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
            self._reader = await self._connect()
            self._checkpointer = await self._connect()
        except (sqlite3.Error, OSError) as exc:
            await self._close_connections()
            raise StorageUnavailable(
                f"Cannot open the database {self.path}: {exc}. Check that the file is a "
                "Stackprep database, that its folder is writable, and that no other program "
                "holds a lock on it."
            ) from exc
        self._closing = self._queue.closing = False
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
        self._queue.closing = True
        self._queue.bell.set()
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
        """Checkpoint once a second when anything was written, without stalling the writer;
        after a quiet second, give the WAL file's space back.

        The WAL file keeps its size while writes go on: cutting it back after every restart
        (journal_size_limit) made the writer extend the file again each second, and on the
        benchmark VM's ext4 that allocating held answers up to tens of milliseconds. Once
        nothing was written for a second, a TRUNCATE checkpoint empties it (the writer is
        idle, so the brief exclusive lock it takes costs nobody).
        """
        last, trimmed = -1, True
        while True:
            await asyncio.sleep(CHECKPOINT_INTERVAL)
            if self._writer is None or self._checkpointer is None:
                continue
            changes = self._writer.total_changes
            try:
                if changes != last:
                    last, trimmed = changes, False
                    await self._checkpoint(self._checkpointer)
                elif not trimmed:
                    trimmed = True
                    await self._checkpointer.execute_fetchall("PRAGMA wal_checkpoint(TRUNCATE)")
            except (sqlite3.Error, StorageUnavailable):
                log.warning("WAL checkpoint failed; will retry", exc_info=True)

    async def _checkpoint(self, checkpointer: aiosqlite.Connection) -> None:
        """Copy the WAL into the database, then let the next write start the WAL over.

        A passive checkpoint runs beside the writer and copies the frames that were there when
        it began; under steady writes the writer has added more by the time it ends, and
        SQLite starts the WAL over only after a checkpoint that left nothing behind, so the WAL
        would grow for as long as the load lasts (600 MB in 15 s at 1,000 answers/s). So
        passes repeat while the writer adds much during each, and the last one runs on the
        writer's own thread between two of its batches: it copies only what came in during
        the pass before, and the writer waits for that copy alone (measured: 1.4-10 ms at
        4,000 answers/s on the benchmark VM), not for a lock handed over through the loop.
        """
        before = -1
        for _ in range(CHECKPOINT_PASSES):
            rows = await checkpointer.execute_fetchall("PRAGMA wal_checkpoint(PASSIVE)")
            frames = int(next(iter(rows))[1])
            if 0 <= frames - before <= CATCH_UP_FRAMES:
                break
            before = frames
        await self._submit(_checkpoint_pass)

    async def _close_connections(self) -> None:
        for conn in (self._checkpointer, self._reader, self._writer):
            if conn is not None:
                await conn.close()
        self._checkpointer = self._reader = self._writer = None

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """Several writes in one transaction on the writer connection (rolled back on error)."""
        try:
            async with self._exclusive(), self._begin() as conn:
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
            return await self._submit(functools.partial(_rowcount, sql=sql, params=params))
        except sqlite3.OperationalError as exc:
            raise StorageUnavailable() from exc

    async def write_all(
        self, statements: Sequence[tuple[str, Params]], *, background: bool = False
    ) -> None:
        """Several write statements in one transaction, run as one step on the writer's thread.

        For feature stores' hot batched writes: the writer is held for the statements
        themselves, not for a round trip through the event loop after each of them.
        `background` writes (nobody waits for them; keep each small) wait for a gap in the
        answers, so that answers never queue behind them.
        """
        try:
            unit = functools.partial(_transaction, statements=statements)
            await self._submit(unit, background=background)
        except sqlite3.OperationalError as exc:
            raise StorageUnavailable() from exc

    async def _submit(
        self, fn: Callable[[sqlite3.Connection], _T], *, background: bool = False
    ) -> _T:
        """Run `fn(connection)` on the writer's thread between two answer batches; its result.

        Queued beside the answers instead of taking the write lock: under load the writer's
        thread runs it as soon as its current batch is written, without the round trips
        through the event loop that handing a lock over takes while answers wait. A
        `background` one waits for a gap in the answers (at most LATER_AT_MOST).
        """
        if self._task is None or self._task.done():
            raise StorageUnavailable("The database is not open.")
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        (self._queue.later if background else self._queue.units).append(_Unit(fn, future))
        self._queue.ring()
        self._wake.set()
        return cast(_T, await future)

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
            async with self._exclusive():
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
        if self._task is None or self._task.done() or self._closing:
            raise StorageUnavailable("The quiz is shutting down; nothing was recorded.")
        future: asyncio.Future[Award] = asyncio.get_running_loop().create_future()
        self._queue.answers.append(_Job(attempt, decide, future))
        self._queue.ring()
        self._wake.set()
        # shield: a caller that gives up still gets its answer recorded, never half-recorded
        return await asyncio.shield(future)

    async def _write_loop(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._queue:
                await self._serve_queue()
            if self._closing:
                return

    async def _serve_queue(self) -> None:
        """Let the writer's thread work through the queued answers and units (`_drain`).

        It holds the write lock meanwhile, so multi-statement transactions never interleave
        with it; it hands the lock back as soon as one asks for it (`_exclusive`).
        """
        async with self._write_lock:
            try:
                post = asyncio.get_running_loop().call_soon_threadsafe
                await self._on_writer(_drain, self._queue, post)
            except Exception as exc:  # the writer's thread itself failed (closed connection)
                batch = list(self._queue.answers)
                units = [*self._queue.units, *self._queue.later]
                for pending in (self._queue.answers, self._queue.units, self._queue.later):
                    pending.clear()
                _settle([batch], [[_not_recorded(len(batch), exc)] * len(batch)])
                for unit in units:
                    _resolve(unit.future, None, StorageUnavailable())

    @contextlib.asynccontextmanager
    async def _exclusive(self) -> AsyncIterator[None]:
        """The write lock, for several statements awaited one by one on the writer.

        Tells the writer's thread, which may be waiting for more answers while it holds the
        lock, to hand it back now.
        """
        self._queue.lock_wanted += 1
        self._queue.bell.set()
        try:
            await self._write_lock.acquire()
        finally:
            self._queue.lock_wanted -= 1
        try:
            yield
        finally:
            self._write_lock.release()

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
