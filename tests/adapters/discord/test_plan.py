"""`/plan` and `/practice weak` on Discord end to end: the real discord.py client against the
fake Discord on 127.0.0.1, a real SQLite file, a fixed clock (2026-12-01 12:00 UTC)."""

from __future__ import annotations

from pathlib import Path

from bot.core.bank.question_bank import QuestionBank
from tests.adapters.discord.test_practice import ANN, EPHEMERAL, practice_bot
from tests.fakes.clock import FixedClock
from tests.fakes.discord_api import FakeDiscord


async def test_plan_in_a_dm_sets_shows_counts_down_and_removes(
    tmp_path: Path, bank: QuestionBank, clock: FixedClock
) -> None:
    async with FakeDiscord() as fake, practice_bot(fake, tmp_path / "q.db", bank, clock):
        options = {"date": "2027-01-15", "topics": "alpha, beta"}
        set_ = await fake.interact(fake.command("plan", options, user=ANN, guild=False))
        assert set_.body["data"]["content"].startswith(
            "Plan set: interview on 2027-01-15 (Friday) (UTC). 5 cards to study in Alpha topic, "
            "Beta topic (5 unseen, 0 not learned yet) over 45 days: 1 a day."
        )
        assert not set_.body["data"].get("flags")  # a DM: an ordinary message

        shown = await fake.interact(fake.command("plan", user=ANN, guild=False))
        assert shown.body["data"]["content"].startswith("Your plan: interview on 2027-01-15")
        due = await fake.interact(fake.command("due", user=ANN, guild=False))
        assert (
            "🎯 Interview in 45 days (2027-01-15 (Friday)): today 0 of 1 planned"
            in (due.body["data"]["content"])
        )

        bad = await fake.interact(
            fake.command("plan", {"date": "2027-02-30"}, user=ANN, guild=False)
        )
        assert bad.body["data"]["flags"] == EPHEMERAL
        assert bad.body["data"]["content"].startswith("2027-02-30 is not a date in the calendar")
        shown = await fake.interact(fake.command("plan", user=ANN, guild=False))
        assert "2027-01-15" in shown.body["data"]["content"]  # the refusal lost nothing

        off = await fake.interact(fake.command("plan", {"date": "off"}, user=ANN, guild=False))
        assert off.body["data"]["content"] == "Plan removed."

        in_server = await fake.interact(fake.command("plan", {"date": "2027-01-15"}, user=ANN))
        assert in_server.body["data"]["flags"] == EPHEMERAL
        assert in_server.body["data"]["content"] == (
            "Plans are private: send me /plan in a direct message."
        )


async def test_practice_weak_explains_itself_and_is_offered_by_autocomplete(
    tmp_path: Path, bank: QuestionBank, clock: FixedClock
) -> None:
    async with FakeDiscord() as fake, practice_bot(fake, tmp_path / "q.db", bank, clock):
        weak = fake.command("practice", {"topic": "weak"}, user=ANN, guild=False)
        refused = await fake.interact(weak)
        assert refused.body["data"]["flags"] == EPHEMERAL
        assert refused.body["data"]["content"].startswith(
            "Not enough practice to find your weak topics: I need at least 5 answers"
        )
        complete = await fake.interact(fake.autocomplete("practice", "topic", "we", user=ANN))
        assert complete.body["data"]["choices"][0] == {
            "name": "Your weakest topics (weak)", "value": "weak"
        }  # fmt: skip
        complete = await fake.interact(fake.autocomplete("practice", "topic", "bet", user=ANN))
        assert complete.body["data"]["choices"] == [{"name": "Beta topic (beta)", "value": "beta"}]
