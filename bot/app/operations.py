"""The operators' listener, wired into a run: metrics for the app, `/healthz` over its database
and adapters, `/metrics` over the same registry (bot/ops).

With `[ops] listen` unset nothing here imports prometheus-client or aiohttp, and the app gets
the do-nothing metrics (`bot.core.common.metrics.NO_METRICS`).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot.adapters.base import AdapterError
from bot.app.bootstrap import App
from bot.config import Config
from bot.core.common.errors import StorageFailed
from bot.core.common.metrics import NO_METRICS, Metrics
from bot.ops.health import Connectable, Health, Probe
from bot.storage.sqlite import Database

if TYPE_CHECKING:
    from bot.ops.server import OpsServer

log = logging.getLogger(__name__)
HEALTH_READ = "SELECT count(*) FROM sqlite_master"  # one page of the file: cheap, but real
PG_HEALTH_READ = "SELECT version FROM stackprep_schema"  # a round trip to a real table


def metrics_for(config: Config) -> Metrics:
    """OpsMetrics when the listener is on, else the do-nothing metrics."""
    if config.ops.listen is None:
        return NO_METRICS
    from bot.ops.metrics import OpsMetrics

    return OpsMetrics()


def database_probe(app: App) -> Probe | None:
    """A cheap read of `app`'s database (None with in-memory storage)."""
    database = app.database
    if database is None:
        return None
    if not isinstance(database, Database):  # PostgreSQL
        pg = database

        async def pg_probe() -> object:
            answer = await pg.fetchval(PG_HEALTH_READ)
            if (fault := pg.recent_fault()) is not None:
                raise StorageFailed(f"writes are failing: {fault}")
            return answer

        return pg_probe

    async def probe() -> object:
        answer = await database.read(HEALTH_READ)
        if (fault := database.recent_fault()) is not None:  # reads work, writes fail
            raise StorageFailed(f"writes are failing: {fault}")
        return answer

    return probe


@dataclass(eq=False)
class Listener:
    """What `listening` yields: the health check, and the server (None when off)."""

    health: Health
    server: OpsServer | None = None

    def watch(self, adapters: Iterable[Connectable]) -> None:
        """The adapters /healthz asks, once they exist."""
        self.health.watch(adapters)


@contextlib.asynccontextmanager
async def listening(config: Config, app: App) -> AsyncIterator[Listener]:
    """Serve `/healthz` and `/metrics` on `[ops] listen` (when set) until the block ends.
    Enter it before the app opens, so a slow start (migrations) already answers 503, and
    tell it the adapters once they exist (`watch`). A listener that cannot bind ends the run
    with one line."""
    health = Health(database_probe(app))
    if config.ops.listen is None:
        yield Listener(health)
        return
    from bot.ops.metrics import OpsMetrics
    from bot.ops.server import OpsServer

    metrics = app.metrics if isinstance(app.metrics, OpsMetrics) else OpsMetrics()
    host, port = config.ops.listen
    server = OpsServer(metrics, health, host, port)
    try:
        await server.start()
    except OSError as exc:
        raise AdapterError(
            f"ops: cannot listen on {host}:{port} ({exc.strerror or exc}); "
            "change [ops] listen or stop what holds that port"
        ) from None
    try:
        yield Listener(health, server)
    finally:
        await server.stop()
