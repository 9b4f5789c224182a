"""Forum topics on Telegram end to end: the real Application and handlers, GameService and
GameEngine posting through the adapter's own TelegramOutbox, the daily scheduler over the same
outbox, a real SQLite file and the loopback Bot API, which records each call's
`message_thread_id` and refuses posts into topics as Telegram does (General's own id 1, a
closed or deleted topic). A game or daily subscription started in a topic lives there; the
boards stay the group's; General behaves as it always did."""

from __future__ import annotations

import asyncio
import contextlib
import html
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.app.bootstrap import App
from bot.core.common.identity import ChatRef, Platform, UserRef
from bot.core.common.replies import Paragraph, Reply
from bot.core.common.texts import FOREIGN_BUTTON
from bot.core.daily.model import DeliveryKind, DeliveryState
from bot.core.delivery import ChatGone
from bot.core.games import GameEngine
from bot.core.games.model import GameState
from bot.jobs.daily import DailyScheduler
from bot.jobs.pacing import PacedOutbox, PlatformLimits
from tests.fakes.clock import FakeTimers, FixedClock
from tests.fakes.games import finished, telegram_round
from tests.fakes.telegram_api import (
    GROUP_ID,
    TOKEN,
    Call,
    FakeBotApi,
    Harness,
    command,
    poll_answer,
    press,
    with_games,
)

TOPIC, OTHER_TOPIC = 7, 9
GROUP = ChatRef(Platform.TELEGRAM, str(GROUP_ID), str(GROUP_ID))
IN_TOPIC = ChatRef(Platform.TELEGRAM, f"{GROUP_ID}/{TOPIC}", str(GROUP_ID))
IN_OTHER_TOPIC = ChatRef(Platform.TELEGRAM, f"{GROUP_ID}/{OTHER_TOPIC}", str(GROUP_ID))
WINDOW = 10  # seconds per question in these games (`/quiz 3 10s`)
POSTS = ("sendMessage", "sendPoll")


@dataclass(frozen=True)
class Player:
    user_id: int
    name: str


ANN, BOB, CY = Player(1, "Ann"), Player(2, "Bob"), Player(3, "Cy")


@pytest.fixture
def timers(clock: FixedClock) -> FakeTimers:
    return FakeTimers(clock)


def telegram(
    app: App, timers: FakeTimers
) -> contextlib.AbstractAsyncContextManager[tuple[Harness, GameEngine]]:
    """The adapter with games and the daily question over the loopback Bot API, in a forum
    group, and a game engine (not started) posting through the adapter's own outbox."""
    api = FakeBotApi()
    api.forum(GROUP_ID)
    return with_games(app, timers.sleep, api=api, daily=True)


def said(who: Player, text: str, **where: Any) -> dict[str, Any]:
    return command(text, user_id=who.user_id, first_name=who.name, **where)


def posts(api: FakeBotApi, thread: int | None = None, *, anywhere: bool = False) -> list[Call]:
    """What was posted to the group (in topic `thread`; None: General), or `anywhere`."""
    return [
        c
        for c in api.sent(*POSTS)
        if c.params["chat_id"] == GROUP_ID
        and (anywhere or c.params.get("message_thread_id") == thread)
    ]


def texts(calls: list[Call]) -> list[str]:
    return [html.unescape(str(c.params["text"])) for c in calls if c.method == "sendMessage"]


def is_question(call: Call) -> bool:
    rows = call.params.get("reply_markup", {}).get("inline_keyboard", [])
    return call.method == "sendPoll" or any(
        str(b.get("callback_data", "")).startswith("a1.") for row in rows for b in row
    )


async def answer_right(tg: Harness, app: App, call: Call, who: Player, thread: int) -> str:
    """`who` answers the question `call` posted rightly, from topic `thread`: a vote, or a
    press of the right button there. Returns the alert's text ('' for a vote)."""
    rnd, poll_id = await telegram_round(app, tg.api, call)
    question = app.bank.get(rnd.question_id)
    assert question is not None
    label = rnd.correct_label(question)
    before = len(tg.api.calls)
    if poll_id is not None:
        await tg.send(poll_answer(poll_id, "ABCD".index(label), user_id=who.user_id,
                                  first_name=who.name))  # fmt: skip
        return ""
    await tg.send(press(f"a1.{rnd.id}.{label}", user_id=who.user_id, first_name=who.name,
                        thread_id=thread))  # fmt: skip
    [alert] = tg.api.calls[before:]
    return str(alert.params["text"])


def tracebacks(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]


# -- a game in a topic ------------------------------------------------------------------------


async def test_a_game_started_in_a_topic_plays_entirely_in_that_topic(
    sqlite_app: App, clock: FixedClock, timers: FakeTimers, caplog: pytest.LogCaptureFixture
) -> None:
    app = sqlite_app
    caplog.set_level(logging.INFO, logger="bot")
    async with telegram(app, timers) as (tg, engine):
        await engine.start()
        await tg.send(said(ANN, "/quiz 3 10s", thread_id=TOPIC))
        [announcement] = texts(posts(tg.api, TOPIC))
        assert "Ann started a game" in announcement
        (game,) = await app.games.store.running_games()
        assert game.chat == IN_TOPIC  # the topic's place; the group's community
        await tg.send(said(BOB, "/quiz status", thread_id=TOPIC, message_id=11))
        assert "Game in progress" in texts(posts(tg.api, TOPIC))[-1]
        await tg.send(said(BOB, "/quiz status", forum=True, message_id=12))  # General
        assert texts(posts(tg.api, None))[-1].startswith("No game is running here.")
        await timers.settle(1)
        for number in (1, 2, 3):
            await timers.advance(3 if number == 1 else 5)  # the start delay, or the pause
            asked = [c for c in posts(tg.api, anywhere=True) if is_question(c)]
            assert len(asked) == number
            rnd, _ = await telegram_round(app, tg.api, asked[-1])
            assert rnd.chat == IN_TOPIC
            clock.advance(seconds=2)
            alert = await answer_right(tg, app, asked[-1], BOB, TOPIC)
            assert alert == "" or alert.startswith("✅ Right!")
            await timers.advance(WINDOW - 2)  # the deadline: the reveal
            reveal = [t for t in texts(posts(tg.api, anywhere=True)) if "⏱ Time!" in t]
            edits = [c for c in tg.api.sent("editMessageText") if "⏱ Time!" in c.params["text"]]
            assert len(reveal) + len(edits) == number
        await timers.advance(5, sleepers=0)  # the pause after the last reveal, then the end
        await finished(engine)
        everything = posts(tg.api, anywhere=True)
        assert texts(everything)[-1].startswith("<b>🏁 Game over: 3 questions</b>")
        # every post of the game went into the topic (General got only its /quiz status
        # answer); edits name a message, not a topic
        [general] = texts(posts(tg.api, None))
        assert general.startswith("No game is running here.")
        assert len(posts(tg.api, TOPIC)) == len(everything) - 1
        assert len([c for c in everything if is_question(c)]) == 3
        assert {c.params["chat_id"] for c in tg.api.sent("editMessageText")} <= {GROUP_ID}
        # the boards stay the group's: Bob leads it in General and in any topic
        await tg.send(said(CY, "/leaderboard", forum=True, message_id=13))
        await tg.send(said(CY, "/leaderboard", thread_id=OTHER_TOPIC, message_id=14))
        boards = [texts(posts(tg.api, None))[-1], texts(posts(tg.api, OTHER_TOPIC))[-1]]
        assert boards[0] == boards[1] and "1. Bob" in boards[0]
    assert tracebacks(caplog) == []
    assert await app.games.store.running_games() == []


async def test_two_topics_of_one_group_each_run_their_own_game_at_once(
    sqlite_app: App, clock: FixedClock, timers: FakeTimers
) -> None:
    app = sqlite_app
    async with telegram(app, timers) as (tg, engine):
        await engine.start()
        await tg.send(said(ANN, "/quiz 3 10s", thread_id=TOPIC))
        await tg.send(said(BOB, "/quiz 3 10s", thread_id=OTHER_TOPIC))
        games = await app.games.store.running_games()
        assert sorted(g.chat.chat_id for g in games) == [IN_TOPIC.chat_id, IN_OTHER_TOPIC.chat_id]
        assert {g.chat.community_id for g in games} == {str(GROUP_ID)}
        # a second /quiz in a topic is told about that topic's game
        await tg.send(said(CY, "/quiz 5", thread_id=TOPIC, message_id=20))
        told = posts(tg.api, TOPIC)[-1]
        assert told.params["reply_parameters"]["message_id"] == 20
        assert told.params["text"].startswith("A game is already running in this chat (")
        assert "started by Ann" in told.params["text"]
        await timers.settle(2)
        await timers.advance(3)  # both games ask their first question, each in its topic
        assert len([c for c in posts(tg.api, TOPIC) if is_question(c)]) == 1
        assert len([c for c in posts(tg.api, OTHER_TOPIC) if is_question(c)]) == 1
        # status and stop act on the topic's own game
        await tg.send(said(CY, "/quiz status", thread_id=OTHER_TOPIC, message_id=21))
        assert "Started by Bob." in texts(posts(tg.api, OTHER_TOPIC))[-1]
        await tg.send(said(BOB, "/quiz stop", thread_id=OTHER_TOPIC, message_id=22))
        assert texts(posts(tg.api, OTHER_TOPIC))[-1].startswith("<b>🛑 Game stopped by Bob")
        (left,) = await app.games.store.running_games()
        assert left.chat == IN_TOPIC and left.state is GameState.RUNNING
        for _ in range(3):
            await timers.advance(WINDOW)
            await timers.advance(5, sleepers=0 if left.position == 2 else None)
            left = await app.games.store.get_game(left.id) or left
        await finished(engine)
        assert texts(posts(tg.api, TOPIC))[-1].startswith("<b>🏁 Game over: 3 questions</b>")
        assert len([c for c in posts(tg.api, TOPIC) if is_question(c)]) == 3
        assert len([c for c in posts(tg.api, OTHER_TOPIC) if is_question(c)]) == 1
        assert posts(tg.api, None) == []  # nothing went to General


@pytest.mark.parametrize(
    "general",
    [{"forum": True}, {"message_thread_id": 1, "is_topic_message": True, "forum": True}],
    ids=["no-thread-id", "general-topic-id"],
)
async def test_general_plays_as_before_beside_a_topics_game(
    sqlite_app: App, clock: FixedClock, timers: FakeTimers, general: dict[str, Any]
) -> None:
    """General is the group itself, as every row stored before topics were told apart: its
    posts carry no thread id (Telegram refuses General's own, 1), its game is stored under the
    group's id alone, and a topic's game does not block it."""
    app = sqlite_app
    async with telegram(app, timers) as (tg, engine):
        await engine.start()
        await tg.send(said(BOB, "/quiz 3 10s", thread_id=TOPIC))
        await tg.send(said(ANN, "/quiz 3 10s", **general))
        assert tg.api.threads("sendMessage") == [TOPIC, None]  # both announced
        stored = await app.games.store.running_in(f"telegram:{GROUP_ID}")
        assert stored is not None and stored.chat == GROUP and stored.starter_name == "Ann"
        await tg.send(said(ANN, "/quiz status", **general, message_id=11))
        assert "Started by Ann." in texts(posts(tg.api, None))[-1]
        await timers.settle(2)
        await timers.advance(3)
        general_posts = posts(tg.api, None)
        [question] = [c for c in general_posts if is_question(c)]
        rnd, _ = await telegram_round(app, tg.api, question)
        assert rnd.chat == GROUP
        await tg.send(said(ANN, "/quiz stop", **general, message_id=12))
        assert texts(posts(tg.api, None))[-1].startswith("<b>🛑 Game stopped by Ann")
        assert "message_thread_id" not in str([c.params for c in posts(tg.api, None)])
        assert [g.chat for g in await app.games.store.running_games()] == [IN_TOPIC]


# -- a topic closed or deleted --------------------------------------------------------------


@pytest.mark.parametrize(
    ("gone", "said_by_telegram"),
    [("close_topic", "Topic_closed"), ("delete_topic", "Message thread not found")],
)
async def test_a_game_whose_topic_is_closed_or_deleted_ends_cleanly(
    sqlite_app: App,
    clock: FixedClock,
    timers: FakeTimers,
    caplog: pytest.LogCaptureFixture,
    gone: str,
    said_by_telegram: str,
) -> None:
    app = sqlite_app
    caplog.set_level(logging.INFO, logger="bot")
    async with telegram(app, timers) as (tg, engine):
        await engine.start()
        await tg.send(said(ANN, "/quiz 3 10s", thread_id=TOPIC))
        await tg.send(said(BOB, "/quiz 3 10s", thread_id=OTHER_TOPIC))
        (game, other) = sorted(await app.games.store.running_games(), key=lambda g: g.chat.key)
        assert game.chat == IN_TOPIC
        await timers.settle(2)
        getattr(tg.api, gone)(GROUP_ID, TOPIC)
        await timers.advance(3, sleepers=1)  # the first question: refused in that topic
        await playing(engine, 1)  # the other topic's game plays on
        ended = await app.games.store.get_game(game.id)
        assert ended is not None and ended.state is GameState.STOPPED
        # an answer to a command there is refused too, and lost quietly (logged, no apology)
        before = len(tg.api.calls)
        await tg.send(said(ANN, "/quiz status", thread_id=TOPIC, message_id=11))
        [refused] = tg.api.calls[before:]
        assert (refused.method, refused.params["message_thread_id"]) == ("sendMessage", TOPIC)
        # the other topic's game goes on
        assert (await app.games.store.get_game(other.id) or other).state is GameState.RUNNING
        assert [c for c in posts(tg.api, OTHER_TOPIC) if is_question(c)]
    assert tracebacks(caplog) == []
    logged = [r.getMessage() for r in caplog.records]
    assert any(
        f"game {game.id} in telegram:{GROUP_ID}/{TOPIC} ended: the chat is gone (forum topic "
        f"{TOPIC} is closed or deleted (BadRequest: {said_by_telegram}))" in m
        for m in logged
    ), logged
    assert any("cannot write to the forum topic" in m for m in logged), logged
    assert not any(TOKEN in m for m in logged)


async def playing(engine: GameEngine, games: int) -> None:
    """Until the engine plays `games` games (an ended game's last step is real I/O)."""
    for _ in range(500):
        if engine.playing == games:
            return
        await asyncio.sleep(0.01)
    raise TimeoutError(f"the engine plays {engine.playing} games, not {games}")


@pytest.mark.parametrize(
    ("description", "thread"),
    [
        ("Bad Request: TOPIC_CLOSED", TOPIC),
        ("Bad Request: message thread not found", TOPIC),
        ("Bad Request: TOPIC_CLOSED", None),  # a forum's General topic closed
    ],
)
async def test_the_outbox_calls_a_closed_or_deleted_topic_gone(
    sqlite_app: App, timers: FakeTimers, description: str, thread: int | None
) -> None:
    async with telegram(sqlite_app, timers) as (tg, _):
        tg.api.fail("sendMessage", 400, description)
        chat = IN_TOPIC if thread else GROUP
        with pytest.raises(ChatGone) as caught:
            await tg.adapter.outbox.post(chat, Reply((Paragraph("hello"),)), nonce="n")
        where = f"forum topic {TOPIC}" if thread else "the forum topic"
        assert caught.value.reason.startswith(f"{where} is closed or deleted (BadRequest: ")
        assert tg.api.threads() == [thread]


async def test_a_stored_place_that_is_no_telegram_chat_is_gone_not_a_crash(
    sqlite_app: App, timers: FakeTimers
) -> None:
    async with telegram(sqlite_app, timers) as (tg, _):
        bad = ChatRef(Platform.TELEGRAM, f"{GROUP_ID}/1", str(GROUP_ID))
        with pytest.raises(ChatGone, match=r"not a Telegram place id: '-1001234/1' \(after"):
            await tg.adapter.outbox.post(bad, Reply((Paragraph("hello"),)), nonce="n")
        assert tg.api.calls == []


# -- the daily question in a topic ------------------------------------------------------------


async def test_a_daily_subscribed_in_a_topic_posts_there_until_the_topic_closes(
    sqlite_app: App, clock: FixedClock, timers: FakeTimers
) -> None:
    app = sqlite_app
    clock.current = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
    fast = PlatformLimits(rate=1000.0, burst=50, chat_count=100, chat_period=1.0)
    async with telegram(app, timers) as (tg, _):
        tg.api.member_status = "administrator"
        await tg.send(said(ANN, "/daily set 09:00 UTC 2h", thread_id=TOPIC))
        await tg.send(said(ANN, "/daily set 10:00 UTC", forum=True))  # General's own
        assert tg.api.threads("sendMessage") == [TOPIC, None]
        assert "Daily question scheduled here" in texts(posts(tg.api, TOPIC))[0]
        topic_sub = await app.daily.store.subscription_for(IN_TOPIC)
        general_sub = await app.daily.store.subscription_for(GROUP)
        assert topic_sub is not None and general_sub is not None
        assert (topic_sub.chat, general_sub.chat) == (IN_TOPIC, GROUP)
        sched = DailyScheduler(app.daily, [tg.adapter.outbox], limits={Platform.TELEGRAM: fast},
                               run_jobs=False, workers=2)  # fmt: skip
        try:
            await sched.start()
            tg.api.clear()
            clock.current = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
            await sched.fire(f"post:{topic_sub.id}")
            await sched.wait_idle()
            [question] = tg.api.sent(*POSTS)
            assert question.params["message_thread_id"] == TOPIC
            [reveal_job] = [k for k in sched.jobs() if k.startswith("reveal:")]
            clock.current += timedelta(hours=2)
            await sched.fire(reveal_job)
            await sched.wait_idle()
            assert tg.api.threads(*POSTS) == [TOPIC, TOPIC]  # the question, then its reveal
            assert "answered" in texts(posts(tg.api, TOPIC))[-1]
            clock.current = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
            await sched.fire(f"post:{general_sub.id}")
            await sched.wait_idle()
            assert tg.api.threads(*POSTS)[-1] is None  # General's, as before
            # the next day the topic is closed: that subscription is gone, as a gone chat's
            tg.api.close_topic(GROUP_ID, TOPIC)
            clock.current = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)
            await sched.fire(f"post:{topic_sub.id}")
            await sched.wait_idle()
        finally:
            await sched.stop(grace=1.0)
        stored = await app.daily.store.subscription_for(IN_TOPIC)
        assert stored is not None and not stored.active
        reason = stored.disabled_reason or ""
        assert reason.startswith("the bot cannot post there any more (forum topic 7 is closed")
        general = await app.daily.store.subscription_for(GROUP)
        assert general is not None and general.active  # General's carries on
        # reopened, the topic's admins see why it stopped
        tg.api.reopen_topic(GROUP_ID, TOPIC)
        await tg.send(said(ANN, "/daily status", thread_id=TOPIC, message_id=30))
        status = texts(posts(tg.api, TOPIC))[-1]
        assert "forum topic 7 is closed or deleted" in status


async def test_a_daily_delivery_refused_by_a_closed_topic_is_recorded_gone(
    sqlite_app: App, clock: FixedClock, timers: FakeTimers
) -> None:
    app = sqlite_app
    clock.current = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
    async with telegram(app, timers) as (tg, _):
        await app.daily.command(IN_TOPIC, ["set", "09:00", "UTC"], is_admin=True)
        sub = await app.daily.store.subscription_for(IN_TOPIC)
        assert sub is not None
        tg.api.delete_topic(GROUP_ID, TOPIC)
        clock.current = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
        result = await app.daily.run_post(sub, clock.current.date(), tg.adapter.outbox)
        assert result.claim is not None
        delivery = await app.daily.store.delivery(result.claim.id, DeliveryKind.QUESTION)
        assert delivery is not None and delivery.state is DeliveryState.GONE
        assert "message thread not found" in (delivery.error or "").lower()


# -- buttons, and the group's budget ---------------------------------------------------------


async def test_a_button_counts_in_its_own_topic_and_one_asked_before_topics_were_told_apart(
    sqlite_app: App, timers: FakeTimers
) -> None:
    app = sqlite_app
    ann = UserRef(Platform.TELEGRAM, str(ANN.user_id))

    async def pressed(chat: ChatRef, thread: int) -> str:
        asked = await app.quiz.ask(ann, "Ann", chat, "alpha", "mid")
        label = asked.round.correct_label(asked.question)
        before = len(tg.api.calls)
        await tg.send(press(f"a1.{asked.round.id}.{label}", user_id=BOB.user_id,
                            first_name=BOB.name, thread_id=thread))  # fmt: skip
        [alert] = tg.api.calls[before:]
        return str(alert.params["text"])

    async with telegram(app, timers) as (tg, _):
        assert (await pressed(IN_TOPIC, TOPIC)).startswith("✅ Right!")
        # a question of another topic: refused, as one of another chat is
        assert await pressed(IN_OTHER_TOPIC, TOPIC) == FOREIGN_BUTTON
        # asked in this topic before the upgrade (stored as the group's): it still counts
        assert (await pressed(GROUP, TOPIC)).startswith("✅ Right!")
        other_group = ChatRef(Platform.TELEGRAM, str(GROUP_ID - 1), str(GROUP_ID - 1))
        assert await pressed(other_group, TOPIC) == FOREIGN_BUTTON
        # /question in a topic asks it there, as its own place
        await tg.send(said(ANN, "/question alpha", thread_id=TOPIC, message_id=40))
        [asked] = tg.api.sent(*POSTS)[-1:]
        assert asked.params["message_thread_id"] == TOPIC
        rnd, _ = await telegram_round(app, tg.api, asked)
        assert rnd.chat == IN_TOPIC


async def test_a_groups_topics_share_its_sending_budget(
    sqlite_app: App, timers: FakeTimers
) -> None:
    """Telegram counts a group's messages whatever topic they go to, so the scheduler's pacing
    does too: one message a minute here, and the first in topic 7 leaves none for topic 9 (it
    would wait about a minute), while another group posts at once."""
    one_a_minute = PlatformLimits(rate=1000.0, burst=50, chat_count=2, chat_period=60.0)
    async with telegram(sqlite_app, timers) as (tg, _):
        paced = PacedOutbox(tg.adapter.outbox, one_a_minute)
        hello = Reply((Paragraph("hello"),))
        await paced.post(IN_TOPIC, hello, nonce="a")
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(paced.post(IN_OTHER_TOPIC, hello, nonce="b"), 0.3)
        other_group = ChatRef(Platform.TELEGRAM, str(GROUP_ID - 1), str(GROUP_ID - 1))
        await asyncio.wait_for(paced.post(other_group, hello, nonce="c"), 5)
        assert tg.api.threads(*POSTS) == [TOPIC, None]
