"""Receiving by webhook (bot/adapters/telegram/webhook.py): the real adapter, Application and
handlers over the recording fake Bot API, the real SQLite inbox in tmp_path, and real HTTP
requests to the webhook's listener on 127.0.0.1, as Telegram (or someone else) makes them.

Telegram's side: setWebhook at start with the secret; every request is checked for the secret
(403, nothing processed, nothing logged that holds a secret), its size (413) and its body (400);
each update is stored before the 200 and processed once, whatever Telegram repeats. The kill -9
test is in test_webhook_crash.py.
"""

from __future__ import annotations

import asyncio
import json
import logging
import socket
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import aiohttp
import pytest
from telegram import Update
from telegram.ext import ContextTypes, TypeHandler

from bot.adapters.base import AdapterError
from bot.adapters.telegram.adapter import ALLOWED_UPDATES, TelegramAdapter, build_application
from bot.adapters.telegram.receiving import WEBHOOK_SET, Backoff
from bot.adapters.telegram.webhook import MAX_BODY, SECRET_HEADER, Webhook, WebhookReceiver
from bot.app import run as runtime
from bot.app.bootstrap import App
from bot.config import Config, Secret, TelegramConfig
from bot.core.common.errors import StorageUnavailable
from bot.core.delivery import Inbound, UpdateInbox
from bot.log import Redactor
from tests.fakes.telegram_api import TOKEN, FakeBotApi, command, until
from tests.fakes.telegram_server import post_update

FAST = Backoff(first=0.001, cap=0.004)  # retries without real waiting
SECRET = "Webhook_Secret-0123456789abcdefXYZ"
PUBLIC = "https://bot.example.test/telegram/hook"
PATH = "/telegram/hook"


@pytest.fixture
def seed() -> int:
    return 1


@dataclass
class Served:
    """A running adapter in webhook mode, its fake Bot API and the listener's URL."""

    adapter: TelegramAdapter
    api: FakeBotApi
    url: str
    task: asyncio.Task[None]

    @property
    def receiver(self) -> WebhookReceiver:
        assert isinstance(self.adapter.receiver, WebhookReceiver)
        return self.adapter.receiver

    async def post(
        self, body: bytes | dict[str, Any], secret: str | None = SECRET, **headers: str
    ) -> tuple[int, str]:
        return await post_update(self.url, body, secret, **headers)


def webhook_adapter(
    api: FakeBotApi, app: App, inbox: UpdateInbox | None = None, *, delete_at_stop: bool = False
) -> TelegramAdapter:
    tg = build_application(TOKEN, request=api, get_updates_request=api)
    hook = Webhook("127.0.0.1", 0, PUBLIC, Secret(SECRET), delete_at_stop)
    return TelegramAdapter(app.quiz, tg, inbox=inbox or app.inbox, backoff=FAST, webhook=hook)


async def serving(adapter: TelegramAdapter, api: FakeBotApi) -> Served:
    task = asyncio.create_task(adapter.run())

    def receiver() -> bool:
        return isinstance(adapter.receiver, WebhookReceiver) and adapter.receiver.serving

    try:
        await until(lambda: receiver() or task.done(), api.activity)
    except TimeoutError:
        task.cancel()
        raise
    if task.done():
        task.result()  # raises what ended it
    assert isinstance(adapter.receiver, WebhookReceiver)
    url = f"http://127.0.0.1:{adapter.receiver.port}{PATH}"
    return Served(adapter, api, url, task)


async def stop(task: asyncio.Task[Any]) -> None:
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


@pytest.fixture
async def served(sqlite_app: App, caplog: pytest.LogCaptureFixture) -> AsyncIterator[Served]:
    caplog.set_level(logging.INFO)
    api = FakeBotApi()
    running = await serving(webhook_adapter(api, sqlite_app), api)
    try:
        yield running
    finally:
        if not running.task.done():
            await stop(running.task)


async def eventually(condition: Callable[[], object], seconds: float = 5) -> None:
    async with asyncio.timeout(seconds):
        while not condition():  # noqa: ASYNC110 (a handler's state: nothing to wait on)
            await asyncio.sleep(0.005)


async def stored(app: App) -> list[tuple[int, bool]]:
    """Every row of the inbox: (update id, done)."""
    assert app.database is not None
    rows = await app.database.read(
        "SELECT update_id, done_at IS NOT NULL FROM telegram_inbox ORDER BY update_id"
    )
    return [(int(i), bool(d)) for i, d in rows]


async def all_done(app: App, seconds: float = 5) -> None:
    """Wait until every stored update is marked done (the marks are written in batches)."""
    async with asyncio.timeout(seconds):
        while not all(done for _, done in await stored(app)):  # noqa: ASYNC110 (a database)
            await asyncio.sleep(0.005)


# -- the start, the stop ---------------------------------------------------------------------------


async def test_the_start_sets_the_webhook_with_the_secret_and_never_polls(
    served: Served, caplog: pytest.LogCaptureFixture
) -> None:
    (call,) = served.api.sent("setWebhook")
    assert call.params == {
        "url": PUBLIC,
        "secret_token": SECRET,
        "allowed_updates": list(ALLOWED_UPDATES),
        "drop_pending_updates": False,
    }
    assert served.api.webhook is not None  # set, as Telegram keeps it
    assert served.adapter.connected()
    assert not served.api.sent("getUpdates", "deleteWebhook")
    started = "\n".join(r.getMessage() for r in caplog.get_records("setup"))
    assert f"webhook at {PUBLIC}" in started and not holds_a_secret(started)
    assert SECRET not in repr(served.adapter) and SECRET not in repr(served.receiver)
    assert SECRET not in repr(served.receiver.webhook)


async def test_the_stop_leaves_the_webhook_set_for_other_workers(served: Served) -> None:
    await stop(served.task)
    assert not served.api.sent("deleteWebhook") and served.api.webhook is not None
    assert not served.adapter.connected()
    with pytest.raises(aiohttp.ClientConnectionError):  # the listener is closed
        await served.post(command("/help"))


async def test_delete_webhook_at_stop_deletes_it(sqlite_app: App) -> None:
    api = FakeBotApi()
    running = await serving(webhook_adapter(api, sqlite_app, delete_at_stop=True), api)
    await stop(running.task)
    assert [c.params for c in api.sent("deleteWebhook")] == [{"drop_pending_updates": False}]
    assert api.webhook is None


async def test_a_refused_webhook_url_ends_the_run_with_one_line(
    sqlite_app: App, caplog: pytest.LogCaptureFixture
) -> None:
    api = FakeBotApi()
    api.fail("setWebhook", 400, "Bad Request: bad webhook: An HTTPS URL must be provided")
    adapter = webhook_adapter(api, sqlite_app)
    async with asyncio.timeout(5):
        with pytest.raises(AdapterError) as caught:
            await adapter.run()
    assert str(caught.value) == (
        f"Telegram refused the webhook URL {PUBLIC} ([telegram] public_url): Bad webhook: "
        "an https url must be provided"  # as PTB words Telegram's description
    )
    assert caught.value.__cause__ is None and caught.value.__suppress_context__
    assert not adapter.app.running and SECRET not in caplog.text and TOKEN not in caplog.text


async def test_set_webhook_is_retried_while_telegram_is_unreachable(
    served: Served, sqlite_app: App
) -> None:
    api = FakeBotApi()
    api.fail("setWebhook", 502, "Bad Gateway", times=2)
    running = await serving(webhook_adapter(api, sqlite_app), api)
    try:
        assert len(api.sent("setWebhook")) == 3 and running.adapter.connected()
    finally:
        await stop(running.task)


async def test_an_address_in_use_ends_the_run_with_one_line(sqlite_app: App) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        tg = build_application(TOKEN, request=(api := FakeBotApi()), get_updates_request=api)
        hook = Webhook("127.0.0.1", port, PUBLIC, Secret(SECRET))
        adapter = TelegramAdapter(sqlite_app.quiz, tg, inbox=sqlite_app.inbox, webhook=hook)
        with pytest.raises(AdapterError) as caught:
            await adapter.run()
    assert str(caught.value).startswith(f"telegram: cannot listen on 127.0.0.1:{port}")
    assert str(caught.value).endswith("change [telegram] listen or stop what holds that port")
    assert not api.sent("setWebhook")  # never pointed Telegram at a listener that is not there


# -- processing, once --------------------------------------------------------------------------


async def test_an_update_with_the_secret_is_stored_answered_and_processed_once(
    served: Served, sqlite_app: App
) -> None:
    update = command("/question beta junior")
    assert await served.post(update) == (200, "OK")
    await until(lambda: served.api.sent("sendPoll"), served.api.activity)
    await all_done(sqlite_app)
    assert await served.post(update) == (200, "OK")  # Telegram did not get our 200: again
    await asyncio.sleep(0.05)
    assert len(served.api.sent("sendPoll")) == 1
    assert await stored(sqlite_app) == [(update["update_id"], True)]


async def test_an_update_with_lone_surrogate_escapes_is_stored_and_answered(
    served: Served, sqlite_app: App
) -> None:
    """Telegram's JSON can carry "\\ud800": stored in the inbox as it came, read back by PTB,
    and the core takes `beta` for the topic typed (a refusal quoting the surrogate could not
    have been sent: HTTPX cannot encode it)."""
    update = command("/question beta\ud800 junior\udfff")
    assert await served.post(json.dumps(update).encode()) == (200, "OK")
    await until(lambda: served.api.sent("sendPoll"), served.api.activity)
    await all_done(sqlite_app)
    assert not served.api.sent("sendMessage")  # no refusal
    assert await stored(sqlite_app) == [(update["update_id"], True)]


def gate_on(adapter: TelegramAdapter, update_id: int) -> tuple[asyncio.Event, list[int]]:
    """A handler before all others that counts each processing of `update_id` and holds it at
    a gate until the gate opens."""
    gate, seen = asyncio.Event(), []

    async def hold(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        if update.update_id == update_id:
            seen.append(update_id)
            await gate.wait()

    adapter.app.add_handler(TypeHandler(Update, hold), group=-2)
    return gate, seen


async def test_a_repeat_while_the_first_is_in_progress_is_processed_once(
    sqlite_app: App,
) -> None:
    api = FakeBotApi()
    adapter = webhook_adapter(api, sqlite_app)
    update = command("/question beta junior")
    gate, seen = gate_on(adapter, update["update_id"])
    running = await serving(adapter, api)
    try:
        assert await running.post(update) == (200, "OK")
        await eventually(lambda: seen)
        statuses = await asyncio.gather(*(running.post(update) for _ in range(3)))
        assert [s for s, _ in statuses] == [200] * 3  # stored (once), in progress
        gate.set()
        await until(lambda: api.sent("sendPoll"), api.activity)
        await asyncio.sleep(0.05)
        assert seen == [update["update_id"]] and len(api.sent("sendPoll")) == 1
        await all_done(sqlite_app)
    finally:
        await stop(running.task)
    assert await stored(sqlite_app) == [(update["update_id"], True)]


async def test_a_chats_updates_run_in_order_as_they_arrived(sqlite_app: App) -> None:
    api = FakeBotApi()
    adapter = webhook_adapter(api, sqlite_app)
    first, second = command("/question beta junior"), command("/topics", message_id=11)
    gate, _ = gate_on(adapter, first["update_id"])
    running = await serving(adapter, api)
    try:
        assert (await running.post(first))[0] == 200
        assert (await running.post(second))[0] == 200
        await asyncio.sleep(0.05)
        assert not api.sent("sendMessage")  # /topics waits for the chat's earlier update
        gate.set()
        await until(lambda: api.sent("sendPoll") and api.sent("sendMessage"), api.activity)
    finally:
        await stop(running.task)
    methods = [c.method for c in api.sent("sendPoll", "sendMessage")]
    assert methods == ["sendPoll", "sendMessage"]


async def test_updates_left_undone_are_processed_at_the_next_start(sqlite_app: App) -> None:
    """What a crash left stored and not done (see test_webhook_crash.py for a real kill)."""
    undone, done = command("/question beta junior"), command("/topics")
    await sqlite_app.inbox.add([Inbound(u["update_id"], json.dumps(u)) for u in (undone, done)])
    await sqlite_app.inbox.done([done["update_id"]])
    api = FakeBotApi()
    running = await serving(webhook_adapter(api, sqlite_app), api)
    try:
        await until(lambda: api.sent("sendPoll"), api.activity)
        assert await running.post(done) == (200, "OK")  # Telegram repeats a done one
        assert await running.post(undone) == (200, "OK")  # and the undone one
        await asyncio.sleep(0.05)
    finally:
        await stop(running.task)
    assert len(api.sent("sendPoll")) == 1 and not api.sent("sendMessage")
    assert await stored(sqlite_app) == [(undone["update_id"], True), (done["update_id"], True)]


class FlakyInbox:
    """The real inbox, whose `add` fails while `failures` lasts (a busy database)."""

    def __init__(self, inner: UpdateInbox, failures: int) -> None:
        self.inner, self.failures = inner, failures

    async def add(self, updates: Sequence[Inbound]) -> list[Inbound]:
        if self.failures:
            self.failures -= 1
            raise StorageUnavailable()
        return await self.inner.add(updates)

    async def pending(self, after: int | None = None, limit: int = 1000) -> list[Inbound]:
        return await self.inner.pending(after, limit)

    async def done(self, update_ids: Sequence[int]) -> None:
        await self.inner.done(update_ids)

    async def prune(self, below: int) -> int:
        return await self.inner.prune(below)


async def test_an_update_that_cannot_be_stored_is_503_and_processed_when_telegram_repeats_it(
    sqlite_app: App, caplog: pytest.LogCaptureFixture
) -> None:
    api = FakeBotApi()
    running = await serving(webhook_adapter(api, sqlite_app, FlakyInbox(sqlite_app.inbox, 1)), api)
    update = command("/question beta junior")
    try:
        assert (await running.post(update))[0] == 503
        await asyncio.sleep(0.05)
        assert not api.sent("sendPoll") and await stored(sqlite_app) == []
        assert await running.post(update) == (200, "OK")  # Telegram's retry
        await until(lambda: api.sent("sendPoll"), api.activity)
    finally:
        await stop(running.task)
    assert f"could not store update {update['update_id']} (StorageUnavailable" in caplog.text
    assert len(api.sent("sendPoll")) == 1


async def test_more_than_max_queued_in_progress_is_503_until_there_is_room(
    sqlite_app: App,
) -> None:
    api = FakeBotApi()
    adapter = webhook_adapter(api, sqlite_app)
    first = command("/question beta junior")
    gate, seen = gate_on(adapter, first["update_id"])
    running = await serving(adapter, api)
    running.receiver.lanes.max_queued = 1
    later = command("/topics", chat_id=-555)
    try:
        assert (await running.post(first))[0] == 200
        await eventually(lambda: seen)
        assert (await running.post(later))[0] == 503  # not stored: Telegram keeps it
        gate.set()
        await until(lambda: api.sent("sendPoll"), api.activity)
        await eventually(lambda: not running.receiver.lanes.full)
        assert (await running.post(later))[0] == 200
        await until(lambda: api.sent("sendMessage"), api.activity)
    finally:
        await stop(running.task)


async def test_done_updates_are_pruned_once_old(sqlite_app: App) -> None:
    api = FakeBotApi()
    hook = Webhook("127.0.0.1", 0, PUBLIC, Secret(SECRET))
    async with build_application(TOKEN, request=api, get_updates_request=api) as tg:
        receiver = WebhookReceiver(
            tg, sqlite_app.inbox, hook, allowed_updates=[], backoff=FAST, prune_every=0.01,
            prune_after=0.0,
        )  # fmt: skip
        task = asyncio.create_task(receiver.run())
        try:
            await until(lambda: receiver.serving, api.activity)
            url = f"http://127.0.0.1:{receiver.port}{PATH}"
            for text in ("/help", "/topics"):
                assert (await post_update(url, command(text), SECRET))[0] == 200
            for _ in range(500):  # processed (by no handler), marked done, then pruned
                if not await stored(sqlite_app):
                    break
                await asyncio.sleep(0.01)
        finally:
            await stop(task)
    assert await stored(sqlite_app) == []


# -- refused requests ------------------------------------------------------------------------------


def holds_a_secret(text: str) -> bool:
    """Whether `text` shows SECRET in any case or encoding (the log's own redaction says)."""
    return Redactor([SECRET])(text) != text


@pytest.mark.parametrize(
    "headers",
    [
        {},  # no header
        {SECRET_HEADER: "wrong-secret"},
        {SECRET_HEADER: SECRET.swapcase()},  # the secret in another case is another secret
        {SECRET_HEADER: SECRET + "x"},
        {SECRET_HEADER: SECRET[:-1]},
        {SECRET_HEADER: quote(SECRET + "/")},
    ],
    ids=["missing", "wrong", "other-case", "longer", "shorter", "encoded"],
)
async def test_a_request_without_the_secret_is_403_and_nothing_is_processed(
    served: Served, sqlite_app: App, caplog: pytest.LogCaptureFixture, headers: dict[str, str]
) -> None:
    caplog.set_level(logging.DEBUG)
    caplog.clear()
    status, text = await served.post(command("/question beta junior"), None, **headers)
    assert (status, text) == (403, "Forbidden")
    await asyncio.sleep(0.05)
    assert not served.api.sent() and await stored(sqlite_app) == []
    refused = [r for r in caplog.records if "refused a webhook request" in r.getMessage()]
    assert len(refused) == 1 and refused[0].levelname == "WARNING"
    assert refused[0].exc_info is None
    for value in headers.values():
        assert value not in caplog.text and value.lower() not in caplog.text.lower()
    assert not holds_a_secret(caplog.text) and not holds_a_secret(text)


async def test_two_secret_headers_are_403(served: Served, sqlite_app: App) -> None:
    update = json.dumps(command("/question beta junior")).encode()
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            served.url, data=update,
            headers=[(SECRET_HEADER, SECRET), (SECRET_HEADER, SECRET)],
        ) as response,
    ):  # fmt: skip
        assert response.status == 403
    assert await stored(sqlite_app) == []


async def test_only_post_on_the_public_urls_path_is_served(served: Served) -> None:
    base = served.url.removesuffix(PATH)
    async with aiohttp.ClientSession() as session:
        async with session.get(served.url) as response:
            assert response.status == 405
        async with session.post(f"{base}/other", headers={SECRET_HEADER: SECRET}) as response:
            assert response.status == 404
    assert not served.api.sent()


async def test_a_body_over_the_limit_is_413_with_or_without_its_length(
    served: Served, sqlite_app: App, caplog: pytest.LogCaptureFixture
) -> None:
    big = command("/question beta junior", padding="x" * MAX_BODY)
    assert (await served.post(big))[0] == 413

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: chunked
        data = json.dumps(big).encode()
        for start in range(0, len(data), 64 * 1024):
            yield data[start : start + 64 * 1024]

    async with (
        aiohttp.ClientSession() as session,
        session.post(served.url, data=chunks(), headers={SECRET_HEADER: SECRET}) as response,
    ):
        assert response.status == 413
    just_fits = command("/question beta junior")
    just_fits["message"]["padding"] = ""
    room = MAX_BODY - len(json.dumps(just_fits).encode())
    just_fits["message"]["padding"] = "x" * room
    assert len(json.dumps(just_fits).encode()) == MAX_BODY
    assert (await served.post(just_fits))[0] == 200
    assert [i for i, _ in await stored(sqlite_app)] == [just_fits["update_id"]]
    assert caplog.text.count("; 413)") == 2


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"{not json", "the body is not JSON"),
        (b"", "the body is not JSON"),
        (b"\xff\xfe{}", "the body is not UTF-8 text"),
        (b"[1, 2]", "the body is a JSON list, not an object"),
        (b'{"update_id": "7"}', "the body has no whole update_id"),
        (b'{"update_id": true}', "the body has no whole update_id"),
        (b'{"update_id": -1}', "the body's update_id is out of range"),
        (b'{"update_id": 1, "message": 5}', "update 1 is not an update Telegram sends"),
        (b'{"update_id": NaN}', "the body is not JSON"),
        (b"[" * 100_000, "the body's JSON is nested too deeply"),
    ],
)
async def test_a_body_that_is_no_update_is_400_and_nothing_is_stored(
    served: Served, sqlite_app: App, body: bytes, reason: str
) -> None:
    assert await served.post(body) == (400, reason)
    await asyncio.sleep(0.02)
    assert await stored(sqlite_app) == [] and not served.api.sent()


# -- switching between the modes ---------------------------------------------------------------


async def test_polling_again_deletes_the_webhook_first(sqlite_app: App) -> None:
    api = FakeBotApi(updates=[command("/question beta junior")])
    api.webhook = {"url": PUBLIC, "secret_token": SECRET}  # left set by webhook mode
    tg = build_application(TOKEN, request=api, get_updates_request=api)
    adapter = TelegramAdapter(sqlite_app.quiz, tg, inbox=sqlite_app.inbox, backoff=FAST)
    task = asyncio.create_task(adapter.run())
    try:
        await until(lambda: api.sent("sendPoll"), api.activity)
    finally:
        await stop(task)
    methods = [c.method for c in api.calls if c.method in {"deleteWebhook", "getUpdates"}]
    assert methods[0] == "deleteWebhook" and api.webhook is None


async def test_a_webhook_set_again_while_polling_ends_the_run_with_one_clear_line(
    sqlite_app: App,
) -> None:
    """Another worker in webhook mode set it after this one started polling."""
    api = FakeBotApi()
    tg = build_application(TOKEN, request=api, get_updates_request=api)
    adapter = TelegramAdapter(sqlite_app.quiz, tg, inbox=sqlite_app.inbox, backoff=FAST)
    task = asyncio.create_task(adapter.run())
    await until(lambda: len(api.sent("getUpdates")) >= 2, api.activity)
    api.webhook = {"url": PUBLIC}
    async with asyncio.timeout(5):
        with pytest.raises(AdapterError) as caught:
            await task
    assert str(caught.value) == WEBHOOK_SET


async def test_the_runtime_builds_a_webhook_adapter_from_the_config(sqlite_app: App) -> None:
    telegram = TelegramConfig(
        token=Secret(TOKEN), mode="webhook", listen=("127.0.0.1", 8443), public_url=PUBLIC,
        webhook_secret=Secret(SECRET), delete_webhook_at_stop=True,
    )  # fmt: skip
    (adapter,) = runtime.platform_adapters(Config(telegram=telegram), sqlite_app.services)
    assert isinstance(adapter, TelegramAdapter)
    assert adapter.webhook == Webhook("127.0.0.1", 8443, PUBLIC, Secret(SECRET), True)
    polling = TelegramConfig(token=Secret(TOKEN), public_url=PUBLIC, webhook_secret=Secret(SECRET))
    (adapter,) = runtime.platform_adapters(Config(telegram=polling), sqlite_app.services)
    assert isinstance(adapter, TelegramAdapter) and adapter.webhook is None
