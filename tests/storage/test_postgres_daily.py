"""PgDailyStore with several processes on one database: two PgDatabase pools (two processes,
each its own connections) race for the same claim, delivery and round, and one wins; the next
leader's recover() takes back the posts a killed leader left SENDING. The single-process
contract is tests/storage/test_daily_store.py (all three engines)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, time, timedelta

import pytest

from bot.core.common.identity import ChatRef, Platform
from bot.core.daily.model import Claim, DeliveryKind, DeliveryState, Subscription
from bot.storage.postgres import PgDailyStore, PgDatabase
from tests.fakes.postgres import databases

DAY = date(2026, 12, 1)
Q = DeliveryKind.QUESTION


@pytest.fixture
async def pools() -> AsyncIterator[list[PgDatabase]]:
    async with databases(2) as opened:
        yield opened


@pytest.fixture
def stores(pools: list[PgDatabase]) -> tuple[PgDailyStore, PgDailyStore]:
    """The daily store of two processes."""
    return PgDailyStore(pools[0]), PgDailyStore(pools[1])


async def a_claim(store: PgDailyStore) -> Claim:
    now = datetime.now(UTC)
    chat = ChatRef(Platform.TELEGRAM, "-100", "-100")
    sub = await store.save_subscription(Subscription(chat, time(9), "Europe/Berlin", since=now))
    claim, _ = await store.claim(sub.id, DAY, "alpha-one", now, now + timedelta(hours=1))
    return claim


async def test_two_processes_claim_a_day_once(
    stores: tuple[PgDailyStore, PgDailyStore],
) -> None:
    one, two = stores
    now = datetime.now(UTC)
    chat = ChatRef(Platform.TELEGRAM, "-100", "-100")
    sub = await one.save_subscription(Subscription(chat, time(9), "Europe/Berlin", since=now))
    for offset in range(5):  # five days, each raced by both processes at once
        day = DAY + timedelta(days=offset)
        results = await asyncio.gather(
            *(
                store.claim(sub.id, day, f"q{i}", now, now + timedelta(hours=1))
                for i in range(6)
                for store in (one, two)
            )
        )
        assert sum(fresh for _, fresh in results) == 1
        assert len({claim for claim, _ in results}) == 1  # every caller got the winner's


async def test_two_processes_take_a_delivery_once(
    stores: tuple[PgDailyStore, PgDailyStore],
) -> None:
    one, two = stores
    claim = await a_claim(one)
    now = datetime.now(UTC)

    async def race() -> list[int | None]:
        return await asyncio.gather(
            *(s.begin_delivery(claim.id, Q, "t:-100", 3, now) for _ in range(5) for s in stores)
        )

    assert sorted(race_ := await race(), key=lambda a: a or 0) == [None] * 9 + [1], race_
    await one.finish_delivery(claim.id, Q, DeliveryState.FAILED, now, error="timeout")
    assert [a for a in await race() if a is not None] == [2]  # the retry: one of them
    await two.finish_delivery(claim.id, Q, DeliveryState.DELIVERED, now, message_ref="m1")
    assert set(await race()) == {None}


async def test_two_processes_set_a_claims_round_once(
    pools: list[PgDatabase], stores: tuple[PgDailyStore, PgDailyStore]
) -> None:
    claim = await a_claim(stores[0])
    for round_id in ("r1", "r2"):
        await pools[0].execute(
            "INSERT INTO rounds (id, question_id, platform, chat_id, kind, choice_order, "
            "opened_at) VALUES ($1, 'alpha-one', 'telegram', '-100', 'daily', '', 0)",
            round_id,
        )
    won = await asyncio.gather(
        stores[0].set_claim_round(claim.id, "r1"), stores[1].set_claim_round(claim.id, "r2")
    )
    assert sorted(won) == [False, True]
    stored = await stores[1].get_claim(claim.id)
    assert stored is not None and stored.round_id == ("r1" if won[0] else "r2")


async def test_the_next_leader_takes_back_the_posts_a_killed_leader_left_sending(
    pools: list[PgDatabase], stores: tuple[PgDailyStore, PgDailyStore]
) -> None:
    killed, leader = stores
    claim = await a_claim(killed)
    now = datetime.now(UTC)
    assert await killed.begin_delivery(claim.id, Q, "t:-100", 3, now) == 1  # posting...
    assert await killed.begin_delivery(claim.id, DeliveryKind.REVEAL, "t:-100", 3, now) == 1
    await killed.finish_delivery(claim.id, DeliveryKind.REVEAL, DeliveryState.DELIVERED, now)
    assert await leader.begin_delivery(claim.id, Q, "t:-100", 3, now) is None  # being sent
    pools[0].pool.terminate()  # ... when it is killed
    assert await leader.recover() == 1  # the new leader, as it starts leading
    cut = await leader.delivery(claim.id, Q)
    assert cut is not None and cut.state is DeliveryState.UNCERTAIN
    assert await leader.begin_delivery(claim.id, Q, "t:-100", 3, now) == 2  # resent, once
    assert await leader.begin_delivery(claim.id, Q, "t:-100", 3, now) is None
    revealed = await leader.delivery(claim.id, DeliveryKind.REVEAL)
    assert revealed is not None and revealed.state is DeliveryState.DELIVERED
