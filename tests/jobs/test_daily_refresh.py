"""The leader's daily jobs follow /daily changes made on other processes (PostgreSQL: a
command lands on any process, only the leader schedules): `DailyScheduler.refresh` re-arms
new and changed subscriptions and drops those turned off. The other process is a second
DailyService over the same store, whose changes no listener here hears."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.core.common.identity import ChatRef, Platform
from bot.core.daily.service import DailyService
from bot.jobs.daily import DailyScheduler
from tests.fakes.clock import FixedClock
from tests.fakes.outbox import FakeOutbox
from tests.jobs.test_daily import LIMITS, at, group, restart, subscribe


@pytest.fixture
async def sched(daily: DailyService) -> AsyncIterator[DailyScheduler]:
    """The leader's daily jobs over Telegram (paused: the test reads the armed times)."""
    made = DailyScheduler(daily, [FakeOutbox()], limits=LIMITS, run_jobs=False, workers=2)
    yield made
    await made.stop(grace=1.0)


async def test_refresh_follows_what_another_process_changed(
    daily: DailyService, sched: DailyScheduler, clock: FixedClock
) -> None:
    clock.current = at(2026, 3, 7, 12, 0)
    kept = await subscribe(daily, 1, "09:00", "Europe/Berlin")
    moved = await subscribe(daily, 2, "09:00", "Europe/Berlin")
    dropped = await subscribe(daily, 3, "09:00", "Europe/Berlin")
    await sched.start()
    assert await sched.refresh() == 0  # nothing changed since the start
    elsewhere = restart(daily)  # the other process: its changes reach no listener here
    await elsewhere.command(group(2), ["set", "18:00", "Europe/Berlin"], is_admin=True)
    await elsewhere.command(group(3), ["off"], is_admin=True)
    added = await subscribe(elsewhere, 4, "07:00", "UTC")
    assert sched.jobs()[f"post:{moved}"] == at(2026, 3, 8, 8, 0)  # not seen yet
    assert await sched.refresh() == 3
    assert sched.jobs() == {
        f"post:{kept}": at(2026, 3, 8, 8, 0),
        f"post:{moved}": at(2026, 3, 7, 17, 0),  # 18:00 in Berlin, later today
        f"post:{added}": at(2026, 3, 8, 7, 0),
    }
    assert dropped not in {int(k.split(":")[1]) for k in sched.jobs()}
    assert await sched.refresh() == 0


async def test_refresh_leaves_platforms_this_process_does_not_serve(
    daily: DailyService, sched: DailyScheduler, clock: FixedClock
) -> None:
    clock.current = at(2026, 3, 7, 12, 0)
    await sched.start()  # Telegram's only
    await daily.command(ChatRef(Platform.DISCORD, "9", "8"), ["set", "09:00"], is_admin=True)
    assert await sched.refresh() == 0 and sched.jobs() == {}
