"""Pacing: every post to a platform stays under its global and per-chat budgets.

`PacedOutbox` wraps a platform's Outbox: one global leaky bucket, one per chat, and a
platform-wide pause for `retry_after` after a 429. Everything the scheduler sends (daily posts,
reveals, recaps, practice reminders) goes through one per platform, so features share the
budget instead of each spending all of it.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TypeVar

from aiolimiter import AsyncLimiter

from bot.core.common.identity import ChatRef, Platform
from bot.core.common.replies import Reply
from bot.core.delivery import Outbox, RetryLater
from bot.core.quiz import Asked

log = logging.getLogger(__name__)

_CHAT_LIMITERS = 20_000
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class PlatformLimits:
    """Our sending budget on one platform (kept under the platform's own hard limits)."""

    rate: float  # messages per second overall
    burst: int  # messages that may go back to back before the rate applies
    chat_count: int  # at most this many messages to one chat ...
    chat_period: float  # ... in any window of this many seconds


LIMITS: Mapping[Platform, PlatformLimits] = {
    # Discord allows 50 requests/s per bot and 5 messages per 5 s per channel.
    Platform.DISCORD: PlatformLimits(rate=45.0, burst=3, chat_count=5, chat_period=5.0),
    # Telegram allows about 30 messages/s per bot and 20 per minute per group. The adapter's
    # own limiter holds every send to 25/s; a fan-out takes 20 of them, so people's replies
    # (and button answers' follow-ups) keep 5/s of room during a big daily post.
    Platform.TELEGRAM: PlatformLimits(rate=20.0, burst=3, chat_count=20, chat_period=60.0),
    Platform.CONSOLE: PlatformLimits(rate=1000.0, burst=10, chat_count=1000, chat_period=1.0),
}


class PacedOutbox:
    """An Outbox that paces another: one global leaky bucket (at most burst + rate*t messages in
    any t seconds), one per chat (half the chat budget as burst, so no window ever holds more
    than the budget), and a platform-wide pause for `retry_after` after a 429."""

    def __init__(
        self,
        inner: Outbox,
        limits: PlatformLimits,
        *,
        max_retries: int = 5,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.platform = inner.platform
        self.inner = inner
        # a native poll posted with a time limit closes by itself (Telegram): see GameEngine
        self.closes_polls = bool(getattr(inner, "closes_polls", False))
        self.limits = limits
        self.max_retries = max_retries
        self.throttled = 0  # 429s answered by the platform
        self._sleep = sleep
        self._global = AsyncLimiter(limits.burst, limits.burst / limits.rate)
        self._chats: OrderedDict[str, AsyncLimiter] = OrderedDict()
        self._paused_until = 0.0

    async def post_question(self, chat: ChatRef, asked: Asked, *, nonce: str) -> str:
        return await self._paced(chat, lambda: self.inner.post_question(chat, asked, nonce=nonce))

    async def post(self, chat: ChatRef, reply: Reply, *, nonce: str) -> str:
        return await self._paced(chat, lambda: self.inner.post(chat, reply, nonce=nonce))

    async def edit(self, chat: ChatRef, message_ref: str, reply: Reply) -> None:
        await self._paced(chat, lambda: self.inner.edit(chat, message_ref, reply))

    def _chat_limiter(self, chat: ChatRef) -> AsyncLimiter:
        limiter = self._chats.get(chat.key)
        if limiter is None:
            # capacity c = n/2 leaking n/2 per period: at most c + n/2 = n in any period
            limiter = AsyncLimiter(self.limits.chat_count / 2, self.limits.chat_period)
            self._chats[chat.key] = limiter
            if len(self._chats) > _CHAT_LIMITERS:
                self._chats.popitem(last=False)
        self._chats.move_to_end(chat.key)
        return limiter

    async def _paced(self, chat: ChatRef, call: Callable[[], Awaitable[T]]) -> T:
        attempt = 0
        while True:
            await self._chat_limiter(chat).acquire()
            loop = asyncio.get_running_loop()
            while (wait := self._paused_until - loop.time()) > 0:
                await self._sleep(wait)
            await self._global.acquire()
            try:
                return await call()
            except RetryLater as exc:
                self.throttled += 1
                attempt += 1
                if attempt > self.max_retries:
                    raise
                pause = max(0.05, exc.retry_after)
                self._paused_until = max(self._paused_until, loop.time() + pause)
                log.warning(
                    "daily: %s rate limit hit, pausing %.1f s (%s)", self.platform, pause, exc
                )


def pace(
    outboxes: Iterable[Outbox], limits: Mapping[Platform, PlatformLimits] = LIMITS
) -> dict[Platform, PacedOutbox]:
    """One PacedOutbox per platform (an outbox that is paced already is kept as it is)."""
    return {
        o.platform: o if isinstance(o, PacedOutbox) else PacedOutbox(o, limits[o.platform])
        for o in outboxes
    }
