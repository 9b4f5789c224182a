"""A game played in time by the real service and engine, over memory and SQLite, against a
loopback outbox: questions, hints, closes, reveals, standings, stop, and a restart."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.app.bootstrap import App
from bot.core.common.errors import AlreadyAnswered, NotAllowed, QuizError, RoundClosed
from bot.core.common.identity import ChatRef, Platform, UserRef
from bot.core.common.replies import Countdown, Reply
from bot.core.games import GameEngine, GameSettings
from bot.core.quiz import Asked, RoundKind
from tests.fakes.app import make_app
from tests.fakes.clock import FakeTimers, FixedClock
from tests.fakes.games import finished
from tests.fakes.outbox import FakeOutbox

CHAT = ChatRef(Platform.TELEGRAM, "-100", "-100")
ANN, BOB, CY = (UserRef(Platform.TELEGRAM, str(i)) for i in (1, 2, 3))


def base(asked: Asked) -> int:
    return (10, 20, 30)[asked.question.difficulty - 1]


def expected(asked: Asked, seconds: float, window: float, *, hinted: bool = False) -> int:
    """The rule as documented: base + up to half again for speed, all of it in the first
    fifth of the window, then falling linearly to nothing; halved after a hint."""
    share = seconds / window
    left = 1.0 if share <= 0.2 else (1 - share) / 0.8
    points = base(asked) + round(base(asked) * 0.5 * left)
    return round(points * 0.5) if hinted else points


def right_label(asked: Asked) -> str:
    return asked.round.correct_label(asked.question)


def wrong_label(asked: Asked) -> str:
    return next(b.label for b in asked.reply.choices if b.label != right_label(asked))


async def press(app: App, user: UserRef, name: str, asked: Asked, label: str) -> Reply:
    return await app.quiz.answer_choice(user, name, asked.round.id, label, chat=CHAT)


async def test_a_game_plays_through_with_standings_and_a_winner(
    app: App, engine: GameEngine, timers: FakeTimers, outbox: FakeOutbox
) -> None:
    start = await app.games.start(ANN, "Ann", CHAT, GameSettings(count=3, seconds=30))
    assert "Ann started a game" in start.plain_text()
    await timers.settle(1)
    await timers.advance(3)  # the start delay: question 1 goes out
    [q1] = outbox.questions()
    asked = q1.asked
    assert asked is not None and "Question 1/3" in q1.reply.plain_text()
    assert any(isinstance(b, Countdown) for b in q1.reply.blocks)
    await timers.advance(2)
    await press(app, ANN, "Ann", asked, right_label(asked))  # 2 s: full speed share
    await timers.advance(20)
    await press(app, BOB, "Bob", asked, right_label(asked))  # 22 s: less
    await press(app, CY, "Cy", asked, wrong_label(asked))
    with pytest.raises(AlreadyAnswered):
        await press(app, ANN, "Ann", asked, wrong_label(asked))  # twice: refused
    await timers.advance(8)  # the deadline: closed by one edit, then the reveal
    with pytest.raises(RoundClosed):
        await press(app, BOB, "Bob", asked, right_label(asked))
    edits = [s for s in outbox.sent if s.kind == "edit"]
    assert len(edits) == 1 and not edits[0].reply.choices
    reveal = outbox.sent[-1].reply.plain_text()
    assert "3 answered, 2 right" in reveal
    ann, bob = expected(asked, 2, 30), expected(asked, 22, 30)
    assert ann > bob > base(asked)
    assert f"1. Ann — {ann} pts (1 right)" in reveal and f"2. Bob — {bob} pts (1 right)" in reveal
    assert "3. Cy — 0 pts (0 right)" in reveal
    for _ in range(2):  # questions 2 and 3: only Bob answers, at once
        await timers.advance(5)
        nxt = outbox.questions()[-1].asked
        assert nxt is not None
        await press(app, BOB, "Bob", nxt, right_label(nxt))
        bob += expected(nxt, 0, 30)
        await timers.advance(30)
    await timers.advance(5, sleepers=0)  # a pause after the last reveal, then the end
    await finished(engine)
    final = outbox.sent[-1].reply.plain_text()
    assert "Game over" in final and f"Winner: Bob with {bob} points" in final
    assert f"1. Bob — {bob} pts, 3 of 3 right ✅✅✅" in final
    assert f"2. Ann — {ann} pts, 1 of 3 right ✅··" in final
    assert "3. Cy — 0 pts, 0 of 3 right ❌··" in final
    assert await app.games.store.running_in(CHAT.key) is None
    assert engine.playing == 0


async def test_one_game_per_chat_and_only_the_starter_or_an_admin_stops_it(
    app: App, engine: GameEngine, timers: FakeTimers, outbox: FakeOutbox
) -> None:
    await app.games.start(ANN, "Ann", CHAT, "3 20s")
    await timers.settle(1)
    with pytest.raises(QuizError, match="already running"):
        await app.games.start(BOB, "Bob", CHAT, "")
    await timers.advance(3)
    asked = outbox.questions()[0].asked
    assert asked is not None
    with pytest.raises(NotAllowed, match="Only Ann"):
        await app.games.stop(BOB, "Bob", CHAT, admin=False)
    stopped = await app.games.stop(BOB, "Bob", CHAT, admin=True)
    assert "stopped by Bob after 1 of 3" in stopped.plain_text()
    with pytest.raises(RoundClosed):  # the open question closed with the game
        await press(app, CY, "Cy", asked, right_label(asked))
    await finished(engine)  # the stopped game's task closes its question, with the answer
    assert [s.kind for s in outbox.sent] == ["question", "edit"]
    closed = outbox.sent[-1].reply
    assert not closed.choices and closed.plain_text().startswith("⏱ Time! Question 1/3")
    await app.games.start(BOB, "Bob", CHAT, "3")  # the chat is free again


async def test_hints_strike_out_a_wrong_option_and_halve_later_answers(
    app: App, engine: GameEngine, timers: FakeTimers, outbox: FakeOutbox
) -> None:
    await app.games.start(ANN, "Ann", CHAT, "3 20s hints")
    await timers.settle(1)
    await timers.advance(3)
    asked = outbox.questions()[0].asked
    assert asked is not None
    await timers.advance(10)  # halfway: the hint
    hint = outbox.sent[-1].reply.plain_text()
    assert hint.startswith("💡 Hint for question 1: it is not ")
    assert hint.split("it is not ")[1][0] != right_label(asked)
    await timers.advance(1)
    reply = await press(app, ANN, "Ann", asked, right_label(asked))
    points = expected(asked, 11, 20, hinted=True)
    assert points < expected(asked, 11, 20) and f"+{points} points" in reply.plain_text()


async def test_a_restart_resumes_the_open_question_and_scores_nothing_twice(
    tmp_path: object, clock: FixedClock, bank: object
) -> None:
    timers = FakeTimers(clock)
    first = make_app(tmp_path, bank=bank, clock=clock)  # type: ignore[arg-type]
    outbox = FakeOutbox()
    async with first:
        engine = GameEngine(first.games, {Platform.TELEGRAM: outbox}, sleep=timers.sleep)
        await engine.start()
        await first.games.start(ANN, "Ann", CHAT, "3 30s")
        await timers.settle(1)
        await timers.advance(3)
        await timers.advance(30)  # question 1 revealed
        await timers.advance(5)  # question 2 out
        await timers.advance(10)
        q2 = outbox.questions()[-1].asked
        assert q2 is not None
        await first.quiz.answer_choice(ANN, "Ann", q2.round.id, right_label(q2), chat=CHAT)
        await engine.stop()  # the process ends with question 2 open for 20 more seconds
    clock.advance(seconds=5)
    second = make_app(tmp_path, bank=bank, clock=clock)  # type: ignore[arg-type]
    async with second:
        engine = GameEngine(second.games, {Platform.TELEGRAM: outbox}, sleep=timers.sleep)
        assert await engine.start() == 1
        await timers.settle(1)
        with pytest.raises(AlreadyAnswered):  # the answer from before the restart stands
            await second.quiz.answer_choice(ANN, "Ann", q2.round.id, right_label(q2), chat=CHAT)
        assert len(outbox.questions()) == 2  # resumed at question 2, not posted again
        await timers.advance(15)  # its remaining time: closed and revealed
        assert "Question 2/3: the answer is" in outbox.sent[-1].reply.plain_text()
        await timers.advance(5 + 30)
        await timers.advance(5, sleepers=0)
        await finished(engine)
        final = outbox.sent[-1].reply.plain_text()
        assert "Game over" in final and "1. Ann — " in final and ", 1 of 3 right ·✅·" in final
        assert f"Winner: Ann with {expected(q2, 10, 30)} points" in final  # scored once
        assert await second.games.store.running_games() == []
        await engine.stop()


async def test_questions_held_by_reports_stay_out_of_games(app: App, clock: FixedClock) -> None:
    held = app.bank.get("alpha-one")
    assert held is not None
    now = clock.now()
    asked = await app.quiz.open_round(held, CHAT, RoundKind.ASK, now, now + timedelta(hours=1))
    for n in range(3):  # three people report it: held until an operator resolves it
        await app.reports.file(
            UserRef(Platform.TELEGRAM, f"9{n}"), f"R{n}", asked.round.id, "wrong"
        )
    for _ in range(10):
        await app.games.start(ANN, "Ann", CHAT, GameSettings(count=5))
        game = await app.games.store.running_in(CHAT.key)
        assert game is not None and "alpha-one" not in game.question_ids
        assert game.count == len(app.bank) - 1
        await app.games.stop(ANN, "Ann", CHAT, admin=False)
