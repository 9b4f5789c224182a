"""Mock interviews as jobs of the real scheduler: the offer two days before a plan's date
(sent once, beside the day's reminder, each with its own nonce) and the report of a mock whose
time ran out, through a paced loopback outbox with a real SQLite file and a fixed clock."""

from __future__ import annotations

from tests.fakes.clock import FixedClock
from tests.jobs import test_practice as base
from tests.jobs.test_practice import ADA, ADA_DM, BOB, BOB_DM, Jobs, World, a_due_card

world, scheduler = base.world, base.scheduler  # the fixtures, shared


async def test_the_mock_offer_goes_out_once_beside_the_reminder(
    world: World, scheduler: Jobs, clock: FixedClock
) -> None:
    jobs = scheduler.schedule(world)
    await world.practice.remind(ADA, "Ada", ADA_DM, ["12:30"])  # clock: 2026-12-01 12:00 UTC
    await world.practice.plan(ADA, "Ada", ADA_DM, ["2026-12-03", "alpha"])  # in 2 days
    await world.practice.plan(BOB, "Bob", BOB_DM, ["2026-12-03"])  # Discord: not served
    await a_due_card(world, ADA, ADA_DM)
    assert await jobs.remind() == 0  # the offer waits for Ada's reminder time too
    clock.advance(minutes=31)
    await scheduler.scheduler.fire("practice:reminders")
    reminder, offer = world.outbox.sent
    assert "due for review" in reminder.reply.plain_text()
    assert offer.chat == ADA_DM and offer.reply.plain_text().startswith(
        "🎯 Your interview is in 2 days: try /mock, a timed mock interview (10 questions in 30 "
        "minutes"
    )
    assert offer.nonce and reminder.nonce and offer.nonce != reminder.nonce
    assert await jobs.remind() == 0  # once
    clock.advance(days=1)
    await jobs.remind()
    assert not [s for s in world.outbox.sent[2:] if "/mock" in s.reply.plain_text()]
    bob = await world.practice.store.plan(await world.quiz.store.player(BOB, "Bob"))
    assert bob is not None  # kept, its offer unclaimed for a run that serves Discord


async def test_a_mock_whose_time_ran_out_gets_its_report(
    world: World, scheduler: Jobs, clock: FixedClock
) -> None:
    jobs = scheduler.schedule(world)
    await world.practice.mock.start(ADA, "Ada", ADA_DM)
    clock.advance(minutes=29)
    assert await jobs.expire() == 0
    clock.advance(minutes=2)
    assert await jobs.expire() == 1
    (report,) = world.outbox.sent
    text = report.reply.plain_text()
    assert text.startswith("⏱ Time is up") and "Mock interview report" in text
    assert "ended after 30 minutes without an answer" not in text  # not the timeout note
    assert await jobs.expire() == 0
