"""The bot's Prometheus metrics: one registry of its own and the objects the port reports to.

`OpsMetrics` implements `bot.core.common.metrics.Metrics`. Each instance has its own
`CollectorRegistry` (never prometheus-client's global one), so two apps in one process, or two
tests, never share counts. Labelled children on the answer path are looked up once and kept,
so a report there is a dictionary hit and an increment.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest

CONTENT_TYPE = CONTENT_TYPE_LATEST  # the text format, version 0.0.4
# Answers commit in group commits of a few milliseconds; the slow tail is what matters.
ANSWER_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
CHECKPOINT_BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class OpsMetrics:
    """Every metric family the bot exposes, in a registry of its own."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.answers = Counter(
            "stackprep_answers", "Multiple-choice answers recorded, by platform, round kind "
            "(ask, daily, practice) and result (correct, wrong).",
            ["platform", "kind", "result"], registry=r,
        )  # fmt: skip
        self.answer_seconds = Histogram(
            "stackprep_answer_seconds", "Time to record an answer, from the service call to "
            "its commit (seconds).", buckets=ANSWER_BUCKETS, registry=r,
        )  # fmt: skip
        self.questions = Counter(
            "stackprep_questions_asked", "Questions put to a place (rounds opened), by "
            "platform and kind.", ["platform", "kind"], registry=r,
        )  # fmt: skip
        self.commands = Counter(
            "stackprep_commands", "Commands, buttons and answers handled, by platform, name "
            "and outcome (ok, refused: the person's mistake, error: ours).",
            ["platform", "command", "outcome"], registry=r,
        )  # fmt: skip
        self.api_errors = Counter(
            "stackprep_platform_api_errors", "Error responses from a platform's API (429s "
            "included), by platform and HTTP status.", ["platform", "status"], registry=r,
        )  # fmt: skip
        self.rate_limited = Counter(
            "stackprep_platform_rate_limited", "429 Too Many Requests answers from a "
            "platform's API.", ["platform"], registry=r,
        )  # fmt: skip
        self.deliveries = Counter(
            "stackprep_daily_deliveries", "Scheduled posts (daily questions, reveals, recaps) "
            "by platform and outcome (delivered, failed, gone, skipped, done, busy).",
            ["platform", "outcome"], registry=r,
        )  # fmt: skip
        self.remaining = Gauge(
            "stackprep_daily_fanout_remaining", "Scheduled posts queued or in flight, by "
            "platform.", ["platform"], registry=r,
        )  # fmt: skip
        self.writer_depth = Gauge(
            "stackprep_writer_queue_depth", "Writes waiting in the SQLite writer's queue "
            "(answers, units and background card updates).", registry=r,
        )  # fmt: skip
        self.checkpoint_seconds = Histogram(
            "stackprep_checkpoint_seconds", "Duration of WAL checkpoints (seconds).",
            buckets=CHECKPOINT_BUCKETS, registry=r,
        )  # fmt: skip
        self.practice = Counter(
            "stackprep_practice_sessions", "Practice sessions by event (started, completed).",
            ["event"], registry=r,
        )  # fmt: skip
        self._children: dict[tuple[object, tuple[str, ...]], Any] = {}

    def _child(self, family: Any, *labels: str) -> Any:
        """`family.labels(*labels)`, looked up once (labels() validates and locks each call)."""
        key = (family, labels)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = family.labels(*labels)
        return child

    # -- the port ---------------------------------------------------------------------------

    def answered(self, platform: str, kind: str, correct: bool, seconds: float) -> None:
        self._child(self.answers, platform, kind, "correct" if correct else "wrong").inc()
        self.answer_seconds.observe(seconds)

    def asked(self, platform: str, kind: str) -> None:
        self._child(self.questions, platform, kind).inc()

    def command(self, platform: str, name: str, outcome: str) -> None:
        self._child(self.commands, platform, name, outcome).inc()

    def api_error(self, platform: str, status: int) -> None:
        self._child(self.api_errors, platform, str(status)).inc()
        if status == 429:
            self._child(self.rate_limited, platform).inc()

    def delivered(self, platform: str, outcome: str) -> None:
        self._child(self.deliveries, platform, outcome).inc()

    def fanout_remaining(self, platform: str, remaining: int) -> None:
        self._child(self.remaining, platform).set(remaining)

    def checkpoint(self, seconds: float) -> None:
        self.checkpoint_seconds.observe(seconds)

    def practice_session(self, event: str) -> None:
        self._child(self.practice, event).inc()

    def writer_queue(self, depth: Callable[[], int]) -> None:
        self.writer_depth.set_function(lambda: float(depth()))

    # -- exposition -------------------------------------------------------------------------

    def exposition(self) -> bytes:
        """Every family in the Prometheus text format."""
        return generate_latest(self.registry)
