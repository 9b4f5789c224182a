"""Practice jobs on the shared scheduler: `/remind` reminders, mock interview offers, polite
session timeouts and the reports of mock interviews whose time ran out.

Both run every minute on the process's one scheduler (`Scheduler.every`) and post through the
paced outboxes the daily question uses too, so a burst of reminders stays within each
platform's budget. Reminders are claimed in the database before they are sent: at most one
per person and local day, even across restarts (a send that fails is logged, not retried);
a plan's mock offer likewise once per plan date. Each kind of note has its own nonce (kind,
chat and day), so an offer and a reminder sent in the same minute are both delivered.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping, Sequence
from datetime import timedelta

from bot.core.common.clock import Clock
from bot.core.common.identity import ChatRef, Platform
from bot.core.common.replies import Reply
from bot.core.delivery import ChatGone, DeliveryFailed, Outbox
from bot.core.practice.service import PracticeService
from bot.jobs.scheduler import Scheduler

log = logging.getLogger(__name__)

REMINDER_JOB = "practice:reminders"
TIMEOUT_JOB = "practice:timeouts"
CHECK_EVERY = timedelta(minutes=1)


class PracticeJobs:
    def __init__(
        self, practice: PracticeService, outboxes: Mapping[Platform, Outbox], clock: Clock
    ) -> None:
        self.practice = practice
        self.outboxes = outboxes
        self.clock = clock

    async def remind(self) -> int:
        """Send today's due reminders; returns how many were delivered."""
        notes = await self.practice.due_reminders(platforms=set(self.outboxes))
        sent = await self._deliver("remind", notes)
        offers = await self.practice.mock.offers(platforms=set(self.outboxes))
        return sent + await self._deliver("mock-offer", offers)

    async def expire(self) -> int:
        """End mocks whose time is up (their reports) and idle sessions (a note); returns how
        many notes were delivered. Mocks first: an idle mock is also past its deadline."""
        reports = await self.practice.mock.time_up(platforms=set(self.outboxes))
        sent = await self._deliver("mock-report", reports)
        notes = await self.practice.expire_idle(platforms=set(self.outboxes))
        return sent + await self._deliver("timeout", notes)

    async def _deliver(self, kind: str, notes: Sequence[tuple[ChatRef, Reply]]) -> int:
        sent = 0
        day = self.clock.now().date().isoformat()
        for chat, reply in notes:
            outbox = self.outboxes[chat.platform]
            # stable per chat, kind and day (Discord's nonce is at most 25 characters)
            nonce = hashlib.sha256(f"{kind}:{chat.key}:{day}".encode()).hexdigest()[:24]
            try:
                await outbox.post(chat, reply, nonce=nonce)
                sent += 1
            except ChatGone as exc:
                log.info("practice: cannot reach %s for a %s note (%s)", chat.key, kind, exc.reason)
            except DeliveryFailed as exc:
                log.warning("practice: %s note to %s failed: %s", kind, chat.key, exc.reason)
            except Exception:  # one bad note never costs the others theirs
                log.exception("practice: %s note to %s failed", kind, chat.key)
        return sent


def schedule(
    scheduler: Scheduler,
    practice: PracticeService,
    outboxes: Mapping[Platform, Outbox],
    clock: Clock,
    every: timedelta = CHECK_EVERY,
) -> PracticeJobs:
    """Add the reminder and timeout jobs to the scheduler (`outboxes`: the paced ones)."""
    jobs = PracticeJobs(practice, outboxes, clock)
    scheduler.every(REMINDER_JOB, every, jobs.remind)
    scheduler.every(TIMEOUT_JOB, every, jobs.expire)
    return jobs
