"""Own ranks on big boards, on both SQL engines (bot/storage/rows/ranks.py and each engine's
reads): exact while fewer than `exact_above` players are above, from a snapshot at most
SNAPSHOT_AGE old further down."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from bot.core.common.identity import Platform, UserRef
from bot.core.quiz.ports import Store
from bot.storage.postgres import PgQuizStore
from bot.storage.postgres import ranks as pg_ranks
from bot.storage.rows import ranks as ranks_module
from bot.storage.sqlite import Database, SqliteQuizStore
from bot.storage.sqlite import ranks as sqlite_ranks
from tests.fakes.postgres import databases

POINTS = [50, 40, 40, 30, 20, 20, 20, 10, 10, 5, 5, 5, 5, 1]


@dataclass
class Engine:
    """A quiz store made by `store()` over one database; `set_points(player, points)` writes a
    board row as the answers' trigger would; `reads`: the engine's ranks module (its SQL)."""

    store: Callable[[], Store]
    set_points: Callable[[int, int], Any]
    reads: ModuleType


@pytest.fixture(params=["sqlite", "postgresql"])
async def engine(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Engine]:
    if request.param == "sqlite":
        db = Database(tmp_path / "ranks.db")
        await db.open()

        async def set_sqlite(player: int, points: int) -> None:
            await db.write(
                "INSERT INTO scores (player_id, scope, period, points, correct, answered) "
                "VALUES (?, 'global', 'all', ?, 1, 1) "
                "ON CONFLICT (player_id, scope, period) DO UPDATE SET points = excluded.points",
                (player, points),
            )

        try:
            yield Engine(lambda: SqliteQuizStore(db), set_sqlite, sqlite_ranks)
        finally:
            await db.close()
        return
    async with databases(1) as (pg,):

        async def set_pg(player: int, points: int) -> None:
            await pg.execute(
                "INSERT INTO scores (player_id, scope, period, points, correct, answered) "
                "VALUES ($1, 'global', 'all', $2, 1, 1) "
                "ON CONFLICT (player_id, scope, period) DO UPDATE SET points = excluded.points",
                player, points,
            )  # fmt: skip

        yield Engine(lambda: PgQuizStore(pg), set_pg, pg_ranks)


def _true_ranks(points: list[int]) -> list[int]:
    return [1 + sum(other > mine for other in points) for mine in points]


async def _board(engine: Engine, points: list[int]) -> tuple[Store, list[int]]:
    store = engine.store()
    ids = [
        await store.player(UserRef(Platform.DISCORD, str(i)), f"p{i}") for i in range(len(points))
    ]
    for pid, p in zip(ids, points, strict=True):
        await engine.set_points(pid, p)
    return store, ids


async def _ranks(store: Store, ids: list[int]) -> list[int]:
    entries = [await store.board_entry("global", "all", pid) for pid in ids]
    return [e[0] for e in entries if e is not None]


async def _snapshots_read() -> None:
    for _ in range(50):  # the background read is one reader round trip
        await asyncio.sleep(0.01)


async def test_ranks_are_exact_at_the_top_and_from_the_snapshot_below(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ranks_module, "EXACT_ABOVE", 3)
    store, ids = await _board(engine, POINTS)
    assert await _ranks(store, ids) == _true_ranks(POINTS)  # first ask: counted in full
    await _snapshots_read()
    assert await _ranks(store, ids) == _true_ranks(POINTS)  # from the snapshot below the top

    # the player with 10 points passes everyone but the leader
    await engine.set_points(ids[7], 45)
    moved = POINTS.copy()
    moved[7] = 45
    expected = [
        rank
        if rank - 1 < 3  # fewer than 3 above: counted live
        else 1 + max(3, sum(old > mine for old in POINTS))  # the snapshot, not yet re-read
        for rank, mine in zip(_true_ranks(moved), moved, strict=True)
    ]
    assert expected != _true_ranks(moved)  # the test shows a stale rank
    assert await _ranks(store, ids) == expected
    monkeypatch.setattr(ranks_module, "SNAPSHOT_AGE", 0.0)
    await _ranks(store, ids)  # asks for a new snapshot
    await _snapshots_read()
    assert await _ranks(store, ids) == _true_ranks(moved)


async def test_a_failed_snapshot_read_leaves_ranks_counted(
    engine: Engine, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(ranks_module, "EXACT_ABOVE", 2)
    monkeypatch.setattr(engine.reads, "_SNAPSHOT_SQL", "SELECT nonsense FROM nowhere")
    store, ids = await _board(engine, POINTS)
    assert await _ranks(store, ids) == _true_ranks(POINTS)
    await _snapshots_read()
    assert await _ranks(store, ids) == _true_ranks(POINTS)
    assert "board's ranks failed" in caplog.text
