"""Running the bot: interpreter tuning, the adapters, the scheduler, signals, a clean stop.

Platform adapters are imported only when their token is configured, so the console quiz starts
fast and small. Every adapter has `name` and `async run()`, which runs until cancelled and
raises AdapterError (one clear line) on a fatal problem; the first fatal error stops them all.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import importlib
import logging
import signal
import sys
import time
from collections.abc import Awaitable, Coroutine
from typing import Any

from bot.adapters.base import Adapter, AdapterError, Services
from bot.app.bootstrap import App, build
from bot.config import Config
from bot.core.delivery import Outbox

log = logging.getLogger("stackprep")
STARTED = time.perf_counter()
# SQLite runs on aiosqlite's threads and hands each result back under the GIL; with Python's
# default 5 ms switch interval, a busy event loop makes every statement wait up to 5 ms for it.
# Measured (bench/foundation.py): answers at 1,000/s p99 13 ms -> 4 ms.
GIL_SWITCH_INTERVAL = 0.0005
# Answers make short-lived objects by the thousand; at the default threshold (700) the young
# generation is collected hundreds of times a second under load, and each full collection
# walks every long-lived object (bank, caches) with the GIL held, stalling aiosqlite's
# threads: up to 86 ms at 4,000 answers/s. A larger young generation and a frozen start-up
# heap (gc.freeze) keep collections short. Measured in bench/foundation.py.
GC_YOUNG_THRESHOLD = 7000


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
        adapters.append(discord.create_adapter(config.discord.token, services))
    if config.telegram_active:
        telegram = importlib.import_module("bot.adapters.telegram")
        adapters.append(
            telegram.create_adapter(
                config.telegram.token, services, api_base_url=config.telegram.api_base_url
            )
        )
    return adapters


async def run_jobs(app: App, adapters: list[Adapter], ready_timeout: float) -> None:
    """The scheduler over the outboxes of the running adapters, until cancelled: the daily
    question's posts and reveals, and practice's reminder and timeout jobs."""
    outboxes: list[Outbox] = [o for a in adapters if (o := getattr(a, "outbox", None))]
    if not outboxes:
        return
    from bot.jobs import practice as practice_jobs
    from bot.jobs.daily import DailyScheduler
    from bot.jobs.pacing import pace
    from bot.jobs.scheduler import Scheduler

    waits = [
        e.wait() for a in adapters if isinstance(e := getattr(a, "ready", None), asyncio.Event)
    ]
    if waits:  # posting before a client has logged in would only fail and be retried
        try:
            async with asyncio.timeout(ready_timeout):
                await asyncio.gather(*waits)
        except TimeoutError:
            log.warning("daily: starting the scheduler before every platform is ready")
    scheduler = Scheduler()
    paced = pace(outboxes)
    daily = DailyScheduler(app.daily, paced.values(), scheduler=scheduler)
    scheduler.start()
    try:
        try:
            await daily.start()
        except Exception:  # the quiz itself keeps serving; the log says why there are no posts
            log.exception("daily: the scheduler could not start; no daily questions this run")
        else:
            practice_jobs.schedule(scheduler, app.practice, paced, app.clock)
            await asyncio.Event().wait()
    finally:  # the scheduler stops firing first; both let work in flight finish together
        await asyncio.gather(scheduler.stop(), daily.stop())


async def run(config: Config, *, console: bool = False) -> int:
    """Run the bot until its adapters finish or SIGINT/SIGTERM; return the exit code."""
    tune_interpreter()
    app = build(config)
    async with app:
        freeze_startup_heap()
        if console or not (config.discord_active or config.telegram_active):
            from bot.adapters import console as console_adapter

            log.debug("ready in %.0f ms", (time.perf_counter() - STARTED) * 1000)
            adapter = console_adapter.create_adapter(
                app.services, files_dir=config.database.path.parent
            )
            return await _until_signal(adapter.run())
        adapters = platform_adapters(config, app.services)
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
                group.create_task(adapter.run(), name=adapter.name)

    serving = asyncio.create_task(serve(), name="adapters")
    jobs = asyncio.create_task(scheduler, name="scheduler") if scheduler else None
    try:
        await asyncio.wait({serving})  # wait() never cancels what it waits for
    finally:
        if jobs is not None:
            jobs.cancel()
            await asyncio.wait({jobs})
            if not jobs.cancelled() and jobs.exception() is not None:
                log.error("daily: the scheduler failed", exc_info=jobs.exception())
        serving.cancel()
        await asyncio.wait({serving})
    if not serving.cancelled() and (error := serving.exception()) is not None:
        if isinstance(error, BaseExceptionGroup):
            fatal, _ = error.split(AdapterError)
            if fatal is not None:
                raise _first(fatal) from None
        raise error
    return 0


def _first(group: BaseExceptionGroup[BaseException]) -> BaseException:
    first = group.exceptions[0]
    return _first(first) if isinstance(first, BaseExceptionGroup) else first


async def _until_signal(work: Awaitable[int]) -> int:
    """Run `work`; on SIGINT/SIGTERM cancel it cleanly and return 0."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    task = asyncio.ensure_future(work)
    stopper = asyncio.create_task(stop.wait())
    try:
        await asyncio.wait({task, stopper}, return_when=asyncio.FIRST_COMPLETED)
        if not task.done():
            log.info("stopping: finishing in-flight work")
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            return 0
        return task.result()
    finally:
        stopper.cancel()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.remove_signal_handler(sig)
