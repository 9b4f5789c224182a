"""Several webhook workers behind a load balancer, sharing one PostgreSQL inbox
(bot/storage/postgres/inbox.py): two real adapters in webhook mode, each with its own
connection pool (two processes), its own fake Bot API and its listener on 127.0.0.1.

Telegram sends an update to one worker and, when that worker's 200 did not reach it, again to
another: the update is processed once, by whichever worker claimed it first. A worker killed
after its 200 leaves its update claimed; another worker takes it over once the claim runs out.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from telegram import Update
from telegram.ext import ContextTypes, TypeHandler

from bot.adapters.telegram import receiving
from bot.adapters.telegram.adapter import TelegramAdapter
from bot.core.bank.question_bank import QuestionBank
from bot.core.delivery import Inbound
from bot.storage.postgres import PgDatabase, PgUpdateInbox
from tests.adapters.telegram.test_webhook import (
    Served,
    eventually,
    gate_on,
    serving,
    stop,
    webhook_adapter,
)
from tests.fakes.app import memory_app
from tests.fakes.postgres import databases
from tests.fakes.telegram_api import FakeBotApi, command, until


@pytest.fixture
def seed() -> int:
    return 1


@pytest.fixture
async def pools() -> AsyncIterator[list[PgDatabase]]:
    async with databases(2) as opened:
        yield opened


def counted(adapter: TelegramAdapter) -> list[tuple[int, float]]:
    """(update id, when) of every update this worker processes."""
    seen: list[tuple[int, float]] = []

    async def note(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        seen.append((update.update_id, time.monotonic()))

    adapter.app.add_handler(TypeHandler(Update, note), group=-3)
    return seen


async def undone(database: PgDatabase) -> int:
    return int(await database.fetchval("SELECT count(*) FROM telegram_inbox WHERE done_at IS NULL"))


async def workers(
    pools: list[PgDatabase], bank: QuestionBank, **inbox: Any
) -> tuple[list[TelegramAdapter], list[FakeBotApi]]:
    apis = [FakeBotApi(), FakeBotApi()]
    adapters = [
        webhook_adapter(api, memory_app(bank), PgUpdateInbox(database, **inbox))
        for api, database in zip(apis, pools, strict=True)
    ]
    return adapters, apis


async def test_an_update_repeated_to_another_worker_mid_processing_is_processed_once(
    pools: list[PgDatabase], bank: QuestionBank
) -> None:
    adapters, apis = await workers(pools, bank)
    update = command("/question beta junior")
    (gate_one, seen_one), (gate_two, seen_two) = (
        gate_on(adapter, update["update_id"]) for adapter in adapters
    )
    served: list[Served] = []
    try:
        for adapter, api in zip(adapters, apis, strict=True):
            served.append(await serving(adapter, api))
        assert await served[0].post(update) == (200, "OK")
        await eventually(lambda: seen_one)  # the first worker is processing it
        assert await served[1].post(update) == (200, "OK")  # the repeat reached the other
        await asyncio.sleep(0.05)
        gate_one.set()
        gate_two.set()
        await until(lambda: apis[0].sent("sendPoll"), apis[0].activity)
        async with asyncio.timeout(5):
            while await undone(pools[0]):  # noqa: ASYNC110 (a database)
                await asyncio.sleep(0.01)
        assert await served[1].post(update) == (200, "OK")  # again, once done
        await asyncio.sleep(0.05)
    finally:
        for running in served:
            await stop(running.task)
    assert seen_one == [update["update_id"]] and seen_two == []
    assert len(apis[0].sent("sendPoll")) == 1 and apis[1].sent("sendPoll") == []


async def test_updates_sent_to_both_workers_at_once_are_each_processed_once(
    pools: list[PgDatabase], bank: QuestionBank
) -> None:
    adapters, apis = await workers(pools, bank)
    counts = [counted(adapter) for adapter in adapters]
    updates = [command("/topics", chat_id=-1000 - n) for n in range(12)]
    served: list[Served] = []
    try:
        for adapter, api in zip(adapters, apis, strict=True):
            served.append(await serving(adapter, api))
        answers = await asyncio.gather(*(s.post(u) for u in updates for s in served))
        assert {status for status, _ in answers} == {200}
        async with asyncio.timeout(5):
            while await undone(pools[0]) or len(counts[0]) + len(counts[1]) < len(updates):  # noqa: ASYNC110
                await asyncio.sleep(0.01)
        await asyncio.sleep(0.05)
    finally:
        for running in served:
            await stop(running.task)
    processed = sorted(update_id for seen in counts for update_id, _ in seen)
    assert processed == sorted(u["update_id"] for u in updates)  # each once, by either
    sent = len(apis[0].sent("sendMessage")) + len(apis[1].sent("sendMessage"))
    assert sent == len(updates)


async def test_an_update_a_killed_worker_left_is_taken_over_once_its_claim_runs_out(
    pools: list[PgDatabase], bank: QuestionBank, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(receiving, "SWEEP_EVERY", 0.05)
    lease = 1.0
    update = command("/question beta junior")
    # the killed worker: it stored the update (and answered 200), then died before its lane
    killed = PgUpdateInbox(pools[0], lease=lease)
    entry = Inbound(update["update_id"], json.dumps(update))
    assert await killed.add([entry]) == [entry]
    claimed_at = time.monotonic()
    adapters, apis = await workers(pools[1:] * 2, bank, lease=lease)
    seen = counted(adapters[1])
    running = await serving(adapters[1], apis[1])  # it starts: the claim is still live
    try:
        await until(lambda: apis[1].sent("sendPoll"), apis[1].activity, seconds=10)
        async with asyncio.timeout(5):
            while await undone(pools[1]):  # noqa: ASYNC110 (a database)
                await asyncio.sleep(0.01)
        await asyncio.sleep(3 * 0.05)  # sweeps more: nothing twice
    finally:
        await stop(running.task)
    assert [update_id for update_id, _ in seen] == [update["update_id"]]
    assert seen[0][1] - claimed_at >= lease - 0.05  # not before the claim ran out
    assert len(apis[1].sent("sendPoll")) == 1
