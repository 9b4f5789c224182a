"""For the property-based tests of the core: hypothesis calls a test body many times, which
pytest's function-scoped async fixtures cannot serve. These fixtures give a module one event
loop (an `asyncio.Runner`) and apps opened on it, built by the real composition root."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.app.bootstrap import App
from bot.core.bank.question_bank import load_bank
from tests.fakes.app import make_app
from tests.fakes.clock import FixedClock
from tests.fakes.paths import TEST_BANK


@pytest.fixture(scope="module")
def runner() -> Iterator[asyncio.Runner]:
    with asyncio.Runner() as loop:
        yield loop


@pytest.fixture(scope="module", params=["memory", "sqlite"])
def module_app(
    request: pytest.FixtureRequest, runner: asyncio.Runner, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[App]:
    """An app over memory and over a SQLite file, open for the whole module."""
    folder: Path = tmp_path_factory.mktemp("properties")
    app = make_app(folder, storage=request.param, bank=load_bank(TEST_BANK), clock=FixedClock())
    runner.run(app.open())
    yield app
    runner.run(app.close())
