"""A fake Discord on 127.0.0.1: the REST API and the gateway WebSocket, for end-to-end tests.

The real discord.py client talks to it after two public class attributes are pointed here
(`Route.BASE`, `DiscordWebSocket.DEFAULT_GATEWAY`). It records every REST request, answers
the gateway handshake (HELLO, heartbeat ACK, READY after IDENTIFY) with plain text frames,
lets a test push dispatches (INTERACTION_CREATE), keeps the messages the bot posts so a test
can click their buttons, and can be told to fail the next matching request (403, 429...), to
hold one without ever answering (`hang_next`), to refuse the gateway for a while
(`gateway_down`), to close it with a close code (`close_gateway`), or to revoke the token
while the bot runs (`revoke_token`). Files a member attaches to a command (`attachment`) are
served at their URL on the same 127.0.0.1 server, as Discord's CDN serves them; one may come
with a size that lies, and an endless one never ends unless the reader stops. The bot's DMs
(`POST /users/@me/channels`, then messages into that channel) are kept like any message; a
message sent with files (multipart) keeps its JSON part as the body and its files in
`Recorded.files`.

Sharding, as Discord does it: `GET /gateway/bot` recommends `recommended_shards` (1 unless a
test says otherwise); each gateway connection IDENTIFYs as one shard `[id, count]` (none
given: `[0, 1]`; an id outside the count: close code 4010) and its READY names that shard;
a guild's events go only to the shard `(guild_id >> 22) % count`, events without a guild
(DMs) to shard 0 (`dispatch`). `guild_on_shard` gives a guild id for a shard, with its own
channel (`channel_of`); `close_gateway(code, shard=...)` closes one shard's connection.

Traps it encodes (see design.md section 6): JSON responses carry `Content-Type` exactly
`application/json`; a 429 is retried by discord.py only with a `Via` header; the interaction
callback is posted with `?with_response=1` and must answer `interaction` + `resource.message`;
follow-ups use `?wait=1`; `member.permissions` is the computed bitset.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import itertools
import json
import re
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import discord
import discord.gateway
import discord.http
import yarl
from aiohttp import WSMsgType, web
from discord.gateway import KeepAliveHandler

from bot.adapters.discord.adapter import DiscordAdapter
from bot.app.bootstrap import App
from bot.config import Secret
from bot.core.bank.question_bank import QuestionBank
from bot.core.common.clock import Clock
from bot.core.practice.service import PracticeService
from bot.core.quiz import Store
from bot.core.quiz.service import QuizService
from tests.fakes.app import SEED, make_app
from tests.fakes.served import serve_bytes

TOKEN = "fake-token-9f3c1e"
APP_ID = 900000000000000001
BOT_ID = 900000000000000002
GUILD_ID = 700000000000000001
CHANNEL_ID = 710000000000000001
ADMIN_PERMISSIONS = discord.Permissions.all().value  # administrators: every bit
MEMBER_PERMISSIONS = discord.Permissions(
    view_channel=True, send_messages=True, read_message_history=True, use_application_commands=True
).value
Shard = tuple[int, int]  # (shard id, shard count), as IDENTIFY and READY carry it


def shard_of(guild_id: int | None, count: int) -> int:
    """The shard that receives a guild's events (Discord's formula); DMs go to shard 0."""
    return 0 if guild_id is None else (guild_id >> 22) % count


def guild_on_shard(shard_id: int, count: int) -> int:
    """A guild id (GUILD_ID itself when it fits) whose events go to shard `shard_id` of
    `count`."""
    base = GUILD_ID >> 22
    return ((base + (shard_id - base) % count) << 22) | (GUILD_ID & ((1 << 22) - 1))


def channel_of(guild_id: int) -> int:
    """The text channel of a guild: CHANNEL_ID in GUILD_ID, its own one in any other."""
    return CHANNEL_ID if guild_id == GUILD_ID else guild_id + 1


@dataclass(frozen=True)
class FakeUser:
    id: int
    name: str
    admin: bool = False

    def payload(self) -> dict[str, Any]:
        return {
            "id": str(self.id), "username": self.name.lower().replace(" ", ""),
            "global_name": self.name, "discriminator": "0", "avatar": None,
        }  # fmt: skip


@dataclass
class Recorded:
    method: str
    path: str  # without the /api/v10 prefix
    query: dict[str, str]
    body: Any
    headers: dict[str, str]
    status: int = 0
    message_id: int | None = None  # the message this request created, if any
    at: float = field(default_factory=time.monotonic)
    raw: bytes = b""  # the body as sent
    files: dict[str, bytes] = field(default_factory=dict)  # a multipart message's files


@dataclass
class _Served:
    data: bytes
    endless: bool  # repeat `data` until the reader hangs up (no Content-Length)
    sent: int = 0  # bytes written so far


@dataclass
class _Failure:
    method: str
    pattern: re.Pattern[str]
    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)


def _option_type(value: object) -> int:
    """A slash command option's type as Discord sends it: attachment 11, boolean 5,
    integer 4, string 3."""
    if isinstance(value, dict):
        return 11
    return 5 if isinstance(value, bool) else 4 if isinstance(value, int) else 3


def _multipart(raw: bytes, content_type: str) -> tuple[dict[str, Any], dict[str, bytes]]:
    """A multipart message (discord.py sends files so): its JSON part, and its files by name."""
    boundary = content_type.split("boundary=", 1)[1].strip('"').encode()
    body: dict[str, Any] = {}
    files: dict[str, bytes] = {}
    for part in raw.split(b"--" + boundary)[1:-1]:
        head, _, content = part.partition(b"\r\n\r\n")
        content = content.removesuffix(b"\r\n")
        if b'name="payload_json"' in head:
            body = json.loads(content)
        elif found := re.search(rb'filename="([^"]+)"', head):
            files[found.group(1).decode()] = content
    return body, files


def _json(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    # exactly "application/json": with "; charset=utf-8" discord.py would not parse it
    all_headers = {"Content-Type": "application/json", **(headers or {})}
    return web.Response(body=json.dumps(data).encode(), status=status, headers=all_headers)


class FakeDiscord:
    def __init__(self, token: str = TOKEN) -> None:
        self.token = token
        self.requests: list[Recorded] = []
        self.messages: dict[int, dict[str, Any]] = {}
        self.identify: dict[str, Any] | None = None  # the latest IDENTIFY
        self.identifies: list[dict[str, Any]] = []  # every IDENTIFY, in order
        self.recommended_shards = 1  # what GET /gateway/bot recommends
        self.refuse_identify = False  # close the gateway with 4004 after IDENTIFY
        self.gateway_down = 0  # answer this many gateway connections with 503 (Discord down)
        self.gateway_attempts = 0
        self.gateway_refuse_after: int | None = None  # answer connections after this many: 503
        self._hangs: list[tuple[str, re.Pattern[str]]] = []
        self._release = asyncio.Event()  # set on exit: requests held by hang_next end then
        self.commands: dict[str, list[dict[str, Any]]] = {}  # "global" or guild id -> payload
        self._nonces: dict[tuple[str, str], int] = {}
        self._token_channels: dict[str, str] = {}
        self._failures: list[_Failure] = []
        self._ids = itertools.count(1_000_000_000_000_000_000)
        self.cdn: dict[str, _Served] = {}  # attachment path -> what is served there
        self.downloads: list[str] = []  # attachment paths requested, in order
        self._seq = 0
        self._changed = asyncio.Condition()
        self._by_path: dict[tuple[str, str], list[Recorded]] = {}
        self._sockets: set[web.WebSocketResponse] = set()
        self._shards: dict[web.WebSocketResponse, Shard] = {}  # sockets with a session
        self._sessions: dict[str, Shard] = {}  # session id -> its shard, for RESUME
        self._guilds = {str(CHANNEL_ID): str(GUILD_ID)}  # channel id -> its guild id
        self._connected = asyncio.Event()
        self._disconnected = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self._saved: tuple[str, yarl.URL] | None = None
        self.port = 0

    # -- lifecycle --------------------------------------------------------------------------

    async def __aenter__(self) -> FakeDiscord:
        app = web.Application()
        app.router.add_get("/gateway", self._gateway)
        app.router.add_get("/attachments/{path:.*}", self._attachment)
        app.router.add_route("*", "/api/v10/{path:.*}", self._rest)
        self._runner = web.AppRunner(app, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        server = site._server
        assert isinstance(server, asyncio.base_events.Server)
        self.port = server.sockets[0].getsockname()[1]
        self._saved = (discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY)
        discord.http.Route.BASE = f"http://127.0.0.1:{self.port}/api/v10"
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(
            f"ws://127.0.0.1:{self.port}/gateway"
        )
        return self

    async def __aexit__(self, exc_type: object, *exc: object) -> None:
        if self._saved is not None:
            discord.http.Route.BASE, discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = self._saved
        self._release.set()
        for ws in list(self._sockets):
            await ws.close()
        if self._runner is not None:
            await self._runner.cleanup()
        if exc_type is None:  # the client was closed before us: nothing may be left running
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            assert tasks == [], f"tasks left running: {tasks}"
            beats = [t for t in threading.enumerate() if isinstance(t, KeepAliveHandler)]
            for thread in beats:
                thread.join(timeout=2)
            assert not any(t.is_alive() for t in beats), "gateway heartbeat thread left running"

    # -- scripting --------------------------------------------------------------------------

    def fail_next(
        self,
        method: str,
        path_pattern: str,
        status: int,
        body: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        """Answer the next request matching (method, path regex) with this error, once."""
        self._failures.append(
            _Failure(method, re.compile(path_pattern), status, body or {}, headers or {})
        )

    def hang_next(self, method: str, path_pattern: str) -> None:
        """Take the next request matching (method, path regex) and never answer it (until the
        fake closes): Discord's API hanging. It is recorded with status 0 when it arrives."""
        self._hangs.append((method, re.compile(path_pattern)))

    async def close_gateway(self, code: int, *, shard: int | None = None) -> None:
        """Close every gateway connection with this close code (4004, 4013, 4000...), or only
        the connection of shard `shard`."""
        for ws in list(self._sockets):
            if shard is None or self._shards.get(ws, (None, 0))[0] == shard:
                await ws.close(code=code, message=b"closed by the fake")

    async def revoke_token(self) -> None:
        """The bot token was reset in the Developer Portal: REST calls with the old one get
        401, the gateway drops the session, and resuming it is refused with 4004."""
        self.token = f"{self.token}-reset"
        await self.close_gateway(4000)  # discord.py resumes after this close code

    async def wait_gateway_attempts(self, count: int) -> None:
        """Until `count` gateway connections were attempted (refused ones too); at most 10 s."""
        async with self._changed:
            await asyncio.wait_for(
                self._changed.wait_for(lambda: self.gateway_attempts >= count), 10
            )

    async def wait_disconnected(self) -> None:
        """Until no bot holds a gateway connection (e.g. after it was killed); at most 10 s."""
        await asyncio.wait_for(self._disconnected.wait(), 10)

    async def wait_connected(self) -> None:
        """Until a bot has a gateway session (READY or RESUMED sent); at most 10 s."""
        await asyncio.wait_for(self._connected.wait(), 10)

    def shards(self) -> set[Shard]:
        """The shards that have a gateway session now (READY or RESUMED sent)."""
        return set(self._shards.values())

    async def wait_shards(self, *shards: Shard) -> None:
        """Until each of these shards has a gateway session; at most 10 s."""
        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(lambda: set(shards) <= self.shards()), 10)

    def _receivers(self, guild_id: int | None) -> list[web.WebSocketResponse]:
        return [ws for ws, (sid, n) in self._shards.items() if shard_of(guild_id, n) == sid]

    async def dispatch(self, event: str, data: dict[str, Any], *, wait: float = 5) -> int:
        """Send an event to the shard its guild belongs to (DMs: shard 0), as Discord does,
        waiting up to `wait` seconds for that shard's session; how many connections got it
        (0 when no bot serves that shard)."""
        guild = data.get("guild_id")
        guild_id = int(guild) if guild is not None else None
        async with self._changed:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    self._changed.wait_for(lambda: bool(self._receivers(guild_id))), wait
                )
        if event == "INTERACTION_CREATE":
            self._token_channels[data["token"]] = data["channel_id"]
            if guild is not None:
                self._guilds[str(data["channel_id"])] = str(guild)
        self._seq += 1
        frame = {"op": 0, "t": event, "s": self._seq, "d": data}
        receivers = self._receivers(guild_id)
        for ws in receivers:
            await ws.send_str(json.dumps(frame))
        return len(receivers)

    async def wait_for(
        self, method: str, path_pattern: str, count: int = 1, *, within: float = 5.0
    ) -> list[Recorded]:
        """The first `count` requests matching (method, path regex), waiting for them (at most
        `within` seconds)."""
        pattern = re.compile(path_pattern)

        def matching() -> list[Recorded]:
            return [r for r in self.requests if r.method == method and pattern.fullmatch(r.path)]

        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(lambda: len(matching()) >= count), within)
        return matching()[:count]

    async def wait_exact(self, method: str, path: str, count: int = 1) -> list[Recorded]:
        """Like wait_for, for one exact path (cheap: the benchmark waits this way)."""
        key = (method, path)

        def arrived() -> bool:
            return len(self._by_path.get(key, ())) >= count

        async with self._changed:
            await asyncio.wait_for(self._changed.wait_for(arrived), 5.0)
        return self._by_path[key][:count]

    def matching(self, method: str, path_pattern: str) -> list[Recorded]:
        pattern = re.compile(path_pattern)
        return [r for r in self.requests if r.method == method and pattern.fullmatch(r.path)]

    # -- interactions -----------------------------------------------------------------------

    def command(
        self,
        name: str,
        options: Mapping[str, object] | None = None,
        *,
        user: FakeUser,
        guild: bool = True,
        subcommand: str | None = None,
        channel: dict[str, Any] | None = None,
        app_permissions: int | None = None,
        guild_id: int = GUILD_ID,
    ) -> dict[str, Any]:
        """An application command interaction (slash command) as the gateway delivers it;
        in `channel` (e.g. `thread_channel()`) and with the bot's computed `app_permissions`
        there, when given; in server `guild_id` (its channel: `channel_of`). An option's value
        may be an `attachment(...)`: Discord sends its id as the value and the file itself
        under `resolved.attachments`."""
        opts: list[dict[str, Any]] = [
            {"name": k, "type": _option_type(v), "value": v["id"] if isinstance(v, dict) else v}
            for k, v in (options or {}).items()
        ]
        if subcommand is not None:
            opts = [{"name": subcommand, "type": 1, "options": opts}]
        data: dict[str, Any] = {
            "id": str(next(self._ids)), "name": name, "type": 1, "options": opts
        }  # fmt: skip
        files = {v["id"]: v for v in (options or {}).values() if isinstance(v, dict)}
        if files:
            data["resolved"] = {"attachments": files}
        payload = self._interaction(
            2, data, user, guild, channel["id"] if channel else None, guild_id=guild_id
        )
        if channel is not None:
            payload["channel"] = channel
        if app_permissions is not None:
            payload["app_permissions"] = str(app_permissions)
        return payload

    def modal_submit(
        self, custom_id: str, values: Mapping[str, str], *, user: FakeUser, guild: bool = True
    ) -> dict[str, Any]:
        """A modal's submission as the gateway delivers it: each field inside its label (type
        18), a text input's text under `value`, a menu's choice under `values` (give it as
        "menu:<choice>")."""
        components = []
        for n, (field_id, value) in enumerate(values.items()):
            if value.startswith("menu:"):
                inner = {"type": 3, "id": 2 * n + 2, "custom_id": field_id,
                         "values": [value.removeprefix("menu:")]}  # fmt: skip
            else:
                inner = {"type": 4, "id": 2 * n + 2, "custom_id": field_id, "value": value}
            components.append({"type": 18, "id": 2 * n + 1, "component": inner})
        data = {"custom_id": custom_id, "components": components}
        return self._interaction(5, data, user, guild)

    def attachment(
        self,
        filename: str,
        data: bytes,
        *,
        size: int | None = None,
        content_type: str | None = "application/toml",
        endless: bool = False,
    ) -> dict[str, Any]:
        """A file a member attached to a command, as Discord describes it (an option's value
        for `command`), served at its `url` by this fake. `size` is what Discord says (the
        real size unless given: a lie tests the bot's own limit); an `endless` file repeats
        `data` for as long as the reader reads."""
        attachment_id = next(self._ids)
        path = f"{CHANNEL_ID}/{attachment_id}/{filename}"
        self.cdn[path] = _Served(data, endless)
        url = f"http://127.0.0.1:{self.port}/attachments/{path}"
        payload: dict[str, Any] = {
            "id": str(attachment_id), "filename": filename, "url": url, "proxy_url": url,
            "size": len(data) if size is None else size, "ephemeral": True,
        }  # fmt: skip
        if content_type is not None:
            payload["content_type"] = content_type
        return payload

    def served(self, attachment: dict[str, Any]) -> int:
        """How many bytes of this attachment the fake has written to its readers so far."""
        return self.cdn[attachment["url"].split("/attachments/", 1)[1]].sent

    def thread_channel(self, thread_id: int, *, forum_post: bool = False) -> dict[str, Any]:
        """A public thread of the study channel (or a post of a forum channel), as Discord
        sends it with an interaction."""
        return {
            "id": str(thread_id), "type": 11, "guild_id": str(GUILD_ID), "name": "study thread",
            "parent_id": str(CHANNEL_ID + (1 if forum_post else 0)), "owner_id": "1",
            "message_count": 1, "member_count": 1, "rate_limit_per_user": 0, "flags": 0,
            "thread_metadata": {"archived": False, "auto_archive_duration": 1440,
                                "archive_timestamp": "2026-01-01T00:00:00+00:00",
                                "locked": False},
        }  # fmt: skip

    def autocomplete(
        self, name: str, option: str, value: str, *, user: FakeUser, subcommand: str | None = None
    ) -> dict[str, Any]:
        opts: list[dict[str, Any]] = [{"name": option, "type": 3, "value": value, "focused": True}]
        if subcommand is not None:
            opts = [{"name": subcommand, "type": 1, "options": opts}]
        data = {"id": str(next(self._ids)), "name": name, "type": 1, "options": opts}
        return self._interaction(4, data, user, True)

    def click(self, message_id: int, custom_id: str, *, user: FakeUser) -> dict[str, Any]:
        """A button click on a message the bot posted (its components come with it)."""
        message = self.messages[message_id]
        guild = message.get("guild_id")
        payload = self._interaction(
            3, {"custom_id": custom_id, "component_type": 2}, user, guild is not None,
            message["channel_id"], guild_id=int(guild or GUILD_ID),
        )  # fmt: skip
        payload["message"] = message
        return payload

    def _interaction(
        self,
        kind: int,
        data: dict[str, Any],
        user: FakeUser,
        guild: bool,
        channel_id: str | None = None,
        *,
        guild_id: int = GUILD_ID,
    ) -> dict[str, Any]:
        interaction_id = next(self._ids)
        payload: dict[str, Any] = {
            "id": str(interaction_id), "application_id": str(APP_ID), "type": kind,
            "token": f"itok{interaction_id}", "version": 1, "data": data, "locale": "en-US",
            "entitlements": [], "attachment_size_limit": 8_388_608,
            "app_permissions": str(MEMBER_PERMISSIONS),
        }  # fmt: skip
        if guild:
            cid = channel_id or str(channel_of(guild_id))
            perms = ADMIN_PERMISSIONS if user.admin else MEMBER_PERMISSIONS
            payload |= {
                "guild_id": str(guild_id), "channel_id": cid, "guild_locale": "en-US",
                "channel": {"id": cid, "type": 0, "guild_id": str(guild_id), "name": "quiz",
                            "position": 0, "permission_overwrites": [], "nsfw": False,
                            "parent_id": None},
                "member": {"user": user.payload(), "roles": [], "nick": None, "deaf": False,
                           "mute": False, "joined_at": "2026-01-01T00:00:00+00:00",
                           "permissions": str(perms), "flags": 0},
                "authorizing_integration_owners": {"0": str(guild_id)}, "context": 0,
            }  # fmt: skip
        else:
            cid = channel_id or str(800000000000000000 + user.id)  # one DM channel per user
            payload |= {
                "channel_id": cid, "user": user.payload(),
                "channel": {"id": cid, "type": 1, "recipients": [user.payload()]},
                "authorizing_integration_owners": {"1": str(user.id)}, "context": 1,
            }  # fmt: skip
        return payload

    async def interact(self, payload: dict[str, Any]) -> Recorded:
        """Deliver an interaction and wait for the bot's callback to it."""
        await self.dispatch("INTERACTION_CREATE", payload)
        (callback,) = await self.wait_exact(
            "POST", f"/interactions/{payload['id']}/{payload['token']}/callback"
        )
        return callback

    async def followups(self, payload: dict[str, Any], count: int = 1) -> list[Recorded]:
        return await self.wait_exact("POST", f"/webhooks/{APP_ID}/{payload['token']}", count)

    def message_of(self, callback: Recorded) -> dict[str, Any]:
        """The message an interaction callback (type 4) created."""
        assert callback.message_id is not None, callback.body
        return self.messages[callback.message_id]

    # -- REST -------------------------------------------------------------------------------

    async def _rest(self, request: web.Request) -> web.Response:
        path = "/" + request.match_info["path"]
        raw = await request.read()
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode("utf-8", "replace")
        record = Recorded(request.method, path, dict(request.query), body, dict(request.headers))
        record.raw = raw
        for method, pattern in self._hangs:
            if method == record.method and pattern.fullmatch(path):
                self._hangs.remove((method, pattern))
                async with self._changed:
                    self.requests.append(record)
                    self._by_path.setdefault((record.method, path), []).append(record)
                    self._changed.notify_all()
                await self._release.wait()  # never answered while the test runs
                return _json({"message": "503: Service Unavailable", "code": 0}, 503)
        response = self._respond(record, request)
        record.status = response.status
        async with self._changed:
            self.requests.append(record)
            self._by_path.setdefault((record.method, record.path), []).append(record)
            self._changed.notify_all()
        return response

    def _respond(self, r: Recorded, request: web.Request) -> web.Response:
        content_type = r.headers.get("Content-Type", "")
        if isinstance(r.body, str) and content_type.startswith("multipart/"):
            r.body, r.files = _multipart(r.raw, content_type)  # a message with attachments
        is_webhook = r.path.startswith(("/interactions/", "/webhooks/"))
        if not is_webhook and r.headers.get("Authorization") != f"Bot {self.token}":
            return _json({"message": "401: Unauthorized", "code": 0}, 401)
        for failure in self._failures:
            if failure.method == r.method and failure.pattern.fullmatch(r.path):
                self._failures.remove(failure)
                return _json(failure.body, failure.status, failure.headers)
        m: re.Match[str] | None
        if r.method == "GET" and r.path == "/users/@me":
            return _json(self._bot_user())
        if r.method == "GET" and r.path == "/oauth2/applications/@me":
            return _json(self._application())
        if r.method == "GET" and r.path == "/gateway/bot":
            return _json(self._gateway_bot())
        if r.method == "PUT" and (
            m := re.fullmatch(rf"/applications/{APP_ID}(/guilds/(\d+))?/commands", r.path)
        ):
            return _json(self._register_commands(m.group(2) or "global", r.body))  # fmt: skip
        if r.method == "POST" and (
            m := re.fullmatch(r"/interactions/(\d+)/([^/]+)/callback", r.path)
        ):
            return self._callback(r, int(m.group(1)), m.group(2))  # fmt: skip
        if r.method == "POST" and (m := re.fullmatch(rf"/webhooks/{APP_ID}/([^/]+)", r.path)):
            return _json(self._store_message(self._channel_of_token(m.group(1)), r.body or {}))
        if m := re.fullmatch(rf"/webhooks/{APP_ID}/([^/]+)/messages/@original", r.path):
            if r.method == "DELETE":
                return web.Response(status=204)
            # an edit of the original response: stored as a message of that interaction's chat
            return _json(self._store_message(self._channel_of_token(m.group(1)), r.body or {}))
        if r.method == "POST" and r.path == "/users/@me/channels":  # open a DM with a user
            return _json(self._dm_channel(int((r.body or {}).get("recipient_id", 0))))
        if r.method == "POST" and (m := re.fullmatch(r"/channels/(\d+)/messages", r.path)):
            return self._create_message(m.group(1), r.body or {})
        if r.method == "PATCH" and (m := re.fullmatch(r"/channels/(\d+)/messages/(\d+)", r.path)):
            return self._edit_message(int(m.group(2)), r.body or {})
        return _json({"message": f"404: Not Found ({r.method} {r.path})", "code": 0}, 404)

    def _gateway_bot(self) -> dict[str, Any]:
        """Where to connect, how many shards Discord recommends, and the session starts left
        (one IDENTIFY per 5 s: max_concurrency 1, as for most bots)."""
        limit = {"total": 1000, "remaining": 999, "reset_after": 0, "max_concurrency": 1}
        return {"url": f"ws://127.0.0.1:{self.port}/gateway", "shards": self.recommended_shards,
                "session_start_limit": limit}  # fmt: skip

    def _dm_channel(self, user_id: int) -> dict[str, Any]:
        """The DM channel between the bot and a user (the same one `_interaction` uses)."""
        recipient = FakeUser(user_id, f"User {user_id}").payload()
        return {"id": str(800000000000000000 + user_id), "type": 1, "recipients": [recipient],
                "last_message_id": None}  # fmt: skip

    async def _attachment(self, request: web.Request) -> web.StreamResponse:
        """An attachment's bytes, as the CDN serves them (404 for an unknown one)."""
        path = request.match_info["path"]
        self.downloads.append(path)
        served = self.cdn.get(path)
        if served is None:
            return web.Response(status=404, text="not found")

        def sent(size: int) -> None:
            served.sent += size

        return await serve_bytes(request, served.data, endless=served.endless, sent=sent)

    def _bot_user(self) -> dict[str, Any]:
        return {"id": str(BOT_ID), "username": "stackprep", "discriminator": "0",
                "global_name": "Stackprep", "avatar": None, "bot": True, "flags": 0,
                "mfa_enabled": False, "verified": True}  # fmt: skip

    def _application(self) -> dict[str, Any]:
        return {"id": str(APP_ID), "name": "Stackprep", "description": "", "icon": None,
                "bot_public": True, "bot_require_code_grant": False, "verify_key": "0" * 64,
                "owner": FakeUser(1, "Owner").payload(), "team": None, "flags": 0,
                "interactions_endpoint_url": None}  # fmt: skip

    def _register_commands(self, where: str, body: list[dict[str, Any]]) -> list[dict[str, Any]]:
        registered = []
        for command in body:
            registered.append({**command, "id": str(next(self._ids)),
                               "application_id": str(APP_ID), "version": "1"})  # fmt: skip
            if where != "global":
                registered[-1]["guild_id"] = where
        self.commands[where] = registered
        return registered

    def _callback(self, r: Recorded, interaction_id: int, token: str) -> web.Response:
        body = r.body or {}
        kind, data = body.get("type"), body.get("data") or {}
        flags = int(data.get("flags") or 0)
        interaction = {
            "id": str(interaction_id), "type": 2,
            "response_message_loading": kind == 5,
            "response_message_ephemeral": bool(flags & 64),
        }  # fmt: skip
        answer: dict[str, Any] = {"interaction": interaction}
        if kind in (4, 5, 7):
            message = self._store_message(self._channel_of_token(token), data, loading=kind == 5)
            interaction["response_message_id"] = message["id"]
            answer["resource"] = {"type": kind, "message": message}
            r.message_id = int(message["id"])
        elif kind is not None:
            answer["resource"] = {"type": kind}
        return _json(answer)

    def _channel_of_token(self, token: str) -> str:
        """The channel of the interaction that a token belongs to (from its dispatch)."""
        return self._token_channels.get(token, str(CHANNEL_ID))

    def _create_message(self, channel_id: str, body: dict[str, Any]) -> web.Response:
        nonce = body.get("nonce")
        if body.get("enforce_nonce") and nonce is not None:
            seen = self._nonces.get((channel_id, str(nonce)))
            if seen is not None:  # Discord returns the message already created with that nonce
                return _json(self.messages[seen])
        message = self._store_message(channel_id, body)
        if nonce is not None:
            self._nonces[(channel_id, str(nonce))] = int(message["id"])
        return _json(message)

    def _edit_message(self, message_id: int, body: dict[str, Any]) -> web.Response:
        message = self.messages.get(message_id)
        if message is None:
            return _json({"message": "Unknown Message", "code": 10008}, 404)
        for key in ("content", "components"):
            if key in body:
                message[key] = body[key]
        message["edited_timestamp"] = datetime.now(UTC).isoformat()
        return _json(message)

    def _store_message(
        self, channel_id: str, body: dict[str, Any], *, loading: bool = False
    ) -> dict[str, Any]:
        message_id = next(self._ids)
        message = {
            "id": str(message_id), "channel_id": channel_id, "type": 0,
            "author": self._bot_user(), "content": body.get("content") or "",
            "timestamp": datetime.now(UTC).isoformat(), "edited_timestamp": None,
            "tts": False, "mention_everyone": False, "mentions": [], "mention_roles": [],
            "attachments": [], "embeds": [], "pinned": False,
            "flags": int(body.get("flags") or 0) | (128 if loading else 0),
            "components": body.get("components") or [],
        }  # fmt: skip
        if body.get("nonce") is not None:
            message["nonce"] = body["nonce"]
        if channel_id in self._guilds:
            message["guild_id"] = self._guilds[channel_id]
        self.messages[message_id] = message
        return message

    def seed_message(self, custom_ids: list[str], channel_id: int = CHANNEL_ID) -> int:
        """A message with these button ids, as if the bot had posted it (old or tampered)."""
        buttons = [{"type": 2, "style": 1, "label": str(i), "custom_id": cid}
                   for i, cid in enumerate(custom_ids)]  # fmt: skip
        message = self._store_message(str(channel_id), {"content": "old", "components": []})
        message["components"] = [
            {"type": 1, "components": buttons[i : i + 5]} for i in range(0, len(buttons), 5)
        ]
        return int(message["id"])

    def posted(self, channel_id: int | str) -> list[dict[str, Any]]:
        return [m for m in self.messages.values() if m["channel_id"] == str(channel_id)]

    # -- gateway ----------------------------------------------------------------------------

    async def _gateway(self, request: web.Request) -> web.StreamResponse:
        async with self._changed:
            self.gateway_attempts += 1
            self._changed.notify_all()
        refused = (n := self.gateway_refuse_after) is not None and self.gateway_attempts > n
        if self.gateway_down > 0 or refused:
            self.gateway_down = max(0, self.gateway_down - 1)
            return web.Response(status=503, text="upstream connect error")
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self._sockets.add(ws)
        self._disconnected.clear()
        try:
            await ws.send_str(json.dumps({"op": 10, "d": {"heartbeat_interval": 45_000}}))
            async for msg in ws:
                if msg.type is not WSMsgType.TEXT:
                    continue
                frame = json.loads(msg.data)
                if frame["op"] == 1:  # heartbeat
                    await ws.send_str(json.dumps({"op": 11}))
                elif frame["op"] == 6:  # resume
                    if frame["d"].get("token") != self.token:
                        await ws.close(code=4004, message=b"Authentication failed.")
                        break
                    self._seq += 1
                    resumed = {"op": 0, "t": "RESUMED", "s": self._seq, "d": {}}
                    await ws.send_str(json.dumps(resumed))
                    await self._session(
                        ws, self._sessions.get(frame["d"].get("session_id"), (0, 1))
                    )
                elif frame["op"] == 2:  # identify
                    self.identify = frame["d"]
                    self.identifies.append(frame["d"])
                    if self.refuse_identify or frame["d"].get("token") != self.token:
                        await ws.close(code=4004, message=b"Authentication failed.")
                        break
                    shard_id, count = frame["d"].get("shard") or (0, 1)
                    if not 0 <= shard_id < count:
                        await ws.close(code=4010, message=b"Invalid shard.")
                        break
                    self._seq += 1
                    session = f"fake-session-{shard_id}-{count}-{self._seq}"
                    self._sessions[session] = (shard_id, count)
                    ready = {
                        "v": 10, "user": self._bot_user(), "guilds": [],
                        "session_id": session, "resume_gateway_url":
                        f"ws://127.0.0.1:{self.port}/gateway",
                        "application": {"id": str(APP_ID), "flags": 0},
                        "shard": [shard_id, count],
                    }  # fmt: skip
                    await ws.send_str(
                        json.dumps({"op": 0, "t": "READY", "s": self._seq, "d": ready})
                    )
                    await self._session(ws, (shard_id, count))
        finally:
            self._sockets.discard(ws)
            async with self._changed:
                self._shards.pop(ws, None)
                self._changed.notify_all()
            if not self._shards:
                self._connected.clear()
            if not self._sockets:
                self._disconnected.set()
        return ws

    async def _session(self, ws: web.WebSocketResponse, shard: Shard) -> None:
        """`ws` has a session now (READY or RESUMED sent) and receives `shard`'s events."""
        async with self._changed:
            self._shards[ws] = shard
            self._changed.notify_all()
        self._connected.set()


# -- running the real adapter against the fake ------------------------------------------------


@dataclass
class RunningBot:
    adapter: DiscordAdapter
    service: QuizService
    store: Store
    task: asyncio.Task[None]
    app: App
    practice: PracticeService | None = None


@asynccontextmanager
async def running_bot(
    fake: FakeDiscord,
    db_path: Path,
    bank: QuestionBank,
    clock: Clock,
    *,
    ask_rate: tuple[int, float] = (1000, 60.0),
    seed: int = SEED,
    setup: Callable[[DiscordAdapter], None] | None = None,
    practice: bool = False,
    daily: bool = False,
    games: bool = False,
    community: bool = False,
    **options: Any,
) -> AsyncIterator[RunningBot]:
    """The real DiscordAdapter over an app built by the real composition root on a SQLite
    file, connected to `fake` until exit; with practice's, the daily question's, the group
    quiz's and/or a community's own questions' commands when asked (queued card updates are
    written before the database closes; a test plays games with its own GameEngine over
    `adapter.outbox`)."""
    app = make_app(
        db_path.parent, db=db_path.name, bank=bank, clock=clock, ask_rate=ask_rate, seed=seed
    )
    async with app:
        tutor = app.practice if practice else None
        adapter = DiscordAdapter(
            Secret(fake.token), app.quiz, guild_ready_timeout=0.1, practice=tutor,
            daily=app.daily if daily else None, games=app.games if games else None,
            community=app.community if community else None,
            **{"reports": app.reports, **options},  # the Report button is on every result
        )  # fmt: skip
        if setup is not None:
            setup(adapter)
        task = asyncio.create_task(adapter.run(), name="discord-adapter")
        try:
            ready = asyncio.create_task(adapter.ready.wait())
            await asyncio.wait({task, ready}, timeout=5, return_when=asyncio.FIRST_COMPLETED)
            if not ready.done():
                ready.cancel()
                if task.done():
                    task.result()  # raises what stopped the adapter
                raise TimeoutError("the Discord adapter did not become ready")
            yield RunningBot(adapter, app.quiz, app.store, task, app, tutor)
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


@contextlib.contextmanager
def left_to_the_collector() -> Iterator[list[discord.Interaction]]:
    """The Interactions the cycle collector had to free while the block ran (they are listed
    once it ends): a handled interaction should die by reference counting alone (`let_go` in
    bot/adapters/discord/adapter.py). Give the bot's tasks a moment to end inside the block."""
    gc.collect()
    gc.set_debug(gc.DEBUG_SAVEALL)  # whatever the collector frees from now on is kept
    left: list[discord.Interaction] = []
    try:
        yield left
        gc.collect()
        left.extend(o for o in gc.garbage if isinstance(o, discord.Interaction))
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
