"""The storage contract: every test here that takes `app` (or a view of it: `store`,
`stores`, ...) runs against the three engines, memory, SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.app.bootstrap import App
from bot.core.bank.question_bank import QuestionBank
from tests.fakes.app import make_app
from tests.fakes.clock import FixedClock
from tests.fakes.postgres import fresh_schema


@pytest.fixture(params=["memory", "sqlite", "postgresql"])
async def app(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    bank: QuestionBank,
    clock: FixedClock,
    seed: int,
) -> AsyncIterator[App]:
    if request.param != "postgresql":
        async with make_app(
            tmp_path, storage=request.param, bank=bank, clock=clock, seed=seed
        ) as opened:
            yield opened
        return
    async with fresh_schema() as url:
        built = make_app(tmp_path, storage="postgresql", bank=bank, clock=clock, seed=seed, url=url)
        async with built as opened:
            yield opened
