"""The Discord adapter end to end: the real discord.py client against a fake Discord on
127.0.0.1 (REST + gateway), a real SQLite file, and the tiny test bank.

This module: start-up (the canary for discord.py upgrades), an invalid token, the command
sync payload, the slash commands in a server and in a DM, and error handling.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from datetime import timedelta
from pathlib import Path
from typing import Any

import discord
import pytest

from bot.adapters.discord.adapter import DiscordAdapter
from bot.adapters.discord.commands import AdminGroup
from bot.app import run as runtime
from bot.config import Config, DatabaseConfig, DiscordConfig, QuizConfig, Secret
from bot.core.bank.question_bank import QuestionBank
from bot.core.common import texts as common_texts
from bot.core.common.errors import NotAllowed, RateLimited
from bot.core.common.identity import ChatRef, Platform
from bot.core.common.texts import notice_reply
from bot.core.quiz import texts
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
from tests.fakes.paths import TEST_BANK

ANN = FakeUser(101, "Ann")
BOB = FakeUser(102, "Bob")
ADMIN = FakeUser(103, "Ada Admin", admin=True)
NO_PINGS = {"parse": []}
EPHEMERAL = 64


def custom_ids(message: dict[str, Any]) -> list[str]:
    """The custom_ids of a message's buttons (link buttons have a url instead)."""
    return [
        c["custom_id"] for row in message["components"] for c in row["components"] if "url" not in c
    ]


def link_urls(message: dict[str, Any]) -> list[str]:
    return [c["url"] for row in message["components"] for c in row["components"] if "url" in c]


def config_for(tmp_path: Path, token: str) -> Config:
    return Config(
        database=DatabaseConfig(tmp_path / "q.db"),
        quiz=QuizConfig(questions_dir=TEST_BANK, round_ttl=timedelta(hours=24)),
        discord=DiscordConfig(enabled=True, token=Secret(token)),
    )


async def test_login_identify_and_ready_without_privileged_intents_or_sync(
    tmp_path: Path, bank: QuestionBank, clock: FixedClock
) -> None:
    async with FakeDiscord() as fake, running_bot(fake, tmp_path / "q.db", bank, clock) as bot:
        assert bot.adapter.ready.is_set()
        assert fake.identify is not None
        assert fake.identify["token"] == TOKEN
        assert fake.identify["intents"] == discord.Intents(guilds=True).value  # nothing privileged
        login = fake.matching("GET", "/users/@me")
        assert login and login[0].headers["Authorization"] == f"Bot {TOKEN}"
        assert fake.matching("GET", "/oauth2/applications/@me")
        assert not fake.matching("PUT", r"/applications/.*/commands")  # sync only on request
        assert bot.adapter.client.application_id == APP_ID


async def test_invalid_token_fails_with_one_clear_line_and_never_logs_the_token(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    wrong = "wrong-token-abc123"
    async with FakeDiscord() as fake:
        with pytest.raises(runtime.AdapterError) as failure:
            await runtime.run(config_for(tmp_path, wrong))  # the real composition root
        assert fake.matching("GET", "/users/@me")[0].status == 401
    message = str(failure.value)
    assert "Discord rejected the bot token" in message and "STACKPREP_DISCORD_TOKEN" in message
    assert "\n" not in message and wrong not in message
    assert not any(wrong in r.getMessage() or wrong in (r.exc_text or "") for r in caplog.records)


async def test_a_gateway_that_refuses_the_session_stops_the_adapter_with_one_line(
    bank: QuestionBank,
) -> None:
    async with FakeDiscord() as fake:
        fake.refuse_identify = True
        adapter = DiscordAdapter(Secret(TOKEN), memory_app(bank).quiz)
        with pytest.raises(runtime.AdapterError, match=r"close code 4004"):
            await asyncio.wait_for(adapter.run(), 10)
        assert adapter.client.is_closed()


async def test_stackprep_with_a_token_serves_discord_until_sigterm(tmp_path: Path) -> None:
    async with FakeDiscord() as fake:
        serving = asyncio.create_task(runtime.run(config_for(tmp_path, TOKEN)))
        callback = await fake.interact(fake.command("topics", user=ANN))
        assert "alpha — Alpha topic: 3" in callback.body["data"]["content"]
        signal.raise_signal(signal.SIGTERM)  # handled by the bot's loop: a clean stop
        assert await asyncio.wait_for(serving, 10) == 0
    assert (tmp_path / "q.db").exists()


async def test_token_never_reaches_a_log_line_while_serving(
    tmp_path: Path, bank: QuestionBank, clock: FixedClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    async with FakeDiscord() as fake, running_bot(fake, tmp_path / "q.db", bank, clock) as bot:
        await fake.interact(fake.command("question", user=ANN))
        await fake.interact(fake.command("score", user=ANN))
        assert TOKEN not in repr(bot.adapter)
    assert len(caplog.records) > 10  # discord.py debug logging was really on
    for record in caplog.records:
        assert TOKEN not in record.getMessage()


async def test_sync_registers_every_command_with_options_contexts_and_installs(
    tmp_path: Path, bank: QuestionBank
) -> None:
    async with FakeDiscord() as fake:
        adapter = DiscordAdapter(Secret(TOKEN), memory_app(bank).quiz)
        names = await adapter.sync()
        assert sorted(names) == ["help", "leaderboard", "question", "score", "topics"]
        (put,) = fake.matching("PUT", rf"/applications/{APP_ID}/commands")
        commands = {c["name"]: c for c in put.body}
        for command in commands.values():
            assert command["contexts"] == [0, 1, 2]  # servers, DMs, group DMs
            assert command["integration_types"] == [0, 1]  # server install and user install
            assert command["description"] == texts.COMMAND_DESCRIPTIONS[command["name"]]
            assert command["default_member_permissions"] is None
        topic, difficulty = commands["question"]["options"]
        assert (topic["name"], topic["type"], topic["autocomplete"]) == ("topic", 3, True)
        assert topic["required"] is False
        assert difficulty["choices"] == [
            {"name": "junior", "value": 1}, {"name": "mid", "value": 2},
            {"name": "senior", "value": 3},
        ]  # fmt: skip
        period, scope = commands["leaderboard"]["options"]
        assert [c["value"] for c in period["choices"]] == ["week", "all"]
        assert [c["value"] for c in scope["choices"]] == ["here", "global"]


async def test_cli_discord_sync_into_one_guild(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from bot.cli import entry as cli

    config = tmp_path / "c.toml"
    config.write_text(f'[quiz]\nquestions_dir = "{TEST_BANK}"\n')
    monkeypatch.setenv("STACKPREP_DISCORD_TOKEN", TOKEN)
    for name in ("", "discord.http", "discord.gateway"):  # main() sets up logging: undo after
        logger = logging.getLogger(name)
        monkeypatch.setattr(logger, "handlers", logger.handlers[:])
        monkeypatch.setattr(logger, "level", logger.level)
    async with FakeDiscord() as fake:
        argv = ["--config", str(config), "discord", "sync", "--guild", str(GUILD_ID)]
        code = await asyncio.to_thread(cli.main, argv)  # its own event loop, like the shell
        assert code == 0
        (put,) = fake.matching("PUT", rf"/applications/{APP_ID}/guilds/{GUILD_ID}/commands")
        assert {c["name"] for c in put.body} == {
            "help",
            "leaderboard",
            "question",
            "score",
            "topics",
            *("practice", "stop", "due", "progress", "export", "remind", "plan", "mock"),
            "daily",  # the daily question, for server managers
            "quiz",  # the group quiz: /quiz start|stop|status
            *("questions", "propose"),  # a server's own questions, members' proposals
        }
        assert not fake.matching("PUT", rf"/applications/{APP_ID}/commands")
    out = capsys.readouterr().out
    assert f"registered 17 commands in server {GUILD_ID}" in out
    monkeypatch.setenv("STACKPREP_DISCORD_TOKEN", "not-the-token")
    async with FakeDiscord():
        assert await asyncio.to_thread(cli.main, ["--config", str(config), "discord", "sync"]) == 1


async def test_sync_commands_needs_a_token(tmp_path: Path) -> None:
    config = Config(quiz=QuizConfig(questions_dir=TEST_BANK))
    with pytest.raises(runtime.AdapterError, match="STACKPREP_DISCORD_TOKEN"):
        await runtime.sync_discord(config, None)


async def test_question_in_a_server_channel_posts_code_free_question_with_letter_buttons(
    tmp_path: Path, bank: QuestionBank, clock: FixedClock
) -> None:
    async with FakeDiscord() as fake, running_bot(fake, tmp_path / "q.db", bank, clock) as bot:
        callback = await fake.interact(
            fake.command("question", {"topic": "alpha", "difficulty": 1}, user=ANN)
        )
        assert callback.query == {"with_response": "1"}
        ids = custom_ids(fake.message_of(callback))
        round_id = ids[0].split(".")[1]
        rnd = await bot.service.get_round(round_id)
        assert rnd is not None
        assert rnd.chat == ChatRef(Platform.DISCORD, str(CHANNEL_ID), str(GUILD_ID))
        question = bank.get(rnd.question_id)
        assert question is not None and question.id == "alpha-one"
        options = "\n".join(
            f"{label}) {question.choices[i].text}"
            for label, i in zip("ABC", rnd.order, strict=True)
        )
        assert callback.body == {
            "type": 4,
            "data": {
                "tts": False,
                "content": "Alpha topic · junior\n\n"
                "**Which built-in returns the number of items in a list?**\n\n" + options,
                "components": [{"type": 1, "components": [
                    {"type": 2, "style": 1, "disabled": False, "label": label,
                     "custom_id": f"a1.{round_id}.{label}"} for label in "ABC"
                ]}],
                "allowed_mentions": NO_PINGS,
            },
        }  # fmt: skip


async def test_question_in_a_dm_shows_code_as_code_and_offers_next_question(
    tmp_path: Path, bank: QuestionBank, clock: FixedClock
) -> None:
    async with FakeDiscord() as fake, running_bot(fake, tmp_path / "q.db", bank, clock) as bot:
        ask = fake.command("question", {"topic": "alpha", "difficulty": 2}, user=ANN, guild=False)
        callback = await fake.interact(ask)
        data = callback.body["data"]
        assert callback.body["type"] == 4 and "flags" not in data  # in a DM: a normal message
        assert "```python\nxs = [1, 2]\nys = xs\nys.append(3)\nprint(xs)\n```" in data["content"]
        message = fake.message_of(callback)
        rnd = await bot.service.get_round(custom_ids(message)[0].split(".")[1])
        assert rnd is not None and rnd.chat.community_id is None
        assert rnd.chat.chat_id == ask["channel_id"]
        question = bank.get(rnd.question_id)
        assert question is not None
        wrong = next(label for label in "ABCD" if label != rnd.correct_label(question))

        answer = await fake.interact(
            fake.click(int(message["id"]), f"a1.{rnd.id}.{wrong}", user=ANN)
        )
        assert answer.body["type"] == 4
        assert answer.body["data"]["flags"] == EPHEMERAL
        assert answer.body["data"]["content"].startswith(f"**❌ Not quite: you chose {wrong}.**")
        assert "Why not" in answer.body["data"]["content"]
        private = fake.message_of(answer)
        assert custom_ids(private) == ["n1.-.0", f"r1.{rnd.id}"]  # "Next question", "Report"
        assert link_urls(private) == [question.references[0]]  # "Learn more"

        following = await fake.interact(fake.click(int(private["id"]), "n1.-.0", user=ANN))
        assert following.body["type"] == 4 and "flags" not in following.body["data"]
        new_ids = custom_ids(fake.message_of(following))
        assert new_ids[0].startswith("a1.") and new_ids[0].split(".")[1] != rnd.id


async def test_topics_help_score_and_topic_autocomplete(
    tmp_path: Path, bank: QuestionBank, clock: FixedClock
) -> None:
    async with FakeDiscord() as fake, running_bot(fake, tmp_path / "q.db", bank, clock):
        topics = await fake.interact(fake.command("topics", user=ANN))
        assert (
            "alpha — Alpha topic: 3 (1 junior, 1 mid, 1 senior)" in topics.body["data"]["content"]
        )
        help_ = await fake.interact(fake.command("help", user=ANN))
        assert "/leaderboard \\[week|all\\] \\[global\\]" not in help_.body["data"]["content"]
        assert "/question" in help_.body["data"]["content"]
        score = await fake.interact(fake.command("score", user=ANN))
        assert score.body["data"]["flags"] == EPHEMERAL
        assert "**📊 Ann**" in score.body["data"]["content"]
        assert "No answers yet" in score.body["data"]["content"]

        complete = await fake.interact(fake.autocomplete("question", "topic", "bet", user=ANN))
        assert complete.body == {
            "type": 8, "data": {"choices": [{"name": "Beta topic (beta)", "value": "beta"}]}
        }  # fmt: skip


async def test_known_errors_are_private_and_unexpected_ones_are_logged_with_context(
    tmp_path: Path,
    bank: QuestionBank,
    clock: FixedClock,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async with FakeDiscord() as fake, running_bot(fake, tmp_path / "q.db", bank, clock) as bot:
        unknown = await fake.interact(fake.command("question", {"topic": "nosuchtopic"}, user=ANN))
        assert unknown.body["data"]["flags"] == EPHEMERAL
        assert "nosuchtopic" in unknown.body["data"]["content"]

        async def broken(*args: object) -> None:
            raise RuntimeError("disk on fire")

        monkeypatch.setattr(bot.service, "score", broken)
        payload = fake.command("score", user=ANN)
        failed = await fake.interact(payload)
        assert failed.body["data"] == {
            "tts": False, "content": common_texts.APOLOGY, "flags": EPHEMERAL,
            "allowed_mentions": NO_PINGS,
        }  # fmt: skip
        logged = [r for r in caplog.records if r.levelno == logging.ERROR]
        assert any(
            payload["id"] in r.getMessage() and str(GUILD_ID) in r.getMessage() and r.exc_info
            for r in logged
        )
        monkeypatch.undo()
        stale = await fake.interact(fake.command("frobnicate", user=ANN))
        assert stale.body["data"]["content"] == common_texts.unknown_command("frobnicate")
        # the bot keeps serving
        again = await fake.interact(fake.command("score", user=ANN))
        assert "**📊 Ann**" in again.body["data"]["content"]


async def test_slow_work_is_deferred_then_answered_with_a_followup(
    tmp_path: Path, bank: QuestionBank, clock: FixedClock
) -> None:
    db = tmp_path / "q.db"
    async with (
        FakeDiscord() as fake,
        running_bot(fake, db, bank, clock, defer_after=0.0, ask_rate=(1, 60.0)),
    ):
        payload = fake.command("score", user=ANN)
        callback = await fake.interact(payload)
        assert callback.body == {"type": 5, "data": {"flags": EPHEMERAL}}
        (followup,) = await fake.followups(payload)
        assert followup.query["wait"] == "1"
        assert followup.body["flags"] == EPHEMERAL
        assert "**📊 Ann**" in followup.body["content"]
        assert followup.body["allowed_mentions"] == NO_PINGS

        # a public command: deferred publicly, answered with the question and its buttons
        ask = fake.command("question", {"topic": "beta"}, user=BOB)
        assert (await fake.interact(ask)).body == {"type": 5}
        (question,) = await fake.followups(ask)
        assert "flags" not in question.body and question.body["components"]
        # ...and when its work fails after the defer (here: Bob's ask rate of 1 per minute),
        # the public "thinking" message is removed and the error goes privately
        again = fake.command("question", {"topic": "beta"}, user=BOB)
        assert (await fake.interact(again)).body == {"type": 5}
        (notice,) = await fake.followups(again)
        assert notice.body["flags"] == EPHEMERAL
        assert notice.body["content"] == RateLimited().message
        deleted = fake.matching(
            "DELETE", rf"/webhooks/{APP_ID}/{again['token']}/messages/@original"
        )
        assert len(deleted) == 1 and deleted[0].status == 204


async def test_work_is_deferred_only_once_it_outlasts_the_defer_time(
    tmp_path: Path, bank: QuestionBank, clock: FixedClock
) -> None:
    """The work runs in the interaction's own task; a timer defers it once it is slow, and a
    quick answer is sent at once, never deferred."""
    slow = asyncio.Event()

    def slowed(adapter: DiscordAdapter) -> None:
        score = adapter.service.score

        async def slow_score(*args: Any, **kwargs: Any) -> Any:
            if slow.is_set():
                await asyncio.sleep(0.3)  # longer than defer_after
            return await score(*args, **kwargs)

        adapter.service.score = slow_score  # type: ignore[method-assign]

    async with (
        FakeDiscord() as fake,
        running_bot(fake, tmp_path / "q.db", bank, clock, defer_after=0.1, setup=slowed),
    ):
        fast = fake.command("score", user=ANN)
        quick = await fake.interact(fast)
        assert quick.body["type"] == 4 and "**📊 Ann**" in quick.body["data"]["content"]
        await asyncio.sleep(0.2)  # past defer_after: its timer was cancelled, nothing follows
        assert fake.matching("POST", rf"/webhooks/{APP_ID}/{fast['token']}") == []
        assert len(fake.matching("POST", rf"/interactions/{fast['id']}/.*")) == 1

        slow.set()
        payload = fake.command("score", user=ANN)
        assert (await fake.interact(payload)).body == {"type": 5, "data": {"flags": EPHEMERAL}}
        (followup,) = await fake.followups(payload)
        assert followup.body["flags"] == EPHEMERAL
        assert "**📊 Ann**" in followup.body["content"]


def daily_group(adapter: DiscordAdapter) -> AdminGroup:
    """An admin-only group like the scheduler's /daily, answering through `adapter`."""
    group = AdminGroup(name="daily", description="Daily question settings")

    @group.command(name="status", description="Show the schedule")
    async def status(interaction: discord.Interaction[Any]) -> None:
        await adapter.deliver(interaction, notice_reply("schedule: off"))

    return group


async def test_admin_group_is_for_server_managers_only(
    tmp_path: Path, bank: QuestionBank, clock: FixedClock
) -> None:
    async with FakeDiscord() as fake:
        adapter = DiscordAdapter(Secret(TOKEN), memory_app(bank, clock).quiz)
        adapter.add_commands(daily_group(adapter))
        await adapter.sync()
        (put,) = fake.matching("PUT", rf"/applications/{APP_ID}/commands")
        daily = next(c for c in put.body if c["name"] == "daily")
        assert daily["default_member_permissions"] == discord.Permissions(manage_guild=True).value
        assert daily["contexts"] == [0] and daily["integration_types"] == [0]

    async with FakeDiscord() as fake, running_bot(fake, tmp_path / "q.db", bank, clock) as bot:
        bot.adapter.add_commands(daily_group(bot.adapter))
        member = await fake.interact(fake.command("daily", user=ANN, subcommand="status"))
        assert member.body["data"]["content"] == NotAllowed().message
        assert member.body["data"]["flags"] == EPHEMERAL
        in_dm = await fake.interact(
            fake.command("daily", user=ADMIN, guild=False, subcommand="status")
        )
        assert in_dm.body["data"]["content"] == NotAllowed().message
        admin = await fake.interact(fake.command("daily", user=ADMIN, subcommand="status"))
        assert admin.body["data"]["content"] == "schedule: off"
