"""Fixtures for practice: both PracticeStore implementations, and a wired PracticeService."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.cli.bank import to_anki
from bot.core.bank.question_bank import QuestionBank
from bot.core.common.identity import ChatRef, Platform, UserRef
from bot.core.practice.ports import PracticeStore
from bot.core.practice.service import PracticeService
from bot.core.quiz.ports import Store
from bot.core.quiz.service import QuizService
from bot.storage.memory.quiz import MemoryStore
from bot.storage.sqlite.database import SqliteStore
from bot.storage.sqlite.practice import MemoryPracticeStore, SqlitePracticeStore
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
