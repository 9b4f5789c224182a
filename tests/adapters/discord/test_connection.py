"""Staying connected to Discord, end to end against the fake Discord on 127.0.0.1: what is
retried with backoff (Discord unreachable or failing at the start, a dropped gateway), what
ends the run with one line (a rejected or revoked token, the close codes discord.py gives up
on), and the time limit on REST calls (a hanging API never holds a post or an answer for
aiohttp's default of 300 s).
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import discord
import discord.http
import pytest

from bot.adapters.base import AdapterError
from bot.adapters.discord.adapter import DiscordAdapter
from bot.app import run as runtime
from bot.config import Secret
from bot.core.bank.question_bank import QuestionBank
from bot.core.common.identity import ChatRef, Platform, UserRef
from bot.core.daily.service import Outcome
from tests.adapters.discord.test_adapter import config_for
from tests.fakes.app import memory_app
from tests.fakes.clock import FixedClock
from tests.fakes.discord_api import (
    APP_ID,
    CHANNEL_ID,
    GUILD_ID,
    TOKEN,
    FakeDiscord,
    FakeUser,
    running_bot,
)

ANN = FakeUser(101, "Ann")


def fast_adapter(bank: QuestionBank, token: str = TOKEN) -> DiscordAdapter:
    """The real adapter, retrying after 0.05 s instead of 1 s."""
    return DiscordAdapter(
        Secret(token), memory_app(bank).quiz, guild_ready_timeout=0.1, first_retry=0.05
    )


def closed_port() -> int:
    """A port on 127.0.0.1 nothing listens on (a connection there is refused)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@asynccontextmanager
async def serving(adapter: DiscordAdapter) -> AsyncIterator[asyncio.Task[None]]:
    task = asyncio.create_task(adapter.run())
    try:
        yield task
    finally:
        task.cancel()
        await asyncio.wait({task})
        if not task.cancelled():
            task.exception()  # retrieved: the test looked at it already


class Heard(logging.Handler):
    """Sets `event` once a log record containing `text` is emitted."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text
        self.event = asyncio.Event()

    def emit(self, record: logging.LogRecord) -> None:
        if self.text in record.getMessage():
            self.event.set()


@asynccontextmanager
async def heard(text: str) -> AsyncIterator[asyncio.Event]:
    handler = Heard(text)
    logging.getLogger().addHandler(handler)
    try:
        yield handler.event
    finally:
        logging.getLogger().removeHandler(handler)


# -- the start -------------------------------------------------------------------------------


async def test_discord_unreachable_at_the_start_is_retried_until_it_answers(
    bank: QuestionBank, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Connection refused, then a 503 on login: the bot waits and retries instead of exiting
    (a host that boots before its network, a Discord outage), then serves."""
    caplog.set_level(logging.DEBUG)
    async with FakeDiscord() as fake:
        monkeypatch.setattr(discord.http.Route, "BASE", f"http://127.0.0.1:{closed_port()}/api")
        fake.fail_next("GET", "/users/@me", 503)
        adapter = fast_adapter(bank)
        async with (
            heard("cannot log in (ClientConnectorError)") as refused,
            serving(adapter) as task,
        ):
            await asyncio.wait_for(refused.wait(), 10)
            monkeypatch.undo()  # Discord answers again (first with the 503)
            await fake.wait_connected()
            assert not task.done()
            topics = await fake.interact(fake.command("topics", user=ANN))
            assert "alpha" in topics.body["data"]["content"]
        assert [r.status for r in fake.matching("GET", "/users/@me")] == [503, 200]
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("cannot log in (HTTP 503); trying again in" in w for w in warnings)
    assert not any(TOKEN in r.getMessage() for r in caplog.records)


async def test_a_gateway_that_refuses_connections_at_the_start_is_retried(
    bank: QuestionBank, caplog: pytest.LogCaptureFixture
) -> None:
    """Each shard's first connection is retried with the adapter's backoff, one warning per
    attempt (discord.py's unsharded client gave up there with an AttributeError,
    Rapptz/discord.py#10520; its sharded one would retry every 5 s with a traceback)."""
    async with FakeDiscord() as fake:
        fake.gateway_down = 2
        adapter = fast_adapter(bank)
        async with serving(adapter) as task:
            await fake.wait_connected()
            assert not task.done()
            await fake.interact(fake.command("help", user=ANN))
        assert fake.gateway_attempts == 3
    assert any(
        "cannot reach the gateway (WSServerHandshakeError)" in r.getMessage()
        for r in caplog.records
    )


async def test_a_rejected_token_is_fatal_at_once_without_retrying(bank: QuestionBank) -> None:
    async with FakeDiscord() as fake:
        adapter = fast_adapter(bank, "not-the-token")
        with pytest.raises(AdapterError, match="Discord rejected the bot token"):
            await asyncio.wait_for(adapter.run(), 10)
        assert len(fake.matching("GET", "/users/@me")) == 1


# -- while serving ---------------------------------------------------------------------------


async def test_a_dropped_gateway_is_resumed_and_serving_goes_on(bank: QuestionBank) -> None:
    async with FakeDiscord() as fake:
        adapter = fast_adapter(bank)
        async with serving(adapter) as task:
            await fake.wait_connected()
            await fake.close_gateway(4000)  # an unknown error: discord.py resumes
            await asyncio.sleep(0.1)
            await fake.wait_connected()
            topics = await fake.interact(fake.command("topics", user=ANN))
            assert "alpha" in topics.body["data"]["content"]
            assert not task.done()


async def test_an_event_with_a_lone_surrogate_escape_is_read_and_serving_goes_on(
    tmp_path: Path, bank: QuestionBank, clock: FixedClock
) -> None:
    """JSON can carry "\\ud800" (a client's lone surrogate); orjson, which discord.py reads the
    gateway with once it is installed, refuses it, and that error ended the shards' session
    loop: one event stopped the bot. Read, the topic typed is `alpha` (the core drops the
    surrogate) and the question goes out (SQLite stores the round)."""
    async with FakeDiscord() as fake, running_bot(fake, tmp_path / "q.db", bank, clock) as bot:
        asked = await fake.interact(fake.command("question", {"topic": "alpha\ud800"}, user=ANN))
        question = fake.message_of(asked)
        assert question["components"], question  # the answer buttons: a question, no refusal
        topics = await fake.interact(fake.command("topics", user=ANN))
        assert "alpha" in topics.body["data"]["content"]
        assert not bot.task.done()


@pytest.mark.parametrize(
    ("code", "says"),
    [
        (4004, "Discord rejected the bot token in STACKPREP_DISCORD_TOKEN (gateway close code "
               "4004, authentication failed)"),
        (4010, "close code 4010, invalid shard"),
        (4011, "close code 4011, sharding required"),
        (4012, "close code 4012, invalid API version"),
        (4013, "close code 4013, invalid intents"),
        (4014, "close code 4014, disallowed intents"),
    ],
)  # fmt: skip
async def test_a_gateway_close_discord_py_gives_up_on_ends_the_adapter_with_one_line(
    bank: QuestionBank, code: int, says: str
) -> None:
    async with FakeDiscord() as fake:
        adapter = fast_adapter(bank)
        async with serving(adapter) as task:
            await fake.wait_connected()
            await fake.close_gateway(code)
            with pytest.raises(AdapterError) as failure:
                await asyncio.wait_for(asyncio.shield(task), 10)
        assert says in str(failure.value) and "\n" not in str(failure.value)
        assert adapter.client.is_closed()


async def test_a_token_revoked_while_running_ends_the_run_with_one_line(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The zombie: a token reset while the bot runs must end the process (exit code 1 from
    the CLI), not leave it up doing nothing."""
    async with FakeDiscord() as fake:
        run = asyncio.create_task(runtime.run(config_for(tmp_path, TOKEN)))  # the real root
        await fake.interact(fake.command("topics", user=ANN))
        await fake.revoke_token()
        with pytest.raises(AdapterError) as failure:
            await asyncio.wait_for(run, 10)
    assert "Discord rejected the bot token" in str(failure.value)
    assert "4004" in str(failure.value)
    assert not any(TOKEN in r.getMessage() for r in caplog.records)


# -- REST calls that hang --------------------------------------------------------------------


async def test_a_daily_post_discord_never_answers_fails_within_the_limit(
    tmp_path: Path, bank: QuestionBank, clock: FixedClock
) -> None:
    """The post gives up after the REST limit (here 0.5 s, 30 s by default) with a clear
    reason the scheduler records and retries, instead of waiting 300 s."""
    channel = ChatRef(Platform.DISCORD, str(CHANNEL_ID), str(GUILD_ID))
    async with (
        FakeDiscord() as fake,
        running_bot(fake, tmp_path / "q.db", bank, clock, daily=True, rest_timeout_s=0.5) as bot,
    ):
        daily = bot.app.daily
        await daily.command(channel, ["set", "09:00", "UTC"], is_admin=True)
        sub = await daily.store.subscription_for(channel)
        assert sub is not None
        fake.hang_next("POST", rf"/channels/{CHANNEL_ID}/messages")
        async with asyncio.timeout(10):  # without a limit: aiohttp's 300 s
            result = await daily.run_post(sub, clock.now().date(), bot.adapter.outbox)
        assert result.outcome is Outcome.FAILED and result.retry
        assert result.error == f"Discord channel {CHANNEL_ID}: Discord did not answer within 0.5 s"
        (hung,) = fake.matching("POST", rf"/channels/{CHANNEL_ID}/messages")
        assert hung.status == 0  # it really was never answered
        async with asyncio.timeout(10):  # Discord answers again: the retry goes out
            again = await daily.run_post(sub, clock.now().date(), bot.adapter.outbox)
        assert again.outcome is Outcome.DELIVERED
        # the limit is per request: the gateway, open for longer than 0.5 s, still works
        topics = await fake.interact(fake.command("topics", user=ANN))
        assert "alpha" in topics.body["data"]["content"]


async def test_a_file_discord_never_takes_is_reported_to_the_person(
    tmp_path: Path, bank: QuestionBank, clock: FixedClock
) -> None:
    async with (
        FakeDiscord() as fake,
        running_bot(
            fake, tmp_path / "q.db", bank, clock, practice=True, rest_timeout_s=0.5, seed=4
        ) as bot,
    ):
        ann = UserRef(Platform.DISCORD, str(ANN.id))
        dm = ChatRef(Platform.DISCORD, str(800000000000000000 + ANN.id))
        asked = await bot.service.ask(ann, "Ann", dm, question_id="alpha-two")
        wrong = next(lbl for lbl in "ABC" if lbl != asked.round.correct_label(asked.question))
        await bot.service.answer_choice(ann, "Ann", asked.round.id, wrong)  # a card to export
        export = fake.command("export", user=ANN, guild=False)
        fake.hang_next("POST", rf"/webhooks/{APP_ID}/{export['token']}")
        await fake.interact(export)
        async with asyncio.timeout(10):
            hung, notice = await fake.followups(export, 2)
        assert hung.status == 0
        assert notice.body["content"] == (
            "I couldn't send the file (Discord did not answer within 0.5 s). Try again in a minute."
        )


def test_the_default_rest_limit_replaces_aiohttps_300_seconds(bank: QuestionBank) -> None:
    adapter = DiscordAdapter(Secret(TOKEN), memory_app(bank).quiz)
    assert adapter.rest_timeout.total == 30 and adapter.rest_timeout.sock_connect == 10


async def test_the_limit_is_on_the_session_every_rest_call_uses(bank: QuestionBank) -> None:
    """The canary for discord.py and aiohttp upgrades: the session discord.py made at login,
    which interactions use too, carries our limit."""
    async with FakeDiscord() as fake:
        adapter = DiscordAdapter(Secret(TOKEN), memory_app(bank).quiz, rest_timeout_s=7)
        async with serving(adapter):
            await fake.wait_connected()  # logged in before that
            session = adapter.client.http._HTTPClient__session  # type: ignore[attr-defined]
            assert session.timeout == adapter.rest_timeout
            assert session.timeout.total == 7
