"""The scheduler with real stores and a loopback outbox: jobs rebuilt from the database and
kept in step with changes, DST-correct times, restart catch-up, crash recovery without
repeats, failure isolation, 429 handling, pacing and progress logs."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import UTC, date, datetime, timedelta

import pytest

from bot.core.bank.question_bank import QuestionBank
from bot.core.common.clock import Clock, SystemClock
from bot.core.common.identity import ChatRef, Platform
from bot.core.daily.model import DeliveryKind, DeliveryState
from bot.core.daily.service import DailyService
from bot.core.quiz.rounds import RoundKind
from bot.core.quiz.service import QuizService
from bot.jobs.daily import DailyScheduler
from bot.jobs.pacing import PacedOutbox, PlatformLimits
from tests.fakes.app import Stores
from tests.fakes.clock import FixedClock
from tests.fakes.outbox import FakeOutbox, gone, throttled, transient

FAST = PlatformLimits(rate=1000.0, burst=50, chat_count=100, chat_period=1.0)
LIMITS = {p: FAST for p in Platform}
TODAY = date(2026, 12, 1)


def group(n: int) -> ChatRef:
    return ChatRef(Platform.TELEGRAM, f"-{1000 + n}", f"-{1000 + n}")


Factory = Callable[..., DailyScheduler]


@pytest.fixture
async def make(daily: DailyService) -> AsyncIterator[Factory]:
    """Builds schedulers (default: this test's DailyService, jobs paused) and stops them all."""
    made: list[DailyScheduler] = []

    def build(
        outbox: FakeOutbox, service: DailyService | None = None, **kw: object
    ) -> DailyScheduler:
        options: dict[str, object] = {"limits": LIMITS, "run_jobs": False, "workers": 2}
        sched = DailyScheduler(service or daily, [outbox], **{**options, **kw})  # type: ignore[arg-type]
        made.append(sched)
        return sched

    yield build
    for sched in made:
        await sched.stop(grace=1.0)


async def subscribe(daily: DailyService, n: int, *words: str) -> int:
    await daily.command(group(n), ["set", *words], is_admin=True)
    sub = await daily.store.subscription_for(group(n))
    assert sub is not None
    return sub.id


def restart(daily: DailyService, clock: Clock | None = None) -> DailyService:
    """A new process's DailyService over the same stores (no state kept in memory)."""
    quiz = daily.quiz
    fresh = QuizService(quiz.bank, quiz.store, clock=clock or daily.clock)
    return DailyService(
        fresh, daily.store, bank=daily.bank, results=daily.results, clock=clock or daily.clock
    )


def at(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


async def test_jobs_follow_the_database_and_dst(
    daily: DailyService, make: Factory, clock: FixedClock
) -> None:
    clock.current = at(2026, 3, 7, 12, 0)
    ny = await subscribe(daily, 1, "02:30", "America/New_York")
    berlin = await subscribe(daily, 2, "09:00", "Europe/Berlin")
    await daily.command(
        ChatRef(Platform.DISCORD, "9", "8"), ["set", "09:00"], is_admin=True
    )  # Discord is not served by this scheduler: no job for it
    sched = make(FakeOutbox())
    await sched.start()
    assert sched.jobs() == {
        f"post:{ny}": at(2026, 3, 8, 7, 30),  # 02:30 does not exist that night: 03:30 EDT
        f"post:{berlin}": at(2026, 3, 8, 8, 0),
    }
    await daily.command(group(1), ["set", "10:00", "America/New_York"], is_admin=True)
    assert sched.jobs()[f"post:{ny}"] == at(2026, 3, 7, 15, 0)  # 10:00 EST, later today
    await daily.command(group(2), ["off"], is_admin=True)
    assert f"post:{berlin}" not in sched.jobs()


async def test_a_fired_post_delivers_rearms_and_schedules_its_reveal(
    daily: DailyService, make: Factory, clock: FixedClock
) -> None:
    clock.current = at(2026, 3, 7, 12, 0)
    sid = await subscribe(daily, 1, "02:30", "America/New_York", "6h")
    outbox = FakeOutbox()
    sched = make(outbox)
    await sched.start()
    clock.current = at(2026, 3, 8, 7, 30)
    await sched.fire(f"post:{sid}")
    await sched.wait_idle()
    [posted] = outbox.questions()
    assert posted.asked is not None and posted.asked.round.day == date(2026, 3, 8)
    jobs = sched.jobs()
    assert jobs[f"post:{sid}"] == at(2026, 3, 9, 6, 30)  # back to 02:30 EDT the next night
    [reveal] = [k for k in jobs if k.startswith("reveal:")]
    assert jobs[reveal] == at(2026, 3, 8, 13, 30)
    clock.current = at(2026, 3, 8, 13, 30)
    await sched.fire(reveal)
    await sched.wait_idle()
    assert [s.kind for s in outbox.sent] == ["question", "edit", "post"]
    assert "0 answered" in outbox.sent[-1].reply.plain_text()


async def test_restart_catches_up_while_the_window_is_open_and_never_repeats(
    bank: QuestionBank, stores: Stores, daily: DailyService, make: Factory, clock: FixedClock
) -> None:
    clock.current = at(2026, 11, 30, 12, 0)
    ids = [await subscribe(daily, n, "09:00", "UTC", "12h") for n in range(3)]
    clock.current = at(2026, 12, 1, 10, 0)  # the bot was down at 09:00
    first = FakeOutbox()
    sched = make(first)
    await sched.start()
    await sched.wait_idle()
    assert sorted(s.chat.chat_id for s in first.questions()) == ["-1000", "-1001", "-1002"]
    await sched.stop()
    again = FakeOutbox()
    restarted = restart(daily)
    sched2 = make(again, restarted)
    await sched2.start()
    await sched2.wait_idle()
    assert again.sent == []  # claimed and delivered: never sent again
    assert sum(k.startswith("reveal:") for k in sched2.jobs()) == 3
    assert {k for k in sched2.jobs() if k.startswith("post:")} == {f"post:{i}" for i in ids}
    clock.current = at(2026, 12, 1, 21, 30)  # down again over the reveal time
    late = FakeOutbox()
    sched3 = make(late, restarted)
    await sched2.stop()
    await sched3.start()
    await sched3.wait_idle()
    assert [s.kind for s in late.sent] == ["edit", "post"] * 3  # reveals caught up, no posts


async def test_crash_mid_fanout_resumes_every_place_without_new_nonces(
    bank: QuestionBank, stores: Stores, daily: DailyService, make: Factory, clock: FixedClock
) -> None:
    clock.current = at(2026, 11, 30, 12, 0)
    for n in range(10):
        await subscribe(daily, n, "09:00")
    clock.current = at(2026, 12, 1, 9, 1)
    stuck = FakeOutbox(gate=asyncio.Event())  # the platform takes the request, never answers
    crashed = make(stuck, workers=2)
    await crashed.start()
    await stuck.until(2)
    await crashed.stop(grace=0.01)  # the process dies with two posts in flight
    fresh = FakeOutbox()
    service = restart(daily)
    resumed = make(fresh, service)
    await resumed.start()
    await resumed.wait_idle()
    by_chat: dict[str, set[str | None]] = {}
    for sent in stuck.sent + fresh.sent:
        by_chat.setdefault(sent.chat.chat_id, set()).add(sent.nonce)
    assert len(by_chat) == 10  # every place got today's question
    assert all(len(nonces) == 1 for nonces in by_chat.values())  # a resend reuses its nonce
    assert len(fresh.sent) == 10 and len(stuck.sent) == 2


async def test_one_failing_place_never_stops_the_others(
    daily: DailyService, make: Factory, clock: FixedClock, caplog: pytest.LogCaptureFixture
) -> None:
    clock.current = at(2026, 11, 30, 12, 0)
    ids = [await subscribe(daily, n, "09:00") for n in range(6)]
    clock.current = at(2026, 12, 1, 9, 0)
    outbox = FakeOutbox()
    outbox.fail = {
        "-1001": [gone("404 Not Found: chat not found")],
        "-1002": [gone("403 Forbidden: bot was kicked")],
        "-1003": [transient()],
        "-1004": [RuntimeError("boom")],
    }
    sched = make(outbox)
    await sched.start()
    await sched.wait_idle()
    assert sorted(s.chat.chat_id for s in outbox.sent) == ["-1000", "-1005"]
    for n, why in ((1, "chat not found"), (2, "bot was kicked")):
        sub = await daily.store.subscription(ids[n])
        assert sub is not None and not sub.active and why in (sub.disabled_reason or "")
        assert f"post:{ids[n]}" not in sched.jobs()
    assert "telegram:-1001 is gone, subscription disabled" in caplog.text
    retries = sorted(k for k in sched.jobs() if k.startswith("retry:"))
    assert retries == [f"retry:{ids[3]}:2026-12-01", f"retry:{ids[4]}:2026-12-01"]
    assert sched.jobs()[retries[0]] == at(2026, 12, 1, 9, 0, 30)
    for job in retries:
        await sched.fire(job)
    await sched.wait_idle()
    assert sorted(s.chat.chat_id for s in outbox.questions()) == [
        "-1000", "-1003", "-1004", "-1005",
    ]  # fmt: skip


async def test_a_real_apscheduler_timer_fires_the_reveal(
    daily: DailyService, make: Factory
) -> None:
    clock = SystemClock()
    daily = restart(daily, clock)
    await daily.command(group(1), ["set", "00:00"], is_admin=True)
    sub = await daily.store.subscription_for(group(1))
    assert sub is not None
    now = clock.now()
    closes = now + timedelta(seconds=0.3)
    claim, _ = await daily.store.claim(sub.id, TODAY, "alpha-one", now, closes)
    asked = await daily.quiz.open_round(
        daily.bank.questions[0], group(1), RoundKind.DAILY, now, closes, day=TODAY
    )
    await daily.store.set_claim_round(claim.id, asked.round.id)
    await daily.store.begin_delivery(claim.id, DeliveryKind.QUESTION, "k", 3, now)
    await daily.store.finish_delivery(
        claim.id, DeliveryKind.QUESTION, DeliveryState.DELIVERED, now, message_ref="m0"
    )
    outbox = FakeOutbox()
    sched = make(outbox, daily, run_jobs=True)
    await sched.start()
    assert f"reveal:{claim.id}" in sched.jobs()
    async with asyncio.timeout(5):
        await outbox.until(2)
    assert [s.kind for s in outbox.sent] == ["edit", "post"]
    assert clock.now() >= closes


# -- pacing -------------------------------------------------------------------------------------


def windows(times: list[float], span: float) -> Iterator[int]:
    """How many of `times` fall in each window [t, t + span) that starts at one of them."""
    for t in times:
        yield sum(1 for u in times if t <= u < t + span - 1e-4)


async def test_retry_after_pauses_the_platform_and_then_sends() -> None:
    fake = FakeOutbox()
    fake.fail["-1001"] = [throttled(0.05)]
    paced = PacedOutbox(fake, FAST)
    assert await paced.post(group(1), _reply(), nonce="n") == "m1"
    (_, first), (_, second) = fake.calls
    assert second - first >= 0.05
    assert paced.throttled == 1
    fake.fail["-1002"] = [throttled(0.001)] * 3
    stubborn = PacedOutbox(fake, FAST, max_retries=2)
    with pytest.raises(type(throttled(0))):
        await stubborn.post(group(2), _reply(), nonce="n")
    assert stubborn.throttled == 3


async def test_per_chat_and_global_budgets_hold_in_every_window() -> None:
    fake = FakeOutbox()
    chat_budget = PlatformLimits(rate=1000.0, burst=50, chat_count=4, chat_period=0.1)
    paced = PacedOutbox(fake, chat_budget)
    await asyncio.gather(*(paced.post(group(1), _reply(), nonce=str(i)) for i in range(7)))
    times = [t for _, t in fake.calls]
    assert max(windows(times, 0.1)) <= 4
    assert times[-1] - times[0] >= 0.1  # it had to wait, not just send all seven
    fake2 = FakeOutbox()
    overall = PacedOutbox(fake2, PlatformLimits(rate=200.0, burst=2, chat_count=99, chat_period=1))
    await asyncio.gather(*(overall.post(group(i), _reply(), nonce="n") for i in range(30)))
    assert max(windows([t for _, t in fake2.calls], 0.05)) <= 2 + 200 * 0.05


async def test_progress_lines_during_a_fanout(
    daily: DailyService, make: Factory, clock: FixedClock, caplog: pytest.LogCaptureFixture
) -> None:
    clock.current = at(2026, 11, 30, 12, 0)
    for n in range(12):
        await subscribe(daily, n, "09:00")
    clock.current = at(2026, 12, 1, 9, 0)
    slow = PlatformLimits(rate=100.0, burst=1, chat_count=10, chat_period=1.0)
    sched = make(FakeOutbox(), limits={Platform.TELEGRAM: slow}, progress_every=0.03)
    with caplog.at_level(logging.INFO, logger="bot.jobs.dispatch"):
        await sched.start()
        await sched.wait_idle()
        await asyncio.sleep(0.1)
    lines = [m for r in caplog.records if "fan-out on telegram" in (m := r.getMessage())]
    assert any("remaining" in line and "finished" not in line for line in lines)
    assert "finished: delivered 12, failed 0, remaining 0" in lines[-1]


def _reply():  # type: ignore[no-untyped-def]
    from bot.core.common.replies import Paragraph, Reply

    return Reply((Paragraph("hi"),))
