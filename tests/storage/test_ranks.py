"""Own ranks on big boards (bot/storage/sqlite/ranks.py): exact while fewer than
`exact_above` players are above, from a snapshot at most SNAPSHOT_AGE old further down."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bot.core.common.identity import Platform, UserRef
from bot.storage.sqlite import Database, SqliteQuizStore
from bot.storage.sqlite import ranks as ranks_module

POINTS = [50, 40, 40, 30, 20, 20, 20, 10, 10, 5, 5, 5, 5, 1]


def _true_ranks(points: list[int]) -> list[int]:
    return [1 + sum(other > mine for other in points) for mine in points]


async def _board(tmp_path: Path, points: list[int]) -> tuple[Database, SqliteQuizStore, list[int]]:
    db = Database(tmp_path / "ranks.db")
    await db.open()
    store = SqliteQuizStore(db)
    ids = [
        await store.player(UserRef(Platform.DISCORD, str(i)), f"p{i}") for i in range(len(points))
    ]
    for pid, p in zip(ids, points, strict=True):
        await db.write(
            "INSERT INTO scores (player_id, scope, period, points, correct, answered) "
            "VALUES (?, 'global', 'all', ?, 1, 1)",
            (pid, p),
        )
    return db, store, ids


async def _ranks(store: SqliteQuizStore, ids: list[int]) -> list[int]:
    entries = [await store.board_entry("global", "all", pid) for pid in ids]
    return [e[0] for e in entries if e is not None]


async def _snapshots_read() -> None:
    for _ in range(50):  # the background read is one reader round trip
        await asyncio.sleep(0.01)


async def test_ranks_are_exact_at_the_top_and_from_the_snapshot_below(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ranks_module, "EXACT_ABOVE", 3)
    db, store, ids = await _board(tmp_path, POINTS)
    assert await _ranks(store, ids) == _true_ranks(POINTS)  # first ask: counted in full
    await _snapshots_read()
    assert await _ranks(store, ids) == _true_ranks(POINTS)  # from the snapshot below the top

    # the player with 10 points passes everyone but the leader
    await db.write("UPDATE scores SET points = 45 WHERE player_id = ?", (ids[7],))
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
    await db.close()


async def test_a_failed_snapshot_read_leaves_ranks_counted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(ranks_module, "EXACT_ABOVE", 2)
    monkeypatch.setattr(ranks_module, "_SNAPSHOT_SQL", "SELECT nonsense FROM nowhere")
    db, store, ids = await _board(tmp_path, POINTS)
    assert await _ranks(store, ids) == _true_ranks(POINTS)
    await _snapshots_read()
    assert await _ranks(store, ids) == _true_ranks(POINTS)
    assert "board's ranks failed" in caplog.text
    await db.close()
