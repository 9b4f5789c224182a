"""The SQLite database: connections, pragmas, the writer's queue, checkpoints.

One writer connection (every write goes through its queue, bot/storage/sqlite/writer.py), one
reader (sees committed data only; WAL lets it read while the writer writes), and a third
connection that only checkpoints. The repositories (quiz, daily, practice) hold a Database and
use its `read`, `write`, `write_all`, `transaction` and `write_batched`; none opens a
connection of its own. Pragmas on every connection: WAL, `synchronous` by `[database]
durability` (NORMAL by default: in WAL mode a commit is not synced, so a crash of the bot
loses nothing, while a power cut or an OS crash may lose the last commits before a
checkpoint, never the file's consistency; FULL syncs the WAL at every commit), foreign keys,
a busy timeout.

At open, before anything is written: the file must be ours (bot/storage/sqlite/migrations.py)
and pass `PRAGMA quick_check`, else it is refused with what to do. Errors are told apart
(bot/storage/sqlite/health.py): a lock is "busy, try again", a full disk or a file that
cannot be written says so, and each kind is logged at most once a minute.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import sqlite3
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable, Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar, cast

import aiosqlite

from bot.core.common.errors import StorageUnavailable
from bot.core.common.metrics import NO_METRICS, Metrics
from bot.storage.sqlite.health import (
    FaultLog,
    ProcessLock,
    damaged,
    is_fault,
    kind_of,
    primary_code,
    problems,
    user_error,
)
from bot.storage.sqlite.migrations import Refused, identify, migrate
from bot.storage.sqlite.values import Params
from bot.storage.sqlite.writer import Writer, until_unlocked

log = logging.getLogger(__name__)
_I = TypeVar("_I")
_R = TypeVar("_R")
_Chunk = Callable[[sqlite3.Connection, list[Any]], list[Any]]  # built once, not per answer

# Seconds between checkpoints while anything is written. Each one syncs what the commits
# since the last one wrote (NORMAL syncs only here): at 4,000 answers/s a second's WAL is about
# 80 MB, and while its sync ran the writer's commits took 10-40 ms instead of 1; a quarter of
# a second's share took the answers' p99 at 4,000/s from 30-45 ms to 12-27 ms (bench/README.md,
# "Session 9: a checkpoint every quarter second").
CHECKPOINT_INTERVAL = 0.25
TRIM_AFTER = 1.0  # seconds without writes before the WAL file's space is given back
# Rows here are small and an answer touches a dozen random pages, each copied whole to the
# WAL at commit: 2 KiB pages halve those bytes (and the checkpoints' copying and syncing).
# Set when a file is created; an existing file keeps its page size.
PAGE_SIZE = 2048
CHECKPOINT_PASSES = 4  # passive passes beside the writer before the catch-up with it paused
CATCH_UP_FRAMES = 256  # frames added during a pass below which another pass is not worth it
# `[database] durability` -> PRAGMA synchronous. In WAL mode NORMAL syncs only at checkpoints:
# a process crash loses nothing, a power loss or OS crash the last commits; FULL syncs the WAL
# at every commit (group commit shares one sync among a batch; bench/foundation.py durability).
SYNCHRONOUS = {"normal": "NORMAL", "full": "FULL"}


def backups_of(path: Path) -> Path:
    """Where the scheduled backups of the database at `path` go: `backups/` beside it."""
    return path.parent / "backups"


def _transaction(conn: sqlite3.Connection, statements: Sequence[tuple[str, Params]]) -> None:
    """On the writer's thread: BEGIN IMMEDIATE, every statement, COMMIT (ROLLBACK on error)."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        for sql, params in statements:
            conn.execute(sql, params)
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:  # a full disk or an I/O error may have rolled it back already
            conn.execute("ROLLBACK")
        raise


def _in_transaction(conn: sqlite3.Connection, fn: Callable[[sqlite3.Connection], _R]) -> _R:
    """On the writer's thread: `fn(conn)` between BEGIN IMMEDIATE and COMMIT (ROLLBACK on
    error)."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        result = fn(conn)
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    return result


def _rowcount(conn: sqlite3.Connection, sql: str, params: Params) -> int:
    return conn.execute(sql, params).rowcount


def _checkpoint_pass(conn: sqlite3.Connection) -> list[Any]:
    return conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()


class Database:
    """One SQLite file: open() connects and migrates it, close() finishes every queued write."""

    def __init__(
        self,
        path: Path | str,
        *,
        busy_timeout_ms: int = 5000,
        durability: str = "normal",
        metrics: Metrics = NO_METRICS,
    ) -> None:
        if durability not in SYNCHRONOUS:
            raise ValueError(f"durability must be one of {', '.join(SYNCHRONOUS)}")
        self.path = Path(path)
        self._busy_timeout_ms = busy_timeout_ms
        self.durability = durability
        self._faults = FaultLog(self.path)
        self._lock = ProcessLock(self.path)
        self._guards: dict[Callable[..., Any], Callable[..., Any]] = {}
        self._writer: aiosqlite.Connection | None = None
        self._reader: aiosqlite.Connection | None = None
        self._checkpointer: aiosqlite.Connection | None = None
        self._checkpoints: asyncio.Task[None] | None = None
        self._writes = Writer()
        self._metrics = metrics  # checkpoint durations; the writer's queue depth on collection
        metrics.writer_queue(self._writes.depth)

    def __repr__(self) -> str:
        return f"Database({str(self.path)!r})"

    # -- lifecycle --------------------------------------------------------------------------

    async def open(self) -> None:
        """Connect, refuse a file that is not ours or is damaged (before writing anything to
        it), migrate; raises StorageUnavailable with the path and what to do."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            if not await asyncio.to_thread(self._lock.acquire, exclusive=False):
                raise StorageUnavailable(
                    f"The database {self.path} is being restored (`stackprep db restore`); "
                    "start again once that has finished."
                )
            self._writer = await self._connect(configure=False)
            await identify(self._writer)  # reads only: a foreign file is left as it was
            await self._check(self._writer)
            await self._configure(self._writer)
            await migrate(self._writer)
            # Checkpoints move WAL pages into the database file and fsync it; on the writer
            # they would stall answers for milliseconds, so a third connection does them.
            await self._writer.execute("PRAGMA wal_autocheckpoint = 0")
            self._reader = await self._connect()
            self._checkpointer = await self._connect()
        except Refused as exc:
            await self._close_connections()
            raise StorageUnavailable(f"Cannot use the database {self.path}: {exc}") from exc
        except (sqlite3.Error, OSError, StorageUnavailable) as exc:
            await self._close_connections()
            if isinstance(exc, StorageUnavailable):
                raise
            raise StorageUnavailable(self._cannot_open(exc)) from exc
        except BaseException:  # cancelled (e.g. a signal during a long quick_check), or a bug
            await asyncio.shield(self._close_connections())  # the lock file goes with them
            raise
        self._writes.start(self._writer)
        self._checkpoints = asyncio.create_task(self._checkpoint_loop(), name="sqlite-checkpoint")

    async def _check(self, conn: aiosqlite.Connection) -> None:
        """PRAGMA quick_check before the first write: a damaged file is refused, not written
        to (for 1M answers, 0.5-0.8 s with the file cached, 4-5 s cold: bench/backup.py)."""
        found = await problems(conn)
        if found:
            raise StorageUnavailable(damaged(self.path, found))

    def _cannot_open(self, exc: BaseException) -> str:
        """One line for an operator: why the database cannot be opened, and what to do."""
        code = primary_code(exc)
        where = f"The database {self.path}"
        if code == sqlite3.SQLITE_NOTADB:
            return (
                f"{where} is not a SQLite database. Set [database] path to a Stackprep "
                "database, or to a new file to start afresh."
            )
        if code == sqlite3.SQLITE_CORRUPT:
            return damaged(self.path, [str(exc)])
        if code == sqlite3.SQLITE_FULL:
            return f"{where} cannot be opened: the disk is full. Free some space and start again."
        if code in (sqlite3.SQLITE_READONLY, sqlite3.SQLITE_PERM, sqlite3.SQLITE_CANTOPEN):
            return (
                f"{where} cannot be opened for writing ({exc}). Stackprep needs to write the "
                "file and create files beside it: check the permissions and owner of the file "
                "and its folder, and that the disk is not mounted read-only."
            )
        if kind_of(exc) == "busy":
            return (
                f"{where} is locked by another program ({exc}); close it (an sqlite3 shell, "
                "a long backup) and start again."
            )
        if isinstance(exc, OSError):
            return f"Cannot open the database {self.path}: {exc.strerror or exc}."
        return (
            f"Cannot open the database {self.path}: {exc}. Check that the file is a "
            "Stackprep database, that its folder is writable, and that no other program "
            "holds a lock on it."
        )

    async def _connect(self, *, configure: bool = True) -> aiosqlite.Connection:
        conn = await aiosqlite.connect(self.path, isolation_level=None)
        try:
            await conn.execute(f"PRAGMA busy_timeout = {int(self._busy_timeout_ms)}")
            if configure:
                await self._configure(conn)
        except BaseException:
            await conn.close()  # else its worker thread outlives the loop and blocks exit
            raise
        return conn

    async def _configure(self, conn: aiosqlite.Connection) -> None:
        """The pragmas that may write (page size and WAL mark a new file's header)."""
        await conn.execute(f"PRAGMA page_size = {PAGE_SIZE}")  # new files only
        await conn.execute("PRAGMA journal_mode = WAL")
        await conn.execute(f"PRAGMA synchronous = {SYNCHRONOUS[self.durability]}")
        await conn.execute("PRAGMA foreign_keys = ON")

    def recent_fault(self) -> str | None:
        """A fault of the file seen in the last minute (disk full, read-only, I/O error,
        damage), for /healthz: reads may still answer while every write fails."""
        return self._faults.recent()

    async def close(self) -> None:
        """Finish every queued write, then close. Safe to call twice."""
        if self._checkpoints is not None:  # first: a pass must not reach a stopped writer
            self._checkpoints.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._checkpoints
            self._checkpoints = None
        await self._writes.stop()
        if self._checkpointer is not None:
            with contextlib.suppress(sqlite3.Error):
                await self._checkpointer.execute_fetchall("PRAGMA wal_checkpoint(TRUNCATE)")
        await self._close_connections()

    async def _close_connections(self) -> None:
        for conn in (self._checkpointer, self._reader, self._writer):
            if conn is not None:
                with contextlib.suppress(sqlite3.Error):  # e.g. a failing disk: close anyway
                    await conn.close()
        self._checkpointer = self._reader = self._writer = None
        self._lock.release()

    # -- checkpoints ------------------------------------------------------------------------

    async def _checkpoint_loop(self) -> None:
        """Checkpoint every CHECKPOINT_INTERVAL while anything is written, without stalling
        the writer; after TRIM_AFTER without writes, give the WAL file's space back.

        The WAL file keeps its size while writes go on: cutting it back after every restart
        (journal_size_limit) made the writer extend the file again each second, and on the
        benchmark VM's ext4 that allocating held answers up to tens of milliseconds. Once
        nothing was written for a second, a TRUNCATE checkpoint empties it (the writer is
        idle, so the brief exclusive lock it takes costs nobody).
        """
        last, trimmed, quiet_since = -1, True, 0.0
        while True:
            await asyncio.sleep(CHECKPOINT_INTERVAL)
            if self._writer is None or self._checkpointer is None:
                continue
            changes = self._writer.total_changes
            try:
                if changes != last:
                    last, trimmed = changes, False
                    started = time.perf_counter()
                    await self._checkpoint(self._checkpointer)
                    self._metrics.checkpoint(time.perf_counter() - started)
                    quiet_since = time.monotonic()
                elif not trimmed and time.monotonic() - quiet_since >= TRIM_AFTER:
                    trimmed = True
                    await self._checkpointer.execute_fetchall("PRAGMA wal_checkpoint(TRUNCATE)")
            except (sqlite3.Error, StorageUnavailable) as exc:  # once a minute at most
                self._faults.report(exc.__cause__ or exc, doing="a WAL checkpoint (will retry)")

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
        await self._writes.submit(_checkpoint_pass)

    # -- reads and writes -------------------------------------------------------------------

    async def read(self, sql: str, params: Params = ()) -> list[Any]:
        """Run one query on the reader connection (sees committed data only)."""
        if self._reader is None:
            raise StorageUnavailable("The database is not open.")
        with self._told("a read"):
            return list(await self._reader.execute_fetchall(sql, params))

    async def write(self, sql: str, params: Params = ()) -> int:
        """Run one write statement on the writer connection (autocommit); return rowcount."""
        with self._told():
            return await self._writes.submit(functools.partial(_rowcount, sql=sql, params=params))

    async def write_all(
        self, statements: Sequence[tuple[str, Params]], *, background: bool = False
    ) -> None:
        """Several write statements in one transaction, run as one step on the writer's thread.

        For hot batched writes: the writer is held for the statements themselves, not for a
        round trip through the event loop after each of them. `background` writes (nobody
        waits for them; keep each small) wait for a gap in the answers, so that answers never
        queue behind them.
        """
        with self._told():
            unit = functools.partial(_transaction, statements=statements)
            await self._writes.submit(unit, background=background)

    async def write_with(self, fn: Callable[[sqlite3.Connection], _R]) -> _R:
        """`fn(connection)` in one transaction on the writer's thread, queued between batches
        like `write_all` (no write lock taken, no round trip through the event loop between
        its statements); its result. For a few statements whose later ones depend on the
        earlier ones' results (a new player's rows)."""
        with self._told():
            return await self._writes.submit(functools.partial(_in_transaction, fn=fn))

    def write_batched(
        self,
        key: Hashable,
        item: _I,
        write_chunk: Callable[[sqlite3.Connection, list[_I]], list[_R | Exception]],
    ) -> Awaitable[_R]:
        """Group commit: queue `item` for the writer's batched path; its result once the chunk
        that holds it has committed (the quiz's answers).

        The writer's thread takes up to MAX_BATCH queued items at a time, splits them into
        chunks that hold each `key` at most once, and calls `write_chunk(connection, items)`
        for each chunk; it returns each item's result, or the Exception its caller gets.
        Raises StorageUnavailable once the database is closing (nothing was written then).
        A chunk that fails because of the disk or the file (full, read-only, I/O error,
        damaged) fails its items with StorageFull or StorageFailed, logged once a minute at
        most; a lock is left to the writer, which tries the chunk again.
        """
        write = cast(_Chunk, write_chunk)
        return cast("Awaitable[_R]", self._writes.batched(key, item, self._guarded(write)))

    def _guarded(self, write_chunk: _Chunk) -> _Chunk:
        """`write_chunk`, with a fault of the disk or the file turned into each item's error
        instead of a traceback per chunk. One wrapper per chunk function: the writer groups a
        chunk by function, so a new wrapper per item would split every batch."""
        known = self._guards.get(write_chunk)
        if known is not None:
            return known

        def guarded(conn: sqlite3.Connection, items: list[Any]) -> list[Any]:
            try:
                return write_chunk(conn, items)
            except sqlite3.DatabaseError as exc:
                if not is_fault(exc) or kind_of(exc) in ("busy", "other"):
                    raise  # a lock: the writer tries again; a bug: the writer logs it
                doing = f"writing {len(items)} answers"
                return [self._failure(exc, doing) for _ in items]

        self._guards[write_chunk] = guarded
        return guarded

    @contextlib.contextmanager
    def _told(self, doing: str = "a write") -> Iterator[None]:
        """SQLite failing (a lock, the disk, the file) becomes the StorageUnavailable its
        caller can show; a constraint or a bug goes on as it is."""
        try:
            yield
        except sqlite3.DatabaseError as exc:
            if not is_fault(exc):
                raise
            raise self._failure(exc, doing) from exc

    def _failure(self, exc: sqlite3.DatabaseError, doing: str = "a write") -> StorageUnavailable:
        """The error a caller gets for a fault: a lock is "busy, try again"; a full disk or a
        file that cannot be written says so (logged once a minute at most)."""
        kind = kind_of(exc)
        if kind != "busy":
            self._faults.report(exc, doing=doing)
        failure = user_error(kind)
        failure.__cause__ = exc
        return failure

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """Several writes in one transaction on the writer connection (rolled back on error).

        It takes the write lock, so keep it short: batched writes and units wait meanwhile.
        """
        with self._told():
            async with self._writes.exclusive(), self._begin() as conn:
                yield conn

    @contextlib.asynccontextmanager
    async def _begin(self) -> AsyncIterator[aiosqlite.Connection]:
        """BEGIN IMMEDIATE ... COMMIT on the writer, ROLLBACK on error; caller holds the lock."""
        if self._writer is None:
            raise StorageUnavailable("The database is not open.")
        conn = self._writer
        # another program holding the lock: wait and try again, as the writer's thread does
        await until_unlocked(lambda: conn.execute("BEGIN IMMEDIATE"))
        try:
            yield conn
        except BaseException:
            if conn.in_transaction:  # a full disk or an I/O error may have rolled it back
                await conn.execute("ROLLBACK")
            raise
        # The COMMIT runs on aiosqlite's thread whatever happens to this task: a cancellation
        # while it runs must neither queue a ROLLBACK behind it nor hide whether it committed.
        commit = asyncio.ensure_future(conn.execute("COMMIT"))
        try:
            await asyncio.shield(commit)
        except asyncio.CancelledError:
            with contextlib.suppress(Exception):
                await commit
            raise
        except BaseException:
            if conn.in_transaction:
                await conn.execute("ROLLBACK")
            raise
