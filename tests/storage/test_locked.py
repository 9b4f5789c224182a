"""A database locked by another connection: answers and other writes wait for it, bounded.

A real SQLite file, and a second connection (as an operator's sqlite3 shell or a backup tool
would) holding the write lock with BEGIN IMMEDIATE for a while. busy_timeout is short here so
that each attempt gives up quickly and the writer's own retries are what is tested.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import aiosqlite
import pytest

from bot.app.bootstrap import App
from bot.core.bank.question_bank import QuestionBank
from bot.core.common.errors import StorageUnavailable
from bot.core.common.identity import ChatRef, Platform, UserRef
from bot.core.quiz.rounds import RoundKind
from bot.storage.sqlite import Database
from bot.storage.sqlite import writer as writer_module
from tests.fakes.app import make_app
from tests.fakes.clock import FixedClock

GROUP = ChatRef(Platform.TELEGRAM, "-100", "-100")
ADA = UserRef(Platform.TELEGRAM, "31")


@pytest.fixture
async def app(tmp_path: Path, bank: QuestionBank, clock: FixedClock) -> AsyncIterator[App]:
    database = Database(tmp_path / "locked.db", busy_timeout_ms=50)
    async with make_app(tmp_path, bank=bank, clock=clock, database=database) as opened:
        yield opened


@pytest.fixture
def locker(app: App) -> Iterator[sqlite3.Connection]:
    """Another connection to the same file, ready to take its write lock."""
    assert app.database is not None
    conn = sqlite3.connect(app.database.path, isolation_level=None)
    yield conn
    if conn.in_transaction:
        conn.execute("ROLLBACK")
    conn.close()


def hold_lock(locker: sqlite3.Connection, seconds: float) -> None:
    """Take the file's write lock now and let it go after `seconds` (on the event loop)."""
    locker.execute("BEGIN IMMEDIATE")
    asyncio.get_running_loop().call_later(seconds, locker.execute, "ROLLBACK")


async def answered(app: App, user: UserRef) -> int:
    return (await app.store.player_stats(await app.store.player(user, "Ada"))).answered


async def test_an_answer_waits_for_a_lock_released_in_time(
    app: App, locker: sqlite3.Connection, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger=writer_module.__name__)
    quiz = app.quiz
    await quiz.store.player(ADA, "Ada")  # a known player: only the answer itself is written
    asked = await quiz.ask(ADA, "Ada", GROUP, question_id="beta-one")
    right = asked.round.correct_label(asked.question)

    hold_lock(locker, 0.6)  # twelve busy timeouts: failed at once before the fix
    reply = await quiz.answer_choice(ADA, "Ada", asked.round.id, right)

    assert "Right" in reply.plain_text()
    assert not locker.in_transaction
    assert await answered(app, ADA) == 1
    assert "locked by another connection; retrying answers" in caplog.text
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


async def test_an_answer_locked_out_too_long_is_not_recorded_and_says_so(
    app: App,
    locker: sqlite3.Connection,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(writer_module, "RETRY_FOR", 0.3)
    quiz = app.quiz
    await quiz.store.player(ADA, "Ada")
    asked = await quiz.ask(ADA, "Ada", GROUP, question_id="beta-one")
    right = asked.round.correct_label(asked.question)

    locker.execute("BEGIN IMMEDIATE")
    with pytest.raises(StorageUnavailable, match="nothing was recorded"):
        await quiz.answer_choice(ADA, "Ada", asked.round.id, right)
    locker.execute("ROLLBACK")

    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert [r.getMessage()[:30] for r in warnings] == ["1 answers were not recorded: t"]
    assert "locked by another connection" in warnings[0].getMessage()
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]  # no traceback flood
    assert await answered(app, ADA) == 0
    await quiz.answer_choice(ADA, "Ada", asked.round.id, right)  # nothing half-written
    assert await answered(app, ADA) == 1


async def test_other_writes_wait_for_the_lock_too(app: App, locker: sqlite3.Connection) -> None:
    """A round, a session, a rated open answer: each written once the lock goes."""
    question = app.bank.get("alpha-one")
    assert question is not None
    now = app.clock.now()
    hold_lock(locker, 0.4)
    asked = await app.quiz.open_round(question, GROUP, RoundKind.DAILY, now, None)
    assert await app.quiz.store.get_round(asked.round.id) is not None


async def test_answers_queued_during_a_lock_are_all_written_after_it(
    app: App, locker: sqlite3.Connection
) -> None:
    """Many voters at once while the file is locked: every answer recorded, none twice."""
    users = [UserRef(Platform.TELEGRAM, str(100 + n)) for n in range(40)]
    for user in users:
        await app.store.player(user, "Ada")
    asked = await app.quiz.ask(ADA, "Ada", GROUP, question_id="beta-one")
    right = asked.round.correct_label(asked.question)
    hold_lock(locker, 0.5)
    await asyncio.gather(*(app.quiz.answer_choice(u, "Ada", asked.round.id, right) for u in users))
    assert (await app.quiz.store.round_stats(asked.round.id)).answered == 40


async def test_until_unlocked_begins_a_transaction_once_the_lock_goes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The loop-side helper for a statement awaited one by one (a transaction's BEGIN
    IMMEDIATE): tried again while the file is locked, bounded the same way."""
    path = tmp_path / "begin.db"
    locker = sqlite3.connect(path, isolation_level=None)
    locker.execute("PRAGMA journal_mode = WAL")
    conn = await aiosqlite.connect(path, isolation_level=None)
    await conn.execute("PRAGMA busy_timeout = 50")
    try:
        hold_lock(locker, 0.4)
        await writer_module.until_unlocked(lambda: conn.execute("BEGIN IMMEDIATE"))
        assert conn.in_transaction
        await conn.execute("ROLLBACK")

        monkeypatch.setattr(writer_module, "RETRY_FOR", 0.2)
        locker.execute("BEGIN IMMEDIATE")
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            await writer_module.until_unlocked(lambda: conn.execute("BEGIN IMMEDIATE"))
        assert not conn.in_transaction
    finally:
        await conn.close()
        if locker.in_transaction:
            locker.execute("ROLLBACK")
        locker.close()


async def test_a_first_time_player_waits_for_the_lock_too(
    app: App, locker: sqlite3.Connection
) -> None:
    """A person the bot has not seen since it started is written in a transaction of its own
    (not the writer's queue): its BEGIN IMMEDIATE waits for the lock as well."""
    asked = await app.quiz.ask(ADA, "Ada", GROUP, question_id="beta-one")
    right = asked.round.correct_label(asked.question)
    newcomer = UserRef(Platform.TELEGRAM, "999")
    hold_lock(locker, 0.5)  # ten times busy_timeout
    await app.quiz.answer_choice(newcomer, "Bo", asked.round.id, right)
    assert (await app.quiz.store.round_stats(asked.round.id)).answered == 1
