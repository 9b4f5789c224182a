"""PgUpdateInbox with several webhook workers on one database: two PgDatabase pools (two
workers) get the same update at once and one processes it; a worker's claim keeps it from the
other while it lives (renewed as it works) and lets go when its lease runs out (the worker was
killed); a done update is never handed out again. The single-worker contract is tests/storage/
test_inbox.py (all three engines)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.core.delivery import Inbound
from bot.storage.postgres import PgDatabase, PgUpdateInbox
from tests.fakes.postgres import databases

SHORT = 0.3  # seconds: a lease that runs out within a test


def update(update_id: int, text: str = "hi") -> Inbound:
    return Inbound(update_id, json.dumps({"update_id": update_id, "text": text}))


@pytest.fixture
async def pools() -> AsyncIterator[list[PgDatabase]]:
    async with databases(2) as opened:
        yield opened


async def test_the_same_update_at_two_workers_at_once_goes_to_one(
    pools: list[PgDatabase],
) -> None:
    one, two = PgUpdateInbox(pools[0]), PgUpdateInbox(pools[1])
    for update_id in range(1, 21):  # Telegram's retry reaching the other worker meanwhile
        got = await asyncio.gather(one.add([update(update_id)]), two.add([update(update_id)]))
        assert sorted(len(g) for g in got) == [0, 1], (update_id, got)
    batch = [update(i) for i in range(100, 140)]  # overlapping batches, in any order
    got = await asyncio.gather(one.add(batch), two.add(batch[::-1]))
    ids = [[u.update_id for u in g] for g in got]
    assert not set(ids[0]) & set(ids[1]) and sorted(ids[0] + ids[1]) == list(range(100, 140))


async def test_a_live_workers_claim_keeps_the_update_from_the_other(
    pools: list[PgDatabase],
) -> None:
    one, two = PgUpdateInbox(pools[0]), PgUpdateInbox(pools[1])
    assert await one.add([update(1), update(2)]) == [update(1), update(2)]
    assert await two.add([update(1)]) == []  # Telegram repeated it to the other worker
    assert await two.pending() == []  # the other worker starts: nothing of its own
    assert await one.add([update(1)]) == [update(1)]  # its own come back to it
    assert await one.pending() == [update(1), update(2)]


async def test_an_expired_claim_lets_the_other_worker_take_the_update(
    pools: list[PgDatabase],
) -> None:
    killed = PgUpdateInbox(pools[0], lease=SHORT)
    other = PgUpdateInbox(pools[1], lease=SHORT)
    assert await killed.add([update(1), update(2)]) == [update(1), update(2)]
    await killed.done([2])
    assert await other.pending() == []
    await asyncio.sleep(SHORT + 0.1)  # the first worker was killed: its lease runs out
    assert await other.pending() == [update(1)]  # 2 is done: never handed out again
    assert await killed.add([update(1)]) == []  # now the other worker's
    assert await other.add([update(1)]) == [update(1)]


async def test_a_worker_that_keeps_working_renews_its_claims(pools: list[PgDatabase]) -> None:
    busy = PgUpdateInbox(pools[0], lease=SHORT)
    other = PgUpdateInbox(pools[1], lease=SHORT)
    assert await busy.add([update(1)]) == [update(1)]
    for n in range(2, 6):  # longer than the lease in all, each step under it
        await asyncio.sleep(SHORT / 2)
        assert await busy.add([update(n)]) == [update(n)]
        assert await other.pending() == []
    assert await other.add([update(1)]) == []


async def test_an_update_done_by_one_worker_is_never_handed_to_the_other(
    pools: list[PgDatabase],
) -> None:
    one = PgUpdateInbox(pools[0], lease=SHORT)
    two = PgUpdateInbox(pools[1], lease=SHORT)
    await one.add([update(i) for i in range(1, 6)])
    await one.done([1, 2, 3, 4, 5])
    await asyncio.sleep(SHORT + 0.1)
    assert await two.add([update(i) for i in range(1, 6)]) == []
    assert await two.pending() == []
    assert await one.pending() == []


async def test_two_workers_reading_what_a_dead_one_left_share_it_out(
    pools: list[PgDatabase],
) -> None:
    await PgUpdateInbox(pools[0], lease=0).add([update(i) for i in range(1, 201)])  # killed
    await asyncio.sleep(0.01)
    one, two = PgUpdateInbox(pools[0]), PgUpdateInbox(pools[1])
    got = await asyncio.gather(*(w.pending(limit=30) for _ in range(5) for w in (one, two)))
    mine = {u.update_id for g in got[0::2] for u in g}
    theirs = {u.update_id for g in got[1::2] for u in g}
    assert not mine & theirs
    assert mine | theirs <= set(range(1, 201))
    rest = await one.pending() + await two.pending()  # then everything, once each
    assert sorted(mine | theirs | {u.update_id for u in rest}) == list(range(1, 201))


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner),
    max_leaves=8,
)
payloads = st.builds(json.dumps, json_values, ensure_ascii=st.booleans())


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    entries=st.lists(
        st.tuples(st.integers(-(2**63), 2**63 - 1), payloads),
        max_size=12,
        unique_by=lambda e: e[0],
    )
)
async def test_any_json_payload_and_id_round_trip(
    pools: list[PgDatabase], entries: list[tuple[int, str]]
) -> None:
    await pools[0].execute("DELETE FROM telegram_inbox")
    inbox = PgUpdateInbox(pools[0])
    stored = [Inbound(i, text) for i, text in entries]
    expected = sorted(stored, key=lambda u: u.update_id)
    assert await inbox.add(stored) == expected
    assert await inbox.pending() == expected
    assert await inbox.add(stored) == expected  # again: nothing new, nothing done
    assert await PgUpdateInbox(pools[1]).add(stored) == []  # another worker's: claimed
