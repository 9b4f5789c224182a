"""One busy Telegram chat never starves the others (bot/adapters/telegram/sending.py): the
adapter as `stackprep run` builds it (`create_adapter`, our SendScheduler), over the loopback
Bot API, which here enforces Telegram's flood limits (30 messages a second overall, 20 a minute
per group, a 429 with retry_after beyond). Latencies are read off the event loop's clock, with
a generous bound: these tests check that nothing waits behind another chat, not speed."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from telegram import Update

from bot.adapters.telegram.adapter import TelegramAdapter, build_application, create_adapter
from bot.adapters.telegram.sending import (
    BUSY,
    SLOW_DOWN,
    Budgets,
    SendScheduler,
    chat_key,
    is_group,
)
from bot.app.bootstrap import App
from bot.core.common.identity import ChatRef, Platform
from bot.core.common.replies import Paragraph, Reply
from bot.core.common.secret import Secret
from bot.core.delivery import RetryLater
from tests.fakes.telegram_api import GROUP_ID, TOKEN, Call, FakeBotApi, command, press, until

DM_ID = 4242  # a private chat's id is its person's id
WITHIN = 1.0  # seconds: a private chat's answer under a group's burst (the bound)
GROUP = ChatRef(Platform.TELEGRAM, str(GROUP_ID), str(GROUP_ID))


@pytest.fixture
def seed() -> int:
    return 5


@pytest.fixture(autouse=True)
def _ptb_timedelta(monkeypatch: pytest.MonkeyPatch) -> None:
    # PTB warns about its own RetryAfter.retry_after type change unless opted in
    monkeypatch.setenv("PTB_TIMEDELTA", "true")


@contextlib.asynccontextmanager
async def running(
    api: FakeBotApi, app: App, sending: SendScheduler | None = None
) -> AsyncIterator[TelegramAdapter]:
    """The production adapter (or one over `sending`), initialized; at the end whatever is
    still queued is dropped at once (the drain at shutdown is not what these tests check)."""
    if sending is None:
        adapter = create_adapter(Secret(TOKEN), app.services, request=api)
    else:
        bot_app = build_application(
            TOKEN, request=api, get_updates_request=api, rate_limiter=sending
        )
        adapter = TelegramAdapter(app.quiz, bot_app, practice=app.practice)
    async with adapter.app:
        api.clear()
        try:
            yield adapter
        finally:
            adapter.sending.drain_seconds = 0.0


def feed(adapter: TelegramAdapter, payload: dict[str, Any]) -> asyncio.Task[None]:
    """Process one update as polling does, without waiting for it (nor for its replies)."""
    app = adapter.app
    return asyncio.create_task(app.process_update(Update.de_json(payload, app.bot)))


def to_chat(api: FakeBotApi, chat_id: int, *methods: str) -> list[Call]:
    return [c for c in api.sent(*methods) if c.params.get("chat_id") == chat_id]


def answered(api: FakeBotApi, query_id: str) -> Call | None:
    calls = [
        c for c in api.sent("answerCallbackQuery") if c.params["callback_query_id"] == query_id
    ]
    return calls[0] if calls else None


def first(calls: list[Call], predicate: Callable[[Call], bool]) -> Call | None:
    return next((c for c in calls if predicate(c)), None)


async def eventually(condition: Callable[[], object], seconds: float = 10) -> None:
    """For what happens after the double's last call (e.g. the limiter reading a 429)."""
    async with asyncio.timeout(seconds):
        while not condition():  # noqa: ASYNC110
            await asyncio.sleep(0.005)


# -- the scenario -------------------------------------------------------------------


async def test_a_burst_in_one_group_leaves_private_chats_answered_within_a_second(
    sqlite_app: App,
) -> None:
    """300 /question from 30 users in one group, polled as `stackprep run` polls, while a
    private chat sends /help and presses a button: both are answered within a second, and
    the group gets no more than Telegram allows (the double never had to answer 429)."""
    api = FakeBotApi(flood_limits=True)
    adapter = create_adapter(Secret(TOKEN), sqlite_app.services, request=api)
    loop = asyncio.get_running_loop()
    serving = asyncio.create_task(adapter.run())
    try:
        api.updates.append(command("/question alpha mid", chat_id=DM_ID, user_id=DM_ID))
        await until(lambda: to_chat(api, DM_ID, "sendMessage"), api.activity)
        asked = to_chat(api, DM_ID, "sendMessage")[0]
        token = asked.params["reply_markup"]["inline_keyboard"][0][0]["callback_data"]

        api.updates.extend(
            command("/question beta junior", user_id=100 + i % 30, message_id=1000 + i)
            for i in range(300)
        )
        await until(lambda: len(to_chat(api, GROUP_ID)) >= 5, api.activity)  # under way
        start = loop.time()
        help_command = command("/help", chat_id=DM_ID, user_id=DM_ID, message_id=5000)
        button = press(token, chat_id=DM_ID, user_id=DM_ID)
        query_id = button["callback_query"]["id"]
        api.updates.extend([help_command, button])

        def help_reply() -> Call | None:
            return first(
                to_chat(api, DM_ID, "sendMessage"), lambda c: "/leaderboard" in c.params["text"]
            )

        await until(lambda: help_reply() and answered(api, query_id), api.activity, seconds=30)
        help_at, answer_at = help_reply(), answered(api, query_id)
        assert help_at is not None and answer_at is not None
        assert help_at.at - start < WITHIN, help_at.at - start
        assert answer_at.at - start < WITHIN, answer_at.at - start
    finally:
        adapter.sending.drain_seconds = 0.0
        serving.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await serving
    assert api.throttled == []  # the group was kept within Telegram's limits by us
    group = to_chat(api, GROUP_ID)
    assert len(group) <= 11  # its burst, and at most the slow-down notice
    assert len([c for c in group if c.params.get("text") == SLOW_DOWN]) <= 1
    assert adapter.sending.refused >= 250  # skipped, not queued without end


async def test_a_429_for_a_group_pauses_that_group_only(sqlite_app: App) -> None:
    """Telegram refuses the group for 60 s: the private chat's /help and a press in the
    private chat, and even a press in that group, are answered at once; the group's reply
    waits for its own pause; nothing else is paused."""
    api = FakeBotApi()
    api.fail_chat(GROUP_ID, 429, "Too Many Requests: retry after 60", retry_after=60)
    loop = asyncio.get_running_loop()
    async with running(api, sqlite_app) as adapter:
        tasks = [feed(adapter, command("/topics"))]
        await until(lambda: api.throttled, api.activity)
        start = loop.time()
        dm_press, group_press = press("a1.stale.A", chat_id=DM_ID), press("a1.stale.A")
        tasks += [
            feed(adapter, command("/help", chat_id=DM_ID, user_id=DM_ID)),
            feed(adapter, dm_press),
            feed(adapter, group_press),
        ]
        dm_id, group_id = dm_press["callback_query"]["id"], group_press["callback_query"]["id"]
        await until(
            lambda: (
                to_chat(api, DM_ID, "sendMessage")
                and answered(api, dm_id)
                and answered(api, group_id)
            ),
            api.activity,
            seconds=10,
        )
        for call in (
            to_chat(api, DM_ID, "sendMessage")[0],
            answered(api, dm_id),
            answered(api, group_id),
        ):
            assert call is not None and call.at - start < WITHIN
        assert adapter.sending.paused_for(GROUP_ID) > 55
        assert adapter.sending.paused_for(DM_ID) == 0 and adapter.sending.paused_overall() == 0
        assert len(to_chat(api, GROUP_ID, "sendMessage")) == 1  # the refused one, not retried yet
        await asyncio.gather(*tasks)  # every handler returned, though the group's reply waits


async def test_429s_for_several_chats_at_once_pause_every_chat(
    sqlite_app: App, caplog: pytest.LogCaptureFixture
) -> None:
    """Each chat's limit is its own, so 429s for three chats within a second mean the bot's
    own limit: everything waits for the pause, then each refused reply is sent again."""
    api = FakeBotApi()
    refused = (11, 12, 13)
    for chat_id in refused:
        api.fail_chat(chat_id, 429, "Too Many Requests: retry after 1", retry_after=1)
    async with running(api, sqlite_app) as adapter:
        for chat_id in refused:
            feed(adapter, command("/help", chat_id=chat_id, user_id=chat_id))
        await eventually(lambda: adapter.sending.throttled == 3)
        assert adapter.sending.paused_overall() > 0
        feed(adapter, command("/help", chat_id=14, user_id=14))
        await until(lambda: len(api.sent("sendMessage")) == 7, api.activity, seconds=10)
        pause_ends = api.throttled[-1].at + 1.0
        later = [c for c in api.sent("sendMessage") if all(c is not t for t in api.throttled)]
        assert sorted(c.params["chat_id"] for c in later) == [11, 12, 13, 14]
        assert all(c.at >= pause_ends - 0.05 for c in later)  # nothing went out meanwhile
    assert "flood limit for 3 chats at once" in caplog.text


# -- a chat over its queue ------------------------------------------------------------------


async def test_a_full_chat_skips_commands_with_one_notice_and_a_press_gets_an_alert(
    sqlite_app: App,
) -> None:
    """The group's queue (3 here) is full while Telegram holds it back: further commands are
    skipped before they change anything, the group is told once to slow down, and "Next
    question" gets a private alert; the queued replies and the notice go out after."""
    api = FakeBotApi()
    api.fail_chat(GROUP_ID, 429, "Too Many Requests: retry after 1", retry_after=1)
    sending = SendScheduler(Budgets(queue_max=3))
    async with running(api, sqlite_app, sending) as adapter:
        rounds_before = await count_rounds(sqlite_app)
        feed(adapter, command("/question beta junior", user_id=1))
        await until(lambda: api.throttled, api.activity)  # its worker now waits 1 s
        for user in range(2, 12):  # 10 more: 3 queued, 7 skipped
            await feed(adapter, command("/question beta junior", user_id=user))
        next_press = press("n1.-.0")
        await feed(adapter, next_press)
        alert = answered(api, next_press["callback_query"]["id"])
        assert alert is not None and alert.params == {
            "callback_query_id": next_press["callback_query"]["id"],
            "text": BUSY,
            "show_alert": True,
        }
        await adapter.sending.idle()
    group = to_chat(api, GROUP_ID)
    kinds = ["notice" if c.params.get("text") == SLOW_DOWN else c.method for c in group]
    # the refused poll, its retry, then the notice ahead of the 3 queued polls
    assert kinds == ["sendPoll", "sendPoll", "notice", "sendPoll", "sendPoll", "sendPoll"]
    assert sending.refused == 7
    # 4 questions asked; none for the skipped commands, none for the refused "Next" press
    assert await count_rounds(sqlite_app) - rounds_before == 4


async def count_rounds(app: App) -> int:
    assert app.database is not None
    rows = await app.database.read("SELECT count(*) FROM rounds")
    return int(rows[0][0])


# -- the daily Outbox and shutdown -----------------------------------------------------------


async def test_the_daily_outbox_gets_retry_later_at_once_and_the_chat_stays_paused(
    sqlite_app: App,
) -> None:
    """The scheduler retries a 429 itself, so the outbox raises RetryLater after one try;
    the chat's pause still holds replies to that chat back until it ends."""
    api = FakeBotApi()
    api.fail_chat(GROUP_ID, 429, "Too Many Requests: retry after 1", retry_after=1)
    async with running(api, sqlite_app) as adapter:
        with pytest.raises(RetryLater) as caught:
            await adapter.outbox.post(GROUP, Reply((Paragraph("recap"),)), nonce="n")
        assert caught.value.retry_after == 1.0
        assert len(api.sent("sendMessage")) == 1  # no retry inside the limiter
        feed(adapter, command("/topics"))
        await until(lambda: len(api.sent("sendMessage")) == 2, api.activity, seconds=10)
        reply = api.sent("sendMessage")[1]
        assert reply.at >= api.throttled[0].at + 1.0 - 0.05


async def test_at_shutdown_what_cannot_go_out_is_dropped_with_one_line(
    sqlite_app: App, caplog: pytest.LogCaptureFixture
) -> None:
    api = FakeBotApi()
    api.fail_chat(GROUP_ID, 429, "Too Many Requests: retry after 60", retry_after=60)
    before = asyncio.all_tasks()
    adapter = create_adapter(Secret(TOKEN), sqlite_app.services, request=api)
    adapter.sending.drain_seconds = 0.2
    async with adapter.app:
        await feed(adapter, command("/topics"))
        await until(lambda: api.throttled, api.activity)
        await feed(adapter, command("/score"))  # queued behind the paused reply
        await feed(adapter, command("/help", chat_id=DM_ID, user_id=DM_ID))
    assert len(to_chat(api, DM_ID, "sendMessage")) == 1  # it could go, so it went
    assert len(to_chat(api, GROUP_ID, "sendMessage")) == 1  # only the refused one
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert "telegram: stopping with 2 replies not sent to 1 chats" in "\n".join(warnings)
    assert asyncio.all_tasks() - before - {asyncio.current_task()} == set()


# -- the parts --------------------------------------------------------------------------------


@given(st.one_of(st.none(), st.booleans(), st.integers(), st.text(), st.floats()))
def test_any_chat_id_is_read_without_an_error(value: object) -> None:
    key = chat_key(value)
    assert key is None or isinstance(key, int | str)
    if isinstance(value, int) and not isinstance(value, bool):
        assert key == value and is_group(value) is (value < 0)


def test_group_budget_never_allows_more_than_20_in_a_minute() -> None:
    budgets = Budgets()
    limiter = budgets.chat_limiter(GROUP_ID)
    # a leaky bucket of capacity c, leaking r per second, admits at most c + r * t in t s
    assert limiter.max_rate + limiter.max_rate / limiter.time_period * 60 <= 20
    overall = budgets.overall_limiter()
    assert overall.max_rate + overall.max_rate / overall.time_period * 1 <= 30
    private = budgets.chat_limiter(DM_ID)
    assert private.max_rate / private.time_period == 1.0  # one a second after a short burst
    with pytest.raises(ValueError, match="group_burst"):
        Budgets(group_burst=20)
