"""Fixtures for the daily question: both store pairs, the services, a fake outbox."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.core.bank.question_bank import QuestionBank
from bot.core.daily.model import DailyStore
from bot.core.daily.service import DailyService
from bot.core.quiz.ports import Store
from bot.core.quiz.service import QuizService
from bot.storage.memory.quiz import MemoryStore
from bot.storage.sqlite.daily import MemoryDailyStore, SqliteDailyStore
from bot.storage.sqlite.database import SqliteStore
from tests.conftest import FixedClock
from tests.daily.fakes import FakeOutbox


@dataclass
class Stores:
    quiz: Store
    daily: DailyStore
    path: Path | None  # the SQLite file, None in memory


@pytest.fixture(params=["memory", "sqlite"])
async def stores(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Stores]:
    if request.param == "memory":
        yield Stores(MemoryStore(), MemoryDailyStore(), None)
        return
    path = tmp_path / "daily.db"
    quiz = SqliteStore(path)
    await quiz.open()
    try:
        yield Stores(quiz, SqliteDailyStore(quiz), path)
    finally:
        await quiz.close()


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(datetime(2026, 12, 1, 12, 0, tzinfo=UTC))


@pytest.fixture
def quiz(bank: QuestionBank, stores: Stores, clock: FixedClock) -> QuizService:
    return QuizService(bank, stores.quiz, clock=clock, ask_rate=(1000, 60.0))


@pytest.fixture
def daily(quiz: QuizService, stores: Stores, clock: FixedClock) -> DailyService:
    return DailyService(quiz, stores.daily, clock=clock)


@pytest.fixture
def outbox() -> FakeOutbox:
    return FakeOutbox()
