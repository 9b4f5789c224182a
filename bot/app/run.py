"""Running the bot: interpreter tuning, the adapters, the scheduler, signals, a clean stop.

Platform adapters are imported only when their token is configured, so the console quiz starts
fast and small. Every adapter has `name` and `async run()`, which runs until cancelled and
raises AdapterError (one clear line) on a fatal problem; the first fatal error stops them all
and ends the run with it (exit code 1), even one raised while stopping. An adapter that
crashes or returns on its own is fatal too. SIGINT, SIGTERM and SIGHUP stop the bot cleanly.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import importlib
import logging
import os
import signal
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Mapping
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.adapters.base import Adapter, AdapterError, Services
from bot.app.bankcache import ParsedFiles
from bot.app.bootstrap import App, build
from bot.app.operations import listening, metrics_for
from bot.config import Config
from bot.core.bank.question_bank import load_bank
from bot.core.common.identity import Platform
from bot.core.delivery import Outbox
from bot.core.games import GameEngine

if TYPE_CHECKING:
    from bot.jobs.backup import Backups
    from bot.jobs.daily import DailyScheduler
    from bot.jobs.leader import Leader

log = logging.getLogger("stackprep")
STARTED = time.perf_counter()
# SQLite runs on aiosqlite's threads and hands each result back under the GIL; with Python's
# default 5 ms switch interval, a busy event loop makes every statement wait up to 5 ms for it.
# Measured (bench/foundation.py): answers at 1,000/s p99 13 ms -> 4 ms with 0.5 ms. Since a
# chunk of answers needs two statements (issue 17: its context is one JSON row), 2 ms does
# better where the writer's Python and the loop share the GIL: at 4,000 answers/s as deployed,
# three interleaved pairs, p99 39.7/33.4/72.5 ms against 75.8/45.6/79.4 ms with 0.5 ms, and
# practice's card backlog after 10 s 2,181-4,381 against 1,498-12,935; 1,000/s alike.
GIL_SWITCH_INTERVAL = 0.002
# Answers make short-lived objects by the thousand; at the default threshold (700) the young
# generation is collected hundreds of times a second under load, and each full collection
# walks every long-lived object (bank, caches) with the GIL held, stalling aiosqlite's
# threads: up to 86 ms at 4,000 answers/s. A larger young generation and a frozen start-up
# heap (gc.freeze) keep collections short. Measured in bench/foundation.py.
GC_YOUNG_THRESHOLD = 7000
# Each stops the bot cleanly: in-flight answers are written, the scheduler and adapters stop,
# the database closes. SIGHUP too: it comes when the terminal that started the bot closes.
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def tune_interpreter() -> None:
    """Process-wide settings for a busy event loop beside aiosqlite's threads."""
    sys.setswitchinterval(GIL_SWITCH_INTERVAL)
    gc.set_threshold(GC_YOUNG_THRESHOLD, *gc.get_threshold()[1:])


def freeze_startup_heap() -> None:
    """Move everything built at start-up out of the collector's way (it lives till exit)."""
    gc.collect()
    gc.freeze()


def platform_adapters(config: Config, services: Services) -> list[Adapter]:
    """The enabled platform adapters (each platform's package is imported only here)."""
    adapters: list[Adapter] = []
    if config.discord_active:
        discord = importlib.import_module("bot.adapters.discord")
        dc = config.discord
        adapters.append(
            discord.create_adapter(
                dc.token, services, shard_count=dc.shard_count, shard_ids=dc.shard_ids
            )
        )
    if config.telegram_active:
        telegram = importlib.import_module("bot.adapters.telegram")
        tg, webhook = config.telegram, None
        if tg.mode == "webhook" and tg.listen and tg.public_url and tg.webhook_secret:
            webhook = telegram.Webhook(
                *tg.listen, tg.public_url, tg.webhook_secret, tg.delete_webhook_at_stop
            )  # the config requires all three in webhook mode
        adapters.append(
            telegram.create_adapter(
                tg.token, services, api_base_url=tg.api_base_url, webhook=webhook
            )
        )
    return adapters


async def run_jobs(app: App, adapters: list[Adapter], ready_timeout: float) -> None:
    """The scheduler over the outboxes of the running adapters, until cancelled: the daily
    question's posts and reveals, practice's reminder and timeout jobs, the group games
    (GameEngine, over the same paced outboxes; running ones resumed) and the scheduled
    backups of the database ([database] backup_every).

    With PostgreSQL (several processes, one database) only the elected leader runs them
    (bot/jobs/leader.py); the others serve commands and answers, and one of them takes over
    when the leader goes. With SQLite the one process always leads."""
    outboxes: list[Outbox] = [o for a in adapters if (o := getattr(a, "outbox", None))]
    backups = scheduled_backups(app)
    if not outboxes and backups is None:
        return
    from bot.jobs.pacing import pace
    from bot.jobs.scheduler import Scheduler

    if not outboxes:  # nothing to post: the backups alone
        scheduler = Scheduler()
        if backups is not None:
            backups.schedule(scheduler)
        scheduler.start()
        try:
            await asyncio.Event().wait()
        finally:
            await scheduler.stop()
    waits = [
        e.wait() for a in adapters if isinstance(e := getattr(a, "ready", None), asyncio.Event)
    ]
    if waits:  # posting before a client has logged in would only fail and be retried
        try:
            async with asyncio.timeout(ready_timeout):
                await asyncio.gather(*waits)
        except TimeoutError:
            log.warning("daily: starting the scheduler before every platform is ready")
    paced = pace(outboxes)
    leader = leader_of(app)
    if leader is None:
        await _lead(app, paced, backups)
    else:
        await leader.run(lambda: _lead(app, paced, backups, leader))


def leader_of(app: App) -> Leader | None:
    """The election among the processes sharing a PostgreSQL database; None with SQLite."""
    url = app.config.database.url
    if url is None:
        return None
    from bot.jobs.leader import Leader
    from bot.storage.postgres import PgDatabase
    from bot.storage.postgres.database import LEADER_SPACE

    if not isinstance(app.database, PgDatabase):
        return None
    return Leader(url.reveal(), space=LEADER_SPACE)


SHARED_WATCH = 1.0  # seconds: how often a leader looks for games other processes started
SHARED_REFRESH = timedelta(seconds=10)  # ... and for /daily changes made on them


async def _lead(
    app: App,
    paced: Mapping[Platform, Outbox],
    backups: Backups | None,
    leader: Leader | None = None,
) -> None:
    """The leader's work until cancelled: the scheduler, the daily question's jobs,
    practice's, the games. With `leader` (PostgreSQL) also what other processes change:
    the games they start or stop, their /daily changes; and a step-down stops it at once."""
    from bot.jobs import practice as practice_jobs
    from bot.jobs.daily import DailyScheduler
    from bot.jobs.scheduler import Scheduler

    scheduler = Scheduler()
    if backups is not None:
        backups.schedule(scheduler)
    daily = DailyScheduler(app.daily, paced.values(), scheduler=scheduler, metrics=app.metrics)
    games = GameEngine(app.games, paced)  # games post through the same paced outboxes
    scheduler.start()
    try:  # practice's jobs, games and the backups run whatever happens to the daily question
        practice_jobs.schedule(scheduler, app.practice, paced, app.clock)
        await _start_games(games, watch=SHARED_WATCH if leader else None)
        await _start_daily(daily)
        if leader is not None:
            scheduler.every("daily:refresh", SHARED_REFRESH, _refresher(daily))
        await asyncio.Event().wait()
    finally:  # the scheduler stops firing first; both let work in flight finish together
        grace = leader.grace(10.0) if leader else 10.0
        await asyncio.gather(scheduler.stop(grace), daily.stop(grace), games.stop(min(grace, 5.0)))


def _refresher(daily: DailyScheduler) -> Callable[[], Awaitable[None]]:
    """daily.refresh as a job: a failure is said once, until it works again."""
    failing = False

    async def refresh() -> None:
        nonlocal failing
        try:
            await daily.refresh()
        except Exception as exc:
            if not failing:
                log.warning("daily: cannot read /daily changes made on other processes (%s)", exc)
            failing = True
        else:
            failing = False

    return refresh


async def _start_games(games: GameEngine, watch: float | None = None) -> None:
    """Play new games from now on and resume the running ones (and with `watch`, those
    other processes start); if the running ones cannot be read now (e.g. the database is
    busy), new games still play and the log says so."""
    try:
        await games.start(watch=watch)
    except Exception as exc:
        log.error("games: running games could not be resumed (%s); new games still play", exc)


DAILY_START_RETRY = (5.0, 300.0)  # seconds: the first and the longest wait between attempts


async def _start_daily(daily: DailyScheduler) -> None:
    """Start the daily question's jobs, retrying with backoff while it fails (e.g. the
    database is busy at start); the quiz itself keeps serving meanwhile."""
    delay, longest = DAILY_START_RETRY
    first = True
    while True:
        try:
            await daily.start()
            if not first:
                log.info("daily: the scheduler started")
            return
        except Exception as exc:
            log.error(
                "daily: the scheduler could not start (%s); no daily questions until it "
                "does; trying again in %.0f s", exc, delay, exc_info=first,
            )  # fmt: skip
        first = False
        await asyncio.sleep(delay)
        delay = min(delay * 2, longest)


COMMUNITY_REFRESH = 10.0  # seconds: how often each process reloads what others changed


@contextlib.asynccontextmanager
async def following_communities(app: App, every: float = COMMUNITY_REFRESH) -> AsyncIterator[None]:
    """With PostgreSQL (several processes, one database), every process, leader or not,
    follows the community questions the others import, remove or approve: a task runs
    CommunityService.refresh every `every` seconds while this is entered."""
    if app.config.database.url is None:
        yield
        return
    from bot.storage.postgres import PgDatabase

    if not isinstance(app.database, PgDatabase):
        yield
        return
    task = asyncio.create_task(refresh_communities(app, every), name="communities")
    try:
        yield
    finally:
        task.cancel()
        await asyncio.wait({task})


async def refresh_communities(app: App, every: float) -> None:
    """app.community.refresh every `every` seconds until cancelled; a failure (e.g. the
    database is unreachable) is said once, until it works again."""
    failing = False
    while True:
        await asyncio.sleep(every)
        try:
            await app.community.refresh()
        except Exception as exc:
            if not failing:
                log.warning(
                    "communities: cannot read the questions other processes changed (%s); "
                    "trying again every %.0f s", exc, every,
                )  # fmt: skip
            failing = True
        else:
            if failing:
                log.info("communities: reading other processes' changes again")
            failing = False


def scheduled_backups(app: App) -> Backups | None:
    """The database's scheduled backups into backups/ beside it, or None (backup_every is
    off, or no SQLite: PostgreSQL is backed up with its own tools, pg_dump and the like). The
    console quiz has none: it runs as long as someone types."""
    every = app.config.database.backup_every
    if app.database is None or every is None:
        return None
    from bot.storage.sqlite import Database

    if not isinstance(app.database, Database):
        return None
    from bot.jobs.backup import Backups
    from bot.storage.sqlite.backup import BackupError, backup_into, backups_in, taken_at
    from bot.storage.sqlite.database import backups_of

    source, folder = app.database.path, backups_of(app.database.path)
    keep = app.config.database.backup_keep

    def newest() -> datetime | None:
        return max(filter(None, map(taken_at, backups_in(folder))), default=None)

    async def take(now: datetime) -> Path:
        return await backup_into(source, folder, keep=keep, now=now)

    return Backups(take, newest, every=every, clock=app.clock, expected=(BackupError,))


async def run(config: Config, *, console: bool = False) -> int:
    """Run the bot until its adapters finish or SIGINT/SIGTERM; return the exit code."""
    tune_interpreter()
    parsed = ParsedFiles(config.database.path.parent / "bank-cache.json")
    app = build(
        config, bank=load_bank(config.quiz.questions_dir, parsed.loads),
        metrics=metrics_for(config),
    )  # fmt: skip
    parsed.save()
    # /healthz, /metrics when configured; with PostgreSQL, other processes' community changes
    async with listening(config, app) as ops, app, following_communities(app):
        freeze_startup_heap()
        if console or not (config.discord_active or config.telegram_active):
            from bot.adapters import console as console_adapter

            log.debug("ready in %.0f ms", (time.perf_counter() - STARTED) * 1000)
            adapter = console_adapter.create_adapter(
                app.services, files_dir=config.database.path.parent
            )
            return await _until_signal(adapter.run())
        adapters = platform_adapters(config, app.services)
        ops.watch(adapters)
        log.info(
            "serving %s with %d questions in %d topics",
            " and ".join(a.name for a in adapters), len(app.bank), len(app.bank.topics()),
        )  # fmt: skip
        return await _until_signal(_run_all(adapters, run_jobs(app, adapters, 60.0)))


async def sync_discord(config: Config, guild_id: int | None) -> list[str]:
    """`stackprep discord sync`: register the commands (no database needed)."""
    discord = importlib.import_module("bot.adapters.discord")
    app = build(config, storage="memory")
    names: list[str] = await discord.create_adapter(config.discord.token, app.services).sync(
        guild_id
    )
    return names


async def _run_all(
    adapters: list[Adapter], scheduler: Coroutine[Any, Any, None] | None = None
) -> int:
    """Run every adapter (and the scheduler); the first fatal AdapterError stops them all and
    is re-raised.

    On the way out (cancelled, or the adapters ended) the scheduler stops first, while the
    adapters' clients are still open, so the posts it has in flight can finish and be
    recorded as delivered; only then are the adapters stopped."""

    async def serve() -> None:
        async with asyncio.TaskGroup() as group:
            for adapter in adapters:
                group.create_task(_serve(adapter), name=adapter.name)

    serving = asyncio.create_task(serve(), name="adapters")
    jobs = asyncio.create_task(scheduler, name="scheduler") if scheduler else None
    try:  # wait() never cancels what it waits for
        if jobs is not None:
            await asyncio.wait({serving, jobs}, return_when=asyncio.FIRST_COMPLETED)
            _report_scheduler(jobs)  # a scheduler that failed is logged now, not at the stop
        await asyncio.wait({serving})
    finally:
        if jobs is not None and not jobs.done():
            jobs.cancel()
            await asyncio.wait({jobs})
            _report_scheduler(jobs)
        serving.cancel()
        await asyncio.wait({serving})
        error = _outcome(serving)  # retrieved on every path, a cancellation included
        if error is not None:  # even while stopping on a signal: it still ends with exit 1
            raise error
    return 0


async def _serve(adapter: Adapter) -> None:
    """One adapter until cancelled. It may end only with an AdapterError: an adapter that
    crashes, or stops serving on its own, is made one (the process must not stay up serving
    nothing; a supervisor restarts it)."""
    try:
        await adapter.run()
    except (AdapterError, asyncio.CancelledError):
        raise
    except Exception as exc:
        log.error("%s: stopped by an unexpected error", adapter.name, exc_info=exc)
        raise AdapterError(
            f"{adapter.name} stopped after an unexpected error ({type(exc).__name__}); "
            "the log above has the details"
        ) from None
    raise AdapterError(f"{adapter.name} stopped serving on its own; see the log above")


def _outcome(task: asyncio.Task[None]) -> BaseException | None:
    """What a finished task of adapters ended with: its first AdapterError, else its error."""
    if task.cancelled():
        return None
    error = task.exception()
    if isinstance(error, BaseExceptionGroup):
        fatal, _ = error.split(AdapterError)
        if fatal is not None:
            return _first(fatal)
    return error


def _first(group: BaseExceptionGroup[BaseException]) -> BaseException:
    first = group.exceptions[0]
    return _first(first) if isinstance(first, BaseExceptionGroup) else first


def _report_scheduler(jobs: asyncio.Task[None]) -> None:
    if jobs.done() and not jobs.cancelled() and (error := jobs.exception()) is not None:
        log.error("daily: the scheduler failed; no daily questions until a restart", exc_info=error)


async def _until_signal(work: Awaitable[int]) -> int:
    """Run `work`; on SIGINT, SIGTERM or SIGHUP (the terminal closed) cancel it cleanly and
    return 0. An AdapterError raised while stopping still propagates (exit code 1). A second
    signal while stopping ends the process at once (exit 130): the way out of a stuck stop,
    still short of kill -9; what was acknowledged is in the database already."""
    loop = asyncio.get_running_loop()
    received: list[signal.Signals] = []

    def on_signal(sig: signal.Signals) -> None:
        received.append(sig)
        if len(received) > 1:
            log.error("stopping at once on a second %s: in-flight work is abandoned", sig.name)
            logging.shutdown()
            os._exit(130)
        stop.set()

    stop = asyncio.Event()
    for sig in STOP_SIGNALS:
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, on_signal, sig)
    task = asyncio.ensure_future(work)
    stopper = asyncio.create_task(stop.wait())
    try:
        await asyncio.wait({task, stopper}, return_when=asyncio.FIRST_COMPLETED)
        if not task.done():
            log.info("stopping on %s: finishing in-flight work", received[0].name)
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            return 0
        return task.result()
    finally:
        stopper.cancel()
        if not task.done():  # we were cancelled ourselves: stop the work all the same
            task.cancel()
            await asyncio.wait({task})
            if not task.cancelled() and (error := task.exception()) is not None:
                raise error
        for sig in STOP_SIGNALS:
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.remove_signal_handler(sig)
