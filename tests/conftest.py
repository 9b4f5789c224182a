"""Shared fixtures: the tiny test bank, a fixed clock, and apps built by the real composition
root (`bot.app.bootstrap.build`) over both storages; the fixtures below are views of them."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from bot.app.bootstrap import App
from bot.core.bank.question_bank import QuestionBank, load_bank
from bot.core.daily.service import DailyService
from bot.core.practice.ports import PracticeStore
from bot.core.practice.service import PracticeService
from bot.core.quiz import QuizService, Store
from bot.storage.sqlite import Database, SqliteQuizStore
from tests.fakes import postgres as _postgres  # noqa: F401 - takes its variable out of the environment early
from tests.fakes.app import SEED, Stores, make_app
from tests.fakes.clock import FixedClock
from tests.fakes.outbox import FakeOutbox
from tests.fakes.paths import TEST_BANK


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


@pytest.fixture
def seed() -> int:
    """The seed of the apps' randomness (a module overrides it to pin other option orders)."""
    return SEED


@pytest.fixture(params=["memory", "sqlite"])
async def app(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    bank: QuestionBank,
    clock: FixedClock,
    seed: int,
) -> AsyncIterator[App]:
    """The app over in-memory storage and over a SQLite file: every test that takes it runs
    against both (the contract the two storages are held to)."""
    built = make_app(tmp_path, storage=request.param, bank=bank, clock=clock, seed=seed)
    async with built as opened:
        yield opened


@pytest.fixture
async def sqlite_app(
    tmp_path: Path, bank: QuestionBank, clock: FixedClock, seed: int
) -> AsyncIterator[App]:
    async with make_app(tmp_path, bank=bank, clock=clock, seed=seed) as opened:
        yield opened


@pytest.fixture
def store(app: App) -> Store:
    return app.store


@pytest.fixture
def service(app: App) -> QuizService:
    return app.quiz


@pytest.fixture
def sqlite_db(sqlite_app: App) -> Database:
    assert sqlite_app.database is not None
    return sqlite_app.database


@pytest.fixture
def sqlite_store(sqlite_app: App) -> SqliteQuizStore:
    assert isinstance(sqlite_app.store, SqliteQuizStore)
    return sqlite_app.store


# -- the daily question ---------------------------------------------------------------------


@pytest.fixture
def stores(app: App) -> Stores:
    return Stores.of(app)


@pytest.fixture
def quiz(app: App) -> QuizService:
    return app.quiz


@pytest.fixture
def daily(app: App) -> DailyService:
    return app.daily


@pytest.fixture
def outbox() -> FakeOutbox:
    return FakeOutbox()


# -- practice -------------------------------------------------------------------------------


@pytest.fixture
def practice_stores(app: App) -> tuple[Store, PracticeStore]:
    """A (Store, PracticeStore) pair of the same kind."""
    return app.store, app.practice.store


@pytest.fixture
def practice(app: App) -> PracticeService:
    return app.practice
