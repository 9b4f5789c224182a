"""Pacing: every post to a platform stays under its global and per-chat budgets.

`PacedOutbox` wraps a platform's Outbox: one global leaky bucket, one per chat, and a
platform-wide pause for `retry_after` after a 429. Everything the scheduler sends (daily posts,
reveals, recaps, practice reminders, games) goes through one per platform, so features share
the budget instead of each spending all of it.

Each bucket has three lanes (`LaneBucket`, `Lane`): what is sent through `PacedOutbox.urgent`
(a game question's close and reveal, its hint: see `bot.core.delivery.urgent_lane`) goes
first; then what goes through `PacedOutbox.soon` (a game's next question and its final
standings, which a channel is waiting for: `bot.core.delivery.soon_lane`); then the ordinary
sends (daily posts, reveals, recaps, reminders), which keep their order among themselves. An
ordinary send is passed over for PATIENCE seconds at most; from then on, every URGENT_RUN + 1st
grant is an ordinary one however many urgent and soon ones come. And while the platform leaves
`in_flight` ordinary sends unanswered, the next ones wait in the pacer (where the other lanes
pass them), not in the platform client's own queue (which sends in the order it was given).
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections import OrderedDict, deque
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import timedelta
from enum import IntEnum
from typing import TypeVar

from bot.core.common.clock import Clock, SystemClock
from bot.core.common.identity import ChatRef, Platform
from bot.core.common.replies import Countdown, Reply
from bot.core.delivery import Outbox, RetryLater
from bot.core.games.engine import RETIME_AFTER
from bot.core.quiz import Asked

log = logging.getLogger(__name__)

_CHAT_LIMITERS = 20_000
# Ordinary sends that waited PATIENCE seconds get one grant in URGENT_RUN + 1 however many
# urgent and soon ones wait (5 % of the budget): a steady stream of them never stops a daily
# fan-out. Games started together close a wave of questions at the full budget for up to 15 s
# (300 on Telegram): a share from the first second made the last closes of a wave 0.6 s late
# (bench/README.md, issue 15), so the share waits for an ordinary send to have waited longer.
URGENT_RUN = 19
PATIENCE = 10.0
T = TypeVar("T")


class Lane(IntEnum):
    """A send's place in the queue for a budget: a lower lane is granted first."""

    URGENT = 0  # due at a moment people watch: a game question's close and reveal, its hint
    SOON = 1  # a channel is waiting for it: a game's next question, its final standings
    ORDINARY = 2  # daily posts and reveals, recaps, reminders: in the order they came


@dataclass(frozen=True, slots=True)
class PlatformLimits:
    """Our sending budget on one platform (kept under the platform's own hard limits)."""

    rate: float  # messages per second overall
    burst: int  # messages that may go back to back before the rate applies
    chat_count: int  # at most this many messages to one chat ...
    chat_period: float  # ... in any window of this many seconds
    # ordinary sends the platform has not answered yet, at most (None: half a second of
    # `rate`); the others wait in the pacer, where urgent and soon sends pass them (LaneBucket).
    # Enough for answers within 0.5 s at the full rate; when the platform client holds them
    # longer (a queue of its own), that many go out together when it moves again
    in_flight: int | None = None


LIMITS: Mapping[Platform, PlatformLimits] = {
    # Discord allows 50 requests/s per bot and 5 messages per 5 s per channel. 40/s leaves room
    # for what discord.py sends beside the pacer (45/s met 429s with 300 games at once).
    Platform.DISCORD: PlatformLimits(rate=40.0, burst=3, chat_count=5, chat_period=5.0),
    # Telegram allows about 30 messages/s per bot and 20 per minute per group. The adapter's
    # own limiter holds every send to 25/s; a fan-out takes 20 of them, so people's replies
    # (and button answers' follow-ups) keep 5/s of room during a big daily post.
    Platform.TELEGRAM: PlatformLimits(rate=20.0, burst=3, chat_count=20, chat_period=60.0),
    Platform.CONSOLE: PlatformLimits(rate=1000.0, burst=10, chat_count=1000, chat_period=1.0),
}


def _own_budget(chat: ChatRef) -> str:
    return chat.key


_Waiters = deque[tuple[float, "asyncio.Future[None]"]]  # (waiting since, loop time; its grant)
_Lanes = tuple[_Waiters, _Waiters, _Waiters]  # by Lane


class LaneBucket:
    """A leaky bucket (at most `capacity` + `rate` x t grants in any t seconds) whose waiting
    tasks queue in three lanes (`Lane`). Urgent ones are granted first, then soon ones, then
    ordinary ones, each lane in the order it came; once the first ordinary one has waited
    `patience` seconds, every `run` + 1st grant goes to one. A grant is decided when capacity
    frees, over everyone waiting then, so a task never waits behind one of a later lane that
    came first. `hold(until)` grants nothing before `until` (a 429's pause). With `slots`, at
    most that many ordinary grants are out at once, each given back by `release()` when its
    send was answered."""

    __slots__ = ("_at", "_held_until", "_in_a_row", "_lanes", "_level", "_out", "_timer",
                 "capacity", "patience", "rate", "run", "slots")  # fmt: skip

    def __init__(
        self,
        capacity: float,
        rate: float,
        *,
        run: int = URGENT_RUN,
        patience: float = PATIENCE,
        slots: int | None = None,
    ) -> None:
        self.capacity = capacity
        self.rate = rate  # grants per second
        self.run = run
        self.patience = patience
        self.slots = slots
        self._level = 0.0  # grants still in the bucket at loop time `_at`
        self._at = 0.0
        self._held_until = 0.0
        self._out = 0  # ordinary grants not released yet (with `slots`)
        self._lanes: _Lanes | None = None  # waiters by lane, only while someone waits
        self._in_a_row = 0  # grants passing an ordinary one that was due its share, in a row
        self._timer: asyncio.TimerHandle | None = None

    async def acquire(self, lane: Lane = Lane.ORDINARY) -> None:
        """Wait for a grant; an ordinary one is `release()`d after its send (with `slots`)."""
        loop = asyncio.get_running_loop()
        now = loop.time()
        ordinary = lane is Lane.ORDINARY
        if self._lanes is None and (not ordinary or self._free()) and self._take(now):
            if ordinary and self.slots is not None:
                self._out += 1
            return
        future: asyncio.Future[None] = loop.create_future()
        if self._lanes is None:
            self._lanes = (deque(), deque(), deque())
        self._lanes[lane].append((now, future))
        self._wake()
        try:
            await future
        except asyncio.CancelledError:
            if future.done() and not future.cancelled():  # granted, never used: give it back
                self._level = max(0.0, self._level - 1)
                if ordinary and self.slots is not None:
                    self._out -= 1
                self._wake()
            raise

    def release(self) -> None:
        """An ordinary grant's send is over: its slot is free again (with `slots`)."""
        if self.slots is not None:
            self._out -= 1
            if self._lanes is not None:
                self._wake()

    def hold(self, until: float) -> None:
        """Grant nothing before loop time `until` (the waiters' timer sees it when it fires)."""
        self._held_until = max(self._held_until, until)

    def _free(self) -> bool:
        return self.slots is None or self._out < self.slots

    def _take(self, now: float) -> bool:
        self._level = max(0.0, self._level - (now - self._at) * self.rate)
        self._at = now
        if now < self._held_until or self._level + 1 > self.capacity + 1e-9:
            return False
        self._level += 1
        return True

    def _wake(self) -> None:
        """Grant what fits now, lane by lane; then set a timer for when the next one fits."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._lanes is None:
            return
        lanes = self._lanes
        ordinary = lanes[Lane.ORDINARY]
        loop = asyncio.get_running_loop()
        while True:
            for waiters in lanes:
                while waiters and waiters[0][1].done():  # cancelled while waiting
                    waiters.popleft()
            ahead = lanes[Lane.URGENT] or lanes[Lane.SOON]  # the first lane waiting before it
            if not ahead and not ordinary:
                self._lanes = None
                return
            can_ordinary = bool(ordinary) and self._free()
            if not ahead and not can_ordinary:
                return  # every slot is out: the next release() wakes them
            now = loop.time()
            if not self._take(now):
                break
            due = can_ordinary and now - ordinary[0][0] >= self.patience  # its share
            if ahead and not (due and self._in_a_row >= self.run):
                _, future = ahead.popleft()
                self._in_a_row = self._in_a_row + 1 if due else 0
            else:
                _, future = ordinary.popleft()
                self._in_a_row = 0
                if self.slots is not None:
                    self._out += 1
            future.set_result(None)
        fits = (self._level + 1 - self.capacity) / self.rate
        self._timer = loop.call_later(max(self._held_until - now, fits, 0.0), self._wake)


class PacedOutbox:
    """An Outbox that paces another: one global leaky bucket (at most burst + rate*t messages in
    any t seconds), one per chat (half the chat budget as burst, so no window ever holds more
    than the budget), and a platform-wide pause for `retry_after` after a 429. `urgent` and `soon`
    are the same Outbox with their sends in those lanes of both buckets
    (`bot.core.delivery.Prioritizing`); the pause holds every lane. `run` and `patience`: the
    ordinary sends' share (LaneBucket)."""

    def __init__(
        self,
        inner: Outbox,
        limits: PlatformLimits,
        *,
        max_retries: int = 5,
        run: int = URGENT_RUN,
        patience: float = PATIENCE,
        clock: Clock | None = None,
    ) -> None:
        self.platform = inner.platform
        self.clock = clock or SystemClock()
        self.inner = inner
        # a native poll posted with a time limit closes by itself (Telegram): see GameEngine
        self.closes_polls = bool(getattr(inner, "closes_polls", False))
        # whose budget a post spends when not its place's own (a Telegram forum topic: its
        # group's, as Telegram counts them): the inner outbox's `budget_key`, if it has one
        self._budget_of: Callable[[ChatRef], str] = getattr(inner, "budget_key", _own_budget)
        self.limits = limits
        self.max_retries = max_retries
        self.throttled = 0  # 429s answered by the platform
        self.run, self.patience = run, patience
        slots = limits.in_flight or max(limits.burst, math.ceil(limits.rate / 2))
        self._global = LaneBucket(limits.burst, limits.rate, run=run, patience=patience,
                                  slots=slots)  # fmt: skip
        self._chats: OrderedDict[str, LaneBucket] = OrderedDict()
        self.urgent: Outbox = _Side(self, Lane.URGENT)
        self.soon: Outbox = _Side(self, Lane.SOON)

    async def post_question(
        self, chat: ChatRef, asked: Asked, *, nonce: str, lane: Lane = Lane.ORDINARY
    ) -> str:
        return await self._paced(
            chat, lambda: self.inner.post_question(chat, self._on_time(asked), nonce=nonce), lane
        )

    def _on_time(self, asked: Asked) -> Asked:
        """The question as it goes out: one that waited for the budget longer than a game
        question may (its time then starts when it is out: GameEngine) shows its countdown
        moved by the wait, so nobody sees a deadline earlier than the real one."""
        late = (self.clock.now() - asked.round.opened_at).total_seconds()
        if late <= RETIME_AFTER or not any(isinstance(b, Countdown) for b in asked.reply.blocks):
            return asked
        moved = timedelta(seconds=late)
        blocks = tuple(
            replace(b, until=b.until + moved) if isinstance(b, Countdown) else b
            for b in asked.reply.blocks
        )
        return replace(asked, reply=replace(asked.reply, blocks=blocks))

    async def post(
        self, chat: ChatRef, reply: Reply, *, nonce: str, lane: Lane = Lane.ORDINARY
    ) -> str:
        return await self._paced(chat, lambda: self.inner.post(chat, reply, nonce=nonce), lane)

    async def edit(
        self, chat: ChatRef, message_ref: str, reply: Reply, *, lane: Lane = Lane.ORDINARY
    ) -> None:
        await self._paced(chat, lambda: self.inner.edit(chat, message_ref, reply), lane)

    def _chat_limiter(self, chat: ChatRef) -> LaneBucket:
        key = self._budget_of(chat)
        limiter = self._chats.get(key)
        if limiter is None:
            # capacity c = n/2 leaking n/2 per period: at most c + n/2 = n in any period
            half = self.limits.chat_count / 2
            limiter = LaneBucket(
                half, half / self.limits.chat_period, run=self.run, patience=self.patience
            )
            self._chats[key] = limiter
            if len(self._chats) > _CHAT_LIMITERS:
                self._chats.popitem(last=False)
        self._chats.move_to_end(key)
        return limiter

    async def _paced(self, chat: ChatRef, call: Callable[[], Awaitable[T]], lane: Lane) -> T:
        attempt = 0
        while True:
            await self._chat_limiter(chat).acquire(lane)
            await self._global.acquire(lane)  # held during a pause, every lane
            try:
                return await call()
            except RetryLater as exc:
                self.throttled += 1
                attempt += 1
                if attempt > self.max_retries:
                    raise
                pause = max(0.05, exc.retry_after)
                self._global.hold(asyncio.get_running_loop().time() + pause)
                log.warning(
                    "daily: %s rate limit hit, pausing %.1f s (%s)", self.platform, pause, exc
                )
            finally:
                if lane is Lane.ORDINARY:  # answered (or failed): its slot is free
                    self._global.release()


class _Side:
    """`PacedOutbox.urgent` and `.soon`: the same outbox, each send in that lane."""

    def __init__(self, paced: PacedOutbox, lane: Lane) -> None:
        self.paced = paced
        self.lane = lane
        self.platform = paced.platform
        self.closes_polls = paced.closes_polls

    async def post_question(self, chat: ChatRef, asked: Asked, *, nonce: str) -> str:
        return await self.paced.post_question(chat, asked, nonce=nonce, lane=self.lane)

    async def post(self, chat: ChatRef, reply: Reply, *, nonce: str) -> str:
        return await self.paced.post(chat, reply, nonce=nonce, lane=self.lane)

    async def edit(self, chat: ChatRef, message_ref: str, reply: Reply) -> None:
        await self.paced.edit(chat, message_ref, reply, lane=self.lane)


def pace(
    outboxes: Iterable[Outbox],
    limits: Mapping[Platform, PlatformLimits] = LIMITS,
    clock: Clock | None = None,
) -> dict[Platform, PacedOutbox]:
    """One PacedOutbox per platform (an outbox that is paced already is kept as it is)."""
    return {
        o.platform: o
        if isinstance(o, PacedOutbox)
        else PacedOutbox(o, limits[o.platform], clock=clock)
        for o in outboxes
    }
