"""Games started or stopped by another process sharing the database (PostgreSQL: /quiz lands
on any process, only the scheduler's leader plays games): the engine's watch takes them up
and lets them go. The other process has no engine of its own, as a follower has: on
PostgreSQL a second app on the same schema, in memory and on SQLite a second GameService over
the same store."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.app.bootstrap import App
from bot.core.bank.question_bank import QuestionBank
from bot.core.common.identity import ChatRef, Platform, UserRef
from bot.core.games import GameEngine, GameService
from bot.core.games.model import Game, GameState
from tests.fakes.app import make_app
from tests.fakes.clock import FakeTimers, FixedClock
from tests.fakes.games import finished
from tests.fakes.outbox import FakeOutbox
from tests.fakes.postgres import fresh_schema

CHAT = ChatRef(Platform.TELEGRAM, "-100", "-100")
ANN = UserRef(Platform.TELEGRAM, "1")
WATCH = 1.0


@pytest.fixture(params=["memory", "sqlite", "postgresql"])
async def apps(
    request: pytest.FixtureRequest, tmp_path: Path, bank: QuestionBank, clock: FixedClock
) -> AsyncIterator[tuple[App, GameService]]:
    """This process's app (the leader's), and the games as another process sees them: its
    /quiz commands, no engine."""
    if request.param != "postgresql":
        async with make_app(tmp_path, storage=request.param, bank=bank, clock=clock) as app:
            yield app, GameService(app.quiz, app.games.store, clock=clock)
        return
    async with fresh_schema() as url:
        here = make_app(tmp_path, storage="postgresql", bank=bank, clock=clock, url=url)
        there = make_app(tmp_path, storage="postgresql", bank=bank, clock=clock, url=url, seed=8)
        async with here, there:
            yield here, there.games


@pytest.fixture
def app(apps: tuple[App, GameService]) -> App:
    return apps[0]


@pytest.fixture
def elsewhere(apps: tuple[App, GameService]) -> GameService:
    return apps[1]


@pytest.fixture
async def watching(app: App, timers: FakeTimers, outbox: FakeOutbox) -> AsyncIterator[GameEngine]:
    engine = GameEngine(app.games, {Platform.TELEGRAM: outbox}, sleep=timers.sleep)
    await engine.start(watch=WATCH)
    await timers.settle(1)  # the watch sleeps
    yield engine
    await engine.stop()


async def test_a_game_started_elsewhere_is_taken_up_and_played(
    watching: GameEngine, elsewhere: GameService, timers: FakeTimers, outbox: FakeOutbox
) -> None:
    await elsewhere.start(ANN, "Ann", CHAT, "3 20s")
    assert watching.playing == 0  # no listener told this engine
    await timers.advance(WATCH, sleepers=2)  # the watch looks: the game's task starts
    assert watching.playing == 1
    await timers.advance(3)  # the start delay: question 1 goes out, once
    assert len(outbox.questions()) == 1
    await timers.advance(WATCH * 5)  # later looks take nothing up twice
    assert watching.playing == 1 and len(outbox.questions()) == 1


async def test_a_game_stopped_elsewhere_is_let_go_and_its_question_closed(
    app: App,
    watching: GameEngine,
    elsewhere: GameService,
    timers: FakeTimers,
    outbox: FakeOutbox,
) -> None:
    await app.games.start(ANN, "Ann", CHAT, "3 30s")  # started here: the listener plays it
    await timers.settle(2)
    await timers.advance(3)
    assert len(outbox.questions()) == 1 and watching.playing == 1
    await elsewhere.stop(ANN, "Ann", CHAT, admin=False)  # 30 s left on its question
    await timers.advance(WATCH, sleepers=1)  # the watch sees it stopped: its nap ends now
    await finished(watching)
    assert [s.kind for s in outbox.sent] == ["question", "edit"]
    closed = outbox.sent[-1].reply
    assert not closed.choices and closed.plain_text().startswith("⏱ Time! Question 1/3")


async def test_a_game_stopped_elsewhere_while_its_question_goes_out_has_that_post_closed(
    watching: GameEngine, elsewhere: GameService, timers: FakeTimers, outbox: FakeOutbox
) -> None:
    """The stop lands on the other process after question 1's post went out, before the
    engine recorded it: recording it finds the game stopped, and the game's task ends before
    the watch looks again. The post is closed all the same, once (its buttons would stay)."""
    await elsewhere.start(ANN, "Ann", CHAT, "3 30s")
    await timers.advance(WATCH, sleepers=2)  # taken up by the watch
    outbox.gate = asyncio.Event()  # the platform got the post and has not answered yet
    await timers.advance(3, sleepers=1)  # the start delay: question 1 goes out
    await outbox.until(1)
    await elsewhere.stop(ANN, "Ann", CHAT, admin=False)
    outbox.gate.set()  # the post is answered: the engine records it, and finds the stop
    await finished(watching)  # without the watch looking again
    assert [(s.kind, s.nonce) for s in outbox.sent] == [
        ("question", outbox.sent[0].nonce),
        ("edit", "m1"),  # question 1's post, closed
    ]
    closed = outbox.sent[-1].reply
    assert not closed.choices and closed.plain_text().startswith("⏱ Time! Question 1/3")
    await timers.advance(WATCH * 3)  # later looks take nothing up and close nothing again
    assert watching.playing == 0 and len(outbox.sent) == 2


async def test_a_stale_read_never_plays_an_ended_game_again(
    app: App,
    watching: GameEngine,
    timers: FakeTimers,
    outbox: FakeOutbox,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    await app.games.start(ANN, "Ann", CHAT, "3 10s")
    await timers.settle(2)
    running = await app.games.running()  # read while it runs ...
    for _ in range(3):
        await timers.advance(3 + 10)
        await timers.advance(2)
    await timers.advance(10, sleepers=1)
    await finished(watching)  # ... and it ended after
    sent = len(outbox.sent)
    assert "Game over" in outbox.sent[-1].reply.plain_text()

    async def stale() -> list[Game]:
        return running

    monkeypatch.setattr(app.games, "running", stale)
    assert await watching.sync() == 0
    await timers.advance(30, sleepers=1)
    assert watching.playing == 0 and len(outbox.sent) == sent


async def test_without_the_watch_nothing_started_elsewhere_is_played(
    app: App, elsewhere: GameService, timers: FakeTimers, outbox: FakeOutbox
) -> None:
    """What the watch is for: a follower's /quiz tells no engine (the listeners are its own)."""
    engine = GameEngine(app.games, {Platform.TELEGRAM: outbox}, sleep=timers.sleep)
    await engine.start()
    try:
        await elsewhere.start(ANN, "Ann", CHAT, "3 20s")
        await timers.advance(10, sleepers=0)
        assert engine.playing == 0 and outbox.sent == []
        assert await engine.sync() == 1  # one look takes it up
        assert engine.playing == 1
    finally:
        await engine.stop()
    stored = await app.games.store.running_in(CHAT.key)
    assert stored is not None and stored.state is GameState.RUNNING  # resumed at next start
