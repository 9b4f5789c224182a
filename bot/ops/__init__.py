"""Operations: Prometheus metrics (metrics.py), the health check (health.py) and the HTTP
listener that serves both (server.py).

`bot.app.operations` creates these when `[ops] listen` is set and hands `OpsMetrics` to the
rest of the bot as the core's metrics port (`bot.core.common.metrics.Metrics`). Only `bot.app`
and `bot.cli` import this package; nothing is imported here eagerly, so the health check
alone does not load prometheus-client or aiohttp.
"""
