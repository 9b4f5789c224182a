"""Receiving Telegram updates by polling ([telegram] mode = "polling", the default): our own
getUpdates loop over the durable inbox, so every update is processed at least once, and an
update the inbox has marked done is never processed again.

PTB's Updater confirms a fetched batch (by the next getUpdates' offset) before any of it is
processed, so a crash lost whatever was fetched but not yet processed (kill -9 a second after a
burst of 1,500 button presses: 1,244 of them confirmed and never processed). Here:

1. `getUpdates(offset, timeout, allowed_updates)` fetches up to 100 updates;
2. they are stored in the inbox (an UpdateInbox, bot/core/delivery.py: SQLite in production,
   keyed by update id, so a re-fetched update is stored once and a done one is skipped);
3. only then does the next getUpdates confirm them (its offset is past them);
4. each is processed from the inbox by `Lanes` (bot/adapters/telegram/receiving.py, the path
   webhook updates take too) and then marked done.

At start, a webhook left set (by webhook mode) is deleted first: Telegram answers getUpdates
with 409 while one is set. Then whatever a crash left undone in the inbox is processed first.
Beyond MAX_QUEUED updates in progress polling pauses (Telegram keeps them). Done updates whose
ids Telegram has confirmed are deleted every PRUNE_EVERY seconds. Errors as in receiving.py:
a rejected token, a refusal or a 409 is fatal (one line); anything else is retried.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Sequence
from typing import NoReturn

from bot.adapters.telegram.incoming import App
from bot.adapters.telegram.receiving import (
    MAX_QUEUED,
    STOP_GRACE,
    Backoff,
    Lanes,
    describe,
    retrying,
)
from bot.core.delivery import Inbound, UpdateInbox

log = logging.getLogger(__name__)
POLL_TIMEOUT = 10  # seconds a getUpdates long poll waits for something to arrive
BATCH = 100  # updates per getUpdates (the Bot API's maximum)
PRUNE_EVERY = 60.0  # seconds between deletions of done, confirmed updates from the inbox


class Poller:
    """The getUpdates loop over `inbox` for the initialized Application `app`."""

    def __init__(
        self,
        app: App,
        inbox: UpdateInbox,
        *,
        allowed_updates: Sequence[str],
        backoff: Backoff | None = None,
        poll_timeout: int = POLL_TIMEOUT,
        max_queued: int = MAX_QUEUED,
        prune_every: float = PRUNE_EVERY,
        stop_grace: float = STOP_GRACE,
    ) -> None:
        self.app, self.inbox = app, inbox
        self.allowed_updates = list(allowed_updates)
        self.backoff = backoff or Backoff()
        self.poll_timeout, self.prune_every = poll_timeout, prune_every
        self.lanes = Lanes(
            app, inbox, backoff=self.backoff, max_queued=max_queued, stop_grace=stop_grace
        )
        self.confirmed = 0  # every update id below this is confirmed to Telegram

    async def run(self) -> NoReturn:
        """Process what the inbox holds undone, then poll until cancelled; AdapterError on a
        fatal error. On the way out the updates in progress get `stop_grace` seconds, and what
        is done is marked so; the rest is processed at the next start."""
        self.lanes.start()
        try:
            await retrying(  # a webhook left set by webhook mode: getUpdates would get 409
                lambda: self.app.bot.delete_webhook(drop_pending_updates=False),
                what="deleteWebhook", backoff=self.backoff,
            )  # fmt: skip
            await self.lanes.resume()
            await self._poll()
        finally:
            await self.lanes.stop()

    async def _poll(self) -> NoReturn:
        offset: int | None = None
        pruned_at = time.monotonic()
        while True:
            await self.lanes.wait_for_room()
            asked = offset
            fetch = functools.partial(
                self.app.bot.get_updates, offset=asked, limit=BATCH, timeout=self.poll_timeout,
                allowed_updates=self.allowed_updates,
            )  # fmt: skip
            updates = await retrying(fetch, what="getUpdates", backoff=self.backoff)
            if asked is not None and asked > self.confirmed:
                self.confirmed = asked  # Telegram never sends those below again
            if updates:
                entries = [Inbound(u.update_id, u.to_json()) for u in updates]
                fresh = await retrying(
                    functools.partial(self.inbox.add, entries),
                    what="storing fetched updates", backoff=self.backoff,
                )  # fmt: skip
                # stored for good: the next getUpdates may confirm them
                offset = max(u.update_id for u in updates) + 1
                self.lanes.accept(fresh)
            if time.monotonic() - pruned_at >= self.prune_every:
                pruned_at = time.monotonic()
                await self._prune()

    async def _prune(self) -> None:
        try:
            await self.inbox.prune(self.confirmed)
        except Exception as exc:
            log.warning("telegram: could not prune the inbox (%s); later", describe(exc))
