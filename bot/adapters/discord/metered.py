"""What the Discord adapter reports to the metrics port: its API's error answers, and the
names commands are counted under.

discord.py takes an aiohttp `TraceConfig` (`Client(http_trace=...)`), which sees every REST
response, including the 429s discord.py waits out and retries by itself, so nothing is
missed and nothing is counted twice.
"""

from __future__ import annotations

from types import SimpleNamespace

import aiohttp

from bot.core.common.identity import Platform
from bot.core.common.metrics import Metrics

# the fixed words of non-command `what`s
_WORDS = {"button", "practice", "answer", "report", "form"}


def api_trace(metrics: Metrics) -> aiohttp.TraceConfig:
    """A trace that reports every error status Discord's API answers with."""

    async def on_request_end(
        session: aiohttp.ClientSession,
        context: SimpleNamespace,
        params: aiohttp.TraceRequestEndParams,
    ) -> None:
        if params.response.status >= 400:
            metrics.api_error(Platform.DISCORD.value, params.response.status)

    trace = aiohttp.TraceConfig()
    trace.on_request_end.append(on_request_end)
    return trace


def command_name(what: str) -> str:
    """The name a handled interaction is counted under, from the adapter's `what`: a slash
    command's name ("/daily set" -> "daily set"), else its fixed words ("button a1.x.B" ->
    "button"); never a token or anything a user typed."""
    if what.startswith("/"):
        return what[1:]
    return " ".join(w for w in what.split()[:2] if w in _WORDS) or "other"
