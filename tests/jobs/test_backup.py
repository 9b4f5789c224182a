"""The scheduled backups (bot/jobs/backup.py) over a real database file, and how the run loop
puts them on the scheduler (bot/app/run.py)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest

from bot.app.bootstrap import App
from bot.app.run import run_jobs, scheduled_backups
from bot.jobs.backup import FIRST_JOB, JOB, Backups
from bot.jobs.scheduler import Scheduler
from bot.storage.sqlite.backup import BackupError, backups_in, taken_at
from tests.fakes.app import make_app, make_config
from tests.fakes.clock import FixedClock


@pytest.fixture
async def app(tmp_path: Path, clock: FixedClock) -> AsyncIterator[App]:
    async with make_app(tmp_path, clock=clock) as opened:
        yield opened


def _folder(app: App) -> Path:
    assert app.database is not None
    return app.database.path.parent / "backups"


async def test_a_backup_is_taken_when_due_and_only_the_newest_are_kept(
    app: App, clock: FixedClock, caplog: pytest.LogCaptureFixture
) -> None:
    app.config = replace(app.config, database=replace(app.config.database, backup_keep=2))
    backups = scheduled_backups(app)
    assert backups is not None and backups.every == timedelta(hours=24)
    caplog.set_level(logging.INFO)
    first = await backups.run_if_due()
    assert first is not None and taken_at(first) == clock.now()
    assert "the database was backed up to" in caplog.text
    clock.advance(hours=23)
    assert await backups.run_if_due() is None  # not due yet: a restart adds no backup
    made = []
    for _ in range(3):
        clock.advance(hours=24)
        made.append(await backups.run_if_due())
    assert backups_in(_folder(app)) == made[1:]


async def test_a_failed_backup_is_one_error_line_and_tried_again(
    tmp_path: Path, clock: FixedClock, caplog: pytest.LogCaptureFixture
) -> None:
    attempts: list[object] = []

    async def take(now: object) -> Path:
        attempts.append(now)
        raise BackupError("Not enough free space for a backup in /x")

    backups = Backups(take, lambda: None, every=timedelta(hours=24), clock=clock,
                      expected=(BackupError,))  # fmt: skip
    assert await backups.run_if_due() is None
    assert await backups.run_if_due() is None  # still due: the next check tries again
    assert len(attempts) == 2
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 2 and errors[0].exc_info is None
    assert "Not enough free space" in errors[0].getMessage()


async def test_the_checks_are_on_the_scheduler(app: App, clock: FixedClock) -> None:
    backups = scheduled_backups(app)
    assert backups is not None
    scheduler = Scheduler(run_jobs=False)
    backups.schedule(scheduler)
    scheduler.start()
    try:
        jobs = scheduler.jobs()
        assert set(jobs) >= {JOB, FIRST_JOB}
        await scheduler.fire(FIRST_JOB)
        assert [taken_at(p) for p in backups_in(_folder(app))] == [clock.now()]
    finally:
        await scheduler.stop()


async def test_backups_are_off_when_configured_so_or_without_sqlite(
    tmp_path: Path, clock: FixedClock
) -> None:
    app = make_app(tmp_path, clock=clock)
    app.config = replace(app.config, database=replace(app.config.database, backup_every=None))
    assert scheduled_backups(app) is None
    memory = make_app(tmp_path, storage="memory", clock=clock)
    assert scheduled_backups(memory) is None
    assert make_config(tmp_path).database.backup_every == timedelta(hours=24)  # on by default


async def test_the_scheduler_runs_for_backups_even_without_outboxes(app: App) -> None:
    jobs = asyncio.create_task(run_jobs(app, [], ready_timeout=0.1))
    await asyncio.sleep(0.05)
    assert not jobs.done()  # it used to return at once when nothing had an outbox
    jobs.cancel()
    with pytest.raises(asyncio.CancelledError):
        await jobs
