"""Discord's shards: which of them this process serves, and connecting each one.

Discord splits a bot's servers over shards, one gateway connection each: a server's events
(its slash commands and button presses among them) go to the shard `(guild_id >> 22) %
shard_count`, DMs to shard 0. Discord requires sharding from 2,500 servers and says how many
shards it recommends (GET /gateway/bot). `ShardedClient` is discord.py's AutoShardedClient,
serving either that recommendation (`shard_count` None: every shard in this process) or the
configured `shard_count`, all of its shards or only `shard_ids` (the rest served by other
processes). Everything the bot sends is REST, which needs no shard: an answer to an
interaction, a daily post, an edit.

What is ours, over discord.py's launch:

- **Backoff per shard.** A shard whose gateway cannot be reached at the start is retried with
  the adapter's backoff (1 s doubling up to 60 s, jitter), one warning per attempt, as the
  login is; discord.py would retry every 5 s with a traceback. So is a failing
  GET /gateway/bot (its 401 is the rejected token: fatal at once).
- **Fatal closes end the run.** A shard closed for good (4004 a revoked token, 4010-4014)
  makes discord.py close the client and raise, which `connection.stay_connected` turns into
  one line. A shard still backing off at the start does not hold that up: its retries stop
  as soon as another shard was closed for good.
- **IDENTIFY spacing.** Discord takes one IDENTIFY per 5 s from a bot (max_concurrency 1, as
  for most bots); each IDENTIFY after this process's first waits `identify_spacing`.
- **Health.** `all_connected()`: every shard this process serves has its socket open now.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterable
from typing import Any

import aiohttp
import discord
import yarl
from discord.gateway import DiscordWebSocket, ReconnectWebSocket
from discord.shard import EventItem, EventType, Shard

from bot.adapters.base import AdapterError
from bot.adapters.discord.connection import (
    FIRST_RETRY,
    LOGIN_TIMEOUT,
    REJECTED,
    backoff,
    transient_status,
)

log = logging.getLogger(__name__)

IDENTIFY_SPACING = 5.0  # seconds between this process's IDENTIFYs (Discord: 1 per 5 s)


def shard_list(ids: Iterable[int]) -> str:
    """Shard ids as a short text: runs of consecutive ids as ranges ("0-3, 8")."""
    runs: list[list[int]] = []
    for i in sorted(ids):
        if runs and i == runs[-1][-1] + 1:
            runs[-1].append(i)
        else:
            runs.append([i])
    return ", ".join(str(r[0]) if len(r) == 1 else f"{r[0]}-{r[-1]}" for r in runs)


def _fatal(item: EventItem) -> bool:
    """A shard event after which discord.py closes the client and raises (connect())."""
    if item.type == EventType.terminate:
        return True
    error = item.error
    return (
        item.type == EventType.close
        and isinstance(error, discord.ConnectionClosed)
        and error.code != 1000
    )


class ShardedClient(discord.AutoShardedClient):
    """discord.py's AutoShardedClient with our launch (see the module's docstring)."""

    def __init__(
        self,
        *,
        shard_count: int | None,
        shard_ids: Iterable[int] | None,
        identify_spacing: float = IDENTIFY_SPACING,
        first_retry: float = FIRST_RETRY,
        **options: Any,
    ) -> None:
        if shard_ids is not None:  # discord.py: a list, and only with shard_count
            options["shard_ids"] = sorted(shard_ids)
        super().__init__(shard_count=shard_count, **options)
        self.identify_spacing = identify_spacing
        self.first_retry = first_retry  # seconds before a shard's first retry
        self.automatic = shard_count is None  # the count is Discord's recommendation
        self._closed_for_good: BaseException | None = None
        self._bad_news = asyncio.Event()

    def serving(self) -> list[int]:
        """The shards this process serves (known once the count is)."""
        return list(self._connection.shard_ids)

    def all_connected(self) -> bool:
        """Every shard this process serves has its gateway socket open now (not reconnecting,
        not still starting)."""
        wanted = self.serving()
        shards = self.shards
        return bool(wanted) and all(s in shards and not shards[s].is_closed() for s in wanted)

    # -- the launch -------------------------------------------------------------------------

    async def launch_shards(self) -> None:
        if self.is_closed():
            return
        gateway = DiscordWebSocket.DEFAULT_GATEWAY
        count = self.shard_count
        if count is None:
            count, gateway = await self._recommended()
            self.shard_count = count
        ids = list(self.shard_ids) if self.shard_ids is not None else list(range(count))
        self._connection.shard_count = count
        self._connection.shard_ids = ids
        how = (
            f"automatic: Discord recommends {count}" if self.automatic
            else "[discord] shard_ids" if self.shard_ids is not None
            else "[discord] shard_count"
        )  # fmt: skip
        plural = "s" if len(ids) > 1 else ""
        log.info("discord: serving shard%s %s of %d (%s)", plural, shard_list(ids), count, how)
        if 0 not in ids:
            log.info("discord: DMs arrive on shard 0, which another process must serve")
        for shard_id in ids:
            await self.launch_shard(gateway, shard_id, initial=shard_id == ids[0])

    async def _recommended(self) -> tuple[int, yarl.URL]:
        """Discord's recommended shard count and gateway address (GET /gateway/bot), asked
        until it answers; a rejected token or a refusal is fatal."""
        delays = backoff(self.first_retry)
        while True:
            try:
                async with asyncio.timeout(LOGIN_TIMEOUT):
                    count, url, _limits = await self.http.get_bot_gateway()
                return count, yarl.URL(url)
            except discord.GatewayNotFound as exc:  # discord.py's wrapper of the HTTP error
                cause = exc.__cause__
                if not isinstance(cause, discord.HTTPException):
                    reason = "no gateway address"
                elif cause.status == 401:
                    raise AdapterError(REJECTED.format(why="401 Unauthorized")) from None
                elif transient_status(cause.status):
                    reason = f"HTTP {cause.status}"
                else:
                    raise AdapterError(
                        f"Discord refused to say how many shards to use: {cause.status} "
                        f"{cause.text[:200]}"
                    ) from None
            except (aiohttp.ClientError, OSError, TimeoutError) as exc:
                reason = type(exc).__name__
            delay = next(delays)
            log.warning(
                "discord: cannot ask Discord how many shards to use (%s); trying again in %.0f s",
                reason, delay,
            )  # fmt: skip
            await asyncio.sleep(delay)

    async def launch_shard(
        self, gateway: yarl.URL, shard_id: int, *, initial: bool = False
    ) -> None:
        """Connect one shard (HELLO, then IDENTIFY), retrying with backoff while its gateway
        cannot be reached; then its events are read by discord.py's shard worker."""
        adopt = self._adopter()
        if adopt is None:  # discord.py changed: its own launch (a retry every 5 s)
            await super().launch_shard(gateway, shard_id, initial=initial)
            return
        delays = backoff(self.first_retry)
        while True:
            self._raise_if_closed_for_good()
            try:
                coro = DiscordWebSocket.from_client(
                    self, initial=initial, gateway=gateway, shard_id=shard_id
                )
                ws = await asyncio.wait_for(coro, timeout=self.shard_connect_timeout)
            except (aiohttp.ClientError, OSError, TimeoutError, ReconnectWebSocket) as exc:
                reason = type(exc).__name__
            else:
                adopt(shard_id, ws)
                return
            delay = next(delays)
            log.warning(
                "discord: shard %d cannot reach the gateway (%s); trying again in %.0f s",
                shard_id, reason, delay,
            )  # fmt: skip
            with contextlib.suppress(TimeoutError):  # cut short by another shard's fatal close
                await asyncio.wait_for(self._bad_news.wait(), delay)

    def _adopter(self) -> Callable[[int, DiscordWebSocket], None] | None:
        """What discord.py's launch_shard does with a connected socket: a Shard in its table,
        reporting to its event queue (through `_report`), and the shard's reading task. None
        (and a warning) if a new discord.py moved those."""
        shards = getattr(self, "_AutoShardedClient__shards", None)
        queue = getattr(self, "_AutoShardedClient__queue", None)
        if not isinstance(shards, dict) or not isinstance(queue, asyncio.Queue):
            log.warning("discord: cannot watch the shards (discord.py changed): its own launch")
            return None

        def report(item: EventItem) -> None:
            if _fatal(item) and self._closed_for_good is None:
                self._closed_for_good = item.error
                self._bad_news.set()
            queue.put_nowait(item)

        def adopt(shard_id: int, ws: DiscordWebSocket) -> None:
            shards[shard_id] = shard = Shard(ws, self, report)
            shard.launch()

        return adopt

    def _raise_if_closed_for_good(self) -> None:
        if self._closed_for_good is not None:
            raise self._closed_for_good

    async def before_identify_hook(self, shard_id: int | None, *, initial: bool = False) -> None:
        if not initial:
            await asyncio.sleep(self.identify_spacing)

    # -- the rest of a shard's life -----------------------------------------------------------

    async def on_shard_ready(self, shard_id: int) -> None:
        log.info("discord: shard %d of %s ready", shard_id, self.shard_count)

    async def close(self) -> None:
        await super().close()
        # discord.py leaves its "wait for the guilds, then fire on_ready" tasks running when
        # closed within guild_ready_timeout of a READY: end them so no task outlives us
        state = self._connection
        waiting = [
            getattr(state, "_ready_task", None),
            *getattr(state, "_ready_tasks", {}).values(),
        ]
        pending = [t for t in waiting if isinstance(t, asyncio.Task) and not t.done()]
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.wait(pending)
