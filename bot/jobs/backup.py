"""Scheduled backups on the shared scheduler: every `[database] backup_every` (24 h by
default), an online backup of the database into `backups/` beside it, checked with
`PRAGMA integrity_check`, keeping the newest `[database] backup_keep` (7).

The job looks every CHECK_EVERY (and once FIRST_CHECK after the start) at when the newest
backup in the folder was taken, and takes one when it is `every` old: so a bot that restarts
more often than `every` still backs up on time, and a restart does not add a backup. The
copying itself is storage's (bot/storage/sqlite/backup.py; bot/app/run.py hands it in as
`take`): it runs on SQLite's threads and does not hold up answers. A failed backup is logged as
an error and tried again at the next check.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from pathlib import Path

from bot.core.common.clock import Clock
from bot.jobs.scheduler import Scheduler

log = logging.getLogger(__name__)

JOB = "database:backup"
FIRST_JOB = "database:backup-at-start"
CHECK_EVERY = timedelta(minutes=10)
FIRST_CHECK = timedelta(minutes=1)  # after the start: the bot is serving by then
SLACK = timedelta(minutes=1)  # a backup this close to due counts as due (checks drift)


class Backups:
    """`take(now)` makes a backup and returns its path; `newest()` says when the newest one
    was taken (None: none yet). Errors of an `expected` type are logged as one line (they say
    what to do); anything else with its traceback."""

    def __init__(
        self,
        take: Callable[[datetime], Awaitable[Path]],
        newest: Callable[[], datetime | None],
        *,
        every: timedelta,
        clock: Clock,
        expected: tuple[type[Exception], ...] = (),
    ) -> None:
        self.take = take
        self.newest = newest
        self.every = every
        self.clock = clock
        self.expected = expected
        self._running = asyncio.Lock()

    def schedule(self, scheduler: Scheduler) -> None:
        """Put the checks on the process's scheduler."""
        scheduler.every(JOB, min(self.every, CHECK_EVERY), self.run_if_due)
        scheduler.at(FIRST_JOB, self.clock.now() + FIRST_CHECK, self.run_if_due)

    async def run_if_due(self) -> Path | None:
        """Take a backup if the newest is `every` old (or there is none); its path, else None."""
        async with self._running:
            now = self.clock.now()
            newest = await asyncio.to_thread(self.newest)
            if newest is not None and now - newest < self.every - SLACK:
                return None
            started = time.perf_counter()
            try:
                path = await self.take(now)
            except self.expected as exc:
                log.error("backup: the scheduled backup failed: %s", exc)
                return None
            except Exception:
                log.exception("backup: the scheduled backup failed")
                return None
            log.info(
                "backup: the database was backed up to %s in %.1f s (checked)",
                path, time.perf_counter() - started,
            )  # fmt: skip
            return path
