"""`Lanes`' sweep (bot/adapters/telegram/receiving.py): every sweep_every seconds the inbox is
asked again for undone updates no lane holds, so a worker takes over what another left undone
(with several workers on PostgreSQL: tests/adapters/telegram/test_webhook_workers.py). The real
Application and handlers over the recording fake Bot API; the in-memory inbox."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Sequence
from typing import Any

import pytest
from telegram import Update
from telegram.ext import ContextTypes, TypeHandler

from bot.adapters.telegram.adapter import build_application
from bot.adapters.telegram.incoming import App as TelegramApp
from bot.adapters.telegram.receiving import Backoff, Lanes
from bot.core.common.errors import StorageUnavailable
from bot.core.delivery import Inbound
from bot.storage.memory import MemoryUpdateInbox
from tests.fakes.telegram_api import TOKEN, FakeBotApi, command

FAST = Backoff(first=0.001, cap=0.004)


def entry(payload: dict[str, Any]) -> Inbound:
    return Inbound(payload["update_id"], json.dumps(payload))


def recorder(tg: TelegramApp, gates: dict[int, asyncio.Event] | None = None) -> list[int]:
    """Every processing of an update, by id (held at its gate first, if it has one)."""
    seen: list[int] = []

    async def record(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        seen.append(update.update_id)
        if gates and update.update_id in gates:
            await gates[update.update_id].wait()

    tg.add_handler(TypeHandler(Update, record))
    return seen


async def eventually(condition: Callable[[], object], seconds: float = 5) -> None:
    async with asyncio.timeout(seconds):
        while not condition():  # noqa: ASYNC110 (a handler's state: nothing to wait on)
            await asyncio.sleep(0.005)


class PausedRead:
    """The memory inbox, whose pending() reads at once and then answers only once `resume`
    is set: what it read may be marked done meanwhile."""

    def __init__(self) -> None:
        self.inner = MemoryUpdateInbox()
        self.reading = asyncio.Event()
        self.resume = asyncio.Event()
        self.failures = 0

    async def add(self, updates: Sequence[Inbound]) -> list[Inbound]:
        return await self.inner.add(updates)

    async def pending(self, after: int | None = None, limit: int = 1000) -> list[Inbound]:
        if self.failures:
            self.failures -= 1
            raise StorageUnavailable()
        found = await self.inner.pending(after, limit)
        self.reading.set()
        await self.resume.wait()
        return found

    async def done(self, update_ids: Sequence[int]) -> None:
        await self.inner.done(update_ids)

    async def prune(self, below: int) -> int:
        return await self.inner.prune(below)


async def test_a_sweep_processes_an_undone_update_no_lane_holds() -> None:
    inbox = MemoryUpdateInbox()
    left = command("/question beta junior")  # stored by a worker that died before its lane
    api = FakeBotApi()
    async with build_application(TOKEN, request=api, get_updates_request=api) as tg:
        seen = recorder(tg)
        lanes = Lanes(tg, inbox, backoff=FAST, sweep_every=0.01)
        lanes.start()
        try:
            await inbox.add([entry(left)])
            await eventually(lambda: seen)
            await asyncio.sleep(0.05)  # several sweeps more
        finally:
            await lanes.stop()
    assert seen == [left["update_id"]]  # once
    assert await inbox.pending() == []


async def test_an_update_done_while_the_sweep_reads_is_not_processed_again() -> None:
    inbox = PausedRead()
    update = command("/question beta junior")
    gate = asyncio.Event()
    api = FakeBotApi()
    async with build_application(TOKEN, request=api, get_updates_request=api) as tg:
        seen = recorder(tg, {update["update_id"]: gate})
        lanes = Lanes(tg, inbox, backoff=FAST, sweep_every=3600)
        lanes.start()
        try:
            lanes.accept(await inbox.add([entry(update)]))
            await eventually(lambda: seen)  # in its lane, held
            sweep = asyncio.create_task(lanes.sweep())
            await inbox.reading.wait()  # the sweep read it: not done yet
            gate.set()  # it finishes; its done mark is written and its lane lets it go
            async with asyncio.timeout(5):
                while await inbox.inner.pending():  # noqa: ASYNC110 (the inbox's state)
                    await asyncio.sleep(0.005)
            inbox.resume.set()
            assert await sweep == 0
            await asyncio.sleep(0.05)
        finally:
            gate.set()
            inbox.resume.set()
            await lanes.stop()
    assert seen == [update["update_id"]]


async def test_a_sweep_that_cannot_read_the_inbox_warns_and_looks_again(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    inbox = PausedRead()
    inbox.resume.set()
    inbox.failures = 1
    left = command("/question beta junior")
    api = FakeBotApi()
    async with build_application(TOKEN, request=api, get_updates_request=api) as tg:
        seen = recorder(tg)
        lanes = Lanes(tg, inbox, backoff=FAST, sweep_every=0.01)
        lanes.start()
        try:
            await inbox.add([entry(left)])
            await eventually(lambda: seen)
        finally:
            await lanes.stop()
    assert "could not read the inbox (StorageUnavailable" in caplog.text
    assert "processing 1 undone updates no worker was processing" in caplog.text
