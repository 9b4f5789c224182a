"""Shared fixtures: the tiny test bank, a fixed clock, and both Store implementations."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.core.bank.question_bank import QuestionBank, load_bank
from bot.core.quiz.ports import Store
from bot.core.quiz.service import QuizService
from bot.storage.memory.quiz import MemoryStore
from bot.storage.sqlite.database import SqliteStore

DATA = Path(__file__).parent / "data"
TEST_BANK = DATA / "bank"
REPO = Path(__file__).parent.parent


class FixedClock:
    """A clock that only moves when told to."""

    def __init__(self, start: datetime | None = None) -> None:
        self.current = start or datetime(2026, 12, 1, 12, 0, tzinfo=UTC)

    def now(self) -> datetime:
        return self.current

    def advance(self, **kwargs: float) -> None:
        self.current += timedelta(**kwargs)


@pytest.fixture(autouse=True)
def _keep_root_logging() -> Iterator[None]:
    """`cli.main()` installs its own stderr handler on the root logger; put pytest's back,
    so later tests do not log into a stream that pytest has already closed."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.fixture
def bank() -> QuestionBank:
    return load_bank(TEST_BANK)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock()


@pytest.fixture(params=["memory", "sqlite"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    s: Store = MemoryStore() if request.param == "memory" else SqliteStore(tmp_path / "t.db")
    await s.open()
    yield s
    await s.close()


@pytest.fixture
async def sqlite_store(tmp_path: Path) -> AsyncIterator[SqliteStore]:
    s = SqliteStore(tmp_path / "quiz.db")
    await s.open()
    yield s
    await s.close()


@pytest.fixture
def service(bank: QuestionBank, store: Store, clock: FixedClock) -> QuizService:
    return QuizService(bank, store, clock=clock, ask_rate=(1000, 60.0))
