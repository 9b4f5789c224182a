"""The getUpdates loop over the durable inbox (bot/adapters/telegram/polling.py): the real
Application and handlers over the recording fake Bot API, the real SQLite inbox in tmp_path.

Fatal answers (401, 403, 409) end `run()` with one AdapterError line; timeouts, refused
connections and 5xx are retried with backoff (tiny delays here); an update is stored before it
is confirmed, processed from the inbox, marked done, and never processed twice; a chat's
updates run in order while other chats' run beside them. The kill -9 test is in
test_polling_crash.py.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Sequence
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from telegram import Update
from telegram.error import NetworkError, TimedOut
from telegram.ext import ContextTypes, TypeHandler

from bot.adapters.base import AdapterError
from bot.adapters.telegram.adapter import TelegramAdapter, build_application
from bot.adapters.telegram.incoming import App as TelegramApp
from bot.adapters.telegram.polling import Poller
from bot.adapters.telegram.receiving import (
    BAD_ADDRESS,
    CONFLICT,
    FORBIDDEN,
    UNAUTHORIZED,
    Backoff,
    lane_of,
    read_update,
)
from bot.app.bootstrap import App
from bot.core.common.errors import StorageUnavailable
from bot.core.delivery import Inbound, UpdateInbox
from bot.storage.memory import MemoryUpdateInbox
from tests.fakes.telegram_api import (
    GROUP_ID,
    TOKEN,
    Call,
    FakeBotApi,
    command,
    poll_answer,
    press,
    until,
)

FAST = Backoff(first=0.001, cap=0.004)  # retries without real waiting
CONFLICT_DESCRIPTION = "Conflict: terminated by other getUpdates request"


@pytest.fixture
def seed() -> int:
    return 1


def adapter_over(api: FakeBotApi, app: App, inbox: UpdateInbox | None = None) -> TelegramAdapter:
    tg = build_application(TOKEN, request=api, get_updates_request=api)
    return TelegramAdapter(app.quiz, tg, inbox=inbox or app.inbox, backoff=FAST)


def entry(payload: dict[str, Any]) -> Inbound:
    return Inbound(payload["update_id"], json.dumps(payload))


async def stop(task: asyncio.Task[Any]) -> None:
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def eventually(condition: Callable[[], object], seconds: float = 5) -> None:
    """Wait until `condition()` holds (for what makes no Bot API call, e.g. a handler)."""
    async with asyncio.timeout(seconds):
        while not condition():  # noqa: ASYNC110 (nothing to wait on: a handler's state)
            await asyncio.sleep(0.005)


def offsets(api: FakeBotApi) -> list[int | None]:
    return [c.params.get("offset") for c in api.calls if c.method == "getUpdates"]


# -- fatal and transient errors -------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "description", "expected"),
    [
        (401, "Unauthorized", UNAUTHORIZED),
        (404, "Not Found", UNAUTHORIZED),
        (403, "Forbidden: bot was blocked", FORBIDDEN),
        (409, CONFLICT_DESCRIPTION, CONFLICT),
    ],
)
async def test_a_fatal_answer_while_polling_ends_run_with_one_clear_error(
    sqlite_app: App,
    caplog: pytest.LogCaptureFixture,
    status: int,
    description: str,
    expected: str,
) -> None:
    """A token revoked while running (PTB's updater stopped polling and left a zombie)."""
    api = FakeBotApi(updates=[command("/question beta junior")])
    adapter = adapter_over(api, sqlite_app)
    before = asyncio.all_tasks()
    task = asyncio.create_task(adapter.run())
    await until(lambda: api.sent("sendPoll"), api.activity)
    await until(lambda: len(offsets(api)) >= 3, api.activity)  # polling on, as usual
    api.fail("getUpdates", status, description)
    async with asyncio.timeout(5):
        with pytest.raises(AdapterError) as caught:
            await task
    assert str(caught.value) == expected
    assert caught.value.__cause__ is None and caught.value.__suppress_context__
    assert not adapter.app.running and api.shut_down >= 1
    assert asyncio.all_tasks() - before == set()  # no lane, no flusher left behind
    assert TOKEN not in caplog.text and "Traceback" not in caplog.text


async def test_timeouts_refused_connections_and_5xx_are_retried_with_backoff(
    sqlite_app: App, caplog: pytest.LogCaptureFixture
) -> None:
    api = FakeBotApi()
    api.fail("getUpdates", 502, "Bad Gateway")
    api.fail("getUpdates", 500, "Internal Server Error")
    api.raise_on("getUpdates", TimedOut())
    api.raise_on("getUpdates", NetworkError("httpx.ConnectError: [Errno 111] refused"))
    api.fail("getUpdates", 429, "Too Many Requests: retry after 0", retry_after=0)
    update = command("/question beta junior")
    api.updates = [update]
    caplog.set_level(logging.WARNING, "bot.adapters.telegram.receiving")
    task = asyncio.create_task(adapter_over(api, sqlite_app).run())
    try:
        await until(lambda: api.sent("sendPoll"), api.activity)
    finally:
        await stop(task)
    warnings = [r for r in caplog.records if "getUpdates" in r.getMessage()]
    assert len(warnings) == 5 + 1  # one line per failed attempt, one when it works again
    assert all(r.levelname == "WARNING" and r.exc_info is None for r in warnings)
    assert "TimedOut" in caplog.text and "Bad Gateway" in caplog.text
    assert "Traceback" not in caplog.text and TOKEN not in caplog.text
    assert len(api.sent("sendPoll")) == 1


async def test_a_bot_api_address_that_is_no_url_is_fatal_at_once(
    sqlite_app: App, caplog: pytest.LogCaptureFixture
) -> None:
    """A permanent mistake is not retried forever (httpx cannot even build the request)."""
    tg = build_application(TOKEN, base_url="http://[::1/bot")
    adapter = TelegramAdapter(sqlite_app.quiz, tg, inbox=sqlite_app.inbox, backoff=FAST)
    async with asyncio.timeout(5):
        with pytest.raises(AdapterError) as caught:
            await adapter.run()
    assert str(caught.value) == BAD_ADDRESS and TOKEN not in caplog.text


def test_backoff_grows_exponentially_with_jitter_up_to_its_cap() -> None:
    backoff = Backoff(first=1.0, cap=60.0)
    for attempt, base in enumerate([1, 2, 4, 8, 16, 32, 60, 60, 60]):
        delays = [backoff.delay(attempt) for _ in range(200)]
        assert all(base / 2 <= d <= base for d in delays)
        assert max(delays) - min(delays) > base / 10  # jittered, not fixed
    assert backoff.delay(10_000) <= 60.0


# -- at least once, exactly once ---------------------------------------------------------------


class FlakyInbox:
    """The real SQLite inbox, whose `add` fails while `failures` lasts (a busy database);
    every successful add is noted among the fake API's calls, to see what came first."""

    def __init__(self, inner: UpdateInbox, api: FakeBotApi, failures: int) -> None:
        self.inner, self.api, self.failures = inner, api, failures

    async def add(self, updates: Sequence[Inbound]) -> list[Inbound]:
        if self.failures:
            self.failures -= 1
            raise StorageUnavailable()
        fresh = await self.inner.add(updates)
        self.api.calls.append(Call("inbox.add", {"ids": [u.update_id for u in updates]}))
        return fresh

    async def pending(self, after: int | None = None, limit: int = 1000) -> list[Inbound]:
        return await self.inner.pending(after, limit)

    async def done(self, update_ids: Sequence[int]) -> None:
        await self.inner.done(update_ids)

    async def prune(self, below: int) -> int:
        return await self.inner.prune(below)


async def test_an_update_is_confirmed_only_once_it_is_stored(
    sqlite_app: App, caplog: pytest.LogCaptureFixture
) -> None:
    update = command("/question beta junior")
    api = FakeBotApi(updates=[update])
    inbox = FlakyInbox(sqlite_app.inbox, api, failures=3)
    task = asyncio.create_task(adapter_over(api, sqlite_app, inbox).run())

    def methods() -> list[str]:
        return [c.method for c in api.calls if c.method in {"getUpdates", "inbox.add"}]

    def confirmed() -> bool:
        return "inbox.add" in methods() and methods()[-1] == "getUpdates"

    try:
        await until(lambda: api.sent("sendPoll") and confirmed(), api.activity)
    finally:
        await stop(task)
    methods = methods()
    stored = methods.index("inbox.add")
    assert methods[stored - 1 : stored + 2] == ["getUpdates", "inbox.add", "getUpdates"]
    confirming = offsets(api)[stored]  # the first getUpdates after the store
    assert confirming == update["update_id"] + 1
    assert all(o is None for o in offsets(api)[:stored])  # nothing confirmed before
    assert caplog.text.count("storing fetched updates failed (StorageUnavailable") == 3
    assert await sqlite_app.inbox.pending() == []  # processed and marked done


async def test_updates_left_undone_are_processed_first_and_done_ones_never_again(
    sqlite_app: App,
) -> None:
    undone, done = command("/question beta junior"), command("/question alpha mid")
    inbox = sqlite_app.inbox
    await inbox.add([entry(done), entry(undone)])
    await inbox.done([done["update_id"]])
    # Telegram had not seen them confirmed: it sends both again, with a new one
    fresh = command("/topics")
    api = FakeBotApi(updates=[done, undone, fresh])
    task = asyncio.create_task(adapter_over(api, sqlite_app).run())
    try:
        await until(
            lambda: api.sent("sendPoll") and len(api.sent("sendMessage")) >= 1, api.activity
        )
        await until(lambda: len(offsets(api)) >= 3, api.activity)
    finally:
        await stop(task)
    assert len(api.sent("sendPoll")) == 1  # the undone /question, once
    texts = [c.params["text"] for c in api.sent("sendMessage")]
    assert len(texts) == 1 and "beta" in texts[0]  # /topics; the done keyboard question: never
    assert await inbox.pending() == []


async def test_done_updates_are_pruned_once_confirmed(sqlite_app: App) -> None:
    assert sqlite_app.database is not None
    api = FakeBotApi()
    async with build_application(TOKEN, request=api, get_updates_request=api) as tg:
        add_recorder(tg, [])
        poller = Poller(
            tg, sqlite_app.inbox, allowed_updates=[], backoff=FAST, poll_timeout=0,
            prune_every=0.0,
        )  # fmt: skip
        task = asyncio.create_task(poller.run())
        try:
            for burst in range(3):
                api.updates = batch = [press(f"x{burst}.{i}", user_id=i) for i in range(100)]
                await until(lambda: not api.updates, api.activity)
            last_id = batch[-1]["update_id"]
            await until(lambda: poller.confirmed > last_id, api.activity)
            polls = len(offsets(api))
            await until(lambda: len(offsets(api)) >= polls + 2, api.activity)  # pruned meanwhile
        finally:
            await stop(task)
    rows = await sqlite_app.database.read("SELECT count(*) FROM telegram_inbox")
    assert rows[0][0] <= 100  # at most the last burst: earlier ones were confirmed and pruned


# -- lanes: one chat in order, other chats beside it ---------------------------------------------


def add_recorder(
    tg: TelegramApp, seen: list[tuple[str, int]], gates: dict[int, asyncio.Event] | None = None
) -> None:
    """A handler that notes when each update starts and ends, and waits at its gate."""

    async def record(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        seen.append(("start", update.update_id))
        if gates and update.update_id in gates:
            await gates[update.update_id].wait()
        seen.append(("end", update.update_id))

    tg.add_handler(TypeHandler(Update, record))


async def test_a_chats_updates_run_in_order_and_other_chats_beside_them() -> None:
    first, second = command("/a", chat_id=GROUP_ID), command("/b", chat_id=GROUP_ID)
    other_chat = command("/c", chat_id=-200)
    vote = poll_answer("p-1", 0, user_id=9)
    seen: list[tuple[str, int]] = []
    gate = asyncio.Event()
    api = FakeBotApi(updates=[first, second, other_chat, vote])
    async with build_application(TOKEN, request=api, get_updates_request=api) as tg:
        add_recorder(tg, seen, {first["update_id"]: gate})
        poller = Poller(tg, MemoryUpdateInbox(), allowed_updates=[], backoff=FAST)
        task = asyncio.create_task(poller.run())
        try:
            ids = (other_chat["update_id"], vote["update_id"])
            await until(lambda: all(("end", i) in seen for i in ids), api.activity)
            assert ("start", first["update_id"]) in seen
            assert ("start", second["update_id"]) not in seen  # waits for the first
            gate.set()
            await until(lambda: ("end", second["update_id"]) in seen, api.activity)
        finally:
            await stop(task)
    chat = [e for e in seen if e[1] in (first["update_id"], second["update_id"])]
    one, two = first["update_id"], second["update_id"]
    assert chat == [("start", one), ("end", one), ("start", two), ("end", two)]


def test_lanes_per_chat_per_person_in_groups_and_per_voter() -> None:
    bot = READER.bot

    def lane(payload: dict[str, Any]) -> object:
        return lane_of(Update.de_json(payload, bot))

    assert lane(command("/a", user_id=1)) == lane(command("/b", user_id=2)) == GROUP_ID
    assert lane(press("t", user_id=1)) == (GROUP_ID, 1) != lane(press("t", user_id=2))
    assert lane(press("t", chat_id=42, user_id=42)) == 42 == lane(command("/a", chat_id=42))
    assert lane(poll_answer("p", 0, user_id=42)) == 42


async def test_polling_waits_while_too_many_updates_are_in_progress() -> None:
    blocked = command("/a", chat_id=GROUP_ID)
    seen: list[tuple[str, int]] = []
    gate = asyncio.Event()
    api = FakeBotApi(updates=[blocked])
    async with build_application(TOKEN, request=api, get_updates_request=api) as tg:
        add_recorder(tg, seen, {blocked["update_id"]: gate})
        poller = Poller(tg, MemoryUpdateInbox(), allowed_updates=[], backoff=FAST, max_queued=1)
        task = asyncio.create_task(poller.run())
        try:
            await eventually(lambda: ("start", blocked["update_id"]) in seen)
            await asyncio.sleep(0.05)
            assert len(offsets(api)) == 1  # no more fetching while the one update is stuck
            gate.set()
            await until(lambda: len(offsets(api)) >= 2, api.activity)
        finally:
            await stop(task)


async def test_on_stop_updates_in_progress_finish_or_stay_for_the_next_start(
    sqlite_app: App,
) -> None:
    quick, stuck = command("/a", chat_id=-1), command("/b", chat_id=-2)
    seen: list[tuple[str, int]] = []
    quick_gate, never = asyncio.Event(), asyncio.Event()
    api = FakeBotApi(updates=[quick, stuck])
    async with build_application(TOKEN, request=api, get_updates_request=api) as tg:
        add_recorder(tg, seen, {quick["update_id"]: quick_gate, stuck["update_id"]: never})
        poller = Poller(tg, sqlite_app.inbox, allowed_updates=[], backoff=FAST, stop_grace=0.2)
        task = asyncio.create_task(poller.run())
        await until(lambda: len([e for e in seen if e[0] == "start"]) == 2, api.activity)
        task.cancel()
        await asyncio.sleep(0)
        quick_gate.set()  # finishes within the grace; the other never does
        with pytest.raises(asyncio.CancelledError):
            await task
    assert ("end", quick["update_id"]) in seen and ("end", stuck["update_id"]) not in seen
    assert [e.update_id for e in await sqlite_app.inbox.pending()] == [stuck["update_id"]]


# -- unreadable payloads ---------------------------------------------------------------------------


async def test_an_unreadable_stored_update_is_skipped_and_the_rest_go_on(
    sqlite_app: App, caplog: pytest.LogCaptureFixture
) -> None:
    good = command("/question beta junior")
    await sqlite_app.inbox.add(
        [Inbound(1, "{not json"), Inbound(2, '{"update_id": 3}'), entry(good)]
    )
    api = FakeBotApi()
    task = asyncio.create_task(adapter_over(api, sqlite_app).run())
    try:
        await until(lambda: api.sent("sendPoll"), api.activity)
        await until(lambda: len(offsets(api)) >= 2, api.activity)
    finally:
        await stop(task)
    assert "update 1 cannot be read" in caplog.text and "update 2 cannot be read" in caplog.text
    assert await sqlite_app.inbox.pending() == []  # marked done: never tried again


READER = build_application(TOKEN, request=FakeBotApi(), get_updates_request=FakeBotApi())
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
update_like = st.fixed_dictionaries(
    {"update_id": st.integers(-(2**31), 2**31)},
    optional={
        "message": json_values,
        "callback_query": json_values,
        "poll_answer": json_values,
        "edited_message": json_values,
    },
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(payload=st.one_of(update_like, json_values, st.text(max_size=40)))
def test_any_stored_payload_is_read_or_skipped_never_raised(payload: object) -> None:
    tg = READER
    text = payload if isinstance(payload, str) else json.dumps(payload)
    update_id = payload.get("update_id", 0) if isinstance(payload, dict) else 0
    update = read_update(Inbound(update_id, text), tg)
    if update is not None:
        assert update.update_id == update_id
        lane_of(update)  # and its lane can be found
