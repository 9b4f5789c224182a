"""The engine through a real PacedOutbox (bot/jobs/pacing.py) over the loopback outbox, as
`run_jobs` wires it: a question's hint and its close (the edit carrying the reveal) go in the
urgent lane, ahead of a fan-out of ordinary posts already queued; the next question goes in
the soon lane, after the close but also ahead of the fan-out; and a question's time starts
when its post is out."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta

import pytest

from bot.app.bootstrap import App
from bot.core.common.identity import ChatRef, Platform, UserRef
from bot.core.common.replies import Countdown, Paragraph, Reply
from bot.core.delivery import Outbox
from bot.core.games import GameEngine
from bot.core.quiz import Asked
from bot.jobs.pacing import PacedOutbox, PlatformLimits
from tests.fakes.clock import FakeTimers, FixedClock
from tests.fakes.games import finished
from tests.fakes.outbox import FakeOutbox

CHAT = ChatRef(Platform.TELEGRAM, "-100", "-100")
ANN = UserRef(Platform.TELEGRAM, "1")
# a slot every 10 ms: a fan-out of 100 posts takes a second of real time
SLOW = PlatformLimits(rate=100.0, burst=1, chat_count=1000, chat_period=1.0)
FANOUT = 100


@pytest.fixture
async def paced(
    app: App, timers: FakeTimers, outbox: FakeOutbox, clock: FixedClock
) -> AsyncIterator[tuple[GameEngine, PacedOutbox]]:
    paced = PacedOutbox(outbox, SLOW, clock=clock)
    engine = GameEngine(app.games, {Platform.TELEGRAM: paced}, sleep=timers.sleep)
    await engine.start()
    yield engine, paced
    await engine.stop()


def fanout(paced: Outbox, name: str) -> list[asyncio.Task[str]]:
    """A daily fan-out's posts to other groups, queued in the ordinary lane (or in the lane of
    the outbox side given: other games' questions, `PacedOutbox.soon`)."""
    return [
        asyncio.ensure_future(paced.post(ChatRef(Platform.TELEGRAM, f"-{n}", f"-{n}"),
                                         Reply((Paragraph("daily"),)), nonce=f"{name}{n}"))
        for n in range(1000, 1000 + FANOUT)
    ]  # fmt: skip


def ahead(outbox: FakeOutbox, kind: str, name: str) -> int:
    """How many of fan-out `name`'s posts went out before the game's first send of `kind`."""
    at = next(i for i, s in enumerate(outbox.sent) if s.chat == CHAT and s.kind == kind)
    return sum(1 for s in outbox.sent[:at] if (s.nonce or "").startswith(name))


async def test_the_hint_the_close_and_the_next_question_go_ahead_of_a_fanout_in_progress(
    app: App, paced: tuple[GameEngine, PacedOutbox], timers: FakeTimers, outbox: FakeOutbox
) -> None:
    engine, pacer = paced
    await app.games.start(ANN, "Ann", CHAT, "3 20s hints")
    await timers.settle(1)
    await timers.advance(3)  # question 1, nothing else queued
    assert len(outbox.questions()) == 1
    first = fanout(pacer, "a")
    await asyncio.sleep(0)
    await timers.advance(10)  # halfway: the hint, while the fan-out's posts wait
    [hint] = [s for s in outbox.sent if s.chat == CHAT and s.kind == "post"]
    assert "Hint for question 1" in hint.reply.plain_text()
    assert ahead(outbox, "post", "a") < FANOUT // 2  # not behind the whole fan-out
    await asyncio.gather(*first)
    second = fanout(pacer, "b")
    await asyncio.sleep(0)
    await timers.advance(10)  # the deadline: the one edit closes it, the reveal on top
    [edit] = [s for s in outbox.sent if s.chat == CHAT and s.kind == "edit"]
    assert not edit.reply.choices and "answered" in edit.reply.plain_text()
    assert ahead(outbox, "edit", "b") < FANOUT // 2
    # the next question (after the pause) goes in the soon lane: ahead of what is left of
    # the fan-out, not behind all of it
    third = fanout(pacer, "c")
    await asyncio.sleep(0)
    await timers.advance(5)
    await timers.settle(1)
    assert len(outbox.questions()) == 2
    second_question = [i for i, s in enumerate(outbox.sent) if s.kind == "question"][1]
    before = outbox.sent[:second_question]
    assert sum(1 for s in before if (s.nonce or "").startswith("c")) < FANOUT // 2
    await asyncio.gather(*second, *third)
    await app.games.stop(ANN, "Ann", CHAT, admin=True)
    await finished(engine)


@dataclass
class SlowOutbox(FakeOutbox):
    """The loopback outbox, its question posts taking `takes` seconds of the test's clock
    (a post that waited for the platform's budget)."""

    clock: FixedClock | None = None
    takes: float = 0.0

    async def post_question(self, chat: ChatRef, asked: Asked, *, nonce: str) -> str:
        assert self.clock is not None
        self.clock.current += timedelta(seconds=self.takes)
        return await super().post_question(chat, asked, nonce=nonce)


@pytest.mark.parametrize(("takes", "moved"), [(0.1, False), (0.5, True), (4.0, True)])
async def test_a_questions_time_starts_when_its_post_is_out(
    app: App, clock: FixedClock, timers: FakeTimers, takes: float, moved: bool
) -> None:
    slow = SlowOutbox(clock=clock, takes=takes)
    engine = GameEngine(app.games, {Platform.TELEGRAM: slow}, sleep=timers.sleep)
    await engine.start()
    try:
        await app.games.start(ANN, "Ann", CHAT, "3 20s")
        await timers.settle(1)
        await timers.advance(3)
        [question] = slow.questions()
        asked = question.asked
        assert asked is not None and asked.round.closes_at is not None
        game = await app.games.store.running_in(CHAT.key)
        assert game is not None and game.deadline is not None
        out = asked.round.opened_at + timedelta(seconds=takes)  # when the post went out
        expected = out if moved else asked.round.opened_at
        assert game.deadline == expected + timedelta(seconds=20)
        # and the round closes then: an answer just before it still counts
        await timers.advance((game.deadline - clock.now()).total_seconds() - 0.05)
        right = asked.round.correct_label(asked.question)
        reply = await app.quiz.answer_choice(ANN, "Ann", asked.round.id, right, chat=CHAT)
        assert "points" in reply.plain_text()
    finally:
        await engine.stop()


@dataclass
class BusyOutbox(FakeOutbox):
    """The loopback outbox, each ordinary post taking 50 ms of the test's clock."""

    clock: FixedClock | None = None

    async def post(self, chat: ChatRef, reply: Reply, *, nonce: str) -> str:
        assert self.clock is not None
        self.clock.current += timedelta(seconds=0.05)
        return await super().post(chat, reply, nonce=nonce)


async def test_a_question_that_waited_shows_its_countdown_moved_by_the_wait(
    app: App, clock: FixedClock, timers: FakeTimers
) -> None:
    # before: the countdown showed the deadline set when the round opened, up to the wait
    # (about 22 s with 300 Telegram games at once) earlier than the real one
    busy = BusyOutbox(clock=clock)
    pacer = PacedOutbox(busy, SLOW, clock=clock)
    engine = GameEngine(app.games, {Platform.TELEGRAM: pacer}, sleep=timers.sleep)
    await engine.start()
    try:
        # 100 other games' questions, queued in the soon lane first: 100 posts x 50 ms, so 5 s
        # before this question's turn
        queued = fanout(pacer.soon, "a")
        await app.games.start(ANN, "Ann", CHAT, "3 20s")
        await timers.settle(1)
        await timers.advance(3)
        await asyncio.gather(*queued)
        await timers.settle(1)
        [question] = busy.questions()
        assert question.asked is not None
        [shown] = [b for b in question.asked.reply.blocks if isinstance(b, Countdown)]
        opened = question.asked.round.opened_at
        game = await app.games.store.running_in(CHAT.key)
        assert game is not None and game.deadline is not None
        assert shown.until >= opened + timedelta(seconds=20 + 4.5)  # moved by the wait
        # the real deadline never comes before the shown one, and at most a send later
        assert shown.until <= game.deadline
        assert (game.deadline - shown.until).total_seconds() < 0.5
    finally:
        await engine.stop()
