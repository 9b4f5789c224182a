"""SQLite-specific behaviour: migrations, persistence, locking, group commit, backup.

The Database (connections, pragmas, checkpoints), its writer's queue and the quiz repository
over it (SqliteQuizStore) are tested together here, on real files.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.core.common.errors import StorageUnavailable
from bot.core.common.identity import Platform, UserRef
from bot.core.practice.srs import Review, Source
from bot.core.quiz.ports import Attempt
from bot.core.quiz.scoring import Award, iso_week
from bot.storage.sqlite import SCHEMA_VERSION, Database, SqliteQuizStore, backup
from bot.storage.sqlite import database as database_module
from bot.storage.sqlite import quiz as quiz_module
from bot.storage.sqlite import writer as writer_module
from bot.storage.sqlite.backup import BackupError
from bot.storage.sqlite.migrations import APPLICATION_ID, migrations
from bot.storage.sqlite.practice import SqlitePracticeStore
from tests.fakes.answers import T0, a_round, an_attempt, ten_points


async def _open(path: Path, **options: Any) -> tuple[Database, SqliteQuizStore]:
    db = Database(path, **options)
    await db.open()
    return db, SqliteQuizStore(db)


async def test_fresh_file_gets_schema_and_pragmas(tmp_path: Path) -> None:
    db = Database(tmp_path / "sub" / "q.db")
    await db.open()
    await db.close()
    conn = sqlite3.connect(tmp_path / "sub" / "q.db")
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA page_size").fetchone()[0] == database_module.PAGE_SIZE == 2048
    conn.close()
    again = Database(tmp_path / "sub" / "q.db")  # reopening applies nothing twice
    await again.open()
    await again.close()
    old = tmp_path / "old.db"  # a file made before keeps its page size
    made = sqlite3.connect(old)
    made.executescript(f"PRAGMA page_size = 4096; {migrations()[0][1]}; PRAGMA user_version = 1;")
    made.close()
    kept = Database(old)
    await kept.open()
    assert (await kept.read("PRAGMA page_size"))[0][0] == 4096
    await kept.close()


async def test_scores_survive_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "q.db"
    db, store = await _open(path)
    p = await store.player(UserRef(Platform.TELEGRAM, "7"), "Ada")
    await store.create_round(a_round(1))
    await store.record_answer(an_attempt(a_round(1), p), ten_points)
    await db.close()
    db, reopened = await _open(path)
    assert await reopened.player(UserRef(Platform.TELEGRAM, "7"), "Ada") == p
    assert (await reopened.player_stats(p)).points == 10
    assert await reopened.get_round(a_round(1).id) == a_round(1)
    await db.close()


async def test_close_finishes_queued_answers(tmp_path: Path) -> None:
    path = tmp_path / "q.db"
    db, store = await _open(path)
    players = [await store.player(UserRef(Platform.DISCORD, str(i)), f"P{i}") for i in range(50)]
    await store.create_round(a_round(1))
    pending = [
        asyncio.create_task(store.record_answer(an_attempt(a_round(1), p), ten_points))
        for p in players
    ]
    await asyncio.sleep(0)  # queued, not yet written
    await db.close()
    assert all(t.done() and not t.exception() for t in pending)
    conn = sqlite3.connect(path)
    assert conn.execute("SELECT count(*) FROM answers").fetchone()[0] == 50
    assert conn.execute("SELECT sum(points) FROM scores WHERE period = 'all'").fetchone()[0] == 500
    conn.close()


async def test_group_commit_batches_many_answers(sqlite_store: SqliteQuizStore) -> None:
    players = [
        await sqlite_store.player(UserRef(Platform.DISCORD, str(i)), f"P{i}") for i in range(300)
    ]
    await sqlite_store.create_round(a_round(1))
    results = await asyncio.gather(
        *(sqlite_store.record_answer(an_attempt(a_round(1), p), ten_points) for p in players)
    )
    assert len(results) == 300
    assert (await sqlite_store.round_stats(a_round(1).id)).answered == 300


async def test_batched_writes_go_in_chunks_that_hold_each_key_once(sqlite_db: Database) -> None:
    """The writer's batched path (the quiz's answers use it): a batch is split into chunks that
    hold each key at most once, in the order queued; a chunk function gets only its own items
    (a chunk with two functions' items is written in two parts), and a chunk that fails fails
    only its own callers."""
    seen: list[tuple[str, list[object]]] = []

    def letters(conn: sqlite3.Connection, items: list[str]) -> list[str | Exception]:
        seen.append(("letters", items))
        if "boom" in items:
            raise sqlite3.OperationalError("boom")
        return [i.upper() for i in items]

    def digits(conn: sqlite3.Connection, items: list[int]) -> list[int | Exception]:
        seen.append(("digits", list(items)))
        return [ValueError("odd") if i % 2 else i * 10 for i in items]

    async with sqlite_db.transaction():  # hold the writer while everything queues up
        queued = [
            *(
                asyncio.ensure_future(sqlite_db.write_batched(key, item, letters))
                for key, item in ((1, "a"), (2, "b"), (1, "c"), (3, "boom"), (1, "d"))
            ),
            *(
                asyncio.ensure_future(sqlite_db.write_batched(key, n, digits))
                for key, n in ((1, 2), (1, 3), (9, 4))
            ),
        ]
        await asyncio.sleep(0.01)
    a, b, c, boom, d, two, three, four = await asyncio.gather(*queued, return_exceptions=True)
    assert seen == [
        ("letters", ["a", "b", "boom"]),
        ("digits", [4]),
        ("letters", ["c"]),
        ("letters", ["d"]),
        ("digits", [2]),
        ("digits", [3]),
    ]
    assert [type(x) for x in (a, b, boom)] == [StorageUnavailable] * 3
    assert isinstance(a, StorageUnavailable) and isinstance(a.__cause__, sqlite3.OperationalError)
    assert (c, d, two, four) == ("C", "D", 20, 40)
    assert isinstance(three, ValueError)


async def test_locked_database_fails_clearly_and_loses_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(writer_module, "RETRY_FOR", 0.2)  # retried that long, then it fails
    path = tmp_path / "q.db"
    db, store = await _open(path, busy_timeout_ms=50)
    p = await store.player(UserRef(Platform.DISCORD, "1"), "Ada")
    await store.create_round(a_round(1))
    await store.create_round(a_round(2))
    await store.record_answer(an_attempt(a_round(1), p), ten_points)
    blocker = sqlite3.connect(path, isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")
    with pytest.raises(StorageUnavailable, match="nothing was recorded"):
        await store.record_answer(an_attempt(a_round(2), p), ten_points)
    blocker.execute("ROLLBACK")
    blocker.close()
    assert (await store.record_answer(an_attempt(a_round(2), p), ten_points)).points == 10
    assert (await store.player_stats(p)).points == 20
    await db.close()


async def test_not_a_database_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "junk.db"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StorageUnavailable, match=r"junk\.db is not a SQLite database"):
        await Database(path).open()


async def test_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "q.db"
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    with pytest.raises(StorageUnavailable, match="newer than this Stackprep"):
        await Database(path).open()


async def test_online_backup_while_open(
    sqlite_db: Database, sqlite_store: SqliteQuizStore, tmp_path: Path
) -> None:
    p = await sqlite_store.player(UserRef(Platform.DISCORD, "1"), "Ada")
    await sqlite_store.create_round(a_round(1))
    await sqlite_store.record_answer(an_attempt(a_round(1), p), ten_points)
    target = tmp_path / "backups" / "copy.db"
    await backup(sqlite_db.path, target)
    conn = sqlite3.connect(target)
    assert conn.execute("SELECT points FROM players").fetchone()[0] == 10
    conn.close()
    with pytest.raises(BackupError, match="no database"):
        await backup(tmp_path / "missing.db", tmp_path / "x.db")


async def test_shutdown_refuses_new_answers(tmp_path: Path) -> None:
    db, store = await _open(tmp_path / "q.db")
    await db.close()
    with pytest.raises(StorageUnavailable):
        await store.record_answer(an_attempt(a_round(1), 1), ten_points)


def test_repr_is_safe(tmp_path: Path) -> None:
    db = Database(tmp_path / "q.db")
    assert repr(db).startswith("Database(")
    assert repr(SqliteQuizStore(db)).startswith("SqliteQuizStore(Database(")


_ = timedelta


def _file_at_version(path: Path, schema: int) -> sqlite3.Connection:
    """A database file as an older Stackprep left it, with players 1 (Ada) and 2 (Bo)."""
    conn = sqlite3.connect(path, isolation_level=None)
    for version, sql in migrations():
        if version <= schema:
            conn.executescript(f"BEGIN; {sql}; PRAGMA user_version = {version}; COMMIT;")
    conn.execute("INSERT INTO players (id, name, created_at) VALUES (1, 'Ada', 0), (2, 'Bo', 0)")
    return conn


async def test_upgrade_to_version_4_keeps_every_board_row(tmp_path: Path) -> None:
    """Version 4 re-keys `scores` by player: an existing file keeps its boards and goes on."""
    path = tmp_path / "q.db"
    conn = _file_at_version(path, 3)
    conn.execute(
        "INSERT INTO rounds VALUES ('r1', 'alpha-one', 'telegram', '-100', '-100', 'ask', "
        "'0,1,2', 0, NULL, NULL, NULL)"
    )
    week = iso_week(T0)
    for player, correct, points in ((1, 1, 10), (2, 0, 0)):
        conn.execute(
            "INSERT INTO answers VALUES ('r1', ?, 'alpha-one', 'alpha', 'ask', 'A', ?, ?, 0, 1, "
            "'global', 'telegram:-100', ?, '2026-12-01', NULL, NULL)",
            (player, correct, points, week),
        )
    before = sorted(
        conn.execute("SELECT scope, period, player_id, points, correct, answered FROM scores")
    )
    assert len(before) == 8
    conn.close()

    db, store = await _open(path)
    assert [(r.player_id, r.points) for r in await store.top("telegram:-100", week, 10)] == [
        (1, 10)
    ]
    await store.create_round(a_round(2))
    wrong = Attempt(
        a_round(2), 1, "alpha-one", "alpha", "B", False, T0, ("global", "telegram:-100"), week,
        T0.date(),
    )  # fmt: skip
    await store.record_answer(wrong, lambda ctx: Award(False, 0, None))
    entry = await store.board_entry("telegram:-100", "all", 1)
    await db.close()
    assert entry is not None and entry[0] == 1
    assert (entry[1].points, entry[1].correct, entry[1].answered) == (10, 1, 2)
    conn = sqlite3.connect(path)
    after = sorted(
        conn.execute("SELECT scope, period, player_id, points, correct, answered FROM scores")
    )
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    conn.close()
    grown = [(s, p, pid, pts, c, n + (pid == 1)) for s, p, pid, pts, c, n in before]
    assert after == grown


async def test_upgrade_to_version_6_keeps_every_cards_review_counts(tmp_path: Path) -> None:
    """Version 6 counts reviews on the card instead of through an index on the reviews."""
    path = tmp_path / "q.db"
    conn = _file_at_version(path, 5)
    for pid, qid, topic in ((1, "a1", "alpha"), (1, "a2", "alpha"), (1, "b1", "beta"),
                            (2, "a1", "alpha")):  # fmt: skip
        conn.execute(
            "INSERT INTO practice_cards VALUES (?, ?, ?, 2, NULL, 3.0, 5.0, 0, 0, 1, 0)",
            (pid, qid, topic),
        )
    for pid, qid, topic, rating in ((1, "a1", "alpha", 1), (1, "a1", "alpha", 3),
                                    (1, "a2", "alpha", 4), (1, "b1", "beta", 1),
                                    (2, "a1", "alpha", 3)):  # fmt: skip
        conn.execute(
            "INSERT INTO practice_reviews (player_id, question_id, topic, rating, source, "
            "reviewed_at) VALUES (?, ?, ?, ?, 'choice', 0)",
            (pid, qid, topic, rating),
        )
    conn.close()

    db = Database(path)
    await db.open()
    practice = SqlitePracticeStore(db)
    before = await practice.progress(1)
    ada = await practice.card(1, "a1")
    assert ada is not None
    await practice.save_review(ada, Review(1, "a1", "alpha", 3, Source.CHOICE, T0))
    after = await practice.progress(1)
    await db.close()
    assert [(p.topic, p.reviews, p.recalled, p.cards, p.learned) for p in before] == [
        ("alpha", 3, 2, 2, 2),
        ("beta", 1, 0, 1, 1),
    ]
    assert (after[0].reviews, after[0].recalled) == (4, 3)
    conn = sqlite3.connect(path)
    indexes = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
    conn.close()
    assert "practice_reviews_by_player" not in indexes


async def test_wal_starts_over_while_answers_keep_coming(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Under steady writes the checkpoints still let the WAL start over, so it stays small.

    The WAL header's checkpoint sequence number (bytes 12-15) goes up each time it starts over.
    """
    monkeypatch.setattr(database_module, "CHECKPOINT_INTERVAL", 0.02)
    path = tmp_path / "q.db"
    db, store = await _open(path)
    players = [await store.player(UserRef(Platform.DISCORD, str(i)), f"P{i}") for i in range(40)]
    wal = Path(f"{path}-wal")

    def sequence() -> int:
        with wal.open("rb") as header:
            return int.from_bytes(header.read(16)[12:16], "big")

    first = sequence()
    loop = asyncio.get_running_loop()
    until = loop.time() + 0.8
    i = 0
    while loop.time() < until:  # the writer is never idle long enough for a lucky restart
        i += 1
        await store.create_round(a_round(i))
        await asyncio.gather(
            *(store.record_answer(an_attempt(a_round(i), p), ten_points) for p in players)
        )
    await asyncio.sleep(0)
    restarts = sequence() - first
    await db.close()
    assert restarts >= 3, f"the WAL started over {restarts} times in {i} rounds of answers"


async def test_write_all_is_one_transaction(
    sqlite_db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A failing statement rolls back the ones before it; a locked file fails clearly."""
    monkeypatch.setattr(writer_module, "RETRY_FOR", 0.2)  # once the lock outlasts the retries
    insert = "INSERT INTO players (id, name, created_at) VALUES (?, ?, 0)"
    with pytest.raises(sqlite3.IntegrityError):
        await sqlite_db.write_all([(insert, (7, "Ada")), (insert, (7, "Ada again"))])
    assert await sqlite_db.read("SELECT count(*) FROM players WHERE id = 7") == [(0,)]
    await sqlite_db.write_all([(insert, (7, "Ada")), (insert, (8, "Bo"))])
    assert await sqlite_db.read("SELECT count(*) FROM players") == [(2,)]

    locked = Database(tmp_path / "locked.db", busy_timeout_ms=50)
    await locked.open()
    blocker = sqlite3.connect(locked.path, isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")
    with pytest.raises(StorageUnavailable):
        await locked.write_all([(insert, (1, "Cy"))])
    blocker.execute("ROLLBACK")
    blocker.close()
    await locked.write_all([(insert, (1, "Cy"))])  # the writer is usable again
    assert await locked.read("SELECT name FROM players") == [("Cy",)]
    await locked.close()


async def test_background_writes_wait_for_a_gap_in_the_answers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A write someone waits for goes before the queued answers; a background write (a batch
    of practice cards) after them, unless it has waited LATER_AT_MOST already."""

    async def race(round_no: int, players: list[int]) -> tuple[int, int]:
        count = "INSERT INTO seen_by (what, answers) SELECT ?, count(*) FROM answers"
        await store.create_round(a_round(round_no))
        async with db.transaction():  # hold the writer while everything queues up
            answers = [
                asyncio.ensure_future(
                    store.record_answer(an_attempt(a_round(round_no), p), ten_points)
                )
                for p in players
            ]
            urgent = asyncio.ensure_future(db.write(count, ("urgent",)))
            later = asyncio.ensure_future(db.write_all([(count, ("later",))], background=True))
            await asyncio.sleep(0.01)
        await asyncio.gather(*answers, urgent, later)
        rows = dict(await db.read("SELECT what, answers FROM seen_by"))
        await db.write("DELETE FROM seen_by")
        return rows["urgent"], rows["later"]

    db, store = await _open(tmp_path / "q.db")
    await db.write("CREATE TABLE seen_by (what TEXT, answers INTEGER)")
    players = [await store.player(UserRef(Platform.DISCORD, str(i)), f"P{i}") for i in range(60)]
    assert await race(1, players) == (0, 60)
    monkeypatch.setattr(writer_module, "LATER_AT_MOST", 0.0)  # waited long enough already
    assert await race(2, players) == (60, 60)
    await db.close()


async def test_background_writes_get_their_share_while_answers_keep_the_writer_busy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With answers always queued there is no gap: background writes (practice's cards) still
    get LATER_SHARE of the writer, not one write per LATER_AT_MOST (issue 17: at 4,000
    answers/s the card backlog grew by 2,600 a second)."""
    monkeypatch.setattr(writer_module, "LATER_AT_MOST", 3600.0)
    monkeypatch.setattr(writer_module, "MAX_BATCH", 1)  # one answer per batch

    def slow_chunk(conn: sqlite3.Connection, items: list[int]) -> list[None]:
        conn.execute("INSERT INTO log (what) VALUES ('answer')")
        time.sleep(0.002)
        return [None] * len(items)

    db = Database(tmp_path / "q.db")
    await db.open()
    await db.write("CREATE TABLE log (seq INTEGER PRIMARY KEY, what TEXT)")
    later = [("INSERT INTO log (what) VALUES ('later')", ())]
    async with db.transaction():  # everything queues up behind it
        answers = [asyncio.ensure_future(db.write_batched(k, k, slow_chunk)) for k in range(60)]
        cards = [asyncio.ensure_future(db.write_all(later, background=True)) for _ in range(6)]
        await asyncio.sleep(0.01)
    await asyncio.gather(*answers, *cards)
    order = [what for (what,) in await db.read("SELECT what FROM log ORDER BY seq")]
    await db.close()
    assert order.count("later") == 6 and order.count("answer") == 60
    last_card = max(i for i, what in enumerate(order) if what == "later")
    assert last_card < 30, order  # interleaved from the start, not all after the answers


async def test_a_transaction_gets_the_writer_while_it_waits_for_answers(
    sqlite_db: Database, sqlite_store: SqliteQuizStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After an answer the writer's thread stays parked on the queue, holding the write lock;
    a multi-statement transaction asks for it back, and the thread parks again after it."""
    p = await sqlite_store.player(UserRef(Platform.DISCORD, "1"), "Ada")
    for i in (1, 2):
        await sqlite_store.create_round(a_round(i))
        await sqlite_store.record_answer(an_attempt(a_round(i), p), ten_points)

        async def rename(name: str) -> None:
            async with sqlite_db.transaction() as conn:
                await conn.execute("UPDATE players SET name = ? WHERE id = ?", (name, p))

        await asyncio.wait_for(rename(f"Ada {i}"), timeout=10)
        assert await sqlite_db.read("SELECT name FROM players") == [(f"Ada {i}",)]


async def test_wal_file_keeps_its_size_through_short_pauses_and_is_emptied_after_a_quiet_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """While writes go on the WAL file keeps its size (each restart overwrites it), and a pause
    of a few checkpoint intervals is not a quiet spell (giving the space back would make the
    writer extend the file again, stalling answers); once nothing was written for TRIM_AFTER,
    its space is given back."""
    monkeypatch.setattr(database_module, "CHECKPOINT_INTERVAL", 0.02)
    monkeypatch.setattr(database_module, "TRIM_AFTER", 0.6)
    path = tmp_path / "q.db"
    db, store = await _open(path)
    players = [await store.player(UserRef(Platform.DISCORD, str(i)), f"P{i}") for i in range(40)]

    def wal_size() -> int:
        return Path(f"{path}-wal").stat().st_size

    try:
        for i in range(20):
            await store.create_round(a_round(i))
            await asyncio.gather(
                *(store.record_answer(an_attempt(a_round(i), p), ten_points) for p in players)
            )
        await asyncio.sleep(0.2)  # ten checkpoint intervals without writes
        assert wal_size() > 0
        for _ in range(100):
            await asyncio.sleep(0.05)
            if wal_size() == 0:
                break
        assert wal_size() == 0
        assert (await store.player_stats(players[0])).points == 200  # nothing lost meanwhile
    finally:
        await db.close()


async def test_the_answer_context_query_finds_everything_by_index(sqlite_db: Database) -> None:
    """Each answer's context (points today, last scored, already answered) is looked up by
    key, never by scanning a table that grows with every answer."""
    request = '[[1, "alpha-one", "2026-12-01", "round000001"]]'
    plan = await sqlite_db.read(f"EXPLAIN QUERY PLAN {quiz_module.CONTEXT_SQL}", (request,))
    details = [row[3] for row in plan]
    assert not [d for d in details if d.startswith("SCAN") and "json_each" not in d]
    assert any("answers_scored_by_player_question" in d for d in details)


async def test_an_open_cancelled_midway_lets_go_of_the_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """E.g. SIGTERM during a long quick_check at start: the connections and the lock file
    are let go, so `stackprep db restore` is not refused by a process that is stopping."""
    from bot.storage.sqlite.database import Database
    from bot.storage.sqlite.health import ProcessLock

    checking = asyncio.Event()

    async def slow_check(self: Database, conn: object) -> None:
        checking.set()
        await asyncio.Event().wait()

    monkeypatch.setattr(Database, "_check", slow_check)
    db = Database(tmp_path / "q.db")
    opening = asyncio.create_task(db.open())
    await checking.wait()
    other = ProcessLock(db.path)
    assert not other.acquire(exclusive=True)  # held while opening
    opening.cancel()
    with pytest.raises(asyncio.CancelledError):
        await opening
    assert other.acquire(exclusive=True)
    other.release()


async def test_a_writer_whose_connection_failed_fails_writes_and_still_stops(
    tmp_path: Path,
) -> None:
    """The writer's thread itself failing (its connection gone before it parks) fails what is
    queued and what comes later with StorageUnavailable instead of leaving it waiting, and
    stopping still returns (the writer leaves the queue only for a transaction or a stop)."""
    db = Database(tmp_path / "q.db")
    await db.open()
    writer = db._writes
    conn = writer._conn
    assert conn is not None
    writer._conn = None  # as if the connection had gone: the thread cannot be reached
    with pytest.raises(StorageUnavailable):
        await asyncio.wait_for(db.write("CREATE TABLE t (x)"), timeout=10)
    with pytest.raises(StorageUnavailable):
        await asyncio.wait_for(db.write_batched(1, 1, lambda c, items: items), timeout=10)
    writer._conn = conn
    await asyncio.wait_for(writer.stop(), timeout=10)
    await db.close()
