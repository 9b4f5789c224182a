"""The daily question scheduler: one APScheduler AsyncIOScheduler for every platform.

The database is the truth: at start the jobs are rebuilt from the active subscriptions, today's
posts that are due but not delivered are caught up (while their answer window is open), and the
reveals of open rounds are scheduled. Each job only queues work; per-platform workers do it
through a PacedOutbox, which keeps every platform under its global and per-chat budget and
waits out `retry_after` on a 429. Fire times come from `bot.core.daily` (DST-tested), so each
post is a one-off date job, re-armed for the next local day when it fires.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time as _time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import TypeVar

from aiolimiter import AsyncLimiter
from apscheduler.schedulers.asyncio import AsyncIOScheduler  # type: ignore[import-untyped]
from apscheduler.triggers.date import DateTrigger  # type: ignore[import-untyped]
from apscheduler.triggers.interval import IntervalTrigger  # type: ignore[import-untyped]

from bot.core.common.identity import ChatRef, Platform
from bot.core.common.replies import Reply
from bot.core.daily.model import Subscription, due_post, next_fire
from bot.core.daily.service import DailyService, Outcome, RunResult
from bot.core.delivery import Outbox, RetryLater
from bot.core.quiz.service import Asked

log = logging.getLogger(__name__)

REVEAL_GRACE = timedelta(hours=12)  # a reveal missed by more than this is dropped
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
    # Telegram allows about 30 messages/s per bot and 20 per minute per group.
    Platform.TELEGRAM: PlatformLimits(rate=25.0, burst=3, chat_count=20, chat_period=60.0),
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


@dataclass(frozen=True, slots=True)
class Work:
    kind: str  # "post" or "reveal"
    platform: Platform
    ref: int  # subscription id (post) or claim id (reveal)
    day: date | None = None

    @property
    def key(self) -> tuple[str, int, date | None]:
        return (self.kind, self.ref, self.day)


@dataclass
class RunStats:
    """Counters of one busy period (a fan-out) on one platform, for the progress log."""

    started: float = field(default_factory=_time.monotonic)
    last: float = field(default_factory=_time.monotonic)
    counts: dict[str, int] = field(default_factory=dict)

    def add(self, outcome: Outcome) -> None:
        self.counts[outcome.value] = self.counts.get(outcome.value, 0) + 1
        self.last = _time.monotonic()

    def line(self, remaining: int, throttled: int) -> str:
        sent = self.counts.get("delivered", 0)
        failed = self.counts.get("failed", 0) + self.counts.get("gone", 0)
        elapsed = max(1e-9, (self.last if remaining == 0 else _time.monotonic()) - self.started)
        extra = "".join(
            f", {k} {v}" for k, v in sorted(self.counts.items()) if k not in {"delivered"}
        )
        rate = f"{sent / elapsed:.1f}/s, " if sent >= 10 else ""
        return (
            f"delivered {sent}, failed {failed}, remaining {remaining} "
            f"({rate}429s {throttled}{extra})"
        )


class DailyScheduler:
    def __init__(
        self,
        daily: DailyService,
        outboxes: Iterable[Outbox],
        *,
        limits: Mapping[Platform, PlatformLimits] = LIMITS,
        workers: int = 8,
        progress_every: float = 10.0,
        retry_delays: tuple[float, ...] = (30.0, 120.0, 600.0),
        run_jobs: bool = True,
    ) -> None:
        self.daily = daily
        self.outboxes = {o.platform: PacedOutbox(o, limits[o.platform]) for o in outboxes}
        self._workers_per_platform = workers
        self._progress_every = progress_every
        self._retry_delays = retry_delays
        self._run_jobs = run_jobs
        self._scheduler = AsyncIOScheduler(
            timezone="UTC",
            job_defaults={"misfire_grace_time": None, "coalesce": True, "max_instances": 1},
        )
        self._queues: dict[Platform, asyncio.Queue[Work]] = {}
        self._queued: set[tuple[str, int, date | None]] = set()
        self._busy: dict[Platform, int] = {}
        self._runs: dict[Platform, RunStats] = {}
        self._retries: dict[tuple[int, date | None], int] = {}
        self._subs: dict[int, Subscription] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._side: set[asyncio.Task[object]] = set()  # running runs of every() jobs
        self._stopping = False

    # -- lifecycle ----------------------------------------------------------------------------

    async def start(self) -> None:
        """Recover from a crash, rebuild the jobs from the database, catch up what is due."""
        recovered = await self.daily.store.recover()
        if recovered:
            log.warning("daily: %d posts were cut off by a restart; resending them", recovered)
        for platform in self.outboxes:
            self._queues[platform] = asyncio.Queue()
            self._busy[platform] = 0
            for n in range(self._workers_per_platform):
                self._tasks.append(
                    asyncio.create_task(self._worker(platform), name=f"daily-{platform}-{n}")
                )
        self._tasks.append(asyncio.create_task(self._report(), name="daily-progress"))
        self._scheduler.start(paused=not self._run_jobs)
        self.daily.on_change(self.reschedule)
        await self.rebuild()

    async def stop(self, grace: float = 10.0) -> None:
        """Stop taking work, let posts in flight finish (up to `grace` seconds), then stop."""
        self._stopping = True
        if self._scheduler.running:
            self._scheduler.shutdown(wait=False)
        for platform, queue in self._queues.items():
            while not queue.empty():
                self._queued.discard(queue.get_nowait().key)
                queue.task_done()
            for _ in range(self._workers_per_platform):
                queue.put_nowait(Work("stop", platform, 0))
        workers = [t for t in self._tasks if t.get_name() != "daily-progress"]
        running = [*workers, *self._side]
        if running:
            await asyncio.wait(running, timeout=grace)
        for side in list(self._side):
            side.cancel()
        if self._side:
            await asyncio.gather(*self._side, return_exceptions=True)
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
        await asyncio.sleep(0)  # AsyncIOScheduler.shutdown runs on the next loop iteration

    async def rebuild(self) -> int:
        """Jobs for every active subscription of a served platform; catch up due posts and
        reveals. Returns the number of queued catch-up items."""
        now = self.daily.clock.now()
        queued = 0
        for sub in await self.daily.store.subscriptions():
            if sub.chat.platform not in self.outboxes:
                continue
            self._arm(sub, now)
            due = due_post(sub, now)
            if due is not None:
                queued += self._enqueue(Work("post", sub.chat.platform, sub.id, due[0]))
        for claim in await self.daily.store.open_claims(now - REVEAL_GRACE):
            owner = await self.daily.store.subscription(claim.subscription_id)
            if owner is None or owner.chat.platform not in self.outboxes:
                continue
            if claim.closes_at <= now:
                queued += self._enqueue(Work("reveal", owner.chat.platform, claim.id))
            else:
                self._arm_reveal(claim.id, owner.chat.platform, claim.closes_at)
        log.info(
            "daily: %d subscriptions scheduled, %d posts/reveals to catch up",
            len(self._subs), queued,
        )  # fmt: skip
        return queued

    def every(
        self, job_id: str, interval: timedelta, func: Callable[[], Awaitable[object]]
    ) -> None:
        """A recurring job of another feature on this scheduler (e.g. practice reminders,
        `bot.practice_jobs`). Call after start(); one run at a time, missed runs coalesce."""

        async def tracked() -> None:
            # Our own task, shielded: APScheduler cancels its job tasks at shutdown, which
            # would cut a reminder off after it was claimed; stop() lets it finish instead.
            if self._stopping:
                return
            task: asyncio.Task[object] = asyncio.ensure_future(func())
            self._side.add(task)
            task.add_done_callback(self._side.discard)
            await asyncio.shield(task)

        self._scheduler.add_job(
            tracked, IntervalTrigger(seconds=interval.total_seconds(), timezone="UTC"),
            id=job_id, replace_existing=True,
        )  # fmt: skip

    def jobs(self) -> dict[str, datetime]:
        """Job id -> next run time (UTC), e.g. {'post:3': ..., 'reveal:17': ...}."""
        return {j.id: j.next_run_time for j in self._scheduler.get_jobs()}

    async def fire(self, job_id: str) -> None:
        """Run a job now instead of at its time, as APScheduler would (tests, tools)."""
        job = self._scheduler.get_job(job_id)
        if job is None:
            raise KeyError(job_id)
        self._scheduler.remove_job(job_id)
        await job.func(*job.args)

    async def wait_idle(self) -> None:
        """Until every queued post and reveal is done (tests, benchmarks)."""
        for queue in self._queues.values():
            await queue.join()

    # -- jobs ---------------------------------------------------------------------------------

    def reschedule(self, sub: Subscription) -> None:
        """A subscription changed: re-arm (or drop) its post job."""
        if self._stopping:
            return
        if sub.active and sub.chat.platform in self.outboxes:
            self._arm(sub, self.daily.clock.now())
        else:
            self._subs.pop(sub.id, None)
            with contextlib.suppress(Exception):
                self._scheduler.remove_job(f"post:{sub.id}")

    def _arm(self, sub: Subscription, after: datetime) -> None:
        self._subs[sub.id] = sub
        day, at = next_fire(sub, after)
        self._scheduler.add_job(
            self._fire_post, DateTrigger(at), args=(sub.id, day.isoformat(), at.timestamp()),
            id=f"post:{sub.id}", replace_existing=True,
        )  # fmt: skip

    def _arm_reveal(self, claim_id: int, platform: Platform, at: datetime) -> None:
        self._scheduler.add_job(
            self._fire_reveal, DateTrigger(at), args=(claim_id, platform.value),
            id=f"reveal:{claim_id}", replace_existing=True,
        )  # fmt: skip

    async def _fire_post(self, sub_id: int, day: str, at: float) -> None:
        sub = self._subs.get(sub_id)
        if sub is None:
            return
        self._enqueue(Work("post", sub.chat.platform, sub_id, date.fromisoformat(day)))
        self._arm(sub, datetime.fromtimestamp(at, UTC))

    async def _fire_reveal(self, claim_id: int, platform: str) -> None:
        self._enqueue(Work("reveal", Platform(platform), claim_id))

    async def _fire_retry(self, sub_id: int, platform: str, day: str) -> None:
        self._enqueue(Work("post", Platform(platform), sub_id, date.fromisoformat(day)))

    # -- work ---------------------------------------------------------------------------------

    def _enqueue(self, work: Work) -> int:
        if self._stopping or work.key in self._queued or work.platform not in self._queues:
            return 0
        self._queued.add(work.key)
        self._runs.setdefault(work.platform, RunStats())
        self._queues[work.platform].put_nowait(work)
        return 1

    async def _worker(self, platform: Platform) -> None:
        queue = self._queues[platform]
        while True:
            work = await queue.get()
            if work.kind == "stop":
                queue.task_done()
                return
            self._busy[platform] += 1
            try:
                result = await self._do(work)
                if result is not None:
                    self._runs.setdefault(platform, RunStats()).add(result.outcome)
            except Exception:
                log.exception("daily: %s %d failed", work.kind, work.ref)
            finally:
                self._busy[platform] -= 1
                self._queued.discard(work.key)
                queue.task_done()

    async def _do(self, work: Work) -> RunResult | None:
        outbox = self.outboxes[work.platform]
        if work.kind == "reveal":
            claim = await self.daily.store.get_claim(work.ref)
            return await self.daily.run_reveal(claim, outbox) if claim else None
        sub = await self.daily.store.subscription(work.ref)
        if sub is None or work.day is None:
            return None
        result = await self.daily.run_post(sub, work.day, outbox)
        if result.claim is not None and result.outcome in {Outcome.DELIVERED, Outcome.DONE}:
            self._retries.pop((sub.id, work.day), None)
            if result.claim.closes_at > self.daily.clock.now():
                self._arm_reveal(result.claim.id, work.platform, result.claim.closes_at)
            else:
                self._enqueue(Work("reveal", work.platform, result.claim.id))
        elif result.outcome is Outcome.FAILED and result.retry:
            self._retry_later(sub, work.day, result)
        return result

    def _retry_later(self, sub: Subscription, day: date, result: RunResult) -> None:
        tries = self._retries.get((sub.id, day), 0)
        if tries >= len(self._retry_delays):
            return
        self._retries[(sub.id, day)] = tries + 1
        at = self.daily.clock.now() + timedelta(seconds=self._retry_delays[tries])
        log.info("daily: post to %s failed (%s); retrying at %s", sub.chat.key, result.error, at)
        self._scheduler.add_job(
            self._fire_retry, DateTrigger(at),
            args=(sub.id, sub.chat.platform.value, day.isoformat()),
            id=f"retry:{sub.id}:{day.isoformat()}", replace_existing=True,
        )  # fmt: skip

    async def _report(self) -> None:
        """A progress line per busy platform every `progress_every` seconds, and a summary."""
        while True:
            await asyncio.sleep(self._progress_every)
            for platform, run in list(self._runs.items()):
                remaining = self._queues[platform].qsize() + self._busy[platform]
                line = run.line(remaining, self.outboxes[platform].throttled)
                if remaining:
                    log.info("daily fan-out on %s: %s", platform, line)
                else:
                    log.info("daily fan-out on %s finished: %s", platform, line)
                    del self._runs[platform]
