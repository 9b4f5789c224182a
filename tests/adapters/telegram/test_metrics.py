"""What the Telegram adapter reports, through the real Application and the fake Bot API: the
API's error answers (429s included), updates by command and outcome, and whether it is
connected now (getUpdates answered: the health check)."""

from __future__ import annotations

import asyncio

import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot.adapters.telegram.adapter import TelegramAdapter, build_application
from bot.adapters.telegram.metered import Reachability
from bot.adapters.telegram.receiving import Backoff
from bot.app.bootstrap import App
from bot.ops.metrics import OpsMetrics
from tests.fakes.telegram_api import TOKEN, FakeBotApi, command, until

FAST = Backoff(first=0.001, cap=0.004)  # retries without real waiting


def value(metrics: OpsMetrics, name: str, **labels: str) -> float:
    for family in text_string_to_metric_families(metrics.exposition().decode()):
        for sample in family.samples:
            if sample.name == name and sample.labels == labels:
                return float(sample.value)
    return 0.0


def handled(metrics: OpsMetrics) -> float:
    text = metrics.exposition().decode()
    return sum(
        s.value
        for f in text_string_to_metric_families(text)
        for s in f.samples
        if s.name == "stackprep_commands_total"
    )


async def test_api_errors_commands_and_connected(sqlite_app: App) -> None:
    metrics, reach = OpsMetrics(), Reachability()
    api = FakeBotApi(updates=[
        command("/question beta junior"), command("/question nosuchtopic"),
        command("/frobnicate", chat_id=42),  # unknown commands are answered in private
    ])  # fmt: skip
    app = build_application(
        TOKEN, request=api, get_updates_request=api, metrics=metrics, reach=reach
    )
    adapter = TelegramAdapter(
        sqlite_app.quiz, app, inbox=sqlite_app.inbox, backoff=FAST, metrics=metrics,
        reach=reach,
    )  # fmt: skip
    assert not adapter.connected()  # not started
    task = asyncio.create_task(adapter.run())
    try:
        commands = "stackprep_commands_total"
        await until(lambda: handled(metrics) == 3, api.activity)  # concurrently, any order
        assert value(metrics, commands, platform="telegram", command="unknown", outcome="ok") == 1
        assert adapter.connected()
        assert value(metrics, commands, platform="telegram", command="question",
                     outcome="ok") == 1  # fmt: skip
        assert value(metrics, commands, platform="telegram", command="question",
                     outcome="refused") == 1  # fmt: skip

        api.fail("getUpdates", 502, "Bad Gateway", times=10**6)  # Telegram is down
        await until(lambda: not reach.answering, api.activity)
        assert not adapter.connected()
        assert reach.problem == "HTTP 502"
        api._failures.pop("getUpdates")  # back up: the next getUpdates answers
        await until(lambda: reach.answering, api.activity)
        assert adapter.connected()
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    assert not adapter.connected()  # stopped
    errors = "stackprep_platform_api_errors_total"
    assert value(metrics, errors, platform="telegram", status="502") >= 1


async def test_429s_are_counted_as_rate_limited(sqlite_app: App) -> None:
    metrics = OpsMetrics()
    api = FakeBotApi()
    app = build_application(TOKEN, request=api, get_updates_request=api, metrics=metrics)
    api.fail("getMe", 429, "Too Many Requests: retry after 0", retry_after=0)
    adapter = TelegramAdapter(sqlite_app.quiz, app, inbox=sqlite_app.inbox, backoff=FAST)
    task = asyncio.create_task(adapter.run())
    try:
        await until(adapter.ready.is_set, api.activity)  # getMe retried after the 429
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    assert value(metrics, "stackprep_platform_rate_limited_total", platform="telegram") == 1
    errors = "stackprep_platform_api_errors_total"
    assert value(metrics, errors, platform="telegram", status="429") == 1
