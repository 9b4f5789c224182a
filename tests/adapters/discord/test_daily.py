"""/daily on Discord end to end: the real discord.py client against the fake Discord (REST +
gateway on 127.0.0.1), the DailyService over a real SQLite file, and the scheduler's posts
through the real DiscordOutbox."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import discord
import pytest

from bot.adapters.discord.adapter import DiscordAdapter
from bot.config import Secret
from bot.core.bank.question_bank import QuestionBank
from bot.core.common.errors import NotAllowed
from bot.core.common.identity import ChatRef, Platform
from bot.core.daily.service import Outcome
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
ADMIN = FakeUser(103, "Ada Admin", admin=True)
EPHEMERAL = 64
CHANNEL = ChatRef(Platform.DISCORD, str(CHANNEL_ID), str(GUILD_ID))
MANAGERS_ONLY = "Only people with the Manage Server permission"


async def test_sync_registers_daily_for_server_managers(bank: QuestionBank) -> None:
    async with FakeDiscord() as fake:
        app = memory_app(bank)
        adapter = DiscordAdapter(Secret(TOKEN), app.quiz, daily=app.daily)
        assert "daily" in await adapter.sync()
        (put,) = fake.matching("PUT", rf"/applications/{APP_ID}/commands")
        daily = next(c for c in put.body if c["name"] == "daily")
    assert daily["default_member_permissions"] == discord.Permissions(manage_guild=True).value
    assert daily["contexts"] == [0] and daily["integration_types"] == [0]
    subs = {s["name"]: s for s in daily["options"]}
    assert sorted(subs) == ["off", "recap", "set", "status"]
    options = {o["name"]: o for o in subs["set"]["options"]}
    assert list(options) == ["time", "timezone", "topics", "difficulty", "window"]
    assert options["timezone"]["autocomplete"] is True
    assert [c["value"] for c in options["difficulty"]["choices"]] == [1, 2, 3]
    assert [c["value"] for c in subs["recap"]["options"][0]["choices"]] == ["on", "off"]


async def test_a_server_manager_sets_and_stops_the_daily_question(
    tmp_path: Path, bank: QuestionBank, clock: FixedClock
) -> None:
    async with (
        FakeDiscord() as fake,
        running_bot(fake, tmp_path / "q.db", bank, clock, daily=True) as bot,
    ):
        options: dict[str, str | int] = {"time": "18:30", "timezone": "Europe/Berlin",
                                         "topics": "alpha", "difficulty": 2}  # fmt: skip
        done = await fake.interact(fake.command("daily", options, user=ADMIN, subcommand="set"))
        content = done.body["data"]["content"]
        assert "Daily question scheduled here" in content
        assert "Every day at 18:30 (Europe/Berlin)" in content and "alpha; mid" in content
        assert "flags" not in done.body["data"] or done.body["data"]["flags"] != EPHEMERAL
        sub = await bot.app.daily.store.subscription_for(CHANNEL)
        assert sub is not None and sub.active and sub.chat.community_id == str(GUILD_ID)
        status = await fake.interact(fake.command("daily", user=ADMIN, subcommand="status"))
        assert "Every day at 18:30" in status.body["data"]["content"]
        off = await fake.interact(fake.command("daily", user=ADMIN, subcommand="off"))
        assert "The daily question is off here" in off.body["data"]["content"]
        stored = await bot.app.daily.store.subscription_for(CHANNEL)
        assert stored is not None and not stored.active


async def test_members_and_dms_cannot_change_it(
    tmp_path: Path, bank: QuestionBank, clock: FixedClock
) -> None:
    async with (
        FakeDiscord() as fake,
        running_bot(fake, tmp_path / "q.db", bank, clock, daily=True) as bot,
    ):
        member = await fake.interact(
            fake.command("daily", {"time": "09:00"}, user=ANN, subcommand="set")
        )
        assert member.body["data"]["flags"] == EPHEMERAL
        assert member.body["data"]["content"] == "You are not allowed to do that here."
        dm = await fake.interact(fake.command("daily", user=ADMIN, guild=False, subcommand="off"))
        assert dm.body["data"]["flags"] == EPHEMERAL
        assert await bot.app.daily.store.subscriptions(active_only=False) == []
        # the core refuses too, whatever a server's re-mapped permissions let through
        with pytest.raises(NotAllowed, match=MANAGERS_ONLY):
            await bot.app.daily.subscribe(CHANNEL, ["09:00"], is_admin=False)


async def test_bad_timezone_and_autocomplete(
    tmp_path: Path, bank: QuestionBank, clock: FixedClock
) -> None:
    async with FakeDiscord() as fake, running_bot(fake, tmp_path / "q.db", bank, clock, daily=True):
        bad = await fake.interact(
            fake.command("daily", {"timezone": "Berlin"}, user=ADMIN, subcommand="set")
        )
        assert bad.body["data"]["flags"] == EPHEMERAL
        assert "Did you mean Europe/Berlin?" in bad.body["data"]["content"]
        payload: dict[str, Any] = fake.autocomplete("daily", "timezone", "berl", user=ADMIN)
        focused = payload["data"]["options"]
        payload["data"]["options"] = [{"name": "set", "type": 1, "options": focused}]
        result = await fake.interact(payload)
        assert result.body["type"] == 8  # autocomplete result
        assert {"name": "Europe/Berlin", "value": "Europe/Berlin"} in result.body["data"]["choices"]


async def test_scheduled_post_goes_out_with_a_nonce_and_a_deleted_channel_disables_it(
    tmp_path: Path, bank: QuestionBank, clock: FixedClock
) -> None:
    async with (
        FakeDiscord() as fake,
        running_bot(fake, tmp_path / "q.db", bank, clock, daily=True) as bot,
    ):
        clock.current = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
        await fake.interact(fake.command("daily", {"time": "09:00"}, user=ADMIN, subcommand="set"))
        sub = await bot.app.daily.store.subscription_for(CHANNEL)
        assert sub is not None
        clock.current = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
        result = await bot.app.daily.run_post(sub, date(2026, 12, 1), bot.adapter.outbox)
        assert result.outcome is Outcome.DELIVERED
        (post,) = fake.matching("POST", rf"/channels/{CHANNEL_ID}/messages")
        assert post.body["enforce_nonce"] is True and len(post.body["nonce"]) <= 25
        assert "Daily question · Tuesday 1 December" in post.body["content"]
        assert post.body["allowed_mentions"] == {"parse": []}
        assert len(post.body["components"][0]["components"]) >= 3  # the answer buttons
        clock.current = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)
        unknown = {"message": "Unknown Channel", "code": 10003}
        fake.fail_next("POST", rf"/channels/{CHANNEL_ID}/messages", 404, unknown)
        gone = await bot.app.daily.run_post(sub, date(2026, 12, 2), bot.adapter.outbox)
        assert gone.outcome is Outcome.GONE
        stored = await bot.app.daily.store.subscription_for(CHANNEL)
        assert stored is not None and not stored.active
        assert "Unknown Channel" in (stored.disabled_reason or "")


THREAD_ID = 720000000000000001
CAN_POST_IN_THREADS = discord.Permissions(
    view_channel=True, send_messages_in_threads=True, use_application_commands=True
).value


@pytest.mark.parametrize("forum_post", [False, True])
async def test_daily_set_in_a_thread_needs_send_messages_in_threads(
    tmp_path: Path, bank: QuestionBank, clock: FixedClock, forum_post: bool
) -> None:
    """Send Messages does not cover threads and forum posts: accepted there, the daily
    question would be switched off at its first post (403). Refused at once instead, naming
    what is missing; accepted once the bot has it."""
    thread = ChatRef(Platform.DISCORD, str(THREAD_ID), str(GUILD_ID))
    async with (
        FakeDiscord() as fake,
        running_bot(fake, tmp_path / "q.db", bank, clock, daily=True) as bot,
    ):
        place = fake.thread_channel(THREAD_ID, forum_post=forum_post)
        refused = await fake.interact(
            fake.command("daily", {"time": "09:00"}, user=ADMIN, subcommand="set", channel=place)
        )  # the fake's usual bot permissions: View Channel and Send Messages
        assert refused.body["data"]["flags"] == EPHEMERAL
        assert refused.body["data"]["content"] == (
            "I can't post the daily question in this thread: I need the Send Messages in "
            "Threads permission here. A server admin can allow it for my role (Server "
            "Settings > Roles) or in the channel's permissions; then run /daily set again."
        )
        assert await bot.app.daily.store.subscription_for(thread) is None

        accepted = await fake.interact(
            fake.command(
                "daily", {"time": "09:00"}, user=ADMIN, subcommand="set", channel=place,
                app_permissions=CAN_POST_IN_THREADS,
            )
        )  # fmt: skip
        assert "Daily question scheduled here" in accepted.body["data"]["content"]
        sub = await bot.app.daily.store.subscription_for(thread)
        assert sub is not None and sub.active


@pytest.mark.parametrize(
    ("allowed", "missing"),
    [
        (discord.Permissions(view_channel=True), "the Send Messages permission"),
        (discord.Permissions.none(), "the View Channel and Send Messages permissions"),
        (discord.Permissions(send_messages_in_threads=True, view_channel=True),
         "the Send Messages permission"),
    ],
)  # fmt: skip
async def test_daily_set_in_a_channel_the_bot_cannot_post_in_says_what_is_missing(
    tmp_path: Path,
    bank: QuestionBank,
    clock: FixedClock,
    allowed: discord.Permissions,
    missing: str,
) -> None:
    async with (
        FakeDiscord() as fake,
        running_bot(fake, tmp_path / "q.db", bank, clock, daily=True) as bot,
    ):
        refused = await fake.interact(
            fake.command(
                "daily", {"time": "09:00"}, user=ADMIN, subcommand="set",
                app_permissions=allowed.value,
            )
        )  # fmt: skip
        content = refused.body["data"]["content"]
        assert content.startswith(
            f"I can't post the daily question in this channel: I need {missing} here."
        )
        assert refused.body["data"]["flags"] == EPHEMERAL
        assert await bot.app.daily.store.subscription_for(CHANNEL) is None
