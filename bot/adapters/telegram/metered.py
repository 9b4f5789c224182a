"""What the Telegram adapter reports to the metrics port: the Bot API's error answers, and
the names updates are counted under.

`MeteredRequest` wraps the transport python-telegram-bot sends every Bot API call through (a
`BaseRequest`, PTB's public extension point); it sees each HTTP answer before PTB turns it
into an exception, including the 429s that our send scheduler (`sending`) waits out and
retries.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from telegram import Update
from telegram.request import BaseRequest, RequestData

from bot.core.common.identity import Platform
from bot.core.common.metrics import Metrics

_Timeout = float | None


@dataclass(eq=False)
class Reachability:
    """Whether the Bot API answered the last getUpdates: the health check's "connected"."""

    answering: bool = False
    problem: str = "no answer yet"


class MeteredRequest(BaseRequest):
    """Passes every call to `inner` and reports each error status to `metrics`; with
    `reach` (the getUpdates transport) it also keeps whether the Bot API answers."""

    def __init__(
        self, inner: BaseRequest, metrics: Metrics, reach: Reachability | None = None
    ) -> None:
        self.inner = inner
        self._metrics = metrics
        self._reach = reach

    @property
    def read_timeout(self) -> float | None:
        return self.inner.read_timeout

    async def initialize(self) -> None:
        await self.inner.initialize()

    async def shutdown(self) -> None:
        await self.inner.shutdown()

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: _Timeout | object = BaseRequest.DEFAULT_NONE,
        write_timeout: _Timeout | object = BaseRequest.DEFAULT_NONE,
        connect_timeout: _Timeout | object = BaseRequest.DEFAULT_NONE,
        pool_timeout: _Timeout | object = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        try:
            status, payload = await self.inner.do_request(
                url, method, request_data,
                read_timeout, write_timeout, connect_timeout, pool_timeout,  # type: ignore[arg-type]
            )  # fmt: skip
        except Exception as exc:  # no answer at all (timeout, refused, DNS)
            if self._reach is not None:
                self._reach.answering, self._reach.problem = False, type(exc).__name__
            raise
        if status >= 400:
            self._metrics.api_error(Platform.TELEGRAM.value, status)
        if self._reach is not None:
            self._reach.answering = status < 500 and status != 429
            self._reach.problem = "" if self._reach.answering else f"HTTP {status}"
        return status, payload


def command_name(update: Update, commands: Collection[str]) -> str:
    """The name an update is counted under: a command of ours by its name, else what kind of
    update it is (button, poll answer, text); never anything else a user typed."""
    if update.callback_query is not None:
        return "button"
    if update.poll_answer is not None:
        return "poll answer"
    message = update.effective_message
    text = message.text if message is not None else None
    if text and text.startswith("/"):
        word = text.split(maxsplit=1)[0][1:].split("@")[0].casefold()
        return word if word in commands else "unknown"
    return "text"
