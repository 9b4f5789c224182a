"""The SQLite database: connections, pragmas, the writer's queue, checkpoints.

One writer connection (every write goes through its queue, bot/storage/sqlite/writer.py), one
reader (sees committed data only; WAL lets it read while the writer writes), and a third
connection that only checkpoints. The repositories (quiz, daily, practice) hold a Database and
use its `read`, `write`, `write_all`, `transaction` and `write_batched`; none opens a
connection of its own. Pragmas on every connection: WAL, synchronous=NORMAL (in WAL mode a
commit is not synced: a crash of the bot loses nothing, a power cut at most the last commits
before a checkpoint, never the file's consistency), foreign keys, a busy timeout.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import sqlite3
from collections.abc import AsyncIterator, Callable, Hashable, Sequence
from pathlib import Path
from typing import Any, TypeVar, cast

import aiosqlite

from bot.core.common.errors import StorageUnavailable
from bot.storage.sqlite.migrations import migrate
from bot.storage.sqlite.values import Params
from bot.storage.sqlite.writer import Writer

log = logging.getLogger(__name__)
_I = TypeVar("_I")
_R = TypeVar("_R")

CHECKPOINT_INTERVAL = 1.0  # seconds
# Rows here are small and an answer touches a dozen random pages, each copied whole to the
# WAL at commit: 2 KiB pages halve those bytes (and the checkpoints' copying and syncing).
# Set when a file is created; an existing file keeps its page size.
PAGE_SIZE = 2048
CHECKPOINT_PASSES = 4  # passive passes beside the writer before the catch-up with it paused
CATCH_UP_FRAMES = 256  # frames added during a pass below which another pass is not worth it


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


def _rowcount(conn: sqlite3.Connection, sql: str, params: Params) -> int:
    return conn.execute(sql, params).rowcount


def _checkpoint_pass(conn: sqlite3.Connection) -> list[Any]:
    return conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()


class Database:
    """One SQLite file: open() connects and migrates it, close() finishes every queued write."""

    def __init__(self, path: Path | str, *, busy_timeout_ms: int = 5000) -> None:
        self.path = Path(path)
        self._busy_timeout_ms = busy_timeout_ms
        self._writer: aiosqlite.Connection | None = None
        self._reader: aiosqlite.Connection | None = None
        self._checkpointer: aiosqlite.Connection | None = None
        self._checkpoints: asyncio.Task[None] | None = None
        self._writes = Writer()

    def __repr__(self) -> str:
        return f"Database({str(self.path)!r})"

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
        self._writes.start(self._writer)
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
        """Finish every queued write, then close. Safe to call twice."""
        await self._writes.stop()
        if self._checkpoints is not None:
            self._checkpoints.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._checkpoints
            self._checkpoints = None
        if self._checkpointer is not None:
            with contextlib.suppress(sqlite3.Error):
                await self._checkpointer.execute_fetchall("PRAGMA wal_checkpoint(TRUNCATE)")
        await self._close_connections()

    async def _close_connections(self) -> None:
        for conn in (self._checkpointer, self._reader, self._writer):
            if conn is not None:
                await conn.close()
        self._checkpointer = self._reader = self._writer = None

    # -- checkpoints ------------------------------------------------------------------------

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
        await self._writes.submit(_checkpoint_pass)

    # -- reads and writes -------------------------------------------------------------------

    async def read(self, sql: str, params: Params = ()) -> list[Any]:
        """Run one query on the reader connection (sees committed data only)."""
        if self._reader is None:
            raise StorageUnavailable("The database is not open.")
        try:
            return list(await self._reader.execute_fetchall(sql, params))
        except sqlite3.OperationalError as exc:
            raise StorageUnavailable() from exc

    async def write(self, sql: str, params: Params = ()) -> int:
        """Run one write statement on the writer connection (autocommit); return rowcount."""
        try:
            return await self._writes.submit(functools.partial(_rowcount, sql=sql, params=params))
        except sqlite3.OperationalError as exc:
            raise StorageUnavailable() from exc

    async def write_all(
        self, statements: Sequence[tuple[str, Params]], *, background: bool = False
    ) -> None:
        """Several write statements in one transaction, run as one step on the writer's thread.

        For hot batched writes: the writer is held for the statements themselves, not for a
        round trip through the event loop after each of them. `background` writes (nobody
        waits for them; keep each small) wait for a gap in the answers, so that answers never
        queue behind them.
        """
        try:
            unit = functools.partial(_transaction, statements=statements)
            await self._writes.submit(unit, background=background)
        except sqlite3.OperationalError as exc:
            raise StorageUnavailable() from exc

    async def write_batched(
        self,
        key: Hashable,
        item: _I,
        write_chunk: Callable[[sqlite3.Connection, list[_I]], list[_R | Exception]],
    ) -> _R:
        """Group commit: queue `item` for the writer's batched path; its result once the chunk
        that holds it has committed (the quiz's answers).

        The writer's thread takes up to MAX_BATCH queued items at a time, splits them into
        chunks that hold each `key` at most once, and calls `write_chunk(connection, items)`
        for each chunk; it returns each item's result, or the Exception its caller gets.
        Raises StorageUnavailable once the database is closing (nothing was written then).
        """
        write = cast(Callable[[sqlite3.Connection, list[Any]], list[Any]], write_chunk)
        return cast(_R, await self._writes.batched(key, item, write))

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """Several writes in one transaction on the writer connection (rolled back on error).

        It takes the write lock, so keep it short: batched writes and units wait meanwhile.
        """
        try:
            async with self._writes.exclusive(), self._begin() as conn:
                yield conn
        except sqlite3.OperationalError as exc:
            raise StorageUnavailable() from exc

    @contextlib.asynccontextmanager
    async def _begin(self) -> AsyncIterator[aiosqlite.Connection]:
        """BEGIN IMMEDIATE ... COMMIT on the writer, ROLLBACK on error; caller holds the lock."""
        if self._writer is None:
            raise StorageUnavailable("The database is not open.")
        conn = self._writer
        await conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
            await conn.execute("COMMIT")
        except BaseException:
            await conn.execute("ROLLBACK")
            raise
