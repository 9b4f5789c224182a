"""A quiz-poll vote that arrives while another connection holds the database's write lock.

Telegram has already shown the voter right or wrong and they cannot vote again, so the vote
must be written once the lock goes (bounded), or logged as a WARNING if it never could be.
The real Application and handlers over the loopback Bot API, a real SQLite file, and a second
sqlite3 connection holding BEGIN IMMEDIATE.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from bot.app.bootstrap import App
from bot.core.bank.question_bank import QuestionBank
from bot.core.common.identity import Platform, UserRef
from bot.storage.sqlite import Database
from bot.storage.sqlite import writer as writer_module
from tests.fakes.app import make_app
from tests.fakes.clock import FixedClock
from tests.fakes.telegram_api import Harness, command, harness, poll_answer

VOTER = 7


@pytest.fixture
async def app(tmp_path: Path, bank: QuestionBank, clock: FixedClock) -> AsyncIterator[App]:
    database = Database(tmp_path / "votes.db", busy_timeout_ms=50)
    async with make_app(tmp_path, bank=bank, clock=clock, seed=5, database=database) as opened:
        yield opened


@pytest.fixture
async def tg(app: App) -> AsyncIterator[Harness]:
    async with harness(app.quiz) as h:
        yield h


@pytest.fixture
def locker(app: App) -> Iterator[sqlite3.Connection]:
    assert app.database is not None
    conn = sqlite3.connect(app.database.path, isolation_level=None)
    yield conn
    if conn.in_transaction:
        conn.execute("ROLLBACK")
    conn.close()


async def new_poll(tg: Harness, app: App) -> tuple[str, int]:
    """Ask a poll question in the group: its poll id and the right option's index."""
    await tg.send(command("/question beta junior"))
    poll_id = list(tg.api._polls)[-1]
    round_id = await app.store.linked_round("telegram", poll_id)
    assert round_id is not None
    rnd = await app.quiz.get_round(round_id)
    assert rnd is not None and rnd.question_id == "beta-one"
    return poll_id, rnd.order.index(0)  # beta-one's first choice is the right one


async def votes(app: App) -> int:
    player = await app.store.player(UserRef(Platform.TELEGRAM, str(VOTER)), "Cy")
    return (await app.store.player_stats(player)).answered


async def test_a_vote_during_a_lock_is_recorded_once_the_lock_goes(
    tg: Harness, app: App, locker: sqlite3.Connection, caplog: pytest.LogCaptureFixture
) -> None:
    first, right = await new_poll(tg, app)
    await tg.send(poll_answer(first, right, user_id=VOTER, first_name="Cy"))  # a regular
    second, right = await new_poll(tg, app)

    locker.execute("BEGIN IMMEDIATE")
    asyncio.get_running_loop().call_later(0.6, locker.execute, "ROLLBACK")
    await tg.send(poll_answer(second, right, user_id=VOTER, first_name="Cy"))

    assert await votes(app) == 2
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


async def test_a_vote_locked_out_too_long_is_a_warning(
    tg: Harness,
    app: App,
    locker: sqlite3.Connection,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(writer_module, "RETRY_FOR", 0.3)
    first, right = await new_poll(tg, app)
    await tg.send(poll_answer(first, right, user_id=VOTER, first_name="Cy"))
    second, right = await new_poll(tg, app)
    tg.api.clear()

    locker.execute("BEGIN IMMEDIATE")
    await tg.send(poll_answer(second, right, user_id=VOTER, first_name="Cy"))
    locker.execute("ROLLBACK")

    assert await votes(app) == 1
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("1 answers were not recorded" in w and "locked" in w for w in warnings), warnings
    assert f"telegram: a vote by user {VOTER} in poll {second} was lost" in warnings
    assert tg.api.sent() == []  # nobody to tell in the group: the poll already showed it
