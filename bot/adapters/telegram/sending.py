"""Sending to Telegram without letting one chat hold up another.

Telegram's flood limits (Bot FAQ, "My bot is hitting limits"): about 30 messages a second for
the whole bot, at most 20 a minute to one group, and about one a second in one chat (short
bursts are tolerated). A 429 says only `retry_after`, when that request may be repeated; it
does not say whether the limit was the chat's or the bot's (the description is always "Too
Many Requests: retry after N", and TDLib's maintainers say clients cannot tell).

`SendScheduler` is both halves of sending, on one object because PTB gives a rate limiter a
lifecycle: it is initialized with the bot and shut down before the bot's HTTP clients close.

- **The rate limiter** (`BaseRateLimiter`, so every Bot API call keeps PTB's own code path).
  A request that posts into a chat (send*, edit*, copy*, forward*, stopPoll) waits for its
  chat's budget (a group: a burst of 10 that refills 10 a minute, so no minute ever holds more
  than 20; a private chat: a burst of 5, then one a second), then for the overall budget (25 a
  second with a burst of 4, at most 29 in any second). Every other call goes straight out:
  answerCallbackQuery above all, so a button press is answered at once, never behind a chat's
  budget.
- **The per-chat queues.** A handler does its work (the service calls, whose effects are
  stored before the update counts as processed) while `collect()` gathers what it sends
  (`later`); then the sends go to the chat's queue as one job and the handler returns, so no
  update-processing slot is ever held while a chat's budget refills. One worker per chat with
  queued jobs runs them in order. A chat holds at most `queue_max` jobs; beyond that `submit`
  says no, and the handler answers another way (an alert for a button press) or drops the
  command, with one "slow down" notice per overflow (`overflow`).

A 429 pauses the chat it concerns for `retry_after`, and the request is retried after it (up
to `max_retries`; a caller may ask for fewer with `rate_limit_args`, as the daily Outbox does,
whose scheduler retries itself). The overall budget pauses only when the limit is evidently
the bot's: 429s for `global_chats` different chats within `global_window` seconds (each chat's
own limit is independent, so several chats refused at once means the shared one). One busy
group's 429 never stops the others.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import warnings
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from aiolimiter import AsyncLimiter
from telegram.error import BadRequest, Forbidden, RetryAfter, TelegramError
from telegram.ext import BaseRateLimiter
from telegram.warnings import PTBDeprecationWarning

from bot.adapters.base import error_notice

log = logging.getLogger(__name__)

ChatKey = int | str  # a numeric chat id, or an @channel username
Job = Callable[[], Awaitable[object]]
Result = bool | dict[str, Any] | list[dict[str, Any]]

SLOW_DOWN = (
    "Too many commands here at once: Telegram lets me answer only so fast, so I skipped "
    "some. Please wait a minute before the next one."
)
BUSY = "Too busy here right now: please try again in a minute."  # a button's alert

_POSTING_PREFIXES = ("send", "edit", "copy", "forward")
# the sends of the update being handled (see SendScheduler.collect)
_COLLECTED: contextvars.ContextVar[list[tuple[ChatKey, Job]] | None] = contextvars.ContextVar(
    "telegram_sends", default=None
)
_LIMITERS_KEPT = 2048  # idle chat budgets are forgotten beyond this many


@dataclass(frozen=True, slots=True)
class Budgets:
    """Our sending budgets on Telegram, kept under its flood limits."""

    overall_rate: float = 25.0  # messages a second for the whole bot (Telegram: about 30)
    overall_burst: int = 4  # 4 + 25 = 29 in any second
    group_count: int = 20  # Telegram: at most 20 messages a minute to one group
    group_period: float = 60.0
    group_burst: int = 10  # a burst of 10, then 10 a minute: never more than 20 in a minute
    private_rate: float = 1.0  # Telegram's guideline: about one message a second in one chat
    private_burst: int = 5
    queue_max: int = 10  # jobs waiting per chat; beyond that a chat is told to slow down
    max_retries: int = 2  # after a 429, retries of the same request
    global_chats: int = 3  # 429s for this many different chats ...
    global_window: float = 1.0  # ... within this many seconds: the bot-wide limit
    drain_seconds: float = 2.0  # at shutdown, time left for queued sends

    def __post_init__(self) -> None:
        if not 0 < self.group_burst < self.group_count:
            raise ValueError("group_burst must be between 0 and group_count")

    def overall_limiter(self) -> AsyncLimiter:
        return AsyncLimiter(self.overall_burst, self.overall_burst / self.overall_rate)

    def chat_limiter(self, chat: ChatKey) -> AsyncLimiter:
        if is_group(chat):
            # capacity c leaking (n - c) per period: at most n in any period
            refill = self.group_count - self.group_burst
            return AsyncLimiter(self.group_burst, self.group_burst * self.group_period / refill)
        return AsyncLimiter(self.private_burst, self.private_burst / self.private_rate)


def is_posting(endpoint: str) -> bool:
    """Whether a Bot API method puts a message into a chat (and so counts against its limits)."""
    return endpoint.startswith(_POSTING_PREFIXES) or endpoint == "stopPoll"


def chat_key(value: object) -> ChatKey | None:
    """The chat a request goes to, from its `chat_id` parameter (None: it has none)."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    text = str(value)
    try:
        return int(text)
    except ValueError:
        return text


def is_group(chat: ChatKey) -> bool:
    """Groups, supergroups and channels have negative ids (or an @username); users positive."""
    return isinstance(chat, str) or chat < 0


def retry_seconds(exc: RetryAfter) -> float:
    with warnings.catch_warnings():  # int vs timedelta: PTB is migrating this attribute
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = exc.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


@dataclass(frozen=True, slots=True)
class Retries:
    """A call's `rate_limit_args`: how often to retry it after a 429 (PTB drops a falsy
    value, so a bare 0 could not ask for none)."""

    count: int


NO_RETRY = Retries(0)


@dataclass(eq=False)
class _Chat:
    jobs: deque[Job] = field(default_factory=deque)
    worker: asyncio.Task[None] | None = None
    noticed: bool = False  # this overflow has its "slow down" notice


class SendScheduler(BaseRateLimiter[Retries]):
    """PTB's rate limiter with per-chat budgets and pauses, and the per-chat send queues."""

    def __init__(self, budgets: Budgets | None = None) -> None:
        self.budgets = budgets or Budgets()
        self.drain_seconds = self.budgets.drain_seconds
        self.throttled = 0  # 429s answered by Telegram
        self.refused = 0  # commands and replies turned away: their chat's queue was full
        self._overall = self.budgets.overall_limiter()
        self._limiters: dict[ChatKey, AsyncLimiter] = {}
        self._paused: dict[ChatKey, float] = {}  # chat -> loop time its pause ends
        self._paused_overall = 0.0
        self._refusals: deque[tuple[float, ChatKey]] = deque()  # 429s within global_window
        self._chats: dict[ChatKey, _Chat] = {}
        self._closing = False

    def __repr__(self) -> str:
        return f"SendScheduler(chats={len(self._chats)}, throttled={self.throttled})"

    # -- the per-chat queues ----------------------------------------------------------------

    def has_room(self, chat_id: ChatKey) -> bool:
        chat = self._chats.get(chat_id)
        return not self._closing and (chat is None or len(chat.jobs) < self.budgets.queue_max)

    @contextlib.contextmanager
    def collect(self) -> Iterator[list[tuple[ChatKey, Job]]]:
        """Within it, `later` gathers sends into the list it yields instead of queueing them
        (one update's replies, queued together once its work is done)."""
        sends: list[tuple[ChatKey, Job]] = []
        token = _COLLECTED.set(sends)
        try:
            yield sends
        finally:
            _COLLECTED.reset(token)

    def later(self, chat_id: ChatKey, job: Job) -> bool:
        """Send `job` after the update's work (within `collect`), else queue it now; False
        if it was refused (the chat's queue is full)."""
        collected = _COLLECTED.get()
        if collected is None:
            return self.submit(chat_id, job)
        collected.append((chat_id, job))
        return True

    def submit(self, chat_id: ChatKey, job: Job) -> bool:
        """Queue `job` (one reply's sending) for the chat's worker; False if its queue is full."""
        if not self.has_room(chat_id):
            return False
        chat = self._chats.setdefault(chat_id, _Chat())
        chat.jobs.append(job)
        if chat.worker is None:
            context = contextvars.copy_context()
            context.run(_COLLECTED.set, None)  # the worker's own sends are never collected
            chat.worker = asyncio.create_task(
                self._work(chat_id, chat), name="telegram-send", context=context
            )
        return True

    def overflow(self, chat_id: ChatKey, notice: Job | None) -> bool:
        """Count a command or reply turned away from a full chat, and put `notice` (a "slow
        down" message) first in the chat's queue, once until the queue has emptied again;
        True if the notice was queued now."""
        self.refused += 1
        chat = self._chats.get(chat_id)
        if notice is None or chat is None or chat.noticed or self._closing:
            return False
        chat.noticed = True
        chat.jobs.appendleft(notice)
        return True

    async def idle(self) -> None:
        """Until every queued job has run (tests, benchmarks)."""
        while workers := [c.worker for c in self._chats.values() if c.worker is not None]:
            await asyncio.wait(workers)

    async def _work(self, chat_id: ChatKey, chat: _Chat) -> None:
        try:
            while chat.jobs:
                job = chat.jobs.popleft()
                try:
                    await job()
                except Exception:  # jobs handle their own errors; this is the last resort
                    log.exception("telegram: sending to chat %s failed", chat_id)
        finally:
            chat.worker = None
            if not chat.jobs and self._chats.get(chat_id) is chat:
                del self._chats[chat_id]

    # -- BaseRateLimiter --------------------------------------------------------------------

    async def initialize(self) -> None:
        self._closing = False

    async def shutdown(self) -> None:
        """Called by PTB before the bot's HTTP clients close: queued sends get
        `drain_seconds` to go out; what is still waiting then (for a chat's budget or a
        429's pause) is dropped, with one log line."""
        self._closing = True
        workers = [c.worker for c in self._chats.values() if c.worker is not None]
        if not workers:
            return
        _, pending = await asyncio.wait(workers, timeout=self.drain_seconds)
        if pending:
            left = sum(len(c.jobs) + 1 for c in self._chats.values() if c.worker in pending)
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
            log.warning(
                "telegram: stopping with %d replies not sent to %d chats (their chats were "
                "over Telegram's limits)", left, len(pending),
            )  # fmt: skip
        self._chats.clear()

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, Result]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: Retries | None,
    ) -> Result:
        chat = chat_key(data.get("chat_id"))
        if chat is None or not is_posting(endpoint):
            return await callback(*args, **kwargs)  # answerCallbackQuery & co.: at once
        retries = self.budgets.max_retries if rate_limit_args is None else rate_limit_args.count
        attempt = 0
        while True:
            await self._take(chat)
            try:
                return await callback(*args, **kwargs)
            except RetryAfter as exc:
                self._refused(chat, retry_seconds(exc))
                if attempt >= retries:
                    raise
                attempt += 1

    # -- budgets and pauses -----------------------------------------------------------------

    def paused_for(self, chat: ChatKey) -> float:
        """Seconds until the chat may be sent to again after a 429 (0: not paused)."""
        return max(0.0, self._paused.get(chat, 0.0) - asyncio.get_running_loop().time())

    def paused_overall(self) -> float:
        """Seconds until anything may be sent again after the bot-wide limit (0: not paused)."""
        return max(0.0, self._paused_overall - asyncio.get_running_loop().time())

    async def _take(self, chat: ChatKey) -> None:
        """Wait for the chat's budget, any pause of the chat or of everything, then the
        overall budget (taken last, so a waiting chat never holds any of it)."""
        await self._unpaused(chat)
        await self._chat_limiter(chat).acquire()
        await self._unpaused(chat)  # a pause may have begun meanwhile
        await self._overall.acquire()

    async def _unpaused(self, chat: ChatKey) -> None:
        loop = asyncio.get_running_loop()
        # re-checked after each sleep: another 429 may have made the pause longer meanwhile
        while (left := max(self._paused.get(chat, 0.0), self._paused_overall) - loop.time()) > 0:  # noqa: ASYNC110
            await asyncio.sleep(left)

    def _chat_limiter(self, chat: ChatKey) -> AsyncLimiter:
        limiter = self._limiters.get(chat)
        if limiter is None:
            if len(self._limiters) >= _LIMITERS_KEPT:
                self._forget_idle()
            limiter = self._limiters[chat] = self.budgets.chat_limiter(chat)
        return limiter

    def _forget_idle(self) -> None:
        now = asyncio.get_running_loop().time()
        for key, limiter in list(self._limiters.items()):
            if limiter.has_capacity(limiter.max_rate) and self._paused.get(key, 0.0) <= now:
                del self._limiters[key]
                self._paused.pop(key, None)

    def _refused(self, chat: ChatKey, seconds: float) -> None:
        """A 429 for `chat`: pause it; pause everything if several chats were refused at once."""
        self.throttled += 1
        now = asyncio.get_running_loop().time()
        until = now + max(seconds, 0.0)
        self._paused[chat] = max(self._paused.get(chat, 0.0), until)
        window = self._refusals
        window.append((now, chat))
        while window and window[0][0] < now - self.budgets.global_window:
            window.popleft()
        chats = {c for _, c in window}
        if len(chats) >= self.budgets.global_chats and until > self._paused_overall:
            self._paused_overall = until
            log.warning(
                "telegram: flood limit for %d chats at once: the bot's own limit, so every "
                "send waits %.0f s", len(chats), seconds,
            )  # fmt: skip
        else:
            log.warning("telegram: flood limit in chat %s: sends to it wait %.0f s", chat, seconds)


# Bad Request descriptions that mean a forum topic can no longer be posted to (closed, deleted)
_TOPIC_GONE = ("topic_closed", "topic_deleted", "topic_id_invalid", "message thread not found")


def topic_gone(exc: Exception) -> bool:
    """Whether Telegram refused a post because its forum topic is closed or deleted."""
    return isinstance(exc, BadRequest) and any(t in exc.message.lower() for t in _TOPIC_GONE)


async def deliver(
    sends: Sequence[Job],
    *,
    where: str,
    tell: Callable[[str], Awaitable[object]] | None,
    log: logging.Logger = log,
) -> None:
    """One update's sends, in order, as its chat's job. A failure stops the rest and follows
    the error policy (`error_notice`: logged with `where`; `tell` gets the apology); a chat
    still over Telegram's limit after the retries, or one the bot may no longer write to,
    just loses this reply (logged), as does one into a forum topic closed or deleted."""
    try:
        for send in sends:
            await send()
    except RetryAfter as exc:
        log.warning("%s: still over Telegram's limit (%s); reply dropped", where, exc.message)
    except Forbidden as exc:
        log.info("%s: cannot write to chat (%s)", where, exc.message)
    except Exception as exc:
        if topic_gone(exc):  # the rest of the update's sends would go there too
            log.info("%s: cannot write to the forum topic (%s)", where, exc)
            return
        notice = error_notice(exc, log=log, what=where)
        if tell is not None:
            try:
                await tell(notice)
            except TelegramError as error:
                log.warning("%s: could not tell the user (%s)", where, error.message)


__all__ = [
    "BUSY",
    "NO_RETRY",
    "SLOW_DOWN",
    "Budgets",
    "Retries",
    "SendScheduler",
    "chat_key",
    "deliver",
    "is_group",
    "is_posting",
    "retry_seconds",
    "topic_gone",
]
