"""Practice reminders and timeout notes as jobs of the real scheduler, posting through a paced
loopback outbox, with a real SQLite file and a fixed clock."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest

from bot.core.bank.question_bank import QuestionBank
from bot.core.common.clock import Clock
from bot.core.common.identity import ChatRef, Platform, UserRef
from bot.core.practice.service import PracticeService
from bot.core.quiz.service import QuizService
from bot.jobs import practice as practice_jobs
from bot.jobs.pacing import PacedOutbox, PlatformLimits, pace
from bot.jobs.scheduler import Scheduler
from tests.fakes.app import make_app
from tests.fakes.clock import FixedClock
from tests.fakes.outbox import FakeOutbox, gone

FAST = PlatformLimits(rate=1000.0, burst=50, chat_count=100, chat_period=1.0)
ADA = UserRef(Platform.TELEGRAM, "61")
ADA_DM = ChatRef(Platform.TELEGRAM, "61")
BOB = UserRef(Platform.DISCORD, "62")
BOB_DM = ChatRef(Platform.DISCORD, "dm-62")


@dataclass
class World:
    quiz: QuizService
    practice: PracticeService
    outbox: FakeOutbox
    clock: Clock


@pytest.fixture
async def world(tmp_path: Path, bank: QuestionBank, clock: FixedClock) -> AsyncIterator[World]:
    async with make_app(tmp_path, bank=bank, clock=clock, seed=8) as app:
        yield World(app.quiz, app.practice, FakeOutbox(Platform.TELEGRAM), app.clock)


@dataclass
class Jobs:
    scheduler: Scheduler
    outboxes: dict[Platform, PacedOutbox]

    def schedule(self, world: World, **kw: timedelta) -> practice_jobs.PracticeJobs:
        return practice_jobs.schedule(
            self.scheduler, world.practice, self.outboxes, world.clock, **kw
        )


@pytest.fixture
async def scheduler(world: World) -> AsyncIterator[Jobs]:
    """The real scheduler (jobs paused: the test fires them) serving Telegram only."""
    sched = Scheduler(run_jobs=False)
    sched.start()
    try:
        yield Jobs(sched, pace([world.outbox], {p: FAST for p in Platform}))
    finally:
        await sched.stop(grace=1.0)


async def a_due_card(world: World, user: UserRef, chat: ChatRef) -> None:
    asked = await world.quiz.ask(user, "x", chat, question_id="alpha-one")
    await world.quiz.answer_choice(user, "x", asked.round.id, "A")  # due within 10 minutes


async def test_reminders_are_scheduled_jobs_sent_once_a_day(
    world: World, scheduler: Jobs, clock: FixedClock, caplog: pytest.LogCaptureFixture
) -> None:
    jobs = scheduler.schedule(world)
    assert {"practice:reminders", "practice:timeouts"} <= set(scheduler.scheduler.jobs())
    await world.practice.remind(ADA, "Ada", ADA_DM, ["12:30"])  # clock: 12:00 UTC
    await world.practice.remind(BOB, "Bob", BOB_DM, ["12:30"])
    await a_due_card(world, ADA, ADA_DM)
    await a_due_card(world, BOB, BOB_DM)

    clock.advance(minutes=31)
    await scheduler.scheduler.fire("practice:reminders")  # what APScheduler runs every minute
    (sent,) = world.outbox.sent
    assert sent.chat == ADA_DM and sent.kind == "post"
    assert "1 practice card is due for review" in sent.reply.plain_text()
    bob = await world.practice.store.reminder(await world.quiz.store.player(BOB, "Bob"))
    assert bob is not None and bob.last_sent is None  # Discord is not served: not claimed

    assert await jobs.remind() == 0  # the same day: nothing again
    restarted = practice_jobs.PracticeJobs(world.practice, scheduler.outboxes, world.clock)
    assert await restarted.remind() == 0  # ... also after a restart (claimed in the database)

    clock.advance(days=1)
    world.outbox.fail[ADA_DM.chat_id] = [gone()]
    with caplog.at_level(logging.INFO, logger="bot.jobs.practice"):
        assert await jobs.remind() == 0  # the bot was blocked: logged, never raised
    assert "cannot reach telegram:61" in caplog.text


async def test_one_failing_reminder_does_not_cost_the_others_theirs(
    world: World, scheduler: Jobs, clock: FixedClock, caplog: pytest.LogCaptureFixture
) -> None:
    jobs = scheduler.schedule(world)
    eve, eve_dm = UserRef(Platform.TELEGRAM, "63"), ChatRef(Platform.TELEGRAM, "63")
    for user, chat in ((ADA, ADA_DM), (eve, eve_dm)):
        await world.practice.remind(user, "x", chat, ["12:30"])
        await a_due_card(world, user, chat)
    clock.advance(minutes=31)
    world.outbox.fail[ADA_DM.chat_id] = [RuntimeError("unexpected")]
    with caplog.at_level(logging.ERROR, logger="bot.jobs.practice"):
        assert await jobs.remind() == 1
    assert [s.chat for s in world.outbox.sent] == [eve_dm]
    assert "remind note to telegram:61 failed" in caplog.text


async def test_idle_sessions_get_a_polite_note(
    world: World, scheduler: Jobs, clock: FixedClock
) -> None:
    jobs = scheduler.schedule(world, every=timedelta(seconds=30))
    await world.practice.start(ADA, "Ada", ADA_DM)
    await world.practice.start(BOB, "Bob", BOB_DM)
    clock.advance(minutes=10)
    assert await jobs.expire() == 0
    clock.advance(minutes=25)
    assert await jobs.expire() == 1
    (note,) = world.outbox.sent
    assert note.chat == ADA_DM
    assert "ended after 30 minutes without an answer" in note.reply.plain_text()
    assert await jobs.expire() == 0
    # the Discord session (not served in this run) is left to time out on its next use
    bob = await world.practice.store.active_session(await world.quiz.store.player(BOB, "Bob"))
    assert bob is not None


async def test_stop_lets_a_running_recurring_job_finish(world: World) -> None:
    """APScheduler cancels its job tasks at shutdown; a reminder run already under way (its
    reminders claimed for today) must finish instead of being cut off."""
    sched = Scheduler(run_jobs=False)
    sched.start()
    started, release, finished = asyncio.Event(), asyncio.Event(), []

    async def slow() -> None:
        started.set()
        await release.wait()
        finished.append(True)

    sched.every("test:slow", timedelta(minutes=1), slow)
    firing = asyncio.create_task(sched.fire("test:slow"))
    await started.wait()
    stopping = asyncio.create_task(sched.stop(grace=5.0))
    await asyncio.sleep(0.01)
    firing.cancel()  # as APScheduler does to the job's task when it shuts down
    release.set()
    await stopping
    assert finished == [True]
