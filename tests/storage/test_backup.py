"""Backups, checks and restores on real SQLite files (bot/storage/sqlite/backup.py)."""

from __future__ import annotations

import asyncio
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from datetime import timedelta
from pathlib import Path
from typing import Any, NamedTuple

import pytest

from bot.core.common.errors import StorageUnavailable
from bot.core.common.identity import Platform, UserRef
from bot.storage.sqlite import Database, SqliteQuizStore
from bot.storage.sqlite.backup import (
    BackupError,
    backup,
    backup_into,
    backup_name,
    backups_in,
    check,
    restore,
    taken_at,
)
from bot.storage.sqlite.health import ProcessLock
from bot.storage.sqlite.migrations import APPLICATION_ID
from tests.fakes.answers import T0, a_round, an_attempt, ten_points

ROOT = Path(__file__).resolve().parents[2]


async def _database(path: Path, players: int = 3) -> None:
    """A closed Stackprep database with `players` players who answered round 1."""
    db = Database(path)
    await db.open()
    store = SqliteQuizStore(db)
    await store.create_round(a_round(1))
    for i in range(players):
        p = await store.player(UserRef(Platform.DISCORD, str(i)), f"P{i}")
        await store.record_answer(an_attempt(a_round(1), p), ten_points)
    await db.close()


def _count(path: Path, sql: str = "SELECT count(*) FROM answers") -> Any:
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    try:
        return conn.execute(sql).fetchone()[0]
    finally:
        conn.close()


def _writable(folder: Path) -> bool:
    try:
        fd, name = tempfile.mkstemp(dir=folder)
    except OSError:
        return False
    os.close(fd)
    os.unlink(name)
    return True


def _names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def _kept(folder: Path) -> list[str]:
    return [name for name in _names(folder) if "before-restore" in name]


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".partial"))


# -- stackprep db backup ----------------------------------------------------------------------


async def test_a_backup_is_one_checked_self_contained_file(tmp_path: Path) -> None:
    source = tmp_path / "live.db"
    await _database(source)
    target = tmp_path / "copies" / "copy.db"
    size = await backup(source, target)
    assert size == target.stat().st_size > 0
    assert sorted(p.name for p in target.parent.iterdir()) == ["copy.db"]  # no -wal, no partial
    conn = sqlite3.connect(target)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
    assert conn.execute("PRAGMA application_id").fetchone()[0] == APPLICATION_ID
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    conn.close()
    await _database(tmp_path / "other.db", players=5)
    assert await backup(tmp_path / "other.db", target) > 0  # an earlier backup is replaced
    assert _count(target) == 5


async def test_a_backup_to_a_bad_target_says_why_and_leaves_nothing(tmp_path: Path) -> None:
    source = tmp_path / "live.db"
    await _database(source)
    notes = tmp_path / "notes.txt"
    notes.write_text("my notes\n")
    with pytest.raises(BackupError, match="exists and is not a Stackprep database; refusing"):
        await backup(source, notes)
    assert notes.read_text() == "my notes\n"
    folder = tmp_path / "folder"
    folder.mkdir()
    with pytest.raises(BackupError, match="is a directory: give the backup's file name"):
        await backup(source, folder)
    assert list(folder.iterdir()) == []
    with pytest.raises(BackupError, match="is the database itself"):
        await backup(source, source)
    with pytest.raises(BackupError, match=r"Cannot write to .*notes\.txt"):
        await backup(source, notes / "copy.db")  # a file where a folder should be
    assert _leftovers(tmp_path) == []


async def test_a_backup_to_a_read_only_place_says_so(tmp_path: Path) -> None:
    source = tmp_path / "live.db"
    await _database(source)
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        place = locked if not _writable(locked) else Path("/sys")  # /sys refuses even root
        if _writable(place):
            pytest.skip("no read-only place to write to")
        with pytest.raises(BackupError, match=f"Cannot write to {place}: Permission denied"):
            await backup(source, place / "copy.db")
        assert not (place / "copy.db").exists()
    finally:
        locked.chmod(0o700)


async def test_a_backup_of_something_else_is_refused(tmp_path: Path) -> None:
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"not sqlite at all" * 200)
    with pytest.raises(BackupError, match=f"Database {junk} is not a SQLite database"):
        await backup(junk, tmp_path / "copy.db")
    theirs = tmp_path / "theirs.db"
    conn = sqlite3.connect(theirs)
    conn.execute("CREATE TABLE invoices (x)")
    conn.close()
    with pytest.raises(BackupError, match="tables of another program: invoices"):
        await backup(theirs, tmp_path / "copy.db")
    with pytest.raises(BackupError, match="There is no database at"):
        await backup(tmp_path / "missing.db", tmp_path / "copy.db")
    assert _names(tmp_path) == ["junk.db", "theirs.db"]


def _damage(path: Path) -> None:
    """An index that lost its entries (its root page emptied): integrity_check finds rows
    missing from it, quick_check does not look."""
    conn = sqlite3.connect(path)
    conn.execute("CREATE INDEX players_by_name ON players (name)")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    root = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = 'players_by_name'")
    page = root.fetchone()[0]
    conn.close()
    data = bytearray(path.read_bytes())
    start = (page - 1) * 2048
    data[start : start + 2048] = bytes([0x0A, 0, 0, 0, 0, 0x08, 0, 0]) + bytes(2040)  # empty leaf
    path.write_bytes(bytes(data))


async def test_a_copy_that_fails_its_integrity_check_is_not_kept(tmp_path: Path) -> None:
    source = tmp_path / "live.db"
    await _database(source, players=20)
    _damage(source)
    with pytest.raises(BackupError, match="failed its integrity check"):
        await backup(source, tmp_path / "copy.db")
    assert not (tmp_path / "copy.db").exists() and _leftovers(tmp_path) == []
    version, found = await check(source, full=True)
    assert found and version > 0


# -- scheduled backups ------------------------------------------------------------------------


async def test_scheduled_backups_keep_the_newest(tmp_path: Path) -> None:
    source = tmp_path / "live.db"
    await _database(source)
    folder = tmp_path / "backups"
    folder.mkdir()
    (folder / "mine.txt").write_text("not a backup")
    stale = folder / f".{backup_name(T0)}.x.partial"
    stale.write_bytes(b"half")
    os.utime(stale, (0, 0))
    made = [await backup_into(source, folder, keep=3, now=T0 + timedelta(days=d)) for d in range(5)]
    assert backups_in(folder) == made[2:]
    assert taken_at(made[-1]) == T0 + timedelta(days=4)
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        ["mine.txt", *(p.name for p in made[2:])]
    )


class _Usage(NamedTuple):
    total: int
    used: int
    free: int


async def test_a_scheduled_backup_never_fills_the_disk(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    source = tmp_path / "live.db"
    await _database(source)
    size = source.stat().st_size
    monkeypatch.setattr(shutil, "disk_usage", lambda _: _Usage(0, 0, size))
    with pytest.raises(BackupError, match="Not enough free space for a backup"):
        await backup_into(source, tmp_path / "backups", keep=7, now=T0)
    assert backups_in(tmp_path / "backups") == []


# -- stackprep db check -----------------------------------------------------------------------


async def test_check_finds_damage_and_refuses_what_is_not_ours(tmp_path: Path) -> None:
    path = tmp_path / "q.db"
    await _database(path)
    version = _count(path, "PRAGMA user_version")
    assert await check(path) == await check(path, full=True) == (version, [])
    _damage(path)
    assert (await check(path))[1] == []  # quick_check does not match indexes to tables
    _, found = await check(path, full=True)
    assert found and all("players_by_name" in problem for problem in found)
    junk = tmp_path / "junk.db"
    junk.write_text("hello")
    with pytest.raises(BackupError, match="not a SQLite database"):
        await check(junk)


# -- stackprep db restore ---------------------------------------------------------------------


async def test_restore_refuses_while_the_database_is_open(tmp_path: Path) -> None:
    live, copy = tmp_path / "live.db", tmp_path / "copy.db"
    await _database(live, players=2)
    await backup(live, copy)
    db = Database(live)
    await db.open()
    try:
        with pytest.raises(BackupError, match=r"Stackprep is running on .*stop it first"):
            await restore(copy, live, now=T0)
    finally:
        await db.close()
    assert _count(live) == 2
    assert not _kept(tmp_path) and _leftovers(tmp_path) == []
    lock = ProcessLock(live)  # and nothing opens the database while a restore runs
    assert lock.acquire(exclusive=True)
    try:
        with pytest.raises(StorageUnavailable, match="is being restored"):
            await Database(live).open()
    finally:
        lock.release()


# A bot killed with kill -9: its last answers are only in the -wal beside the database.
CRASHED = """
import os, sqlite3, sys
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("PRAGMA wal_autocheckpoint = 0")
conn.execute("INSERT INTO players (name, created_at) VALUES ('only in the wal', 0)")
os._exit(0)
"""


async def test_restore_keeps_the_replaced_database_whole(tmp_path: Path) -> None:
    live, copy = tmp_path / "live.db", tmp_path / "copy.db"
    await _database(live, players=2)
    await backup(live, copy)
    await asyncio.to_thread(subprocess.run, [sys.executable, "-c", CRASHED, str(live)], check=True)
    assert (tmp_path / "live.db-wal").stat().st_size > 0
    live.chmod(0o640)
    kept = await restore(copy, live, now=T0)
    assert live.stat().st_mode & 0o777 == 0o640  # the bot's user can still write it
    assert kept == tmp_path / "live.db.before-restore-20261201T090000Z"
    assert not (tmp_path / "live.db-wal").exists()  # the old WAL never meets the restored file
    assert (tmp_path / f"{kept.name}-wal").exists()
    wanted = "SELECT count(*) FROM players WHERE name = 'only in the wal'"
    assert _count(kept, wanted) == 1  # the kept database has everything, its WAL included
    assert _count(live, wanted) == 0 and _count(live) == 2
    db = Database(live)
    await db.open()  # the restored file is a working database
    assert (await db.read("SELECT count(*) FROM answers"))[0][0] == 2
    await db.close()


async def test_restore_refuses_a_bad_backup_and_changes_nothing(tmp_path: Path) -> None:
    live = tmp_path / "live.db"
    await _database(live, players=2)
    junk = tmp_path / "junk.db"
    junk.write_text("hello")
    with pytest.raises(BackupError, match=r"Backup .*junk\.db is not a SQLite database"):
        await restore(junk, live, now=T0)
    damaged = tmp_path / "damaged.db"
    await _database(damaged, players=20)
    _damage(damaged)
    with pytest.raises(BackupError, match="failed its integrity check"):
        await restore(damaged, live, now=T0)
    with pytest.raises(BackupError, match="There is no backup at"):
        await restore(tmp_path / "missing.db", live, now=T0)
    assert _count(live) == 2 and _leftovers(tmp_path) == []
    assert not _kept(tmp_path)


async def test_a_backup_taken_under_load_restores_every_acknowledged_answer(
    tmp_path: Path,
) -> None:
    live, copy = tmp_path / "live.db", tmp_path / "copy.db"
    db = Database(live)
    await db.open()
    store = SqliteQuizStore(db)
    players = [await store.player(UserRef(Platform.DISCORD, str(i)), f"P{i}") for i in range(50)]
    padding = [(f"pad{k}", players[k % 50]) for k in range(60_000)]  # so the copy takes a while
    await db.write_all(
        [("INSERT INTO seen (player_id, place, question_id, seen_at) VALUES (?, ?, 'q', 0)",
          (p, place)) for place, p in padding]
    )  # fmt: skip
    acknowledged: list[tuple[int, int, str]] = []  # (round, player, when: before/during/after)
    phase = ["before"]
    stop, warmed_up = asyncio.Event(), asyncio.Event()

    async def answering() -> None:
        r = 0
        while not stop.is_set():
            r += 1
            await store.create_round(a_round(r))
            results = await asyncio.gather(
                *(store.record_answer(an_attempt(a_round(r), p), ten_points) for p in players)
            )
            at = phase[0]
            acknowledged.extend((r, p, at) for p, _ in zip(players, results, strict=True))
            if len(acknowledged) >= 500:
                warmed_up.set()

    load = asyncio.create_task(answering())
    await warmed_up.wait()
    phase[0] = "during"
    await backup(live, copy)
    phase[0] = "after"
    await asyncio.sleep(0.05)
    stop.set()
    await load
    await db.close()
    during = [a for a in acknowledged if a[2] == "during"]
    assert during, "no answer was written while the backup ran"

    await restore(copy, live, now=T0)
    db = Database(live)
    await db.open()
    rows = await db.read("SELECT round_id, player_id FROM answers")
    stored = {(int(r[5:]), p) for r, p in rows}
    before = {(r, p) for r, p, at in acknowledged if at == "before"}
    assert before <= stored  # every answer acknowledged before the backup began is there
    everyone = {(r, p) for r, p, _ in acknowledged}
    assert stored <= everyone  # and nothing else
    mismatched = await db.read(
        "SELECT count(*) FROM players p WHERE points != "
        "(SELECT coalesce(sum(points), 0) FROM answers a WHERE a.player_id = p.id)"
    )
    assert mismatched[0][0] == 0  # one consistent snapshot: totals match the answers
    await db.close()
