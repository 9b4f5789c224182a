"""PgGameStore with several processes on one database: two PgDatabase pools (two processes)
start a game in one chat at once (one runs, both get it) and move one game on from the same
step at once (one move wins). The single-process contract is tests/storage/
test_game_store.py (all three engines)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from bot.core.common.identity import ChatRef, Platform
from bot.core.games import Game, GameSettings, GameState, Phase
from bot.storage.postgres import PgDatabase, PgGameStore
from tests.fakes.postgres import databases

T0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
CHAT = ChatRef(Platform.DISCORD, "10", "1")


@pytest.fixture
async def pools() -> AsyncIterator[list[PgDatabase]]:
    async with databases(2) as opened:
        yield opened


@pytest.fixture
async def stores(pools: list[PgDatabase]) -> tuple[PgGameStore, PgGameStore]:
    await pools[0].execute("INSERT INTO players (id, name, created_at) VALUES (1, 'Ann', 0)")
    return PgGameStore(pools[0]), PgGameStore(pools[1])


def game(game_id: str, chat: ChatRef = CHAT) -> Game:
    return Game(
        id=game_id, chat=chat, starter_id=1, starter_name="Ann",
        settings=GameSettings(count=3, seconds=20, topic="alpha", difficulty=2, hints=True),
        question_ids=("alpha-one", "alpha-two", "beta-one"), created_at=T0,
    )  # fmt: skip


async def test_two_processes_starting_a_game_in_one_chat_get_one_game(
    pools: list[PgDatabase], stores: tuple[PgGameStore, PgGameStore]
) -> None:
    for n in range(5):
        chat = ChatRef(Platform.DISCORD, str(100 + n), "1")
        tries = [game(f"g{n}-{i}", chat) for i in range(8)]
        created = await asyncio.gather(*(stores[i % 2].create_game(g) for i, g in enumerate(tries)))
        assert len({g.id for g in created}) == 1  # every caller got the one that runs
        assert created[0] in tries
        running = await pools[1].fetchval(
            "SELECT count(*) FROM games WHERE chat_key = $1", chat.key
        )
        assert running == 1


async def test_two_processes_moving_a_game_on_from_one_step_one_wins(
    stores: tuple[PgGameStore, PgGameStore],
) -> None:
    one, two = stores
    for n in range(5):
        chat = ChatRef(Platform.DISCORD, str(200 + n), "1")
        started = await one.create_game(game(f"g{n}", chat))
        asking = replace(started, position=0, phase=Phase.ASKING, round_ids=("r1",),
                         deadline=T0 + timedelta(seconds=20))  # fmt: skip
        stopped = replace(started, state=GameState.STOPPED, ended_at=T0, ended_by="Bob")
        won = await asyncio.gather(one.update(asking, started), two.update(stopped, started))
        assert sorted(won) == [False, True]
        assert await two.get_game(started.id) == (asking if won[0] else stopped)
