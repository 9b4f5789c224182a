"""The Bot API over real HTTP on 127.0.0.1, with Telegram's delivery rules, for tests that run
`python -m bot` as a process (`[telegram] api_base_url = "<url>"`).

`getUpdates` behaves as Telegram documents it: updates wait in order until confirmed, and a
call with `offset` confirms (forgets for good) every update below it; without an offset it
returns the earliest unconfirmed ones, at most `limit`, and a long poll waits up to `timeout`
seconds (capped at LONG_POLL_CAP here) for one to arrive. So a bot that confirms before it has
processed loses updates when it is killed, as it would against Telegram.

Sent messages and polls get ids; a test reads them back (`sent(...)`) to press the buttons or
vote in the polls the bot posted. Files members sent (`documents`, see
`tests.fakes.telegram_api.BotFiles`) are answered by getFile and served at
`/file/bot<token>/<file_path>`, as Telegram serves them; `serve_files` serves them alone, for
the in-process double (`FakeBotApi.documents`).

A webhook is kept as Telegram keeps it: setWebhook sets it (its parameters in `webhook`),
deleteWebhook deletes it, getWebhookInfo reports it, and getUpdates answers 409 while one is
set. `post_update` is Telegram's side of a webhook: one POST of an update with the secret
header, to the bot's listener on 127.0.0.1. `hold(method)` keeps that method's calls waiting
(a Bot API call in progress when the bot is killed) until `release(method)`.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import itertools
import json
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

import aiohttp
from aiohttp import web

from tests.fakes.served import serve_bytes
from tests.fakes.telegram_api import (
    BOT_USER,
    DATE,
    WEBHOOK_CONFLICT,
    WEBHOOK_METHODS,
    BotFiles,
    chat,
    chat_full_info,
    chat_member,
    poll_json,
    webhook_call,
)

LONG_POLL_CAP = 0.2  # seconds: tests need not wait for Telegram's real long polls


@dataclass(eq=False)
class BotApiServer:
    """Enough of the Bot API for `stackprep run`: getMe, getUpdates with offsets, sending,
    polls, answering callback queries; everything else answers `true`."""

    unconfirmed: list[dict[str, Any]] = field(default_factory=list)
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    answered: Counter[str] = field(default_factory=Counter)  # callback query id -> answers
    polls: dict[str, int] = field(default_factory=dict)  # poll id -> chat, of polls sent
    documents: BotFiles = field(default_factory=BotFiles)  # files members sent (getFile)
    member_status: str = "member"  # what getChatMember says of anyone
    confirmed_below: int = 0
    webhook: dict[str, Any] | None = None  # setWebhook's parameters while one is set
    held: dict[str, asyncio.Event] = field(default_factory=dict)  # methods kept waiting
    activity: asyncio.Event = field(default_factory=asyncio.Event)
    _arrived: asyncio.Event = field(default_factory=asyncio.Event)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(500))

    def push(self, *updates: dict[str, Any]) -> None:
        """Updates arrive at Telegram, for the bot to fetch (in update id order, as Telegram
        numbers them)."""
        self.unconfirmed = sorted([*self.unconfirmed, *updates], key=lambda u: u["update_id"])
        self._arrived.set()

    def sent(self, method: str) -> list[dict[str, Any]]:
        return [params for name, params in self.calls if name == method]

    def hold(self, method: str) -> None:
        """Keep calls of `method` waiting, unanswered, until `release(method)`."""
        self.held[method] = asyncio.Event()

    def release(self, method: str) -> None:
        self.held.pop(method).set()

    async def handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        params: dict[str, Any] = {}
        for key, value in (await request.post()).items():
            text = str(value)
            try:
                params[key] = json.loads(text)
            except ValueError:
                params[key] = text
        self.calls.append((method, params))
        self.activity.set()
        if method in self.held:
            await self.held[method].wait()
        if method == "getUpdates" and self.webhook is not None:
            return web.Response(text=json.dumps(WEBHOOK_CONFLICT), status=409,
                                content_type="application/json")  # fmt: skip
        if method == "getUpdates":
            result: Any = await self._get_updates(params)
        elif method in WEBHOOK_METHODS:
            self.webhook, result = webhook_call(self.webhook, method, params)
        elif method == "getMe":
            result = BOT_USER
        elif method in {"sendMessage", "editMessageText"}:
            result = self._message(params, text=params.get("text"))
            if "reply_markup" in params:
                result["reply_markup"] = params["reply_markup"]
        elif method == "sendPoll":
            result = self._message(params, poll=self._poll(params))
        elif method == "answerCallbackQuery":
            self.answered[str(params["callback_query_id"])] += 1
            result = True
        elif method == "getChatMember":
            result = chat_member(int(params["user_id"]), self.member_status)
        elif method == "getChat":
            result = chat_full_info(int(params["chat_id"]))
        elif method == "getFile":
            status, answer = self.documents.get_file(params)
            return web.Response(text=json.dumps(answer), status=status,
                                content_type="application/json")  # fmt: skip
        else:
            result = True
        body = json.dumps({"ok": True, "result": result})
        return web.Response(text=body, content_type="application/json")

    async def _get_updates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        offset = int(params.get("offset") or 0)
        if offset:
            self.confirmed_below = max(self.confirmed_below, offset)
            self.unconfirmed = [u for u in self.unconfirmed if u["update_id"] >= offset]
        if not self.unconfirmed:
            self._arrived.clear()
            wait = min(float(params.get("timeout") or 0), LONG_POLL_CAP)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._arrived.wait(), wait)
        limit = int(params.get("limit") or 100)
        return [u for u in self.unconfirmed if u["update_id"] >= offset][:limit]

    def _message(self, params: dict[str, Any], **content: Any) -> dict[str, Any]:
        return {
            "message_id": next(self._ids),
            "date": DATE,
            "chat": chat(int(params["chat_id"])),
            "from": BOT_USER,
            **{k: v for k, v in content.items() if v is not None},
        }

    def _poll(self, params: dict[str, Any]) -> dict[str, Any]:
        poll_id = f"poll-{next(self._ids)}"
        self.polls[poll_id] = int(params["chat_id"])
        return poll_json(poll_id, params)


class Handles(Protocol):
    async def handle(self, request: web.Request) -> web.StreamResponse: ...


H = TypeVar("H", bound=Handles)


@contextlib.asynccontextmanager
async def serve_bot_api(server: H) -> AsyncIterator[tuple[H, str]]:
    """`server` (this module's BotApiServer, or a test's own double) on a free port of
    127.0.0.1, and its base URL for `[telegram] api_base_url`."""
    app = web.Application()
    app.router.add_post("/bot{token}/{method}", server.handle)
    documents = getattr(server, "documents", None)
    if isinstance(documents, BotFiles):
        app.router.add_get("/file/bot{token}/{path:.*}", _file_handler(documents))
    async with _listening(app) as base_url:
        yield server, base_url


@contextlib.asynccontextmanager
async def _listening(app: web.Application) -> AsyncIterator[str]:
    """`app` on a free port of 127.0.0.1, and the Bot API base URL there."""
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"http://127.0.0.1:{port}/bot"
    finally:
        await runner.cleanup()


def _file_handler(
    files: BotFiles,
) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def download(request: web.Request) -> web.StreamResponse:
        """A file's bytes at /file/bot<token>/<file_path> (404 for an unknown path)."""
        path = request.match_info["path"]
        files.downloads.append((request.match_info["token"], path))
        stored = files.at(path)
        if stored is None:
            return web.Response(status=404, text="Not Found")

        def sent(size: int) -> None:
            stored.sent += size

        return await serve_bytes(request, stored.data, endless=stored.endless, sent=sent)

    return download


@contextlib.asynccontextmanager
async def serve_files(files: BotFiles) -> AsyncIterator[str]:
    """Only the download path of `files` on a free port of 127.0.0.1 (for the in-process
    `FakeBotApi`), and the `base_url` to build the application with: its file URL
    (`.../file/bot`) is derived from it, while the API calls still go to the FakeBotApi."""
    app = web.Application()
    app.router.add_get("/file/bot{token}/{path:.*}", _file_handler(files))
    async with _listening(app) as base_url:
        yield base_url


async def post_update(
    url: str, body: bytes | dict[str, Any], secret: str | None, **headers: str
) -> tuple[int, str]:
    """One webhook request as Telegram makes it: a POST of the update as JSON with the
    X-Telegram-Bot-Api-Secret-Token header (`secret`; None leaves it out); the status and the
    body of the answer."""
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    sent = {"Content-Type": "application/json", **headers}
    if secret is not None:
        sent["X-Telegram-Bot-Api-Secret-Token"] = secret
    async with (
        aiohttp.ClientSession() as session,
        session.post(url, data=io.BytesIO(data), headers=sent) as response,
    ):
        return response.status, await response.text()
