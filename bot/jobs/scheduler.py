"""The one scheduler of the process: a thin wrapper over APScheduler 3's AsyncIOScheduler.

Every feature puts its jobs here (the daily question's one-off posts and reveals, practice's
reminder and timeout checks) instead of running a scheduler of its own. Jobs only start work;
the work itself is owned by the feature (a dispatcher's workers, or a tracked task here that
`stop()` lets finish). Times are UTC; features compute their fire times themselves (DST-safe,
in `bot.core.daily.model`), so one-off date jobs are used instead of cron triggers.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from apscheduler.jobstores.base import JobLookupError  # type: ignore[import-untyped]
from apscheduler.schedulers.asyncio import AsyncIOScheduler  # type: ignore[import-untyped]
from apscheduler.triggers.date import DateTrigger  # type: ignore[import-untyped]
from apscheduler.triggers.interval import IntervalTrigger  # type: ignore[import-untyped]

Job = Callable[..., Awaitable[object]]


class Scheduler:
    def __init__(self, *, run_jobs: bool = True) -> None:
        """`run_jobs=False` keeps every job armed but never fired by time (tests, tools:
        `fire()` runs one now)."""
        self._scheduler = AsyncIOScheduler(
            timezone="UTC",
            job_defaults={"misfire_grace_time": None, "coalesce": True, "max_instances": 1},
        )
        self._run_jobs = run_jobs
        self._side: set[asyncio.Task[object]] = set()  # running runs of every() jobs
        self.stopping = False

    def start(self) -> None:
        self._scheduler.start(paused=not self._run_jobs)

    async def stop(self, grace: float = 10.0) -> None:
        """Fire nothing more; let recurring runs in flight finish (up to `grace` seconds)."""
        self.stopping = True
        if self._scheduler.running:
            self._scheduler.shutdown(wait=False)
        if self._side:
            await asyncio.wait(list(self._side), timeout=grace)
        for side in list(self._side):
            side.cancel()
        if self._side:
            await asyncio.gather(*self._side, return_exceptions=True)
        await asyncio.sleep(0)  # AsyncIOScheduler.shutdown runs on the next loop iteration

    def at(self, job_id: str, when: datetime, func: Job, *args: Any) -> None:
        """Run `func(*args)` once at `when` (replacing a job of the same id)."""
        self._scheduler.add_job(
            func, DateTrigger(when), args=args, id=job_id, replace_existing=True
        )

    def every(
        self, job_id: str, interval: timedelta, func: Callable[[], Awaitable[object]]
    ) -> None:
        """A recurring job: one run at a time, missed runs coalesce."""

        async def tracked() -> None:
            # Our own task, shielded: APScheduler cancels its job tasks at shutdown, which
            # would cut a reminder off after it was claimed; stop() lets it finish instead.
            if self.stopping:
                return
            task: asyncio.Task[object] = asyncio.ensure_future(func())
            self._side.add(task)
            task.add_done_callback(self._side.discard)
            await asyncio.shield(task)

        self._scheduler.add_job(
            tracked, IntervalTrigger(seconds=interval.total_seconds(), timezone="UTC"),
            id=job_id, replace_existing=True,
        )  # fmt: skip

    def remove(self, job_id: str) -> None:
        with contextlib.suppress(JobLookupError):
            self._scheduler.remove_job(job_id)

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
