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


async def test_a_job_armed_before_another_process_changed_the_time_does_not_post(
    daily: DailyService, sched: DailyScheduler, clock: FixedClock
) -> None:
    """/daily set 18:00 on a follower at 08:59:55, before the leader's refresh: the job
    armed for 09:00 fires, posts nothing, and the post comes at 18:00."""
    outbox = sched.outboxes[Platform.TELEGRAM].inner
    assert isinstance(outbox, FakeOutbox)
    clock.current = at(2026, 3, 7, 12, 0)
    moved = await subscribe(daily, 1, "09:00", "Europe/Berlin")
    kept = await subscribe(daily, 2, "09:00", "Europe/Berlin")
    await sched.start()
    assert sched.jobs()[f"post:{moved}"] == at(2026, 3, 8, 8, 0)
    clock.current = at(2026, 3, 8, 7, 59, 55)
    elsewhere = restart(daily)
    await elsewhere.command(group(1), ["set", "18:00", "Europe/Berlin"], is_admin=True)
    clock.current = at(2026, 3, 8, 8, 0)
    await sched.fire(f"post:{moved}")
    await sched.fire(f"post:{kept}")
    await sched.wait_idle()
    assert [p.chat for p in outbox.questions()] == [group(2)]  # the unchanged one only
    assert sched.jobs()[f"post:{moved}"] == at(2026, 3, 8, 17, 0)  # re-armed from the store
    clock.current = at(2026, 3, 8, 17, 0)
    await sched.fire(f"post:{moved}")
    await sched.wait_idle()
    assert [p.chat for p in outbox.questions()] == [group(2), group(1)]
    assert sched.jobs()[f"post:{moved}"] == at(2026, 3, 9, 17, 0)


async def test_a_job_of_a_subscription_turned_off_elsewhere_does_not_post(
    daily: DailyService, sched: DailyScheduler, clock: FixedClock
) -> None:
    outbox = sched.outboxes[Platform.TELEGRAM].inner
    assert isinstance(outbox, FakeOutbox)
    clock.current = at(2026, 3, 7, 12, 0)
    sid = await subscribe(daily, 1, "09:00", "Europe/Berlin")
    await sched.start()
    await restart(daily).command(group(1), ["off"], is_admin=True)
    clock.current = at(2026, 3, 8, 8, 0)
    await sched.fire(f"post:{sid}")
    await sched.wait_idle()
    assert outbox.questions() == [] and f"post:{sid}" not in sched.jobs()


async def test_stopped_schedulers_leave_no_change_listener_behind(
    daily: DailyService, clock: FixedClock
) -> None:
    """Each leadership term builds a DailyScheduler; its stop takes its listener away."""
    clock.current = at(2026, 3, 7, 12, 0)
    before = len(daily._listeners)
    for _ in range(3):
        term = DailyScheduler(daily, [FakeOutbox()], limits=LIMITS, run_jobs=False, workers=2)
        await term.start()
        assert len(daily._listeners) == before + 1
        await term.stop(grace=1.0)
    assert len(daily._listeners) == before
