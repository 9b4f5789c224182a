"""The operators' HTTP listener: `/healthz` and `/metrics`, on the bot's own event loop.

aiohttp's web server (aiohttp comes with discord.py) runs as a few tasks of the loop the bot
already runs, so it costs nothing between requests and needs no thread. It is started only
when `[ops] listen` is set, in every mode (console included), and stopped last, after the
adapters and the database, so a scrape during shutdown sees the database going away:

    GET /healthz   200 {"status": "ok", "checks": {...}} or 503 with "reason" (JSON)
    GET /metrics   every metric family in the Prometheus text format
"""

from __future__ import annotations

import logging

from aiohttp import web

from bot.ops.health import Health
from bot.ops.metrics import CONTENT_TYPE, OpsMetrics

log = logging.getLogger(__name__)


class OpsServer:
    def __init__(self, metrics: OpsMetrics, health: Health, host: str, port: int) -> None:
        self.metrics = metrics
        self.health = health
        self.host = host
        self.port = port  # the bound port once started (a configured 0 picks a free one)
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        """Bind and serve; OSError (address in use, not allowed) is the caller's to report."""
        app = web.Application()
        app.router.add_get("/healthz", self._healthz)
        app.router.add_get("/metrics", self._metrics)
        runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await runner.setup()
        try:
            site = web.TCPSite(runner, self.host, self.port)
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        bound = runner.addresses[0]
        self.port = int(bound[1])
        log.info("ops: serving /healthz and /metrics on %s", self.url)

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> OpsServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def _healthz(self, request: web.Request) -> web.Response:
        report = await self.health.check()
        headers = {"Cache-Control": "no-store"}
        return web.json_response(report.body(), status=200 if report.healthy else 503,
                                 headers=headers)  # fmt: skip

    async def _metrics(self, request: web.Request) -> web.Response:
        body = self.metrics.exposition()
        response = web.Response(body=body, headers={"Cache-Control": "no-store"})
        response.headers["Content-Type"] = CONTENT_TYPE
        return response
