"""Faults of the database file, on real SQLite files: damaged, full, read-only, locked; the
durability setting; each told apart, said to the person plainly and logged once a minute."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import random
import sqlite3
from pathlib import Path

import pytest

from bot.app.bootstrap import build
from bot.core.common.errors import StorageFailed, StorageFull, StorageUnavailable
from bot.core.common.identity import Platform, UserRef
from bot.core.quiz.scoring import Award
from bot.storage.sqlite import Database, SqliteQuizStore
from bot.storage.sqlite import writer as writer_module
from bot.storage.sqlite.health import FaultLog, kind_of
from tests.fakes.answers import a_round, an_attempt, ten_points
from tests.fakes.app import make_config

STORAGE_LOG = "bot.storage.sqlite"


async def _filled(path: Path, players: int) -> tuple[Database, SqliteQuizStore, list[int]]:
    db = Database(path)
    await db.open()
    store = SqliteQuizStore(db)
    ids = [await store.player(UserRef(Platform.DISCORD, str(i)), f"P{i}") for i in range(players)]
    return db, store, ids


def _storage_errors(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [
        r for r in caplog.records if r.name.startswith(STORAGE_LOG) and r.levelno >= logging.ERROR
    ]


# -- a damaged file -------------------------------------------------------------------------


async def test_a_damaged_database_is_refused_at_open_and_not_written_to(tmp_path: Path) -> None:
    path = tmp_path / "q.db"
    db, _, _ = await _filled(path, 1)
    await db.close()
    conn = sqlite3.connect(path)
    with conn:
        conn.executemany(
            "INSERT INTO players (name, created_at) VALUES (?, 0)",
            ((f"P{i}",) for i in range(3000)),
        )
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    root = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = 'players'").fetchone()[0]
    conn.close()
    data = bytearray(path.read_bytes())
    page = 2048
    start = (root - 1) * page  # the players table's root page: its cells turn to noise
    data[start + 8 : start + page] = random.Random(1).randbytes(page - 8)
    path.write_bytes(bytes(data))
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    with pytest.raises(StorageUnavailable) as refused:
        await Database(path).open()
    message = refused.value.message
    assert f"The database {path} is damaged" in message
    assert "will not write to it" in message and "stackprep db restore" in message
    assert str(tmp_path / "backups") in message
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before


# -- a full disk ----------------------------------------------------------------------------


async def _cap_size(db: Database) -> None:
    """SQLite's own size cap on the writer connection (PRAGMA max_page_count): past it, a write
    fails with SQLITE_FULL exactly as on a full disk."""
    pages = (await db.read("PRAGMA page_count"))[0][0]
    await db.write(f"PRAGMA max_page_count = {pages}")  # on the writer, through its queue


async def test_a_full_disk_is_said_plainly_and_logged_once_a_minute(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    db, store, players = await _filled(tmp_path / "q.db", 400)
    ticks = [0.0]
    db._faults.clock = lambda: ticks[0]
    for i in range(6):
        await store.create_round(a_round(i))
    await _cap_size(db)
    caplog.set_level(logging.INFO)

    async def burst(rnd: int) -> list[object]:
        return await asyncio.gather(
            *(store.record_answer(an_attempt(a_round(rnd), p), ten_points) for p in players),
            return_exceptions=True,
        )

    outcomes = [*await burst(0), *await burst(1)]
    failures = [o for o in outcomes if isinstance(o, Exception)]
    assert len(failures) >= 300
    assert all(isinstance(f, StorageFull) for f in failures), failures[0]
    assert "disk is full" in failures[0].message  # type: ignore[attr-defined]
    logged = _storage_errors(caplog)
    assert len(logged) == 1, [r.getMessage() for r in logged]
    assert "the disk is full" in logged[0].getMessage() and logged[0].exc_info is None
    assert not [r for r in caplog.records if r.exc_info]  # no traceback anywhere

    ticks[0] += 61  # a minute later it is said again, with how many were held back
    outcomes += await burst(2)
    logged = _storage_errors(caplog)
    assert len(logged) == 2 and "more like it since the last report" in logged[1].getMessage()

    await db.write("PRAGMA max_page_count = 1073741823")  # space freed: answers go on
    recorded = [o for o in await burst(3) if isinstance(o, Award)]
    assert len(recorded) == len(players)
    acknowledged = sum(isinstance(o, Award) for o in outcomes) + len(recorded)
    assert (await db.read("SELECT count(*) FROM answers"))[0][0] == acknowledged
    await db.close()


async def test_a_read_only_database_is_a_storage_fault_not_busy(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    db, store, players = await _filled(tmp_path / "q.db", 5)
    await store.create_round(a_round(1))
    await db.write("PRAGMA query_only = 1")  # SQLITE_READONLY for every write
    with pytest.raises(StorageFailed, match="storage fault"):
        await store.record_answer(an_attempt(a_round(1), players[0]), ten_points)
    with pytest.raises(StorageFailed):
        await db.write("UPDATE players SET name = 'x'")
    logged = _storage_errors(caplog)
    assert len(logged) == 1 and "read-only" in logged[0].getMessage()
    await db.write("PRAGMA query_only = 0")
    await db.close()


async def test_a_lock_is_busy_and_not_logged_as_a_fault(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(writer_module, "RETRY_FOR", 0.2)  # the writer's retries, shortened
    path = tmp_path / "q.db"
    db = Database(path, busy_timeout_ms=50)
    await db.open()
    store = SqliteQuizStore(db)
    player = await store.player(UserRef(Platform.DISCORD, "1"), "Ada")
    await store.create_round(a_round(1))
    holder = sqlite3.connect(path, isolation_level=None)  # another program holds the lock
    holder.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(StorageUnavailable) as busy:
            await store.record_answer(an_attempt(a_round(1), player), ten_points)
        with pytest.raises(StorageUnavailable) as busy_too:
            await db.write("UPDATE players SET name = 'x'")
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    for error in (busy.value, busy_too.value):
        assert type(error) is StorageUnavailable and "busy" in error.message
        assert kind_of(error.__cause__ or error) == "busy"
    assert not _storage_errors(caplog)  # the writer warns; it is no fault of the file
    assert (await store.record_answer(an_attempt(a_round(1), player), ten_points)).points == 10
    await db.close()


def test_the_fault_log_says_each_kind_once_a_minute(caplog: pytest.LogCaptureFixture) -> None:
    ticks = [100.0]
    faults = FaultLog(Path("q.db"), clock=lambda: ticks[0])
    full = sqlite3.OperationalError("database or disk is full")
    full.sqlite_errorcode = sqlite3.SQLITE_FULL
    io = sqlite3.OperationalError("disk I/O error")
    io.sqlite_errorcode = sqlite3.SQLITE_IOERR | (3 << 8)
    for _ in range(100):
        faults.report(full)
        faults.report(io)
    assert len(caplog.records) == 2  # one per kind
    ticks[0] += 59
    faults.report(full)
    assert len(caplog.records) == 2
    ticks[0] += 1
    faults.report(full)
    assert "100 more like it" in caplog.records[-1].getMessage()


# -- durability -----------------------------------------------------------------------------


@pytest.mark.parametrize(("durability", "synchronous"), [("normal", 1), ("full", 2)])
async def test_durability_sets_synchronous_on_every_connection(
    tmp_path: Path, durability: str, synchronous: int
) -> None:
    config = make_config(tmp_path)
    config = type(config)(
        database=type(config.database)(path=tmp_path / "q.db", durability=durability),
        quiz=config.quiz,
    )
    app = build(config)
    assert app.database is not None and app.database.durability == durability
    async with app:
        db = app.database
        on_writer = await db.write_with(lambda c: c.execute("PRAGMA synchronous").fetchall())
        assert on_writer[0][0] == synchronous  # the writer's thread serves only its queue
        for conn in (db._reader, db._checkpointer):
            assert conn is not None
            rows = list(await conn.execute_fetchall("PRAGMA synchronous"))
            assert rows[0][0] == synchronous
    with pytest.raises(ValueError, match="durability"):
        Database(tmp_path / "x.db", durability="paranoid")
