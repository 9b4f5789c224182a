"""What the Discord adapter reports, through the real discord.py client and the fake Discord:
the API's error answers (429s included, counted once), commands by name and outcome, and
whether it is connected now (the health check)."""

from __future__ import annotations

from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from bot.adapters.discord.metered import command_name
from bot.core.bank.question_bank import QuestionBank
from bot.core.common.identity import ChatRef, Platform
from bot.core.common.replies import Paragraph, Reply
from bot.core.delivery import ChatGone
from bot.ops.metrics import OpsMetrics
from tests.fakes.clock import FixedClock
from tests.fakes.discord_api import CHANNEL_ID, GUILD_ID, FakeDiscord, FakeUser, running_bot

STUDY = ChatRef(Platform.DISCORD, str(CHANNEL_ID), str(GUILD_ID))
POSTS = rf"/channels/{CHANNEL_ID}/messages"
VIA = {"Via": "1.1 google"}  # discord.py retries a 429 only when it came through Discord's edge
ANN = FakeUser(11, "Ann")


def value(metrics: OpsMetrics, name: str, **labels: str) -> float:
    for family in text_string_to_metric_families(metrics.exposition().decode()):
        for sample in family.samples:
            if sample.name == name and sample.labels == labels:
                return float(sample.value)
    return 0.0


async def test_api_errors_and_429s_commands_and_connected(
    tmp_path: Path, bank: QuestionBank, clock: FixedClock
) -> None:
    metrics = OpsMetrics()
    async with (
        FakeDiscord() as fake,
        running_bot(fake, tmp_path / "q.db", bank, clock, metrics=metrics) as bot,
    ):
        assert bot.adapter.connected()
        reply = Reply((Paragraph("Answer: A"),))
        limited = {"message": "You are being rate limited.", "retry_after": 0.05, "global": False}
        fake.fail_next("POST", POSTS, 429, limited, VIA)
        await bot.adapter.outbox.post(STUDY, reply, nonce="n-1")  # waited out, then posted
        fake.fail_next("POST", POSTS, 403, {"message": "Missing Access", "code": 50001})
        with pytest.raises(ChatGone):
            await bot.adapter.outbox.post(STUDY, reply, nonce="n-2")
        await fake.interact(fake.command("question", {"topic": "alpha"}, user=ANN))
        await fake.interact(fake.command("question", {"topic": "nosuchtopic"}, user=ANN))
        await fake.interact(fake.command("score", user=ANN))
        message = fake.seed_message(["a1.nosuchround.A"])
        await fake.interact(fake.click(message, "a1.nosuchround.A", user=ANN))
    assert not bot.adapter.connected()  # closed

    errors = "stackprep_platform_api_errors_total"
    assert value(metrics, errors, platform="discord", status="429") == 1
    assert value(metrics, errors, platform="discord", status="403") == 1
    assert value(metrics, "stackprep_platform_rate_limited_total", platform="discord") == 1
    commands = "stackprep_commands_total"
    assert value(metrics, commands, platform="discord", command="question", outcome="ok") == 1
    assert value(metrics, commands, platform="discord", command="question",
                 outcome="refused") == 1  # fmt: skip
    assert value(metrics, commands, platform="discord", command="score", outcome="ok") == 1
    assert value(metrics, commands, platform="discord", command="button", outcome="refused") == 1


def test_command_names_never_carry_tokens_or_user_text() -> None:
    assert command_name("/daily set") == "daily set"
    assert command_name("button a1.Zx9.B") == "button"
    assert command_name("practice button p1.abc.2") == "practice button"
    assert command_name("practice answer") == "practice answer"
    assert command_name("whatever else") == "other"
