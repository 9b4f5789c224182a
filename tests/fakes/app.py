"""Apps for tests, built by the real composition root (`bot.app.bootstrap.build`).

Tests override only what they must control: the tiny test bank, a fixed clock, in-memory or
SQLite storage in tmp_path, seeded randomness and a generous /question rate limit.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bot.app.bootstrap import App, Storage, build
from bot.config import Config, DatabaseConfig, QuizConfig
from bot.core.bank.question_bank import QuestionBank
from bot.core.common.clock import Clock
from bot.core.common.secret import Secret
from bot.core.daily.ports import DailyStore
from bot.core.quiz import Store
from tests.fakes.paths import TEST_BANK

SEED = 7


def make_config(
    folder: Path, *, db: str = "stackprep.db", url: str | None = None, **changes: Any
) -> Config:
    """A configuration over the test bank with its database file `db` in `folder` (or, with
    `url`, a PostgreSQL database)."""
    return Config(
        database=DatabaseConfig(path=folder / db, url=Secret(url) if url else None),
        quiz=QuizConfig(questions_dir=TEST_BANK),
        **changes,
    )


def make_app(
    folder: Path,
    *,
    storage: Storage = "sqlite",
    bank: QuestionBank | None = None,
    clock: Clock | None = None,
    seed: int = SEED,
    db: str = "stackprep.db",
    url: str | None = None,
    **overrides: Any,
) -> App:
    """`build` as the tests use it; open it with `async with` (memory storage needs not)."""
    options: dict[str, Any] = {
        "ask_rate": (1000, 60.0),
        "rng": random.Random(seed),
        "practice_rng": random.Random(seed),
        **overrides,
    }
    config = make_config(folder, db=db, url=url)
    return build(config, storage=storage, bank=bank, clock=clock, **options)


def memory_app(bank: QuestionBank, clock: Clock | None = None, **overrides: Any) -> App:
    """An app over in-memory storage (nothing to open or close)."""
    return make_app(Path("unused"), storage="memory", bank=bank, clock=clock, **overrides)


@dataclass
class Stores:
    """The daily question's view of an app: its quiz store, daily store and database file."""

    quiz: Store
    daily: DailyStore
    path: Path | None  # the SQLite file, None in memory and on PostgreSQL

    @classmethod
    def of(cls, app: App) -> Stores:
        path = getattr(app.database, "path", None)
        return cls(app.store, app.daily.store, path)
