"""Sharding end to end: the real adapter against the fake Discord on 127.0.0.1, whose gateway
takes IDENTIFYs with [shard id, count], recommends a count at GET /gateway/bot and sends a
server's events only to the shard `(guild_id >> 22) % count` (DMs to shard 0).

Several shards in one process, a process serving a subset, the automatic count, the daily
fan-out to a server on a shard served elsewhere (REST needs no shard), the health check
(connected only with every shard), a shard that cannot connect (backoff) and the closes
that end the run on any shard.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.adapters.base import AdapterError
from bot.adapters.discord.adapter import DiscordAdapter
from bot.adapters.discord.connection import REJECTED
from bot.app import run as runtime
from bot.config import Config, DatabaseConfig, DiscordConfig, QuizConfig, Secret
from bot.core.bank.question_bank import QuestionBank
from bot.core.common.identity import ChatRef, Platform
from bot.core.daily.service import Outcome
from bot.ops.health import Health
from tests.adapters.discord.test_connection import heard, serving
from tests.fakes.app import memory_app
from tests.fakes.clock import FixedClock
from tests.fakes.discord_api import (
    TOKEN,
    FakeDiscord,
    FakeUser,
    channel_of,
    guild_on_shard,
    running_bot,
)
from tests.fakes.paths import TEST_BANK

ANN = FakeUser(101, "Ann")
BOB = FakeUser(102, "Bob")
EPHEMERAL = 64
REVOKED = REJECTED.format(why="gateway close code 4004, authentication failed")


def sharded(bank: QuestionBank, **shards: Any) -> DiscordAdapter:
    """The real adapter over an in-memory app: no wait between IDENTIFYs (5 s in production),
    a first retry after 0.05 s instead of 1 s."""
    return DiscordAdapter(
        Secret(TOKEN), memory_app(bank).quiz, guild_ready_timeout=0.1, first_retry=0.05,
        identify_spacing=0, **shards,
    )  # fmt: skip


def identified(fake: FakeDiscord) -> list[list[int]]:
    return sorted(d["shard"] for d in fake.identifies)


async def ask_and_press(fake: FakeDiscord, guild_id: int) -> None:
    """`/question` in a server's channel is answered with the question, delivered on one
    connection only (the server's shard); a press on its button is answered privately."""
    asked = fake.command("question", {"topic": "alpha"}, user=ANN, guild_id=guild_id)
    assert await fake.dispatch("INTERACTION_CREATE", asked) == 1
    (callback,) = await fake.wait_exact(
        "POST", f"/interactions/{asked['id']}/{asked['token']}/callback"
    )
    message = fake.message_of(callback)
    assert message["channel_id"] == str(channel_of(guild_id))
    button = message["components"][0]["components"][0]["custom_id"]
    press = fake.click(int(message["id"]), button, user=BOB)
    assert press["guild_id"] == str(guild_id)
    answered = await fake.interact(press)
    data = answered.body["data"]
    assert data["flags"] & EPHEMERAL and data["content"].startswith(("**✅", "**❌"))


async def test_two_shards_in_one_process_both_connect_and_answer_a_server_on_each(
    tmp_path: Path, bank: QuestionBank, clock: FixedClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    async with (
        FakeDiscord() as fake,
        running_bot(fake, tmp_path / "q.db", bank, clock, shard_count=2, identify_spacing=0) as bot,
    ):
        assert identified(fake) == [[0, 2], [1, 2]]
        assert fake.shards() == {(0, 2), (1, 2)}
        assert not fake.matching("GET", "/gateway/bot")  # the count is configured
        assert bot.adapter.connected()
        for shard in (0, 1):
            await ask_and_press(fake, guild_on_shard(shard, 2))
        dm = await fake.interact(fake.command("topics", user=ANN, guild=False))  # on shard 0
        assert "alpha" in dm.body["data"]["content"]
    assert "discord: serving shards 0-1 of 2 ([discord] shard_count)" in caplog.text
    assert "discord: shard 1 of 2 ready" in caplog.text
    assert "on 2 shards" in caplog.text


async def test_a_process_serving_shard_1_of_2_identifies_only_it_and_serves_its_server(
    tmp_path: Path, bank: QuestionBank, clock: FixedClock, caplog: pytest.LogCaptureFixture
) -> None:
    """Shard 0's servers (and DMs) go to another process; the daily fan-out still reaches a
    channel there, since posting is REST, whichever shard the server is on."""
    caplog.set_level(logging.INFO)
    async with (
        FakeDiscord() as fake,
        running_bot(
            fake, tmp_path / "q.db", bank, clock, daily=True, shard_count=2, shard_ids=[1]
        ) as bot,
    ):
        assert identified(fake) == [[1, 2]]
        assert bot.adapter.connected()
        await ask_and_press(fake, guild_on_shard(1, 2))
        elsewhere = guild_on_shard(0, 2)
        topics = fake.command("topics", user=ANN, guild_id=elsewhere)
        assert await fake.dispatch("INTERACTION_CREATE", topics, wait=0.2) == 0  # not ours

        channel = ChatRef(Platform.DISCORD, str(channel_of(elsewhere)), str(elsewhere))
        daily = bot.app.daily
        await daily.command(channel, ["set", "09:00", "UTC"], is_admin=True)
        sub = await daily.store.subscription_for(channel)
        assert sub is not None
        result = await daily.run_post(sub, clock.now().date(), bot.adapter.outbox)
        assert result.outcome is Outcome.DELIVERED
        (post,) = fake.posted(channel_of(elsewhere))
        assert post["content"] and post["components"]  # the question and its buttons
    assert "discord: serving shard 1 of 2 ([discord] shard_ids)" in caplog.text
    assert "DMs arrive on shard 0, which another process must serve" in caplog.text


@pytest.mark.parametrize("recommended", [1, 3])
async def test_unset_the_process_serves_as_many_shards_as_discord_recommends(
    tmp_path: Path,
    bank: QuestionBank,
    clock: FixedClock,
    caplog: pytest.LogCaptureFixture,
    recommended: int,
) -> None:
    caplog.set_level(logging.INFO)
    async with FakeDiscord() as fake:
        fake.recommended_shards = recommended
        async with running_bot(fake, tmp_path / "q.db", bank, clock, identify_spacing=0) as bot:
            assert len(fake.matching("GET", "/gateway/bot")) == 1
            assert identified(fake) == [[i, recommended] for i in range(recommended)]
            assert bot.adapter.connected()
            last = guild_on_shard(recommended - 1, recommended)
            await ask_and_press(fake, last)
    shards = "shard 0" if recommended == 1 else f"shards 0-{recommended - 1}"
    assert (
        f"discord: serving {shards} of {recommended} (automatic: Discord recommends "
        f"{recommended})" in caplog.text
    )


async def test_asking_for_the_count_is_retried_and_a_rejected_token_there_is_fatal(
    bank: QuestionBank, caplog: pytest.LogCaptureFixture
) -> None:
    async with FakeDiscord() as fake:
        fake.fail_next("GET", "/gateway/bot", 503, {"message": "503: Service Unavailable"})
        adapter = sharded(bank)
        async with serving(adapter):
            await fake.wait_shards((0, 1))
        assert [r.status for r in fake.matching("GET", "/gateway/bot")] == [503, 200]
    assert "cannot ask Discord how many shards to use (HTTP 503); trying again in" in caplog.text
    async with FakeDiscord() as fake:
        fake.fail_next("GET", "/gateway/bot", 401, {"message": "401: Unauthorized", "code": 0})
        with pytest.raises(AdapterError) as failure:
            await asyncio.wait_for(sharded(bank).run(), 10)
        assert not fake.identifies
    assert str(failure.value) == REJECTED.format(why="401 Unauthorized")


# -- closes, backoff and health ----------------------------------------------------------------


@pytest.mark.parametrize("shard", [0, 1])
async def test_a_token_rejected_on_either_shard_ends_the_adapter_with_one_line(
    bank: QuestionBank, shard: int
) -> None:
    async with FakeDiscord() as fake:
        adapter = sharded(bank, shard_count=2)
        async with serving(adapter) as task:
            await fake.wait_shards((0, 2), (1, 2))
            await fake.close_gateway(4004, shard=shard)
            with pytest.raises(AdapterError) as failure:
                await asyncio.wait_for(asyncio.shield(task), 10)
        assert str(failure.value) == REVOKED
        assert adapter.client.is_closed()


async def test_a_token_revoked_while_a_subset_runs_ends_the_run_with_one_line(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The real root, shards from the config: a token reset in the Developer Portal ends the
    run (exit code 1 from the CLI), not just one shard's session."""
    config = Config(
        database=DatabaseConfig(tmp_path / "q.db"),
        quiz=QuizConfig(questions_dir=TEST_BANK, round_ttl=timedelta(hours=24)),
        discord=DiscordConfig(token=Secret(TOKEN), shard_count=2, shard_ids=(1,)),
    )
    async with FakeDiscord() as fake:
        run = asyncio.create_task(runtime.run(config))
        try:
            await fake.wait_shards((1, 2))
            assert identified(fake) == [[1, 2]]
            await fake.interact(fake.command("topics", user=ANN, guild_id=guild_on_shard(1, 2)))
            await fake.revoke_token()  # the session drops; resuming it is refused with 4004
            with pytest.raises(AdapterError) as failure:
                await asyncio.wait_for(asyncio.shield(run), 10)
        finally:
            run.cancel()
            await asyncio.wait({run})
    assert str(failure.value) == REVOKED
    assert not any(TOKEN in r.getMessage() for r in caplog.records)


async def test_a_shard_that_cannot_connect_backs_off_and_health_waits_for_it(
    bank: QuestionBank, caplog: pytest.LogCaptureFixture
) -> None:
    async with FakeDiscord() as fake:
        fake.gateway_refuse_after = 1  # shard 0 connects; shard 1 gets 503s
        adapter = sharded(bank, shard_count=2)
        health = Health(adapters=[adapter])
        says = "shard 1 cannot reach the gateway (WSServerHandshakeError); trying again in"
        async with heard(says) as backing_off, serving(adapter) as task:
            await fake.wait_shards((0, 2))
            await asyncio.wait_for(backing_off.wait(), 10)
            assert (await health.check()).checks["discord"] == "not connected"
            fake.gateway_refuse_after = None  # shard 1's gateway answers again
            await fake.wait_shards((0, 2), (1, 2))
            await asyncio.wait_for(adapter.ready.wait(), 5)
            assert (await health.check()).checks["discord"] == "connected"
            topics = fake.command("topics", user=ANN, guild_id=guild_on_shard(1, 2))
            assert "alpha" in (await fake.interact(topics)).body["data"]["content"]
            assert not task.done()
        assert identified(fake) == [[0, 2], [1, 2]]  # shard 1 identified once it got through
    assert not any("Traceback" in r.getMessage() for r in caplog.records)


async def test_health_says_not_connected_while_one_shard_reconnects_and_a_stop_ends_it(
    bank: QuestionBank,
) -> None:
    """The process stays ready (it was, with both shards), but a shard whose session dropped
    and cannot come back yet makes it unhealthy. Stopping then ends the run at once, though
    the cancellation lands as the shard's attempt fails (discord.py would lose it)."""
    async with FakeDiscord() as fake:
        adapter = sharded(bank, shard_count=2)
        health = Health(adapters=[adapter])
        async with serving(adapter) as task:
            await asyncio.wait_for(adapter.ready.wait(), 5)
            assert (await health.check()).checks["discord"] == "connected"
            attempts = fake.gateway_attempts
            fake.gateway_refuse_after = attempts  # no new connection gets through
            await fake.close_gateway(4000, shard=1)  # discord.py tries to resume it at once
            await fake.wait_gateway_attempts(attempts + 1)  # the refused resume: close seen
            assert adapter.client.is_ready() and fake.shards() == {(0, 2)}
            assert not adapter.connected()
            assert (await health.check()).checks["discord"] == "not connected"
            task.cancel()
            async with asyncio.timeout(5):
                await asyncio.wait({task})
            assert task.cancelled() and adapter.client.is_closed()


async def test_a_revoked_token_ends_the_run_even_while_another_shard_backs_off(
    bank: QuestionBank,
) -> None:
    """Shard 1 cannot reach the gateway yet when shard 0's session is refused for good: the
    run ends at once, instead of waiting for shard 1 before it looks at shard 0."""
    async with FakeDiscord() as fake:
        fake.gateway_refuse_after = 1
        adapter = sharded(bank, shard_count=2)
        async with (
            heard("shard 1 cannot reach the gateway") as backing_off,
            serving(adapter) as task,
        ):
            await fake.wait_shards((0, 2))
            await asyncio.wait_for(backing_off.wait(), 10)
            await fake.close_gateway(4004, shard=0)
            with pytest.raises(AdapterError) as failure:
                await asyncio.wait_for(asyncio.shield(task), 10)
        assert str(failure.value) == REVOKED
        assert fake.shards() == set()


async def test_the_discord_py_internals_the_shard_launch_uses_are_there(bank: QuestionBank) -> None:
    """The canary for discord.py upgrades: our launch puts each connected shard in
    AutoShardedClient's table and reports to its queue (else it falls back to discord.py's
    launch, a retry every 5 s with a traceback, and a warning)."""
    adapter = sharded(bank)
    async with adapter.client:
        assert adapter.client._adopter() is not None
