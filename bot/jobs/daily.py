"""The daily question's jobs: one-off posts and reveals on the shared scheduler.

The database is the truth: at start the jobs are rebuilt from the active subscriptions, today's
posts that are due but not delivered are caught up (while their answer window is open), and the
reveals of open rounds are scheduled. Each job only queues work; the dispatcher's workers do it
through the paced outboxes (bot/jobs/pacing.py). Fire times come from `bot.core.daily.model`
(DST-tested), so each post is a one-off date job, re-armed for the next local day when it fires.
Exactly once comes from the core's claims and deliveries (bot/core/daily/service.py), not from
here: a job that fires twice, or a restart, never posts twice.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, timedelta

from bot.core.common.identity import Platform
from bot.core.common.metrics import NO_METRICS, Metrics
from bot.core.daily.model import Subscription, due_post, next_fire
from bot.core.daily.service import DailyService, Outcome, RunResult
from bot.core.delivery import Outbox
from bot.jobs.dispatch import Dispatcher, Work
from bot.jobs.pacing import LIMITS, PacedOutbox, PlatformLimits, pace
from bot.jobs.scheduler import Scheduler

log = logging.getLogger(__name__)

REVEAL_GRACE = timedelta(hours=12)  # a reveal missed by more than this is dropped
_SAME_INSTANT = timedelta(milliseconds=1)  # a job's armed time went through a float


class DailyScheduler:
    def __init__(
        self,
        daily: DailyService,
        outboxes: Iterable[Outbox],
        *,
        scheduler: Scheduler | None = None,
        limits: Mapping[Platform, PlatformLimits] = LIMITS,
        workers: int = 8,
        progress_every: float = 10.0,
        retry_delays: tuple[float, ...] = (30.0, 120.0, 600.0),
        run_jobs: bool = True,
        metrics: Metrics = NO_METRICS,
    ) -> None:
        """Posts through `outboxes` (paced here unless they are already); on `scheduler`,
        shared with other features, or one of its own (started and stopped with this)."""
        self.daily = daily
        self.outboxes: dict[Platform, PacedOutbox] = pace(outboxes, limits)
        self._own_scheduler = scheduler is None
        self.scheduler = scheduler or Scheduler(run_jobs=run_jobs)
        self.dispatcher = Dispatcher(
            self._do, self.outboxes, workers=workers, progress_every=progress_every,
            throttled=lambda platform: self.outboxes[platform].throttled, metrics=metrics,
        )  # fmt: skip
        self._retry_delays = retry_delays
        self._retries: dict[tuple[int, date | None], int] = {}
        self._subs: dict[int, Subscription] = {}
        self._stopping = False

    # -- lifecycle ----------------------------------------------------------------------------

    async def start(self) -> None:
        """Recover from a crash, rebuild the jobs from the database, catch up what is due."""
        recovered = await self.daily.store.recover()
        if recovered:
            log.warning("daily: %d posts were cut off by a restart; resending them", recovered)
        self.dispatcher.start()
        if self._own_scheduler:
            self.scheduler.start()
        self.daily.on_change(self.reschedule)
        await self.rebuild()

    async def stop(self, grace: float = 10.0) -> None:
        """Stop taking work, let posts in flight finish (up to `grace` seconds), then stop."""
        self._stopping = True
        if self._own_scheduler:  # the scheduler stops firing first, then both wait together
            await asyncio.gather(self.scheduler.stop(grace), self.dispatcher.stop(grace))
        else:
            await self.dispatcher.stop(grace)
        self.daily.off_change(self.reschedule)  # a leader's every term starts a new one

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

    async def refresh(self) -> int:
        """Follow changes made by other processes sharing the database (PostgreSQL: /daily
        set lands on any process, only the leader schedules): re-arm every subscription that
        is new or changed since it was armed here, drop those turned off or gone. Returns
        how many changed. A process's own changes are followed at once (`reschedule`)."""
        changed, seen = 0, set()
        for sub in await self.daily.store.subscriptions():
            if sub.chat.platform not in self.outboxes:
                continue
            seen.add(sub.id)
            if self._subs.get(sub.id) != sub:
                self.reschedule(sub)
                changed += 1
        for sub_id in set(self._subs) - seen:
            self._subs.pop(sub_id, None)
            self.scheduler.remove(f"post:{sub_id}")
            changed += 1
        return changed

    def jobs(self) -> dict[str, datetime]:
        return self.scheduler.jobs()

    async def fire(self, job_id: str) -> None:
        await self.scheduler.fire(job_id)

    async def wait_idle(self) -> None:
        """Until every queued post and reveal is done (tests, benchmarks)."""
        await self.dispatcher.wait_idle()

    # -- jobs ---------------------------------------------------------------------------------

    def reschedule(self, sub: Subscription) -> None:
        """A subscription changed: re-arm (or drop) its post job."""
        if self._stopping:
            return
        if sub.active and sub.chat.platform in self.outboxes:
            self._arm(sub, self.daily.clock.now())
        else:
            self._subs.pop(sub.id, None)
            self.scheduler.remove(f"post:{sub.id}")

    def _arm(self, sub: Subscription, after: datetime) -> None:
        self._subs[sub.id] = sub
        day, at = next_fire(sub, after)
        self.scheduler.at(f"post:{sub.id}", at, self._fire_post, sub.id, day.isoformat(),
                          at.timestamp())  # fmt: skip

    def _arm_reveal(self, claim_id: int, platform: Platform, at: datetime) -> None:
        self.scheduler.at(f"reveal:{claim_id}", at, self._fire_reveal, claim_id, platform.value)

    async def _fire_post(self, sub_id: int, day: str, at: float) -> None:
        sub = self._subs.get(sub_id)
        if sub is None:
            return
        self._enqueue(Work("post", sub.chat.platform, sub_id, date.fromisoformat(day), at))
        self._arm(sub, datetime.fromtimestamp(at, UTC))

    async def _fire_reveal(self, claim_id: int, platform: str) -> None:
        self._enqueue(Work("reveal", Platform(platform), claim_id))

    async def _fire_retry(self, sub_id: int, platform: str, day: str) -> None:
        self._enqueue(Work("post", Platform(platform), sub_id, date.fromisoformat(day)))

    # -- work ---------------------------------------------------------------------------------

    def _enqueue(self, work: Work) -> int:
        if self._stopping:
            return 0
        return self.dispatcher.enqueue(work)

    async def _do(self, work: Work) -> RunResult | None:
        outbox = self.outboxes[work.platform]
        if work.kind == "reveal":
            claim = await self.daily.store.get_claim(work.ref)
            return await self.daily.run_reveal(claim, outbox) if claim else None
        sub = await self.daily.store.subscription(work.ref)
        if sub is None or work.day is None:
            if sub is None:
                self._subs.pop(work.ref, None)
                self.scheduler.remove(f"post:{work.ref}")
            return None
        if work.at is not None and not _fires_at(sub, work.day, work.at):
            # changed on another process since this job was armed (a new time or zone,
            # or turned off), before refresh() saw it: not now; re-armed from the store
            log.info("daily: %s's post at %s skipped: its /daily setting changed meanwhile",
                     sub.chat.key, datetime.fromtimestamp(work.at, UTC))  # fmt: skip
            self.reschedule(sub)
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
        self.scheduler.at(
            f"retry:{sub.id}:{day.isoformat()}", at, self._fire_retry,
            sub.id, sub.chat.platform.value, day.isoformat(),
        )  # fmt: skip


def _fires_at(sub: Subscription, day: date, at: float) -> bool:
    """Whether the stored `sub` still posts for local `day` at the instant `at` (a job armed
    from an older copy of it may fire after another process changed it)."""
    if not sub.active:
        return False
    armed = datetime.fromtimestamp(at, UTC)
    fires_day, fires_at = next_fire(sub, armed - _SAME_INSTANT)
    return fires_day == day and abs(fires_at - armed) < _SAME_INSTANT
