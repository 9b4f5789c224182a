"""The Discord Outbox (how the daily scheduler posts) against the fake Discord: buttons that
work, a nonce per delivery so a retry never double-posts, 429s waited out or reported as
RetryLater, and 403/404 reported as ChatGone."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from bot.adapters.discord.adapter import DiscordAdapter
from bot.adapters.discord.outbox import message_nonce
from bot.config import Secret
from bot.core.bank.question_bank import QuestionBank
from bot.core.common.identity import ChatRef, Platform
from bot.core.common.replies import Paragraph, Reply
from bot.core.delivery import ChatGone, DeliveryFailed, Outbox, RetryLater
from bot.core.quiz.rounds import RoundKind
from bot.core.quiz.service import Asked
from tests.fakes.app import memory_app
from tests.fakes.clock import FixedClock
from tests.fakes.discord_api import (
    CHANNEL_ID,
    GUILD_ID,
    TOKEN,
    FakeDiscord,
    FakeUser,
    RunningBot,
    running_bot,
)

STUDY = ChatRef(Platform.DISCORD, str(CHANNEL_ID), str(GUILD_ID))
POSTS = rf"/channels/{CHANNEL_ID}/messages"
VIA = {"Via": "1.1 google"}  # discord.py retries a 429 only when it came through Discord's edge


async def daily(bot: RunningBot, bank: QuestionBank, clock: FixedClock) -> Asked:
    question = bank.get("beta-one")
    assert question is not None
    now = clock.now()
    return await bot.service.open_round(
        question, STUDY, RoundKind.DAILY, now, now + timedelta(hours=12), day=now.date()
    )


def test_the_adapter_outbox_is_an_outbox(bank: QuestionBank) -> None:
    adapter = DiscordAdapter(Secret(TOKEN), memory_app(bank).quiz)
    outbox: Outbox = adapter.outbox  # checked by mypy; and at runtime:
    assert outbox.platform is Platform.DISCORD


def test_message_nonce_is_stable_short_and_distinct() -> None:
    nonce = message_nonce("daily:42:2026-12-01:discord:710000000000000001")
    assert nonce == message_nonce("daily:42:2026-12-01:discord:710000000000000001")
    assert len(nonce) <= 25  # Discord's limit
    assert nonce != message_nonce("daily:42:2026-12-02:discord:710000000000000001")


async def test_post_question_with_working_buttons_and_a_retry_never_double_posts(
    tmp_path: Path, bank: QuestionBank, clock: FixedClock
) -> None:
    async with FakeDiscord() as fake, running_bot(fake, tmp_path / "q.db", bank, clock) as bot:
        asked = await daily(bot, bank, clock)
        ref = await bot.adapter.outbox.post_question(STUDY, asked, nonce="delivery-1")
        again = await bot.adapter.outbox.post_question(STUDY, asked, nonce="delivery-1")
        assert again == ref  # Discord answered the retry with the message it already has
        first, second = fake.matching("POST", POSTS)
        for request in (first, second):
            assert request.body["nonce"] == message_nonce("delivery-1")
            assert request.body["enforce_nonce"] is True
            assert request.body["allowed_mentions"] == {"parse": []}
        assert len(fake.posted(CHANNEL_ID)) == 1
        message = fake.messages[int(ref)]
        assert "**Which HTTP method is defined as safe?**" in message["content"]
        ids = [c["custom_id"] for c in message["components"][0]["components"]]
        assert ids == [f"a1.{asked.round.id}.{label}" for label in "ABC"]

        right = asked.round.correct_label(asked.question)
        answer = await fake.interact(
            fake.click(int(ref), f"a1.{asked.round.id}.{right}", user=FakeUser(7, "Cy"))
        )
        assert answer.body["data"]["flags"] == 64
        assert answer.body["data"]["content"].startswith("**✅ Right!**")


async def test_a_429_with_retry_after_is_waited_out_and_posted_once(
    tmp_path: Path, bank: QuestionBank, clock: FixedClock
) -> None:
    async with FakeDiscord() as fake, running_bot(fake, tmp_path / "q.db", bank, clock) as bot:
        limited = {"message": "You are being rate limited.", "retry_after": 0.2, "global": False}
        fake.fail_next("POST", POSTS, 429, limited, VIA)
        ref = await bot.adapter.outbox.post_question(
            STUDY, await daily(bot, bank, clock), nonce="d-2"
        )
        refused, accepted = fake.matching("POST", POSTS)
        assert (refused.status, accepted.status) == (429, 200)
        assert accepted.at - refused.at >= 0.15  # retry_after (0.2 s) was honoured
        assert refused.body["nonce"] == accepted.body["nonce"] == message_nonce("d-2")
        assert [m["id"] for m in fake.posted(CHANNEL_ID)] == [ref]


async def test_long_rate_limits_become_retry_later(
    tmp_path: Path, bank: QuestionBank, clock: FixedClock
) -> None:
    async with FakeDiscord() as fake, running_bot(fake, tmp_path / "q.db", bank, clock) as bot:
        reply = Reply((Paragraph("Answer: A"),))
        # longer than discord.py is allowed to sleep (30 s): handed to the scheduler
        fake.fail_next("POST", POSTS, 429, {"retry_after": 120.0, "global": False}, VIA)
        with pytest.raises(RetryLater) as slow:
            await bot.adapter.outbox.post(STUDY, reply, nonce="r-1")
        assert slow.value.retry_after == 120.0
        # a 429 from Cloudflare (no Via header) is not retried by discord.py either
        fake.fail_next("POST", POSTS, 429, {"message": "banned"}, {"Retry-After": "7"})
        with pytest.raises(RetryLater) as edge:
            await bot.adapter.outbox.post(STUDY, reply, nonce="r-2")
        assert edge.value.retry_after == 7.0
        assert fake.posted(CHANNEL_ID) == []


async def test_forbidden_or_missing_channels_are_chat_gone(
    tmp_path: Path, bank: QuestionBank, clock: FixedClock
) -> None:
    async with FakeDiscord() as fake, running_bot(fake, tmp_path / "q.db", bank, clock) as bot:
        asked = await daily(bot, bank, clock)
        fake.fail_next("POST", POSTS, 403, {"message": "Missing Access", "code": 50001})
        with pytest.raises(ChatGone) as gone:
            await bot.adapter.outbox.post_question(STUDY, asked, nonce="g-1")
        assert "403" in gone.value.reason and "Missing Access" in gone.value.reason
        assert TOKEN not in gone.value.reason

        deleted = ChatRef(Platform.DISCORD, "719999999999999999", str(GUILD_ID))
        fake.fail_next("POST", r"/channels/719999999999999999/messages", 404,
                       {"message": "Unknown Channel", "code": 10003})  # fmt: skip
        with pytest.raises(ChatGone, match="Unknown Channel"):
            await bot.adapter.outbox.post_question(deleted, asked, nonce="g-2")

        # someone deleted the posted message: that message is gone, not the channel
        with pytest.raises(DeliveryFailed, match="Unknown Message") as lost:
            await bot.adapter.outbox.edit(STUDY, "1234567890123456789", Reply((Paragraph("x"),)))
        assert not isinstance(lost.value, ChatGone)
        fake.fail_next("PATCH", rf"{POSTS}/\d+", 404, {"message": "Unknown Channel", "code": 10003})
        with pytest.raises(ChatGone, match="Unknown Channel"):
            await bot.adapter.outbox.edit(STUDY, "1234567890123456789", Reply((Paragraph("x"),)))

        fake.fail_next("POST", POSTS, 400, {"message": "Invalid Form Body", "code": 50035})
        with pytest.raises(DeliveryFailed) as failed:
            await bot.adapter.outbox.post(STUDY, Reply((Paragraph("x"),)), nonce="g-3")
        assert not isinstance(failed.value, ChatGone | RetryLater)
        assert "400" in failed.value.reason


async def test_edit_replaces_the_text_and_removes_the_buttons(
    tmp_path: Path, bank: QuestionBank, clock: FixedClock
) -> None:
    async with FakeDiscord() as fake, running_bot(fake, tmp_path / "q.db", bank, clock) as bot:
        ref = await bot.adapter.outbox.post_question(
            STUDY, await daily(bot, bank, clock), nonce="e-1"
        )
        assert fake.messages[int(ref)]["components"]
        await bot.adapter.outbox.edit(STUDY, ref, Reply((Paragraph("Closed: the answer was A"),)))
        (patch,) = fake.matching("PATCH", rf"/channels/{CHANNEL_ID}/messages/{ref}")
        assert patch.body["components"] == []
        assert fake.messages[int(ref)]["content"] == "Closed: the answer was A"
        assert patch.body["allowed_mentions"] == {"parse": []}


async def test_posting_before_login_or_to_another_platform_fails_clearly(
    bank: QuestionBank,
) -> None:
    adapter = DiscordAdapter(Secret(TOKEN), memory_app(bank).quiz)
    with pytest.raises(DeliveryFailed, match="not logged in"):
        await adapter.outbox.post(STUDY, Reply((Paragraph("x"),)), nonce="n")
    telegram = ChatRef(Platform.TELEGRAM, "-100", "-100")
    with pytest.raises(DeliveryFailed, match="not a Discord channel"):
        await adapter.outbox.post(telegram, Reply((Paragraph("x"),)), nonce="n")
