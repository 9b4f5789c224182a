"""Player ids by identity, on both SQL engines (bot/storage/sqlite/players.py,
bot/storage/postgres/players.py, their shared cache in bot/storage/rows/players.py): new
players created once, renames written whether cached or not, ids kept past the cache; on
SQLite a sender not in the cache is looked up on the reader, all such senders of one turn of
the event loop in one query, and only new players and renames are written; once every stored
sender is preloaded into the cache, a sender not in it is created without that read."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import pytest

from bot.core.common.identity import Platform, UserRef
from bot.storage.postgres.players import PgPlayers
from bot.storage.sqlite import Database, SqliteQuizStore
from bot.storage.sqlite import players as sqlite_players
from bot.storage.sqlite.players import Players
from tests.fakes.postgres import databases


class _Players(Protocol):
    async def player(self, user: UserRef, name: str) -> int: ...


@dataclass
class Engine:
    """One SQL engine's player lookups: `players(cache_size)` is a fresh cache over the same
    database (a restart, or another process); `query` runs a read and returns its rows."""

    players: Callable[..., _Players]
    query: Callable[[str], Any]


@pytest.fixture(params=["sqlite", "postgresql"])
async def engine(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Engine]:
    if request.param == "sqlite":
        db = Database(tmp_path / "players.db")
        await db.open()
        try:
            yield Engine(lambda **kw: Players(db, **kw), db.read)
        finally:
            await db.close()
        return
    async with databases(1) as (pg,):
        yield Engine(lambda **kw: PgPlayers(pg, **kw), pg.fetch)


@pytest.fixture
async def db(tmp_path: Path) -> Any:
    database = Database(tmp_path / "players.db")
    await database.open()
    yield database
    await database.close()


def _user(n: int | str, platform: Platform = Platform.DISCORD) -> UserRef:
    return UserRef(platform, str(n))


async def _names(query: Callable[[str], Any]) -> dict[int, str]:
    """Every player's stored name, read with `query` (an engine's, or a Database's read)."""
    return {pid: name for pid, name in await query("SELECT id, name FROM players")}


async def test_known_senders_are_found_on_the_reader_in_one_query(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = Players(db)
    ids = [await first.player(_user(n), f"p{n}") for n in range(50)]
    cold = Players(db, preload=False)  # a restart, before (or without) the preload

    async def no_write(*_: Any, **__: Any) -> Any:
        raise AssertionError("a known sender with an unchanged name was written")

    reads = 0
    real_read = db.read

    async def counted(sql: str, params: Any = ()) -> Any:
        nonlocal reads
        reads += 1
        return await real_read(sql, params)

    monkeypatch.setattr(db, "write", no_write)
    monkeypatch.setattr(db, "write_with", no_write)
    monkeypatch.setattr(db, "transaction", no_write)
    monkeypatch.setattr(db, "read", counted)
    found = await asyncio.gather(*(cold.player(_user(n), f"p{n}") for n in range(50)))
    assert found == ids
    assert reads == 1


def _counting(db: Database, monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """Count the database's reads and writes from now on (each still runs)."""
    counts = {"read": 0, "write": 0}
    for method, kind in (("read", "read"), ("write", "write"), ("write_with", "write")):
        real = getattr(db, method)

        async def counted(*args: Any, _real: Any = real, _kind: str = kind) -> Any:
            counts[_kind] += 1
            return await _real(*args)

        monkeypatch.setattr(db, method, counted)
    return counts


async def test_after_the_preload_nobody_waits_for_a_read(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SQLite has one process per file, so once every stored sender is cached a sender not
    cached is new: created at once, without a read before; returning senders cost nothing."""
    monkeypatch.setattr(sqlite_players, "PRELOAD_PAGE", 7)  # several pages
    first = Players(db)
    users = [_user(n, platform) for n in range(25) for platform in Platform]
    ids = [await first.player(u, f"p{u.user_id}") for u in users]
    restarted = Players(db)
    assert await restarted.player(users[0], "p0") == ids[0]  # a miss: the preload starts
    await restarted.preloaded()
    assert restarted.knows_everyone
    counts = _counting(db, monkeypatch)
    assert [await restarted.player(u, f"p{u.user_id}") for u in users] == ids
    assert counts == {"read": 0, "write": 0}
    new = await restarted.player(_user(1000), "newcomer")
    assert counts == {"read": 0, "write": 1}  # created, nothing read first
    assert new not in ids
    assert await Players(db, preload=False).player(_user(1000), "newcomer") == new


async def test_a_sender_stored_by_another_program_is_found_after_the_preload(
    db: Database,
) -> None:
    restarted = Players(db)
    await restarted.player(_user(1), "one")
    await restarted.preloaded()
    other = await Players(db, preload=False).player(_user(2), "two")  # behind its back
    assert await restarted.player(_user(2), "two") == other  # creating looks it up first
    assert (await db.read("SELECT count(*) FROM identities"))[0][0] == 2


async def test_a_rename_cached_during_the_preload_is_not_undone_by_it(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    pid = await Players(db, preload=False).player(_user(1), "stored")
    restarted = Players(db)
    real_read = db.read

    async def read_then_rename(sql: str, params: Any = ()) -> Any:
        rows = await real_read(sql, params)
        if "ORDER BY i.platform" in sql:  # a page read: the rename lands before it is cached
            assert await restarted.player(_user(1), "renamed") == pid
        return rows

    monkeypatch.setattr(db, "read", read_then_rename)
    await restarted.player(_user(9), "nine")
    await restarted.preloaded()
    monkeypatch.setattr(db, "read", real_read)
    counts = _counting(db, monkeypatch)
    assert await restarted.player(_user(1), "renamed") == pid
    assert counts == {"read": 0, "write": 0}  # the cache still holds the new name
    assert (await _names(db.read))[pid] == "renamed"


async def test_senders_that_do_not_all_fit_are_looked_up_as_before(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = [await Players(db, preload=False).player(_user(n), "p") for n in range(20)]
    small = Players(db, cache_size=10)
    assert await small.player(_user(0), "p") == ids[0]
    await small.preloaded()
    assert not small.knows_everyone
    counts = _counting(db, monkeypatch)
    assert await small.player(_user(15), "p") == ids[15]
    assert counts == {"read": 1, "write": 0}


async def test_once_the_cache_drops_someone_a_miss_is_read_again(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = [await Players(db, preload=False).player(_user(n), "p") for n in range(10)]
    players = Players(db, cache_size=15)
    await players.player(_user(0), "p")
    await players.preloaded()
    assert players.knows_everyone
    for n in range(100, 106):  # six new: one stored sender is dropped
        await players.player(_user(n), "p")
    assert not players.knows_everyone
    counts = _counting(db, monkeypatch)
    assert [await players.player(_user(n), "p") for n in range(10)] == ids
    assert counts["read"] >= 1
    assert (await db.read("SELECT count(*) FROM identities"))[0][0] == 16


async def test_new_senders_are_created_once_even_when_they_come_together(
    engine: Engine,
) -> None:
    players = engine.players()
    same = await asyncio.gather(*(players.player(_user(7), "seven") for _ in range(10)))
    assert len(set(same)) == 1
    other = await engine.players().player(_user(7, Platform.TELEGRAM), "seven")  # another platform
    assert other != same[0]
    assert (await engine.query("SELECT count(*) FROM identities"))[0][0] == 2
    assert (await engine.query("SELECT count(*) FROM players"))[0][0] == 2  # none left over


async def test_a_rename_is_written_whether_cached_or_not(engine: Engine) -> None:
    players = engine.players()
    pid = await players.player(_user(1), "old")
    assert await players.player(_user(1), "new") == pid  # cached: the hash of the name differs
    assert (await _names(engine.query))[pid] == "new"
    assert await engine.players().player(_user(1), "newer") == pid  # cold: the read's differs
    assert (await _names(engine.query))[pid] == "newer"


async def test_past_the_cache_senders_keep_their_ids(engine: Engine) -> None:
    players = engine.players(cache_size=3)
    ids = {n: await players.player(_user(n), "p") for n in range(10)}
    assert {n: await players.player(_user(n), "p") for n in range(10)} == ids
    assert len(set(ids.values())) == 10


async def test_ids_that_differ_only_in_leading_zeros_are_different_people(
    engine: Engine,
) -> None:
    players = engine.players()
    ids = {uid: await players.player(_user(uid), "p") for uid in ("7", "07", "007", "0", "x7")}
    assert len(set(ids.values())) == 5


async def test_a_failed_lookup_fails_its_callers_and_the_next_one_reads_again(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = SqliteQuizStore(db)
    pid = await store.player(_user(5), "five")
    cold = SqliteQuizStore(db)
    real_read = db.read

    async def broken(sql: str, params: Any = ()) -> Any:
        raise RuntimeError("reader gone")

    monkeypatch.setattr(db, "read", broken)
    results = await asyncio.gather(
        cold.player(_user(5), "five"), cold.player(_user(6), "six"), return_exceptions=True
    )
    assert all(isinstance(r, RuntimeError) for r in results)
    monkeypatch.setattr(db, "read", real_read)
    assert await cold.player(_user(5), "five") == pid


def test_each_cached_name_is_checked_again_its_own_time_after_it_was_stored(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # with one clock for every entry (fresh within the same minute), all the players active
    # in one minute had their names written again in the first second of the next: a burst
    # of thousands of no-op UPDATEs on PostgreSQL every minute
    from bot.storage.rows import players as rows

    now = [1_000.0]
    monkeypatch.setattr(rows.time, "monotonic", lambda: now[0])
    cache = rows.PlayerCache(10, max_age=60.0)
    cache.put(1, 11, "Ann")
    now[0] += 30
    cache.put(2, 22, "Bob")
    now[0] += 29.9  # Ann's entry 59.9 s old, Bob's 29.9 s
    assert cache.get(1, "Ann") == (11, True, True)
    now[0] += 0.2  # past a minute for Ann only
    assert cache.get(1, "Ann") == (11, True, False)
    assert cache.get(2, "Bob") == (22, True, True)
    assert cache.get(2, "Bobby") == (22, False, True)  # a new name is noticed at any age
    now[0] += 30
    assert cache.get(2, "Bob") == (22, True, False)
    cache.put(2, 22, "Bob")  # stored again: fresh for another minute
    assert cache.get(2, "Bob") == (22, True, True)
    now[0] += 2**32 / 1000 + 1  # the stamp's bits wrap (49.7 days): an age is still an age
    cache.put(1, 11, "Ann")
    now[0] += 59
    assert cache.get(1, "Ann") == (11, True, True)
