"""Every metric family after real work: answers through the real QuizService on SQLite, a
practice session, console commands, a daily fan-out through the real dispatcher and a fake
outbox, the writer's queue and checkpoints; and registries that never share counts."""

from __future__ import annotations

import asyncio
import io
import random
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families
from rich.console import Console

from bot.adapters.console.adapter import ConsoleAdapter
from bot.app import run as runtime
from bot.app.bootstrap import App, build
from bot.config import PracticeConfig
from bot.core.bank.question_bank import load_bank
from bot.core.common.errors import AlreadyAnswered
from bot.core.common.identity import ChatRef, Platform, UserRef
from bot.core.quiz import RoundKind
from bot.core.quiz.tokens import answer_token
from bot.ops.metrics import OpsMetrics
from bot.storage.sqlite import database as sqlite_database
from tests.fakes.app import SEED, make_app, make_config
from tests.fakes.outbox import FakeOutbox, gone
from tests.fakes.paths import TEST_BANK

GUILD = ChatRef(Platform.DISCORD, "555", "777")
GROUP = ChatRef(Platform.TELEGRAM, "-1001", "-1001")
DM = ChatRef(Platform.TELEGRAM, "42", None)
ADA = UserRef(Platform.DISCORD, "1")
BOB = UserRef(Platform.DISCORD, "2")


def value(metrics: OpsMetrics, name: str, **labels: str) -> float:
    """A sample's value as a scrape sees it (0 when the labelled series does not exist)."""
    text = metrics.exposition().decode()
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and sample.labels == labels:
                return float(sample.value)
    return 0.0


def families(metrics: OpsMetrics) -> set[str]:
    """The families a scrape sees (without prometheus-client's *_created timestamps)."""
    found = text_string_to_metric_families(metrics.exposition().decode())
    return {f.name for f in found if not f.name.endswith("_created")}


@pytest.fixture
async def metered(tmp_path: Path) -> App:
    metrics = OpsMetrics()
    config = make_config(tmp_path, practice=PracticeConfig(session_size=1))
    app = build(
        config, bank=load_bank(TEST_BANK), ask_rate=(1000, 60.0), rng=random.Random(SEED),
        practice_rng=random.Random(SEED), metrics=metrics,
    )  # fmt: skip
    async with app:
        yield app


def ops(app: App) -> OpsMetrics:
    assert isinstance(app.metrics, OpsMetrics)
    return app.metrics


async def test_answers_their_latency_and_questions_asked(metered: App) -> None:
    quiz, metrics = metered.quiz, ops(metered)
    asked = await quiz.ask(ADA, "Ada", GUILD, "beta", "junior")
    right = asked.round.correct_label(asked.question)
    wrong = next(b.label for b in asked.reply.choices if b.label != right)
    await quiz.answer(ADA, "Ada", answer_token(asked.round.id, right), chat=GUILD)
    await quiz.answer(BOB, "Bob", answer_token(asked.round.id, wrong), chat=GUILD)
    with pytest.raises(AlreadyAnswered):  # not recorded, so not counted
        await quiz.answer(BOB, "Bob", answer_token(asked.round.id, right), chat=GUILD)

    answers = "stackprep_answers_total"
    assert value(metrics, answers, platform="discord", kind="ask", result="correct") == 1
    assert value(metrics, answers, platform="discord", kind="ask", result="wrong") == 1
    assert value(metrics, "stackprep_answer_seconds_count") == 2
    assert value(metrics, "stackprep_answer_seconds_sum") > 0
    assert value(metrics, "stackprep_answer_seconds_bucket", le="+Inf") == 2
    assert value(metrics, "stackprep_questions_asked_total", platform="discord", kind="ask") == 1


async def test_practice_sessions_started_and_completed(metered: App) -> None:
    practice, metrics = metered.practice, ops(metered)
    learner = UserRef(Platform.TELEGRAM, "42")
    step = await practice.start(learner, "Ada", DM)
    assert value(metrics, "stackprep_practice_sessions_total", event="started") == 1
    assert value(metrics, "stackprep_practice_sessions_total", event="completed") == 0
    button = step.replies[-1].choices[0]
    done = await practice.press(learner, "Ada", button.token)  # the session's only question
    assert done.session_id == step.session_id
    assert value(metrics, "stackprep_practice_sessions_total", event="completed") == 1
    kind = RoundKind.PRACTICE.value
    assert value(metrics, "stackprep_questions_asked_total", platform="telegram", kind=kind) == 1
    assert value(metrics, "stackprep_answers_total", platform="telegram", kind=kind,
                 result="correct") + value(metrics, "stackprep_answers_total",
                 platform="telegram", kind=kind, result="wrong") == 1  # fmt: skip


async def test_console_commands_by_name_and_outcome(metered: App) -> None:
    metrics = ops(metered)
    console = ConsoleAdapter(
        metered.quiz, console=Console(file=io.StringIO()), user_id="ada", metrics=metrics,
        practice=metered.practice,
    )  # fmt: skip
    for line in ("/question beta junior", "/q nosuchtopic", "/score", "/frobnicate x", "A"):
        await console.handle(line)
    count = "stackprep_commands_total"
    assert value(metrics, count, platform="console", command="question", outcome="ok") == 1
    assert value(metrics, count, platform="console", command="question", outcome="refused") == 1
    assert value(metrics, count, platform="console", command="score", outcome="ok") == 1
    assert value(metrics, count, platform="console", command="other", outcome="ok") == 1
    assert value(metrics, count, platform="console", command="answer", outcome="ok") == 1
    assert value(metrics, "stackprep_answers_total", platform="console", kind="ask",
                 result="correct") + value(metrics, "stackprep_answers_total",
                 platform="console", kind="ask", result="wrong") == 1  # fmt: skip


@dataclass
class FakeAdapter:
    name: str = "telegram"
    outbox: FakeOutbox = field(default_factory=FakeOutbox)
    ready: asyncio.Event = field(default_factory=asyncio.Event)


async def test_daily_fanout_delivered_failed_and_remaining(tmp_path: Path) -> None:
    """Three groups due now through the real scheduler, dispatcher and pacing; one is gone."""
    metrics = OpsMetrics()
    app = make_app(tmp_path, bank=load_bank(TEST_BANK), metrics=metrics)
    async with app:
        now = datetime.now(UTC)
        chats = [ChatRef(Platform.TELEGRAM, f"-100{i}", f"-100{i}") for i in range(3)]
        for chat in chats:
            await app.daily.command(chat, ["set", f"{now:%H:%M}", "UTC", "1h"], is_admin=True)
            sub = await app.daily.store.subscription_for(chat)
            assert sub is not None  # set a day ago: today's post is due now
            await app.daily.store.save_subscription(replace(sub, since=now - timedelta(days=1)))
        adapter = FakeAdapter(outbox=FakeOutbox(fail={"-1002": [gone("403 Forbidden")]}))
        adapter.ready.set()
        jobs = asyncio.create_task(runtime.run_jobs(app, [adapter], ready_timeout=5))  # type: ignore[list-item]
        try:
            async with asyncio.timeout(10):
                await adapter.outbox.until(2)
                while value(metrics, "stackprep_daily_fanout_remaining", platform="telegram"):  # noqa: ASYNC110
                    await asyncio.sleep(0.01)
        finally:
            jobs.cancel()
            await asyncio.gather(jobs, return_exceptions=True)
    deliveries = "stackprep_daily_deliveries_total"
    assert value(metrics, deliveries, platform="telegram", outcome="delivered") == 2
    assert value(metrics, deliveries, platform="telegram", outcome="gone") == 1
    assert value(metrics, "stackprep_daily_fanout_remaining", platform="telegram") == 0
    asked = value(metrics, "stackprep_questions_asked_total", platform="telegram", kind="daily")
    assert asked == 3  # a round opens for each post before it is sent


async def test_writer_queue_depth_is_read_when_collected(metered: App) -> None:
    """Writes queued while a multi-statement transaction holds the writer show as depth."""
    quiz, metrics, database = metered.quiz, ops(metered), metered.database
    assert database is not None
    rounds = [await quiz.ask(UserRef(Platform.DISCORD, str(i)), "p", GUILD) for i in range(5)]
    assert value(metrics, "stackprep_writer_queue_depth") == 0
    async with database.transaction():
        answers = [
            asyncio.create_task(quiz.answer(UserRef(Platform.DISCORD, str(i)), "p",
                                            answer_token(asked.round.id, "A"), chat=GUILD))
            for i, asked in enumerate(rounds)
        ]  # fmt: skip
        for _ in range(50):  # until every answer reached the writer's queue
            await asyncio.sleep(0)
            if value(metrics, "stackprep_writer_queue_depth") == 5:
                break
        assert value(metrics, "stackprep_writer_queue_depth") == 5
    await asyncio.gather(*answers)
    assert value(metrics, "stackprep_writer_queue_depth") == 0


async def test_checkpoint_durations(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sqlite_database, "CHECKPOINT_INTERVAL", 0.01)
    metrics = OpsMetrics()
    app = make_app(tmp_path, metrics=metrics)
    async with app:
        await app.quiz.ask(ADA, "Ada", GUILD)  # something to checkpoint
        async with asyncio.timeout(10):
            while not value(metrics, "stackprep_checkpoint_seconds_count"):  # noqa: ASYNC110
                await asyncio.sleep(0.01)
    assert value(metrics, "stackprep_checkpoint_seconds_sum") > 0


def test_every_family_is_exposed_before_any_work() -> None:
    assert families(OpsMetrics()) == {
        "stackprep_answers", "stackprep_answer_seconds", "stackprep_questions_asked",
        "stackprep_commands", "stackprep_platform_api_errors", "stackprep_platform_rate_limited",
        "stackprep_daily_deliveries", "stackprep_daily_fanout_remaining",
        "stackprep_writer_queue_depth", "stackprep_checkpoint_seconds",
        "stackprep_practice_sessions",
    }  # fmt: skip


def test_registries_are_separate() -> None:
    one, two = OpsMetrics(), OpsMetrics()
    one.api_error("telegram", 429)
    assert value(one, "stackprep_platform_rate_limited_total", platform="telegram") == 1
    assert value(one, "stackprep_platform_api_errors_total", platform="telegram",
                 status="429") == 1  # fmt: skip
    assert value(two, "stackprep_platform_rate_limited_total", platform="telegram") == 0
