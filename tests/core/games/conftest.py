"""The games tests' engine: the real GameEngine over the loopback outbox, on the test clock."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.app.bootstrap import App
from bot.core.common.identity import Platform
from bot.core.games import GameEngine
from tests.fakes.clock import FakeTimers, FixedClock
from tests.fakes.outbox import FakeOutbox


@pytest.fixture
def timers(clock: FixedClock) -> FakeTimers:
    return FakeTimers(clock)


@pytest.fixture
async def engine(app: App, timers: FakeTimers, outbox: FakeOutbox) -> AsyncIterator[GameEngine]:
    """Plays the app's games (Telegram's, through `outbox`); stopped after the test."""
    engine = GameEngine(app.games, {Platform.TELEGRAM: outbox}, sleep=timers.sleep)
    await engine.start()
    yield engine
    await engine.stop()
