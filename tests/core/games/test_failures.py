"""A game when things go wrong: a chat that is gone, posts that fail, a database that is busy
for a moment, a stop racing the engine, a post held back by the platform's budget, a
question never posted before a restart, a game resumed long after it stopped."""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

from bot.app.bootstrap import App
from bot.core.bank.question_bank import QuestionBank
from bot.core.common.identity import ChatRef, Platform, UserRef
from bot.core.common.replies import Reply
from bot.core.games import GameEngine, GameSettings, GameState
from bot.core.games.engine import RETRY_DELAYS
from tests.fakes.app import make_app
from tests.fakes.clock import FakeTimers, FixedClock
from tests.fakes.games import finished
from tests.fakes.outbox import FakeOutbox, gone, transient

CHAT = ChatRef(Platform.TELEGRAM, "-100", "-100")
ANN = UserRef(Platform.TELEGRAM, "1")


async def play_out(timers: FakeTimers, engine: GameEngine, seconds: int = 900) -> None:
    """Move the game clock on a second at a time (letting the engine's I/O run between)
    until the engine plays no game."""
    for _ in range(seconds):
        if engine.playing == 0:
            return
        await timers.advance(1, sleepers=0)
        await asyncio.sleep(0.002)
    raise TimeoutError("the game did not end")


async def test_a_chat_that_is_gone_ends_its_game_and_frees_the_chat(
    app: App, engine: GameEngine, timers: FakeTimers, outbox: FakeOutbox
) -> None:
    await app.games.start(ANN, "Ann", CHAT, GameSettings(count=3, seconds=20))
    game = await app.games.store.running_in(CHAT.key)
    assert game is not None
    await timers.settle(1)
    await timers.advance(3)  # question 1 out, then the bot is removed from the group:
    outbox.fail[CHAT.chat_id] = [gone(), gone()]  # the close edit and the reveal fail
    await play_out(timers, engine)
    ended = await app.games.store.get_game(game.id)
    assert ended is not None and ended.state is GameState.STOPPED and ended.position == 0
    assert await app.games.store.running_in(CHAT.key) is None
    await app.games.start(ANN, "Ann", CHAT, "3")  # the chat is free again


async def test_failures_spread_over_a_game_never_add_up_to_ending_it(
    app: App, engine: GameEngine, timers: FakeTimers, outbox: FakeOutbox
) -> None:
    """Every question's post fails twice before it goes out (more failures in all than
    RETRY_DELAYS has): each retry works, so the count starts afresh and the game plays on."""
    original = outbox.post_question
    failed: dict[int, int] = {}

    async def flaky(chat: ChatRef, asked: object, *, nonce: str) -> str:
        position = int(nonce.split(":")[2])
        failed[position] = failed.get(position, 0) + 1
        if failed[position] <= 2:
            raise transient()
        return await original(chat, asked, nonce=nonce)  # type: ignore[arg-type]

    outbox.post_question = flaky  # type: ignore[method-assign]
    count = 3
    assert 2 * count > len(RETRY_DELAYS)
    await app.games.start(ANN, "Ann", CHAT, GameSettings(count=count, seconds=20))
    await timers.settle(1)
    await play_out(timers, engine)
    assert failed == {0: 3, 1: 3, 2: 3} and len(outbox.questions()) == count
    assert outbox.sent[-1].reply.plain_text().startswith("🏁 Game over")
    assert await app.games.store.running_games() == []


async def test_a_failed_final_post_is_made_again_not_lost(
    app: App, engine: GameEngine, timers: FakeTimers, outbox: FakeOutbox
) -> None:
    original = outbox.post
    finals: list[str] = []

    async def flaky(chat: ChatRef, reply: Reply, *, nonce: str) -> str:
        if nonce.endswith(":final"):
            finals.append(nonce)
            if len(finals) == 1:
                raise transient()
        return await original(chat, reply, nonce=nonce)

    outbox.post = flaky  # type: ignore[method-assign]
    await app.games.start(ANN, "Ann", CHAT, GameSettings(count=3, seconds=10))
    await timers.settle(1)
    await play_out(timers, engine)
    assert len(finals) == 2  # failed once, made again
    done = [s for s in outbox.sent if s.reply.plain_text().startswith("🏁 Game over")]
    assert len(done) == 1
    assert await app.games.store.running_games() == []


async def test_a_database_busy_for_a_moment_is_waited_out(
    app: App, engine: GameEngine, timers: FakeTimers, outbox: FakeOutbox
) -> None:
    """The read after a failure fails too (the database is locked): tried again, not a
    dead task that leaves the game running with nothing playing it."""
    await app.games.start(ANN, "Ann", CHAT, GameSettings(count=3, seconds=10))
    await timers.settle(1)
    store = app.games.store
    real_get, real_update = store.get_game, store.update
    calls = {"get": 0, "update": 0}

    async def locked_get(game_id: str) -> object:
        calls["get"] += 1
        if calls["get"] == 1:
            raise RuntimeError("database is locked")
        return await real_get(game_id)

    async def locked_update(game: object, expected: object) -> bool:
        calls["update"] += 1
        if calls["update"] == 1:
            raise RuntimeError("database is locked")
        return await real_update(game, expected)  # type: ignore[arg-type]

    store.get_game = locked_get  # type: ignore[method-assign]
    store.update = locked_update  # type: ignore[method-assign]
    await timers.advance(3)  # opening question 1 fails to record; the re-read fails too
    for delay in RETRY_DELAYS[:2]:
        await timers.advance(delay)
    await timers.advance(3)
    assert len(outbox.questions()) == 1 and engine.playing == 1


async def test_a_stop_while_the_question_post_is_in_flight_closes_that_post_once(
    app: App, engine: GameEngine, timers: FakeTimers, outbox: FakeOutbox
) -> None:
    await app.games.start(ANN, "Ann", CHAT, GameSettings(count=3, seconds=20))
    await timers.settle(1)
    outbox.gate = asyncio.Event()  # the platform holds the question's post
    await timers.advance(3, sleepers=0)
    await outbox.until(1)
    await app.games.stop(ANN, "Ann", CHAT, admin=False)
    outbox.gate.set()  # the post lands after the stop
    await finished(engine)
    assert [s.kind for s in outbox.sent] == ["question", "edit"]
    closed = outbox.sent[-1]
    assert closed.nonce == "m1" and not closed.reply.choices  # the question's own post
    assert closed.reply.plain_text().startswith("⏱ Time! Question 1/3")


async def test_a_stop_during_the_engines_close_adds_no_second_edit(
    app: App, engine: GameEngine, timers: FakeTimers, outbox: FakeOutbox
) -> None:
    await app.games.start(ANN, "Ann", CHAT, GameSettings(count=3, seconds=20))
    await timers.settle(1)
    await timers.advance(3)
    outbox.gate = asyncio.Event()  # the close edit is held at the platform
    await timers.advance(20, sleepers=0)
    await outbox.until(2)
    await app.games.stop(ANN, "Ann", CHAT, admin=False)
    outbox.gate.set()
    await finished(engine)
    assert [s.kind for s in outbox.sent] == ["question", "edit"]
    assert outbox.sent[-1].reply.plain_text().startswith("⏱ Time! Question 1/3")


async def test_a_post_held_back_by_the_budget_starts_its_time_when_it_goes_out(
    app: App, engine: GameEngine, timers: FakeTimers, outbox: FakeOutbox, clock: FixedClock
) -> None:
    await app.games.start(ANN, "Ann", CHAT, GameSettings(count=3, seconds=20))
    await timers.settle(1)
    outbox.gate = asyncio.Event()
    await timers.advance(3, sleepers=0)
    await outbox.until(1)
    clock.advance(seconds=8)  # the post waited 8 s for the chat's budget
    outbox.gate.set()
    outbox.gate = None
    await timers.settle(1)
    asked = outbox.questions()[0].asked
    assert asked is not None
    rnd = await app.quiz.get_round(asked.round.id)
    assert rnd is not None and rnd.opened_at == clock.now()
    assert rnd.closes_at == clock.now() + timedelta(seconds=20)  # the full 20 s
    reply = await app.quiz.answer_choice(
        ANN, "Ann", asked.round.id, asked.round.correct_label(asked.question), chat=CHAT
    )
    base = (10, 20, 30)[asked.question.difficulty - 1]
    assert f"+{base + round(base * 0.5)} points" in reply.plain_text()  # the whole speed share
    game = await app.games.store.running_in(CHAT.key)
    assert game is not None and game.deadline == rnd.closes_at


@contextlib.asynccontextmanager
async def resumed_before_its_post(
    tmp_path: Path, clock: FixedClock, bank: QuestionBank, down: float
) -> AsyncIterator[tuple[App, str, FakeOutbox]]:
    """Question 1 of a game of 20 s questions opened, then the process died before its post
    went out; `down` seconds later a new process resumes the game. Yields the new app, the
    round opened before, and the outbox the resumed engine posted its first step to."""
    timers = FakeTimers(clock)
    first = make_app(tmp_path, bank=bank, clock=clock)
    async with first:
        await first.games.start(ANN, "Ann", CHAT, GameSettings(count=3, seconds=20))
        game = await first.games.store.running_in(CHAT.key)
        assert game is not None
        opened = await first.games.open_next(game)  # opened, then the process died
        assert opened is not None
    clock.advance(seconds=down)
    second = make_app(tmp_path, bank=bank, clock=clock)
    outbox = FakeOutbox()
    async with second:
        engine = GameEngine(second.games, {Platform.TELEGRAM: outbox}, sleep=timers.sleep)
        await engine.start()
        await timers.settle(1)
        try:
            yield second, opened[1].round.id, outbox
        finally:
            await engine.stop()


async def test_a_question_never_posted_before_a_restart_is_asked_afresh(
    tmp_path: Path, clock: FixedClock, bank: QuestionBank
) -> None:
    # its time ran out while the bot was down
    async with resumed_before_its_post(tmp_path, clock, bank, down=60) as (app, old, outbox):
        [posted] = outbox.sent
        assert posted.kind == "question" and "Question 1/3" in posted.reply.plain_text()
        assert posted.asked is not None and posted.asked.round.id != old
        game = await app.games.store.running_in(CHAT.key)
        assert game is not None and game.position == 0 and len(game.round_ids) == 1
        assert game.deadline == clock.now() + timedelta(seconds=20)


async def test_a_question_never_posted_with_time_left_starts_its_time_when_it_goes_out(
    tmp_path: Path, clock: FixedClock, bank: QuestionBank
) -> None:
    """Resumed with some of its time left: the same question is posted, and its time starts
    then (nobody saw it before), as for a post held back by the budget."""
    async with resumed_before_its_post(tmp_path, clock, bank, down=12) as (app, old, outbox):
        [posted] = outbox.sent
        assert posted.asked is not None and posted.asked.round.id == old
        rnd = await app.quiz.get_round(old)
        assert rnd is not None and rnd.opened_at == clock.now()
        assert rnd.closes_at == clock.now() + timedelta(seconds=20)  # the full 20 s
        game = await app.games.store.running_in(CHAT.key)
        assert game is not None and game.deadline == rnd.closes_at


async def test_a_game_resumed_long_after_its_deadline_ends_with_its_standings(
    tmp_path: Path, clock: FixedClock, bank: QuestionBank
) -> None:
    timers = FakeTimers(clock)
    outbox = FakeOutbox()
    first = make_app(tmp_path, bank=bank, clock=clock)
    async with first:
        engine = GameEngine(first.games, {Platform.TELEGRAM: outbox}, sleep=timers.sleep)
        await engine.start()
        await first.games.start(ANN, "Ann", CHAT, GameSettings(count=3, seconds=20))
        await timers.settle(1)
        await timers.advance(3)
        await engine.stop()
    clock.advance(hours=3)  # the bot was down for hours
    second = make_app(tmp_path, bank=bank, clock=clock)
    async with second:
        engine = GameEngine(second.games, {Platform.TELEGRAM: outbox}, sleep=timers.sleep)
        await engine.start()
        await finished(engine)
        final = outbox.sent[-1].reply.plain_text()
        assert final.startswith("⏹ Game over: interrupted for too long, after 1 of 3 questions")
        assert await second.games.store.running_games() == []


async def test_a_new_game_avoids_the_chats_recent_questions(app: App) -> None:
    app.games._rng = random.Random(5)
    await app.games.start(ANN, "Ann", CHAT, GameSettings(count=3))
    first = await app.games.store.running_in(CHAT.key)
    assert first is not None
    await app.games.stop(ANN, "Ann", CHAT, admin=False)
    await app.games.start(ANN, "Ann", CHAT, GameSettings(count=3))
    second = await app.games.store.running_in(CHAT.key)
    assert second is not None
    unplayed = {q.id for q in app.bank.questions} - set(first.question_ids)
    assert unplayed <= set(second.question_ids)  # the 2 never played, then 1 played before
    assert len(set(second.question_ids) & set(first.question_ids)) == 1


async def test_a_game_whose_questions_are_removed_ends_with_its_standings(
    app: App, engine: GameEngine, timers: FakeTimers, outbox: FakeOutbox
) -> None:
    """A community removes the topic a game plays (here: the library loses every question
    of the game's topic): the open question is said to be gone, and the game ends rather
    than spin on a question that is not there."""
    await app.games.start(ANN, "Ann", CHAT, GameSettings(count=3, seconds=20, topic="alpha"))
    await timers.settle(1)
    await timers.advance(3)  # question 1 out
    library = app.games.library
    kept = {q.id: q for q in app.bank.questions if q.topic != "alpha"}
    real_get = library.get
    library.get = lambda qid: (
        kept.get(qid) if qid in {q.id for q in app.bank.questions} else real_get(qid)
    )  # type: ignore[method-assign]
    await play_out(timers, engine)
    said = [s.reply.plain_text() for s in outbox.sent if s.kind == "post"]
    assert said[0] == "This question was removed while it was asked: no answer to show."
    assert said[-1].startswith("⏹ Game over: its questions were removed, after 1 of 3 questions")
    assert await app.games.store.running_games() == []
