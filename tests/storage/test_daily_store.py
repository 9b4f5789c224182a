"""One contract for every DailyStore implementation (memory, SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta

import pytest

from bot.app.bootstrap import App
from bot.core.common.identity import ChatRef, Platform
from bot.core.daily.model import DeliveryKind, DeliveryState, Subscription
from bot.core.daily.ports import DailyStore
from bot.storage.postgres import PgDailyStore, PgDatabase
from bot.storage.sqlite import Database, SqliteDailyStore
from tests.fakes.app import Stores

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
DAY = date(2026, 12, 1)
Q = DeliveryKind.QUESTION


def sub(chat_id: str = "-100", **kw: object) -> Subscription:
    chat = ChatRef(Platform.TELEGRAM, chat_id, chat_id)
    return replace(Subscription(chat, time(9), "Europe/Berlin", since=T0), **kw)  # type: ignore[arg-type]


async def test_subscriptions_round_trip_one_per_place(stores: Stores) -> None:
    store = stores.daily
    a = await store.save_subscription(
        sub(topics=("alpha", "beta"), difficulty=2, window=timedelta(minutes=90), recap=False)
    )
    b = await store.save_subscription(sub("-200"))
    assert a.id and b.id and a.id != b.id
    assert await store.subscription(a.id) == a
    assert await store.subscription_for(a.chat) == a
    again = await store.save_subscription(replace(a, time=time(18, 5), id=0))
    assert again.id == a.id  # the place keeps its subscription
    off = await store.save_subscription(replace(again, active=False, disabled_reason="gone"))
    assert [s.id for s in await store.subscriptions()] == [b.id]
    assert [s.id for s in await store.subscriptions(active_only=False)] == [a.id, b.id]
    assert (await store.subscription(off.id)) == off
    assert await store.subscription(999) is None


async def test_claim_is_unique_per_subscription_and_date(stores: Stores) -> None:
    s = await stores.daily.save_subscription(sub())
    closes = T0 + timedelta(hours=12)
    first, fresh = await stores.daily.claim(s.id, DAY, "alpha-one", T0, closes)
    again, fresh2 = await stores.daily.claim(s.id, DAY, "beta-one", T0, closes)
    assert fresh and not fresh2
    assert again == first and again.question_id == "alpha-one"
    other, fresh3 = await stores.daily.claim(s.id, DAY + timedelta(days=1), "x", T0, closes)
    assert fresh3 and other.id != first.id
    assert (first.day, first.fire_at, first.closes_at) == (DAY, T0, closes)


async def test_concurrent_claims_insert_once(stores: Stores) -> None:
    s = await stores.daily.save_subscription(sub())
    results = await asyncio.gather(
        *(stores.daily.claim(s.id, DAY, "alpha-one", T0, T0 + timedelta(hours=1)) for _ in range(8))
    )
    assert sum(fresh for _, fresh in results) == 1
    assert len({c.id for c, _ in results}) == 1


async def test_claim_round_is_set_once(stores: Stores) -> None:
    s = await stores.daily.save_subscription(sub())
    claim, _ = await stores.daily.claim(s.id, DAY, "alpha-one", T0, T0 + timedelta(hours=1))
    rnd = await _round(stores, claim.id)
    assert await stores.daily.set_claim_round(claim.id, rnd) is True
    assert await stores.daily.set_claim_round(claim.id, "otherround1") is False
    assert (await stores.daily.get_claim(claim.id)).round_id == rnd  # type: ignore[union-attr]


async def _round(stores: Stores, n: int) -> str:
    """A round row to point at (SQLite enforces the foreign key)."""
    from bot.core.quiz.rounds import Round, RoundKind

    chat = ChatRef(Platform.TELEGRAM, "-100", "-100")
    rid = f"round{n:06d}"
    await stores.quiz.create_round(
        Round(rid, "alpha-one", chat, RoundKind.DAILY, (0, 1, 2), T0, T0 + timedelta(hours=1))
    )
    return rid


async def test_delivery_lease_is_exclusive_and_retries_are_bounded(stores: Stores) -> None:
    store = stores.daily
    s = await store.save_subscription(sub())
    claim, _ = await store.claim(s.id, DAY, "alpha-one", T0, T0 + timedelta(hours=1))
    leases = await asyncio.gather(
        *(store.begin_delivery(claim.id, Q, "t:-100", 3, T0) for _ in range(5))
    )
    assert sorted(leases, key=str) == [1, None, None, None, None]
    await store.finish_delivery(claim.id, Q, DeliveryState.FAILED, T0, error="502")
    assert (await store.delivery(claim.id, Q)).error == "502"  # type: ignore[union-attr]
    assert await store.begin_delivery(claim.id, Q, "t:-100", 3, T0) == 2
    await store.finish_delivery(claim.id, Q, DeliveryState.FAILED, T0)
    assert await store.begin_delivery(claim.id, Q, "t:-100", 3, T0) == 3
    await store.finish_delivery(claim.id, Q, DeliveryState.FAILED, T0)
    assert await store.begin_delivery(claim.id, Q, "t:-100", 3, T0) is None  # out of attempts
    reveal = DeliveryKind.REVEAL
    assert await store.begin_delivery(claim.id, reveal, "t:-100", 3, T0) == 1
    await store.finish_delivery(claim.id, reveal, DeliveryState.DELIVERED, T0, message_ref="m7")
    assert await store.begin_delivery(claim.id, reveal, "t:-100", 3, T0) is None
    done = await store.delivery(claim.id, reveal)
    assert done is not None and (done.state, done.message_ref) == (DeliveryState.DELIVERED, "m7")


async def test_recover_turns_cut_off_sends_into_resendable(stores: Stores) -> None:
    store = stores.daily
    s = await store.save_subscription(sub())
    claim, _ = await store.claim(s.id, DAY, "alpha-one", T0, T0 + timedelta(hours=1))
    assert await store.begin_delivery(claim.id, Q, "t:-100", 1, T0) == 1
    assert await store.begin_delivery(claim.id, Q, "t:-100", 1, T0) is None  # being sent
    assert await store.recover() == 1
    assert (await store.delivery(claim.id, Q)).state is DeliveryState.UNCERTAIN  # type: ignore[union-attr]
    assert await store.begin_delivery(claim.id, Q, "t:-100", 1, T0) == 2  # resend despite max
    assert await store.recover() == 1


async def test_open_claims_until_the_reveal_is_settled(stores: Stores) -> None:
    store = stores.daily
    s = await store.save_subscription(sub())
    old, _ = await store.claim(s.id, DAY - timedelta(days=3), "a", T0, T0 - timedelta(days=2))
    one, _ = await store.claim(s.id, DAY, "a", T0, T0 + timedelta(hours=2))
    two, _ = await store.claim(s.id, DAY + timedelta(days=1), "a", T0, T0 + timedelta(hours=1))
    assert [c.id for c in await store.open_claims(T0 - timedelta(days=1))] == [two.id, one.id]
    await store.begin_delivery(two.id, DeliveryKind.REVEAL, "k", 3, T0)
    assert [c.id for c in await store.open_claims(T0)] == [two.id, one.id]  # sending: still open
    await store.finish_delivery(two.id, DeliveryKind.REVEAL, DeliveryState.SKIPPED, T0)
    assert [c.id for c in await store.open_claims(T0)] == [one.id]
    assert [c.id for c in await store.open_claims(T0 - timedelta(days=30))] == [old.id, one.id]


async def test_daily_state_survives_a_restart(app: App, stores: Stores) -> None:
    """What a process stored is there for the next one (SQLite's file, PostgreSQL's server)."""
    if app.database is None:
        pytest.skip("memory does not outlive its process")
    s = await stores.daily.save_subscription(sub(recap=False))
    claim, _ = await stores.daily.claim(s.id, DAY, "alpha-one", T0, T0 + timedelta(hours=1))
    await stores.daily.begin_delivery(claim.id, Q, "t:-100", 3, T0)
    await stores.daily.finish_delivery(claim.id, Q, DeliveryState.DELIVERED, T0, message_ref="9")
    again: DailyStore
    if isinstance(app.database, Database):
        reopened: Database | PgDatabase = Database(app.database.path)
        await reopened.open()
        again = SqliteDailyStore(reopened)
    else:
        reopened = app.database.reopened()
        await reopened.open()
        again = PgDailyStore(reopened)
    try:
        assert await again.subscription(s.id) == s
        assert (await again.claim(s.id, DAY, "beta-one", T0, T0))[0] == claim
        assert (await again.delivery(claim.id, Q)).message_ref == "9"  # type: ignore[union-attr]
    finally:
        await reopened.close()
