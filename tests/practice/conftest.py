"""Fixtures for practice: both PracticeStore implementations, and a wired PracticeService."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.bank_tools import to_anki
from bot.core.bank import QuestionBank
from bot.core.identity import ChatRef, Platform, UserRef
from bot.core.ports import Store
from bot.core.practice import PracticeService
from bot.core.practice_ports import PracticeStore
from bot.core.service import QuizService
from bot.storage.memory import MemoryStore
from bot.storage.practice_store import MemoryPracticeStore, SqlitePracticeStore
from bot.storage.sqlite import SqliteStore
from tests.conftest import FixedClock

DM = ChatRef(Platform.TELEGRAM, "501")
ADA = UserRef(Platform.TELEGRAM, "501")


@pytest.fixture(params=["memory", "sqlite"])
async def stores(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[tuple[Store, PracticeStore]]:
    """A (Store, PracticeStore) pair of the same kind."""
    if request.param == "memory":
        yield MemoryStore(), MemoryPracticeStore()
        return
    db = SqliteStore(tmp_path / "practice.db")
    await db.open()
    try:
        yield db, SqlitePracticeStore(db)
    finally:
        await db.close()


@pytest.fixture
async def practice(
    bank: QuestionBank, stores: tuple[Store, PracticeStore], clock: FixedClock
) -> AsyncIterator[PracticeService]:
    store, pstore = stores
    quiz = QuizService(bank, store, clock=clock, ask_rate=(1000, 60.0), rng=random.Random(7))
    service = PracticeService(quiz, pstore, exporter=to_anki, rng=random.Random(7))
    service.attach()
    yield service
    await service.flush()  # queued card updates, before the store closes (as runtime does)
