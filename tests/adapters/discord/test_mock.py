"""`/mock` on Discord end to end: the real discord.py client against the fake Discord on
127.0.0.1, a real SQLite file, a fixed clock (2026-12-01 12:00 UTC): a mock of the plan's topic
through buttons and the answer modal, ended by a press after the deadline with its report; and
refused in a server."""

from __future__ import annotations

from pathlib import Path

from bot.core.bank.question_bank import QuestionBank
from tests.adapters.discord.test_practice import (
    ANN,
    EPHEMERAL,
    buttons,
    modal_submit,
    practice_bot,
    right_option,
)
from tests.fakes.clock import FixedClock
from tests.fakes.discord_api import FakeDiscord


async def test_a_mock_in_a_dm_ends_with_the_readiness_report(
    tmp_path: Path, bank: QuestionBank, clock: FixedClock
) -> None:
    async with FakeDiscord() as fake, practice_bot(fake, tmp_path / "q.db", bank, clock) as bot:
        plan = fake.command(
            "plan", {"date": "2027-01-15", "topics": "alpha"}, user=ANN, guild=False
        )
        await fake.interact(plan)
        start = fake.command("mock", user=ANN, guild=False)
        callback = await fake.interact(start)
        assert callback.body["data"]["content"].startswith(
            "Mock interview: 3 questions on Alpha topic"
        )
        assert not callback.body["data"].get("flags")  # a DM: ordinary messages
        (first,) = await fake.followups(start)
        assert first.body["content"].startswith("Practice 1/3 · multiple choice")

        message = fake.posted(start["channel_id"])[-1]
        click = fake.click(int(message["id"]), await right_option(bot, message), user=ANN)
        answered = await fake.interact(click)
        assert answered.body["data"]["content"].startswith("**✅ Right!**")
        (open_q,) = await fake.followups(click)
        assert open_q.body["content"].startswith("Practice 2/3 · in your own words")
        (own_words,) = buttons(open_q.body)
        session_id = own_words["custom_id"].removeprefix("p1.o.")

        submit = modal_submit(fake, f"p1.m.{session_id}", "No idea, honestly: I have never "
                              "had to think about this one.", ANN)  # fmt: skip
        graded = await fake.interact(submit)
        assert graded.body["data"]["content"].startswith("Answer noted (2 of 3)")
        assert not buttons(graded.body["data"])  # no rating step in a mock
        (next_q,) = await fake.followups(submit)
        assert next_q.body["content"].startswith("Practice 3/3 · multiple choice")

        clock.advance(minutes=31)
        third = fake.posted(start["channel_id"])[-1]
        assert third["content"] == next_q.body["content"]
        late = fake.click(int(third["id"]), await right_option(bot, third), user=ANN)
        report = (await fake.interact(late)).body["data"]["content"]
        assert report.startswith("⏱ Time is up: answers from now on are not counted.")
        assert "Alpha topic: 1/3 right (1 unanswered); open answers 0% on average." in report
        assert "Right!" not in report


async def test_mock_in_a_server_points_to_the_dm(
    tmp_path: Path, bank: QuestionBank, clock: FixedClock
) -> None:
    async with FakeDiscord() as fake, practice_bot(fake, tmp_path / "q.db", bank, clock):
        refused = await fake.interact(fake.command("mock", user=ANN))
        assert refused.body["data"]["flags"] == EPHEMERAL
        assert refused.body["data"]["content"] == (
            "Mock interviews are private: send me /mock in a direct message."
        )
