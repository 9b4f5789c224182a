"""Composition root: config -> logging -> store -> bank -> service -> adapters -> scheduler.

Platform adapters are imported only when their token is configured, so the console quiz
starts fast and small. Every adapter is an object with `name` and `async run()`, which runs
until cancelled and raises AdapterError (one clear line) on a fatal problem.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal
import sys
import time
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, Protocol

from bot.config import Config
from bot.core.bank.question_bank import QuestionBank, load_bank
from bot.core.daily.service import DailyService
from bot.core.delivery import Outbox
from bot.core.practice.service import PracticeService, PracticeSettings
from bot.core.quiz.service import QuizService
from bot.storage.sqlite.database import SqliteStore
from bot.storage.sqlite.practice import SqlitePracticeStore

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


class AdapterError(Exception):
    """A fatal adapter problem (invalid token, another instance polling...): one log line."""


class Adapter(Protocol):
    name: str

    async def run(self) -> None: ...


def build_service(config: Config, bank: QuestionBank, store: SqliteStore) -> QuizService:
    return QuizService(
        bank,
        store,
        rules=config.scoring,
        round_ttl=config.quiz.round_ttl,
        ask_rate=(config.quiz.asks_per_minute, 60.0),
    )


def build_practice(config: Config, service: QuizService, store: SqliteStore) -> PracticeService:
    """Private practice; its listener makes every multiple-choice answer update FSRS cards."""
    from bot.cli.bank import to_anki
    from bot.core.practice.grading import GradingRules

    p = config.practice
    grading = GradingRules(threshold=p.fuzzy_threshold)
    settings = PracticeSettings(p.session_size, p.timeout, grading, p.desired_retention)
    practice = PracticeService(
        service, SqlitePracticeStore(store), settings=settings, exporter=to_anki
    )
    practice.attach()
    return practice


def build_daily(config: Config, service: QuizService, store: SqliteStore) -> DailyService:
    """The daily question's use cases, with `/daily set` defaults from `[daily]`."""
    from bot.core.daily.model import DailyDefaults, parse_time
    from bot.storage.sqlite.daily import SqliteDailyStore

    d = config.daily
    defaults = DailyDefaults(parse_time(d.time), d.timezone, d.answer_window)
    return DailyService(service, SqliteDailyStore(store), defaults=defaults)


async def run_daily(
    daily: DailyService,
    adapters: list[Adapter],
    ready_timeout: float,
    practice: PracticeService | None = None,
) -> None:
    """The daily scheduler over the outboxes of the running adapters, until cancelled (with
    practice's reminder and timeout jobs when `practice` is given)."""
    outboxes: list[Outbox] = [o for a in adapters if (o := getattr(a, "outbox", None))]
    if not outboxes:
        return
    from bot.jobs.scheduler import DailyScheduler

    waits = [
        e.wait() for a in adapters if isinstance(e := getattr(a, "ready", None), asyncio.Event)
    ]
    if waits:  # posting before a client has logged in would only fail and be retried
        try:
            async with asyncio.timeout(ready_timeout):
                await asyncio.gather(*waits)
        except TimeoutError:
            log.warning("daily: starting the scheduler before every platform is ready")
    scheduler = DailyScheduler(daily, outboxes)
    try:
        await scheduler.start()
    except Exception:  # the quiz itself keeps serving; the log says why there are no posts
        log.exception("daily: the scheduler could not start; no daily questions this run")
        await scheduler.stop()
        return
    if practice is not None:
        from bot.jobs import practice as practice_jobs

        practice_jobs.schedule(scheduler, practice)
    try:
        await asyncio.Event().wait()
    finally:
        await scheduler.stop()


def platform_adapters(
    config: Config,
    service: QuizService,
    practice: PracticeService | None = None,
    daily: DailyService | None = None,
) -> list[Adapter]:
    """The enabled platform adapters; AdapterError if one is configured but unavailable."""
    adapters: list[Adapter] = []
    for platform, active in (
        ("discord", config.discord_active),
        ("telegram", config.telegram_active),
    ):
        if not active:
            continue
        try:
            factory = _factory(platform)
        except ImportError:
            raise AdapterError(
                f"a {platform.capitalize()} token is set, but the {platform.capitalize()} "
                "adapter is not available in this version of Stackprep yet; unset "
                f"STACKPREP_{platform.upper()}_TOKEN (or set [{platform}] enabled = false) "
                "to use the console quiz"
            ) from None
        adapters.append(factory(config, service, practice=practice, daily=daily))
    return adapters


def _factory(platform: str) -> Callable[..., Adapter]:
    import importlib

    module = importlib.import_module(f"bot.adapters.{platform}.adapter")
    factory: Callable[..., Adapter] = module.create_adapter  # (config, service, *, practice, daily)
    return factory


async def run(config: Config, *, console: bool = False) -> int:
    """Run the bot until its adapters finish or SIGINT/SIGTERM; return the exit code."""
    tune_interpreter()
    bank = load_bank(config.quiz.questions_dir)
    store = SqliteStore(config.database.path, busy_timeout_ms=config.database.busy_timeout_ms)
    await store.open()
    practice: PracticeService | None = None
    try:
        service = build_service(config, bank, store)
        practice = build_practice(config, service, store)
        freeze_startup_heap()
        if console or not (config.discord_active or config.telegram_active):
            from bot.adapters.console.adapter import ConsoleAdapter

            log.debug("ready in %.0f ms", (time.perf_counter() - STARTED) * 1000)
            files = config.database.path.parent
            adapter = ConsoleAdapter(service, practice=practice, files_dir=files)
            return await _until_signal(adapter.run())
        daily = build_daily(config, service, store)
        adapters = platform_adapters(config, service, practice, daily)
        log.info(
            "serving %s with %d questions in %d topics",
            " and ".join(a.name for a in adapters), len(bank), len(bank.topics()),
        )  # fmt: skip
        return await _until_signal(_run_all(adapters, run_daily(daily, adapters, 60.0, practice)))
    finally:
        if practice is not None:
            await practice.flush()  # queued card updates from the last answers
        await store.close()  # finishes queued answers before closing


async def _run_all(
    adapters: list[Adapter], scheduler: Coroutine[Any, Any, None] | None = None
) -> int:
    """Run every adapter (and the daily scheduler); the first fatal AdapterError stops them
    all and is re-raised.

    On the way out (cancelled, or the adapters ended) the scheduler stops first, while the
    adapters' clients are still open, so the posts it has in flight can finish and be
    recorded as delivered; only then are the adapters stopped."""

    async def serve() -> None:
        async with asyncio.TaskGroup() as group:
            for adapter in adapters:
                group.create_task(adapter.run(), name=adapter.name)

    serving = asyncio.create_task(serve(), name="adapters")
    daily = asyncio.create_task(scheduler, name="daily-scheduler") if scheduler else None
    try:
        await asyncio.wait({serving})  # wait() never cancels what it waits for
    finally:
        if daily is not None:
            daily.cancel()
            await asyncio.wait({daily})
            if not daily.cancelled() and daily.exception() is not None:
                log.error("daily: the scheduler failed", exc_info=daily.exception())
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
