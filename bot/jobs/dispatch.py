"""Dispatch: the work jobs start, done by a few workers per platform, each key queued once.

A job only enqueues (a post of a subscription for a date, a reveal of a claim); workers take
the platform's queue and run the handler, so a slow platform never holds up another and a
fan-out to hundreds of channels runs at the pace the platform allows. A progress line per busy
platform is logged every `progress_every` seconds, and a summary when its queue empties.
"""

from __future__ import annotations

import asyncio
import logging
import time as _time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import date

from bot.core.common.identity import Platform
from bot.core.common.metrics import NO_METRICS, Metrics
from bot.core.daily.service import Outcome, RunResult

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Work:
    kind: str  # "post" or "reveal"
    platform: Platform
    ref: int  # subscription id (post) or claim id (reveal)
    day: date | None = None
    at: float | None = None  # a fired post job: the instant (epoch seconds) it was armed for

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


Handler = Callable[[Work], Awaitable[RunResult | None]]


class Dispatcher:
    def __init__(
        self,
        handle: Handler,
        platforms: Iterable[Platform],
        *,
        throttled: Callable[[Platform], int],
        workers: int = 8,
        progress_every: float = 10.0,
        metrics: Metrics = NO_METRICS,
    ) -> None:
        """`handle` does one piece of work; `throttled(platform)` counts its 429s so far;
        `metrics` hears each outcome and how much is left (bot.ops when enabled)."""
        self._handle = handle
        self._platforms = tuple(platforms)
        self._throttled = throttled
        self._workers_per_platform = workers
        self._progress_every = progress_every
        self._queues: dict[Platform, asyncio.Queue[Work]] = {}
        self._queued: set[tuple[str, int, date | None]] = set()
        self._busy: dict[Platform, int] = {}
        self._runs: dict[Platform, RunStats] = {}
        self._workers: list[asyncio.Task[None]] = []
        self._reporter: asyncio.Task[None] | None = None
        self._stopping = False
        self._metrics = metrics

    def start(self) -> None:
        for platform in self._platforms:
            self._queues[platform] = asyncio.Queue()
            self._busy[platform] = 0
            for n in range(self._workers_per_platform):
                self._workers.append(
                    asyncio.create_task(self._worker(platform), name=f"daily-{platform}-{n}")
                )
        self._reporter = asyncio.create_task(self._report(), name="daily-progress")

    async def stop(self, grace: float = 10.0) -> None:
        """Drop what is queued, let work in flight finish (up to `grace` seconds), then stop."""
        self._stopping = True
        for platform, queue in self._queues.items():
            while not queue.empty():
                self._queued.discard(queue.get_nowait().key)
                queue.task_done()
            for _ in range(self._workers_per_platform):
                queue.put_nowait(Work("stop", platform, 0))
        if self._workers:
            await asyncio.wait(self._workers, timeout=grace)
        tasks = [*self._workers, *([self._reporter] if self._reporter else [])]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._workers.clear()
        self._reporter = None

    def enqueue(self, work: Work) -> int:
        """Queue `work` unless the same is queued or running; 1 if queued, else 0."""
        if self._stopping or work.key in self._queued or work.platform not in self._queues:
            return 0
        self._queued.add(work.key)
        self._runs.setdefault(work.platform, RunStats())
        self._queues[work.platform].put_nowait(work)
        self._left(work.platform)
        return 1

    def _left(self, platform: Platform) -> None:
        """Report how much is queued or in flight on `platform`."""
        left = self._queues[platform].qsize() + self._busy[platform]
        self._metrics.fanout_remaining(platform.value, left)

    async def wait_idle(self) -> None:
        """Until every queued piece of work is done (tests, benchmarks)."""
        for queue in self._queues.values():
            await queue.join()

    async def _worker(self, platform: Platform) -> None:
        queue = self._queues[platform]
        while True:
            work = await queue.get()
            if work.kind == "stop":
                queue.task_done()
                return
            self._busy[platform] += 1
            try:
                result = await self._handle(work)
                if result is not None:
                    self._runs.setdefault(platform, RunStats()).add(result.outcome)
                    self._metrics.delivered(platform.value, result.outcome.value)
            except Exception:
                log.exception("daily: %s %d failed", work.kind, work.ref)
            finally:
                self._busy[platform] -= 1
                self._queued.discard(work.key)
                queue.task_done()
                self._left(platform)

    async def _report(self) -> None:
        """A progress line per busy platform every `progress_every` seconds, and a summary."""
        while True:
            await asyncio.sleep(self._progress_every)
            for platform, run in list(self._runs.items()):
                remaining = self._queues[platform].qsize() + self._busy[platform]
                line = run.line(remaining, self._throttled(platform))
                if remaining:
                    log.info("daily fan-out on %s: %s", platform, line)
                else:
                    log.info("daily fan-out on %s finished: %s", platform, line)
                    del self._runs[platform]
