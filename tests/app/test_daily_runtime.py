"""`stackprep daily list`, and the runtime running the scheduler over the adapters' outboxes."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.app import run as runtime
from bot.app.bootstrap import App, build
from bot.cli.entry import main
from bot.config import load_config
from bot.core.bank.question_bank import load_bank
from bot.core.common.identity import ChatRef, Platform, UserRef
from bot.core.daily.model import DailyDefaults, DeliveryKind, DeliveryState
from bot.core.delivery import DeliveryFailed
from tests.fakes.app import make_app
from tests.fakes.outbox import FakeOutbox, gone
from tests.fakes.paths import TEST_BANK

GROUP = ChatRef(Platform.TELEGRAM, "-1001", "-1001")
CHANNEL = ChatRef(Platform.DISCORD, "555", "777")


async def _app(path: Path) -> App:
    """The app as the runtime builds it (system clock), over the database file `path`."""
    app = make_app(path.parent, db=path.name, bank=load_bank(TEST_BANK))
    await app.open()
    return app


def test_daily_list_shows_every_place(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "bot.db"
    monkeypatch.setenv("STACKPREP_DATABASE", str(db))
    assert main(["daily", "list"]) == 0
    assert "No daily questions yet" in capsys.readouterr().out

    async def setup() -> None:
        app = await _app(db)
        daily = app.daily
        try:
            await daily.command(
                GROUP, ["set", "07:30", "Europe/Berlin", "alpha", "2h"], is_admin=True
            )
            await daily.command(CHANNEL, ["set", "18:00"], is_admin=True)
            sub = await daily.store.subscription_for(CHANNEL)
            assert sub is not None
            outbox = FakeOutbox(Platform.DISCORD, fail={"555": [gone("404 Unknown Channel")]})
            await daily.run_post(sub, datetime.now(UTC).date(), outbox)
        finally:
            await app.close()

    asyncio.run(setup())
    assert main(["daily", "list"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split()[:4] == ["id", "platform", "place", "time"]
    assert out[1].split()[:6] == ["1", "telegram", "-1001", "in", "-1001", "07:30"]
    assert "Europe/Berlin" in out[1] and "alpha; any" in out[1] and out[1].endswith("active")
    assert "off: the bot cannot post there any more (404 Unknown Channel)" in out[2]
    assert out[-1] == "1 active, 1 off"


def test_build_takes_the_daily_defaults_from_the_config(tmp_path: Path) -> None:
    file = tmp_path / "c.toml"
    file.write_text(
        '[daily]\ntime = "07:15"\ntimezone = "Europe/Berlin"\nanswer_window_hours = 3\n'
    )
    config = load_config(file, {})
    daily = build(config, storage="memory", bank=load_bank(TEST_BANK)).daily
    assert daily.defaults == DailyDefaults(
        datetime(2000, 1, 1, 7, 15).time(), "Europe/Berlin", timedelta(hours=3)
    )


@dataclass
class FakeAdapter:
    name: str = "telegram"
    outbox: FakeOutbox = field(default_factory=FakeOutbox)
    ready: asyncio.Event = field(default_factory=asyncio.Event)

    async def run(self) -> None:
        await asyncio.Event().wait()


async def test_runtime_starts_the_scheduler_once_the_platform_is_ready(tmp_path: Path) -> None:
    app = await _app(tmp_path / "bot.db")
    daily = app.daily
    try:
        now = datetime.now(UTC)
        await daily.command(GROUP, ["set", f"{now:%H:%M}", "UTC", "1h"], is_admin=True)
        sub = await daily.store.subscription_for(GROUP)
        assert sub is not None  # set a day ago: today's post is due now
        await daily.store.save_subscription(replace(sub, since=now - timedelta(days=1)))
        adapter = FakeAdapter()
        task = asyncio.create_task(runtime.run_jobs(app, [adapter], ready_timeout=5))  # type: ignore[list-item]
        await asyncio.sleep(0.05)
        assert adapter.outbox.sent == []  # not before the adapter is logged in
        adapter.ready.set()
        async with asyncio.timeout(5):
            await adapter.outbox.until(1)
        assert adapter.outbox.sent[0].kind == "question"
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    finally:
        await app.close()


async def test_the_runtime_plays_games_and_resumes_the_running_ones(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """run_jobs starts the game engine over the same (paced) outboxes: a game started while
    it runs gets its first question, and one left running by an earlier run is resumed."""
    app = await _app(tmp_path / "bot.db")
    monkeypatch.setattr(app.games, "start_delay", timedelta(0))
    user = UserRef(Platform.TELEGRAM, "5")
    other = ChatRef(Platform.TELEGRAM, "-1002", "-1002")
    try:
        await app.games.start(user, "Eve", other, "3")  # left from before this run
        adapter = FakeAdapter()
        adapter.ready.set()
        task = asyncio.create_task(runtime.run_jobs(app, [adapter], ready_timeout=5))  # type: ignore[list-item]
        async with asyncio.timeout(5):
            await adapter.outbox.until(1)  # the resumed game's first question
            await app.games.start(user, "Eve", GROUP, "3")
            await adapter.outbox.until(2)
        assert {s.chat.chat_id for s in adapter.outbox.questions()} == {"-1001", "-1002"}
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    finally:
        await app.close()


async def test_a_daily_scheduler_that_fails_to_start_is_retried(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """E.g. the database busy at start: the daily question comes once it starts; meanwhile
    the run goes on (practice's jobs and backups are on the same scheduler)."""
    from bot.jobs.daily import DailyScheduler

    monkeypatch.setattr(runtime, "DAILY_START_RETRY", (0.01, 0.05))
    start = DailyScheduler.start
    attempts: list[int] = []

    async def busy_once(self: DailyScheduler) -> None:
        attempts.append(1)
        if len(attempts) == 1:
            raise RuntimeError("database is locked")
        await start(self)

    monkeypatch.setattr(DailyScheduler, "start", busy_once)
    app = await _app(tmp_path / "bot.db")
    try:
        now = datetime.now(UTC)
        await app.daily.command(GROUP, ["set", f"{now:%H:%M}", "UTC", "1h"], is_admin=True)
        sub = await app.daily.store.subscription_for(GROUP)
        assert sub is not None
        await app.daily.store.save_subscription(replace(sub, since=now - timedelta(days=1)))
        adapter = FakeAdapter()
        adapter.ready.set()
        task = asyncio.create_task(runtime.run_jobs(app, [adapter], ready_timeout=5))  # type: ignore[list-item]
        async with asyncio.timeout(5):
            await adapter.outbox.until(1)
        assert len(attempts) == 2
        assert "could not start (database is locked)" in caplog.text
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    finally:
        await app.close()


async def test_no_outboxes_and_no_backups_no_scheduler(tmp_path: Path) -> None:
    app = await _app(tmp_path / "bot.db")
    app.config = replace(app.config, database=replace(app.config.database, backup_every=None))
    try:
        await asyncio.wait_for(runtime.run_jobs(app, [object()], ready_timeout=1), 1)  # type: ignore[list-item]
    finally:
        await app.close()


@dataclass
class ClosingAdapter:
    """An adapter whose client closes when its run() is cancelled; a post still waiting for
    the platform's answer then fails, as with a real HTTP client that was shut down."""

    name: str = "telegram"
    outbox: FakeOutbox = field(default_factory=lambda: FakeOutbox(gate=asyncio.Event()))
    ready: asyncio.Event = field(default_factory=asyncio.Event)
    closed: bool = False

    def __post_init__(self) -> None:
        self.ready.set()
        send = self.outbox._send

        async def send_unless_closed(*args: object, **kwargs: object) -> str:
            ref = await send(*args, **kwargs)  # type: ignore[arg-type]
            if self.closed:
                raise DeliveryFailed("the HTTP client was closed")
            return ref

        self.outbox._send = send_unless_closed  # type: ignore[method-assign]

    async def run(self) -> None:
        try:
            await asyncio.Event().wait()
        finally:
            self.closed = True


async def test_shutdown_stops_the_scheduler_before_the_adapters(tmp_path: Path) -> None:
    """SIGTERM during a post: the post in flight finishes through a still-open client and is
    recorded as delivered (not failed, and so not sent a second time after the restart)."""
    app = await _app(tmp_path / "bot.db")
    daily = app.daily
    try:
        now = datetime.now(UTC)
        await daily.command(GROUP, ["set", f"{now:%H:%M}", "UTC", "1h"], is_admin=True)
        sub = await daily.store.subscription_for(GROUP)
        assert sub is not None
        await daily.store.save_subscription(replace(sub, since=now - timedelta(days=1)))
        adapter = ClosingAdapter()
        scheduler = runtime.run_jobs(app, [adapter], ready_timeout=5)  # type: ignore[list-item]
        task = asyncio.create_task(runtime._run_all([adapter], scheduler))  # type: ignore[list-item]
        async with asyncio.timeout(5):
            await adapter.outbox.until(1)  # the post is on its way
        task.cancel()
        await asyncio.sleep(0.05)
        assert adapter.outbox.gate is not None
        adapter.outbox.gate.set()  # the platform answers
        with pytest.raises(asyncio.CancelledError):
            await task
        assert adapter.closed
        claim, _ = await daily.store.claim(sub.id, now.date(), "x", now, now)
        delivery = await daily.store.delivery(claim.id, DeliveryKind.QUESTION)
        assert delivery is not None and delivery.state is DeliveryState.DELIVERED
    finally:
        await app.close()
