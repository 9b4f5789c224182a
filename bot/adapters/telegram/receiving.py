"""Receiving Telegram updates, whichever way they arrive (getUpdates: polling.py; a webhook:
webhook.py): each is stored in the durable inbox first (an UpdateInbox, bot/core/delivery.py:
SQLite in production, keyed by update id), processed from there by `Lanes`, then marked done.
Both receivers share this path, so an update is processed the same way however it came.

`Lanes` runs the updates in lanes (`lane_of`): a lane's updates one after another in arrival
order, different lanes concurrently, each through the Application's handlers and concurrency
limit (`update_processor`, `process_update`). At most `max_queued` updates wait in memory; the
receivers wait (polling) or refuse for now (a webhook: 503, Telegram sends it again) beyond
that. An update is handed to a lane once: one in progress, or done but whose done mark is not
written yet, is skipped when it is stored again (Telegram sent it twice). At start, whatever a
crash left undone in the inbox is processed first (`resume`). Every SWEEP_EVERY seconds the
inbox is asked again (`sweep`): with several workers on one database (PostgreSQL), that is how
a worker takes over the updates another one left undone when it died (once their claims ran
out: bot/storage/postgres/inbox.py); with one, it finds nothing new.

Errors: a rejected token (401, or 404 for a malformed one), a refusal (403) or a 409 (another
program polling the same token, or a webhook set while polling) is fatal: AdapterError, one
clear line, never the token. Anything else (timeouts, refused connections, 5xx, 429, a busy
database) is retried after an exponential backoff with jitter (`Backoff`), one warning line per
failed attempt, no traceback.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import random
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine, Hashable, Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, TypeVar

import httpx
from telegram import Update
from telegram.constants import ChatType
from telegram.error import Conflict, Forbidden, InvalidToken, RetryAfter, TelegramError

from bot.adapters.base import AdapterError
from bot.adapters.telegram.incoming import App
from bot.core.delivery import Inbound, UpdateInbox

log = logging.getLogger(__name__)
_T = TypeVar("_T")

MAX_QUEUED = 2000  # stored updates not yet processed, at most, in memory
STOP_GRACE = 5.0  # seconds the updates in progress get to finish at a stop
SWEEP_EVERY = 15.0  # seconds between looks for undone updates no lane here holds

CONFLICT = (
    "Telegram: another program is already receiving updates for this bot token (409 "
    "Conflict); only one Stackprep may run per token, so stop the other one first"
)
WEBHOOK_SET = (
    "Telegram: a webhook is set for this bot, so it cannot poll (409 Conflict); another "
    'Stackprep with [telegram] mode = "webhook" set it again: stop that one, or run this one '
    "in webhook mode too"
)
UNAUTHORIZED = (
    "Telegram rejected STACKPREP_TELEGRAM_TOKEN (invalid or revoked); copy the bot's token "
    "from @BotFather again"
)
FORBIDDEN = (
    "Telegram refused this bot's requests (403 Forbidden); check the bot with @BotFather "
    "and its token STACKPREP_TELEGRAM_TOKEN"
)
BAD_ADDRESS = (
    "Telegram: the Bot API address is not a valid http:// or https:// URL; check [telegram] "
    "api_base_url"
)


@dataclass(frozen=True)
class Backoff:
    """How long to wait before retry number `attempt` (0 for the first): `first` doubled
    (`factor`) per failed attempt up to `cap`, with "equal jitter" (between half and all of
    it), so that many bots cut off together do not all come back in the same second."""

    first: float = 1.0
    cap: float = 60.0
    factor: float = 2.0
    rng: random.Random = field(default_factory=random.Random, compare=False, repr=False)

    def delay(self, attempt: int) -> float:
        base = min(self.cap, self.first * self.factor ** min(attempt, 64))
        return base / 2 + self.rng.random() * base / 2


def fatal_reason(error: BaseException) -> str | None:
    """The one line to end the process with, if `error` means retrying cannot help."""
    if isinstance(error, InvalidToken):
        return UNAUTHORIZED
    if isinstance(error, Conflict):  # "can't use getUpdates method while webhook is active"
        return WEBHOOK_SET if "webhook" in error.message.lower() else CONFLICT
    if isinstance(error, Forbidden):
        return FORBIDDEN
    cause: BaseException | None = error
    while cause is not None:  # PTB wraps what httpx raises for a URL it cannot even build
        if isinstance(cause, httpx.InvalidURL | httpx.UnsupportedProtocol):
            return BAD_ADDRESS
        cause = cause.__cause__
    return None


def describe(error: BaseException) -> str:
    """A failure in one short phrase for a warning line (Telegram's text, not a traceback)."""
    text = error.message if isinstance(error, TelegramError) else str(error)
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


async def retrying(
    call: Callable[[], Awaitable[_T]],
    *,
    what: str,
    backoff: Backoff,
    after_failure: Callable[[], Awaitable[object]] | None = None,
) -> _T:
    """`call()` until it succeeds. A fatal Telegram error raises AdapterError (one line, no
    cause: the token is never shown); any other failure is logged as one warning line and
    retried after `backoff` (after Telegram's retry_after for a 429). `after_failure` runs
    after each failed attempt (e.g. to close what a failed start opened)."""
    attempt = 0
    while True:
        try:
            result = await call()
        except AdapterError:
            if after_failure is not None:
                await after_failure()
            raise  # fatal already, in the caller's own words
        except Exception as exc:
            if after_failure is not None:
                await after_failure()
            if (reason := fatal_reason(exc)) is not None:
                raise AdapterError(reason) from None
            wait = _retry_after(exc) if isinstance(exc, RetryAfter) else backoff.delay(attempt)
            log.warning("telegram: %s failed (%s); retrying in %.1f s", what, describe(exc), wait)
        else:
            if attempt:
                log.warning("telegram: %s works again after %d failed attempts", what, attempt)
            return result
        attempt += 1
        await asyncio.sleep(wait)


def _retry_after(error: RetryAfter) -> float:
    value: Any = error.retry_after
    return float(value.total_seconds() if isinstance(value, timedelta) else value)


def lane_of(update: Update) -> Hashable:
    """The updates that must be processed in order share a lane: a chat's messages (commands,
    practice answers); in a group, one person's presses under its messages (presses of
    different people in a busy group run concurrently, as each is answered on its own); a
    person's poll votes (a private chat's id is the person's id, so their private chat's
    messages and presses share that lane)."""
    chat, user = update.effective_chat, update.effective_user
    if update.callback_query is not None and chat is not None and chat.type != ChatType.PRIVATE:
        return (chat.id, user.id if user is not None else None)
    if chat is not None:
        return chat.id
    return user.id if user is not None else None


def read_update(entry: Inbound, app: App) -> Update | None:
    """The stored payload as an Update; None (logged) when it cannot be read."""
    try:
        data = json.loads(entry.payload)
        if not isinstance(data, dict):
            raise TypeError(f"a JSON {type(data).__name__}, not an object")
        update = Update.de_json(data, app.bot)
        if update.update_id != entry.update_id:
            raise ValueError(f"it says it is update {update.update_id}")
    except Exception as exc:
        log.error("telegram: update %s cannot be read (%s); skipped", entry.update_id, exc)
        return None
    return update


class Lanes:
    """Processes the stored updates of `inbox` for the initialized Application `app`: `start`,
    then `resume` (what a crash left undone), `accept` what the receiver has stored, and
    `stop` at the end; in between, `sweep` every `sweep_every` seconds."""

    def __init__(
        self,
        app: App,
        inbox: UpdateInbox,
        *,
        backoff: Backoff,
        max_queued: int = MAX_QUEUED,
        stop_grace: float = STOP_GRACE,
        sweep_every: float | None = None,
    ) -> None:
        self.app, self.inbox, self.backoff = app, inbox, backoff
        self.max_queued, self.stop_grace = max_queued, stop_grace
        self.sweep_every = SWEEP_EVERY if sweep_every is None else sweep_every
        self._active: set[int] = set()  # handed to a lane, and not yet marked done in the inbox
        self._lanes: dict[Hashable, deque[Update]] = {}
        self._workers: set[asyncio.Task[None]] = set()
        self._queued = 0
        self._room = asyncio.Event()
        self._done: list[int] = []
        self._done_ready = asyncio.Event()
        self._closing = False
        self._flusher: asyncio.Task[None] | None = None
        self._sweeper: asyncio.Task[None] | None = None
        self._reading = False  # a sweep's read of the inbox is in flight
        self._done_while_reading: set[int] = set()  # marked done (and let go) meanwhile

    @property
    def full(self) -> bool:
        return self._queued >= self.max_queued

    def start(self) -> None:
        self._flusher = asyncio.create_task(self._flush_done(), name="telegram-inbox-done")
        self._sweeper = asyncio.create_task(self._sweep_forever(), name="telegram-inbox-sweep")

    async def resume(self) -> None:
        """Hand every update the inbox holds undone to its lane (waiting for room)."""
        after: int | None = None
        resumed = 0
        while True:
            await self.wait_for_room()
            limit = max(1, self.max_queued - self._queued)
            entries = await retrying(
                functools.partial(self.inbox.pending, after, limit),
                what="reading the inbox", backoff=self.backoff,
            )  # fmt: skip
            self.accept(entries)
            resumed += len(entries)
            if len(entries) < limit:
                break
            after = entries[-1].update_id
        if resumed:
            log.info("telegram: processing %d updates left undone by the last run", resumed)

    def accept(self, entries: Iterable[Inbound]) -> int:
        """Process these stored, not done updates, except those already handed to a lane.
        Returns how many were handed to a lane now."""
        handed = 0
        for entry in entries:
            if entry.update_id not in self._active:
                self._dispatch(entry)
                handed += 1
        return handed

    async def sweep(self) -> int:
        """Hand to their lanes the undone updates the inbox gives this worker that no lane
        here holds (as many as there is room for); returns how many. An update marked done
        while the inbox was read is left out: the read may predate its done mark."""
        self._done_while_reading.clear()
        self._reading = True
        try:
            entries = await self.inbox.pending(None, max(1, self.max_queued - self._queued))
        finally:
            self._reading = False
        finished = self._done_while_reading
        return self.accept(e for e in entries if e.update_id not in finished)

    async def _sweep_forever(self) -> None:
        while True:
            await asyncio.sleep(self.sweep_every)
            if self.full:
                continue  # busy: what others left waits for the next look
            try:
                taken = await self.sweep()
            except Exception as exc:
                log.warning("telegram: could not read the inbox (%s); again in %.0f s",
                            describe(exc), self.sweep_every)  # fmt: skip
                continue
            if taken:
                log.info("telegram: processing %d undone updates no worker was processing",
                         taken)  # fmt: skip

    async def wait_for_room(self) -> None:
        while self.full:
            self._room.clear()
            await self._room.wait()

    # -- processing -------------------------------------------------------------------------

    def _dispatch(self, entry: Inbound) -> None:
        """Queue an update on its lane; start the lane's worker if it has none."""
        self._active.add(entry.update_id)
        update = read_update(entry, self.app)
        if update is None:
            self._mark_done(entry.update_id)  # one unreadable update never blocks the rest
            return
        key = lane_of(update)
        self._queued += 1
        lane = self._lanes.get(key)
        if lane is not None:
            lane.append(update)
            return
        lane = self._lanes[key] = deque([update])
        worker = asyncio.create_task(self._work(key, lane), name="telegram-update-lane")
        self._workers.add(worker)
        worker.add_done_callback(self._workers.discard)

    async def _work(self, key: Hashable, lane: deque[Update]) -> None:
        try:
            while lane:
                update = lane[0]
                await self._process(update)
                lane.popleft()
                self._queued -= 1
                self._room.set()
                self._mark_done(update.update_id)
        finally:  # cancelled at stop: the rest stays undone in the inbox for the next start
            if self._lanes.get(key) is lane:
                del self._lanes[key]

    async def _process(self, update: Update) -> None:
        """One update through PTB: its concurrency limit, then the handlers (which report
        their own errors; see TelegramAdapter._guarded and _on_error)."""
        work: Coroutine[Any, Any, None] = self.app.process_update(update)
        try:
            await self.app.update_processor.process_update(update, work)
        except Exception:
            log.exception("telegram: update %s failed", update.update_id)
        finally:
            work.close()  # never started (cancelled while waiting for a slot): no warning

    # -- marking done -----------------------------------------------------------------------

    def _mark_done(self, update_id: int) -> None:
        self._done.append(update_id)
        self._done_ready.set()

    async def _flush_done(self) -> None:
        """Mark processed updates done, as many per write as have finished meanwhile; a
        failed write is retried (until then those updates would be processed again after a
        crash). Ends once closing and nothing is left to write."""
        failures = 0
        while True:
            await self._done_ready.wait()
            self._done_ready.clear()
            if self._done:
                ids, self._done = self._done, []
                try:
                    await self.inbox.done(ids)
                except Exception as exc:
                    self._done[:0] = ids
                    if self._closing:
                        raise
                    wait = self.backoff.delay(failures)
                    failures += 1
                    log.warning(
                        "telegram: could not mark %d updates done (%s); retrying in %.1f s",
                        len(ids), describe(exc), wait,
                    )  # fmt: skip
                    await asyncio.sleep(wait)
                    self._done_ready.set()
                    continue
                failures = 0
                self._active.difference_update(ids)  # a repeat is now left out by the inbox
                if self._reading:
                    self._done_while_reading.update(ids)
            if self._closing and not self._done:
                return

    async def stop(self) -> None:
        """Let the updates in progress finish (stop_grace at most; the rest stays undone),
        then write the last done marks."""
        if self._sweeper is not None:
            self._sweeper.cancel()
            await asyncio.wait({self._sweeper})
        if self._workers:
            _, late = await asyncio.wait(set(self._workers), timeout=self.stop_grace)
            for worker in late:
                worker.cancel()
            if late:
                log.warning("telegram: %d updates left for the next start", self._queued)
                await asyncio.wait(late, timeout=self.stop_grace)  # one that ignores its
                # cancellation must not hold the stop: it stays undone in the inbox
        flusher = self._flusher
        if flusher is None:
            return
        self._closing = True
        self._done_ready.set()
        await asyncio.wait({flusher}, timeout=self.stop_grace)  # never raises its outcome
        if not flusher.done():
            flusher.cancel()
            await asyncio.wait({flusher})
        failure = None if flusher.cancelled() else flusher.exception()
        if flusher.cancelled() or failure is not None or self._done:
            log.warning(
                "telegram: could not mark the last updates done (%s); they are processed "
                "again at the next start", describe(failure) if failure else "no time left",
            )  # fmt: skip
