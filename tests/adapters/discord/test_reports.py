"""Reporting a question on Discord end to end: the real discord.py client against the fake
Discord on 127.0.0.1, a real SQLite file. The Report button under a private result opens a
modal (a menu of reasons in a label, an optional paragraph); its submission is stored once;
the daily reveal carries the same button and the "Learn more" link button; forged, stale,
repeated and oversized input gets a clear ephemeral message and stores nothing."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from bot.core.bank.question_bank import QuestionBank
from bot.core.common.identity import ChatRef, Platform
from bot.core.daily.service import Outcome
from bot.core.quiz.reports import Reason
from tests.adapters.discord.test_answers import ANN, BOB, ask, click, labels
from tests.fakes.clock import FixedClock
from tests.fakes.discord_api import CHANNEL_ID, GUILD_ID, FakeDiscord, FakeUser, running_bot

EPHEMERAL = 64
ADMIN = FakeUser(103, "Ada Admin", admin=True)
CHANNEL = ChatRef(Platform.DISCORD, str(CHANNEL_ID), str(GUILD_ID))


def submit(
    fake: FakeDiscord, custom_id: str, reason: str, note: str, user: FakeUser
) -> dict[str, Any]:
    """The report modal's submission from the server channel, as the gateway delivers it:
    each field inside its label (type 18), the menu's choice under `values`."""
    return fake._interaction(  # the fake's own payload builder, for type 5 (modal submit)
        5,
        {
            "custom_id": custom_id,
            "components": [
                {"type": 18, "id": 1, "component": {
                    "type": 3, "id": 2, "custom_id": "reason", "values": [reason]}},
                {"type": 18, "id": 3, "component": {
                    "type": 4, "id": 4, "custom_id": "note", "value": note}},
            ],
        },
        user,
        True,
    )  # fmt: skip


def row_buttons(data: dict[str, Any]) -> list[dict[str, Any]]:
    return [c for row in data.get("components", []) for c in row["components"]]


async def test_report_from_a_private_result_through_the_modal(
    tmp_path: Path, bank: QuestionBank, clock: FixedClock
) -> None:
    async with FakeDiscord() as fake, running_bot(fake, tmp_path / "q.db", bank, clock) as bot:
        message = await ask(fake, ANN, "beta", 1)  # beta-one
        round_id, right, _ = await labels(bot.service, bank, message)
        result = await click(fake, message, f"a1.{round_id}.{right}", ANN)
        private = fake.message_of(result)
        report, learn = row_buttons(result.body["data"])
        assert (report["label"], report["custom_id"]) == ("Report", f"r1.{round_id}")
        assert learn["url"] == "https://www.rfc-editor.org/rfc/rfc9110#name-safe-methods"

        opened = await click(fake, private, f"r1.{round_id}", ANN)
        assert opened.body["type"] == 9  # a modal
        modal = opened.body["data"]
        assert (modal["custom_id"], modal["title"]) == (f"r1.{round_id}", "Report this question")
        menu_label, note_label = modal["components"]
        assert (menu_label["type"], menu_label["label"]) == (18, "What is wrong?")
        menu = menu_label["component"]
        assert (menu["type"], menu["custom_id"], menu["min_values"], menu["max_values"]) == (
            3, "reason", 1, 1,
        )  # fmt: skip
        assert [o["value"] for o in menu["options"]] == [r.value for r in Reason]
        assert note_label["label"] == "Note (optional)"
        note = note_label["component"]
        assert (note["type"], note["style"], note["max_length"], note["required"]) == (
            4, 2, 500, False,
        )  # fmt: skip

        done = await fake.interact(
            submit(fake, modal["custom_id"], "wrong", "GET is safe; so is HEAD.", ANN)
        )
        assert done.body["type"] == 4 and done.body["data"]["flags"] == EPHEMERAL
        assert done.body["data"]["content"].startswith("Thanks! Your report #1 (Wrong answer")
        (stored,) = await bot.app.reports.store.reports(open_only=True)
        assert (stored.question_id, stored.reason, stored.note) == (
            "beta-one", Reason.WRONG, "GET is safe; so is HEAD.",
        )  # fmt: skip
        assert (stored.platform, stored.place) == ("discord", f"discord:{CHANNEL_ID}")

        # a second report by the same person: no modal, a clear message, nothing stored
        again = await click(fake, private, f"r1.{round_id}", ANN)
        assert again.body["type"] == 4 and again.body["data"]["flags"] == EPHEMERAL
        assert "You already reported this question" in again.body["data"]["content"]
        stale_form = await fake.interact(submit(fake, modal["custom_id"], "typo", "", ANN))
        assert "You already reported this question" in stale_form.body["data"]["content"]
        assert len(await bot.app.reports.store.reports(open_only=False)) == 1

        # someone else's form with a note over the limit, then a forged reason
        too_long = await fake.interact(submit(fake, f"r1.{round_id}", "typo", "x" * 501, BOB))
        assert "Your note is 501 characters; the limit is 500" in (too_long.body["data"]["content"])
        forged = await fake.interact(submit(fake, f"r1.{round_id}", "sideways", "", BOB))
        assert "I don't know the reason 'sideways'" in forged.body["data"]["content"]
        assert len(await bot.app.reports.store.reports(open_only=False)) == 1


async def test_forged_garbled_and_unknown_report_buttons_get_a_clear_message(
    tmp_path: Path, bank: QuestionBank, clock: FixedClock
) -> None:
    forged = {
        "r1.short": "not valid",  # round id too short
        "r1.aaaaaaaaaaa.delete": "not valid",  # a word no report button carries
        "r1." + "x" * 90: "not valid",  # longer than any token
        "r1.NoSuchRound1": "can't find the question",  # well-formed, no such round
        "r1.NoSuchRound1.wrong": "can't find the question",
    }
    async with FakeDiscord() as fake, running_bot(fake, tmp_path / "q.db", bank, clock) as bot:
        message_id = fake.seed_message(list(forged))
        for custom_id, said in forged.items():
            reply = await fake.interact(fake.click(message_id, custom_id, user=ANN))
            assert reply.body["type"] == 4, custom_id  # never a modal
            assert reply.body["data"]["flags"] == EPHEMERAL, custom_id
            assert said in reply.body["data"]["content"], custom_id
            assert "nothing was reported" in reply.body["data"]["content"].casefold()
        garbled_form = await fake.interact(submit(fake, "r1.bad id!", "wrong", "", ANN))
        assert "not valid" in garbled_form.body["data"]["content"]
        assert await bot.app.reports.store.reports(open_only=False) == []


async def test_the_daily_reveal_has_learn_more_and_report(
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
        posted = await bot.app.daily.run_post(sub, date(2026, 12, 1), bot.adapter.outbox)
        assert posted.outcome is Outcome.DELIVERED and posted.claim is not None
        clock.current = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)
        revealed = await bot.app.daily.run_reveal(posted.claim, bot.adapter.outbox)
        assert revealed.outcome is Outcome.DELIVERED
        reveal = fake.posted(CHANNEL_ID)[-1]
        assert "The answer to Tuesday 1 December's daily question" in reveal["content"]
        question = bank.get(posted.claim.question_id)
        assert question is not None
        report, learn = row_buttons(reveal)
        claim = await bot.app.daily.store.get_claim(posted.claim.id)
        assert claim is not None and claim.round_id is not None
        assert report["custom_id"] == f"r1.{claim.round_id}"
        assert (learn["label"], learn["url"]) == ("Learn more", question.references[0])

        opened = await click(fake, reveal, report["custom_id"], BOB)  # a public message
        assert opened.body["type"] == 9
        done = await fake.interact(submit(fake, report["custom_id"], "outdated", "", BOB))
        assert "(Outdated)" in done.body["data"]["content"]
        (stored,) = await bot.app.reports.store.reports(open_only=True)
        assert stored.question_id == question.id
