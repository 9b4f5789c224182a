"""Receiving Telegram updates by webhook ([telegram] mode = "webhook"): Telegram POSTs each
update to `public_url` (HTTPS; a reverse proxy terminates TLS and passes the request on to
`listen`), and an aiohttp listener on the bot's own event loop takes it in.

Each request, in this order:

1. only POST on the public URL's path is served (anything else: aiohttp's 404 or 405);
2. its `X-Telegram-Bot-Api-Secret-Token` must be the secret (SHA-256 digests compared in
   constant time): missing, repeated or wrong is 403, nothing read or processed, and one
   WARNING line that never shows the header's value;
3. the body is at most MAX_BODY bytes (else 413) and one JSON object with a whole update_id
   that reads as an Update (else 400; `parse_update`);
4. the update is stored in the durable inbox, the one polling uses (keyed by update id), and
   only then answered 200: what we did not store (a busy database: 503; more than
   MAX_QUEUED in progress: 503) Telegram sends again;
5. it is processed by the same `Lanes` as polled updates (bot/adapters/telegram/receiving.py),
   then marked done. An update id seen again (Telegram's retry of an update whose 200 it did
   not get) is stored once and processed once: a done one is left out by the inbox, one in
   progress by the lanes.

At start: what a crash left undone in the inbox is processed first, the listener binds, and
setWebhook (url, secret_token, the same allowed_updates as polling, drop_pending_updates
false) is called. At stop the listener closes first (requests in flight get LISTEN_GRACE),
the updates in progress get their grace, and the webhook stays set, for another worker may be
serving it (`delete_at_stop`, [telegram] delete_webhook_at_stop, deletes it). Done updates are
deleted from the inbox PRUNE_AFTER after they were stored (Telegram's retries of them are over
by then).

A second worker needs only the shared database: the inbox is the one place an update lives
between Telegram and its processing. (Claiming each pending update for one worker is the
multi-worker part, with PostgreSQL; with SQLite one process serves one database.)
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NoReturn
from urllib.parse import urlsplit

from aiohttp import web
from telegram import Bot, Update
from telegram.error import BadRequest

from bot.adapters.base import AdapterError
from bot.adapters.telegram.incoming import App
from bot.adapters.telegram.receiving import (
    MAX_QUEUED,
    STOP_GRACE,
    Backoff,
    Lanes,
    describe,
    retrying,
)
from bot.core.common.secret import Secret
from bot.core.delivery import Inbound, UpdateInbox

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 - a header name
MAX_BODY = 1024 * 1024  # bytes of one request's body (Telegram's updates are far smaller)
STORE_LIMIT = 10.0  # seconds a request waits for its update to be stored; then 503
LISTEN_GRACE = 2.0  # seconds the requests in flight get when the listener closes
PRUNE_EVERY = 60.0  # seconds between deletions of old done updates from the inbox
PRUNE_AFTER = 3600.0  # seconds after it was stored that a done update may be deleted
DELETE_LIMIT = 5.0  # seconds deleteWebhook may take at a stop (delete_at_stop)
_LARGEST_ID = 2**63 - 1  # the inbox's key is a 64-bit integer


@dataclass(frozen=True)
class Webhook:
    """Where a webhook is served: `host`:`port` to bind, `public_url` (the https:// URL
    Telegram calls, whose path is served), the `secret` Telegram sends with every request,
    and whether a stop deletes the webhook (`delete_at_stop`)."""

    host: str
    port: int
    public_url: str
    secret: Secret  # its repr never shows the value
    delete_at_stop: bool = False

    @property
    def path(self) -> str:
        return urlsplit(self.public_url).path or "/"


class SecretCheck:
    """Whether a request carries the secret: the SHA-256 digests of the header's value and
    the secret compared in constant time (equal lengths: not even the length leaks)."""

    __slots__ = ("_digest",)

    def __init__(self, secret: Secret) -> None:
        self._digest = hashlib.sha256(secret.reveal().encode()).digest()

    def __repr__(self) -> str:
        return "SecretCheck()"

    def problem(self, values: Sequence[str]) -> str | None:
        """None when `values` (the header's, as sent) is the secret, once; else what is
        wrong, in words that never contain a value."""
        if not values:
            return "no secret token"
        if len(values) > 1:
            return "more than one secret token"
        given = hashlib.sha256(values[0].encode("utf-8", "surrogatepass")).digest()
        return None if hmac.compare_digest(given, self._digest) else "a wrong secret token"


class BadUpdate(ValueError):
    """A body that is no update; its message says why without quoting the body."""


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def parse_update(body: bytes, bot: Bot) -> Inbound:
    """A webhook request's body as an inbox entry: UTF-8 JSON, one object with a whole
    update_id from 0 to 2**63 - 1, which PTB reads as an Update; else BadUpdate. The payload
    is stored as the encoder writes it (ASCII, control characters escaped), as polling's."""
    try:
        data = json.loads(body.decode("utf-8"), parse_constant=_no_constant)
    except UnicodeDecodeError:
        raise BadUpdate("the body is not UTF-8 text") from None
    except RecursionError:
        raise BadUpdate("the body's JSON is nested too deeply") from None
    except ValueError:
        raise BadUpdate("the body is not JSON") from None
    if not isinstance(data, dict):
        raise BadUpdate(f"the body is a JSON {type(data).__name__}, not an object")
    update_id = data.get("update_id")
    if isinstance(update_id, bool) or not isinstance(update_id, int):
        raise BadUpdate("the body has no whole update_id")
    if not 0 <= update_id <= _LARGEST_ID:
        raise BadUpdate("the body's update_id is out of range")
    try:
        payload = json.dumps(data)
        update = Update.de_json(json.loads(payload), bot)
    except Exception:
        raise BadUpdate(f"update {update_id} is not an update Telegram sends") from None
    if update.update_id != update_id:  # pragma: no cover - de_json keeps what it was given
        raise BadUpdate(f"update {update_id} is read as another")
    return Inbound(update_id, payload)


def _answer(status: int, text: str) -> web.Response:
    return web.Response(status=status, text=text, headers={"Cache-Control": "no-store"})


class WebhookReceiver:
    """The webhook's listener over `inbox` for the initialized Application `app`; `run` until
    cancelled (AdapterError, one line, for what retrying cannot mend)."""

    def __init__(
        self,
        app: App,
        inbox: UpdateInbox,
        webhook: Webhook,
        *,
        allowed_updates: Sequence[str],
        backoff: Backoff | None = None,
        max_queued: int = MAX_QUEUED,
        stop_grace: float = STOP_GRACE,
        store_limit: float = STORE_LIMIT,
        prune_every: float = PRUNE_EVERY,
        prune_after: float = PRUNE_AFTER,
    ) -> None:
        self.app, self.inbox, self.webhook = app, inbox, webhook
        self.allowed_updates = list(allowed_updates)
        self.backoff = backoff or Backoff()
        self.lanes = Lanes(
            app, inbox, backoff=self.backoff, max_queued=max_queued, stop_grace=stop_grace
        )
        self.store_limit, self.prune_every, self.prune_after = store_limit, prune_every, prune_after
        self.port = webhook.port  # the bound port once listening (a configured 0: a free one)
        self.serving = False  # listening, and the webhook is set
        self._check = SecretCheck(webhook.secret)
        self._runner: web.AppRunner | None = None
        self._stored_high = -1  # the highest update id stored by this run
        self._marks: deque[tuple[float, int]] = deque()  # (when, _stored_high then)

    def __repr__(self) -> str:
        return f"WebhookReceiver({self.webhook.public_url!r})"

    async def run(self) -> NoReturn:
        self.lanes.start()
        try:
            await self.lanes.resume()
            await self._listen()
            await retrying(self._set_webhook, what="setWebhook", backoff=self.backoff)
            self.serving = True
            log.info(
                "telegram: receiving updates by webhook at %s (listening on %s:%d)",
                self.webhook.public_url, self.webhook.host, self.port,
            )  # fmt: skip
            await self._prune_forever()
        finally:
            self.serving = False
            await self._close()
            await self.lanes.stop()
            if self.webhook.delete_at_stop:
                await self._delete_webhook()

    # -- the Bot API ----------------------------------------------------------------------

    async def _set_webhook(self) -> None:
        try:
            await self.app.bot.set_webhook(
                url=self.webhook.public_url, secret_token=self.webhook.secret.reveal(),
                allowed_updates=self.allowed_updates, drop_pending_updates=False,
            )  # fmt: skip
        except BadRequest as exc:  # e.g. "bad webhook: An HTTPS URL must be provided"
            raise AdapterError(
                f"Telegram refused the webhook URL {self.webhook.public_url} ([telegram] "
                f"public_url): {exc.message}"
            ) from None

    async def _delete_webhook(self) -> None:
        try:
            async with asyncio.timeout(DELETE_LIMIT):
                await self.app.bot.delete_webhook(drop_pending_updates=False)
        except Exception as exc:
            log.warning("telegram: could not delete the webhook at the stop (%s)", describe(exc))
        else:
            log.info("telegram: the webhook is deleted ([telegram] delete_webhook_at_stop)")

    # -- the listener -----------------------------------------------------------------------

    async def _listen(self) -> None:
        """Bind `listen`; AdapterError (one line) when the address cannot be had."""
        web_app = web.Application(client_max_size=MAX_BODY)
        web_app.router.add_post(self.webhook.path, self._on_request)
        runner = web.AppRunner(web_app, access_log=None, shutdown_timeout=LISTEN_GRACE)
        await runner.setup()
        host, port = self.webhook.host, self.webhook.port
        try:
            await web.TCPSite(runner, host, port).start()
        except OSError as exc:
            await runner.cleanup()
            raise AdapterError(
                f"telegram: cannot listen on {host}:{port} for the webhook "
                f"({exc.strerror or exc}); change [telegram] listen or stop what holds that port"
            ) from None
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        self.port = int(runner.addresses[0][1])

    async def _close(self) -> None:
        if self._runner is not None:
            runner, self._runner = self._runner, None
            await runner.cleanup()

    async def _on_request(self, request: web.Request) -> web.Response:
        problem = self._check.problem(request.headers.getall(SECRET_HEADER, []))
        if problem is not None:
            log.warning(
                "telegram: refused a webhook request from %s: %s (403)", request.remote, problem
            )
            return _answer(403, "Forbidden")
        length = request.content_length
        if length is not None and length > MAX_BODY:
            return self._too_large(f"{length} bytes")
        try:
            body = await request.read()
        except web.HTTPRequestEntityTooLarge:  # no length said, and more came than allowed
            return self._too_large(f"more than {MAX_BODY} bytes")
        try:
            entry = parse_update(body, self.app.bot)
        except BadUpdate as exc:
            log.warning("telegram: refused a webhook request: %s (400)", exc)
            return _answer(400, str(exc))
        return await self._store(entry)

    def _too_large(self, size: str) -> web.Response:
        log.warning("telegram: refused a webhook request of %s (at most %d; 413)", size, MAX_BODY)
        return _answer(413, "Request Entity Too Large")

    async def _store(self, entry: Inbound) -> web.Response:
        """Store, then answer 200 and process; 503 (Telegram sends it again) when it cannot
        be stored now or too many updates are in progress."""
        if self.lanes.full:
            log.warning("telegram: update %s refused for now: too many in progress (503)",
                        entry.update_id)  # fmt: skip
            return _answer(503, "Busy")
        try:
            async with asyncio.timeout(self.store_limit):
                fresh = await self.inbox.add([entry])
        except Exception as exc:
            log.warning(
                "telegram: could not store update %s (%s); Telegram sends it again (503)",
                entry.update_id, describe(exc),
            )  # fmt: skip
            return _answer(503, "Try again")
        self._stored_high = max(self._stored_high, entry.update_id)
        self.lanes.accept(fresh)  # none when it is done already
        return _answer(200, "OK")

    # -- the inbox's old rows ----------------------------------------------------------------

    async def _prune_forever(self) -> NoReturn:
        """Every prune_every, delete the done updates with ids up to the highest one stored
        at least prune_after ago (Telegram numbers updates in order)."""
        while True:
            await asyncio.sleep(self.prune_every)
            now = time.monotonic()
            self._marks.append((now, self._stored_high))
            below = -1
            while self._marks and now - self._marks[0][0] >= self.prune_after:
                below = max(below, self._marks.popleft()[1])
            if below < 0:
                continue
            try:
                await self.inbox.prune(below + 1)
            except Exception as exc:
                log.warning("telegram: could not prune the inbox (%s); later", describe(exc))
