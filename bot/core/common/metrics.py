"""The metrics port: what the bot reports for its operators, and a do-nothing default.

The core, storage, jobs and adapters call these methods where the things happen; `bot.ops`
implements them with Prometheus (`bot.ops.metrics.OpsMetrics`) and `bot.app` hands that in
when `[ops] listen` is set. Nothing here imports anything: the core stays pure, and with
metrics off every call is a no-op method call.

Every method must be cheap and must never raise: it runs on the answer path. Label values are
from small fixed sets (platform names, round kinds, command names, outcomes, HTTP codes).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol


class Metrics(Protocol):
    def answered(self, platform: str, kind: str, correct: bool, seconds: float) -> None:
        """A multiple-choice answer was recorded; `seconds` from the call to its commit."""
        ...

    def asked(self, platform: str, kind: str) -> None:
        """A question was put to a place (a round opened: ask, daily or practice)."""
        ...

    def command(self, platform: str, name: str, outcome: str) -> None:
        """A command, button or answer was handled: outcome `ok`, `refused` (the person's
        own mistake, a QuizError) or `error` (ours, logged)."""
        ...

    def api_error(self, platform: str, status: int) -> None:
        """The platform's API answered with an error status (429 included)."""
        ...

    def delivered(self, platform: str, outcome: str) -> None:
        """A scheduled post (daily question, reveal, recap) settled with `outcome`."""
        ...

    def fanout_remaining(self, platform: str, remaining: int) -> None:
        """Scheduled posts queued or in flight on `platform` right now."""
        ...

    def checkpoint(self, seconds: float) -> None:
        """A WAL checkpoint finished after `seconds`."""
        ...

    def practice_session(self, event: str) -> None:
        """A practice session `started` or was `completed`."""
        ...

    def writer_queue(self, depth: Callable[[], int]) -> None:
        """Where to read the writer's queue depth when metrics are collected."""
        ...


class NoMetrics:
    """Metrics off: every report is a no-op."""

    def answered(self, platform: str, kind: str, correct: bool, seconds: float) -> None:
        pass

    def asked(self, platform: str, kind: str) -> None:
        pass

    def command(self, platform: str, name: str, outcome: str) -> None:
        pass

    def api_error(self, platform: str, status: int) -> None:
        pass

    def delivered(self, platform: str, outcome: str) -> None:
        pass

    def fanout_remaining(self, platform: str, remaining: int) -> None:
        pass

    def checkpoint(self, seconds: float) -> None:
        pass

    def practice_session(self, event: str) -> None:
        pass

    def writer_queue(self, depth: Callable[[], int]) -> None:
        pass


NO_METRICS: Metrics = NoMetrics()
