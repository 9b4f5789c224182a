"""Private practice on Discord end to end: the real discord.py client against the fake Discord
on 127.0.0.1, a real SQLite file. /practice in a DM, a practice button, "Answer in my own words"
opening a modal, the modal's submission graded, the rating buttons, and the chart and Anki file
sent as attachments.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp import web

from bot.adapters.discord.adapter import DiscordAdapter
from bot.core.bank.question_bank import QuestionBank
from bot.core.common.identity import ChatRef, Platform, UserRef
from bot.core.practice.service import PracticeService
from bot.core.quiz.service import QuizService
from tests.fakes.clock import FixedClock
from tests.fakes.discord_api import FakeDiscord, FakeUser, Recorded, running_bot

ANN = FakeUser(201, "Ann")
DM = ChatRef(Platform.DISCORD, str(800000000000000000 + ANN.id))  # the fake's DM channel
EPHEMERAL = 64


class FakeDiscordWithFiles(FakeDiscord):
    """The fake Discord, also accepting multipart messages (attachments): the JSON part becomes
    the request body, the file parts are kept in `files` as (filename, text with the bytes
    decoded leniently)."""

    def __init__(self) -> None:
        super().__init__()
        self.files: list[tuple[str, str]] = []

    def _respond(self, r: Recorded, request: web.Request) -> web.Response:
        content_type = r.headers.get("Content-Type", "")
        if isinstance(r.body, str) and content_type.startswith("multipart/"):
            boundary = content_type.split("boundary=", 1)[1].strip('"')
            body: dict[str, Any] = {}
            for part in r.body.split(f"--{boundary}")[1:-1]:
                head, _, content = part.partition("\r\n\r\n")
                content = content.removesuffix("\r\n")
                if 'name="payload_json"' in head:
                    body = json.loads(content)
                elif found := re.search(r'filename="([^"]+)"', head):
                    self.files.append((found.group(1), content))
            r.body = body
        return super()._respond(r, request)


@dataclass
class Bot:
    adapter: DiscordAdapter
    quiz: QuizService
    practice: PracticeService


@contextlib.asynccontextmanager
async def practice_bot(
    fake: FakeDiscord, db_path: Path, bank: QuestionBank, clock: FixedClock
) -> AsyncIterator[Bot]:
    async with running_bot(fake, db_path, bank, clock, seed=4, practice=True) as bot:
        assert bot.practice is not None
        yield Bot(bot.adapter, bot.service, bot.practice)


def buttons(message: dict[str, Any]) -> list[dict[str, Any]]:
    return [b for row in message.get("components", []) for b in row["components"]]


async def right_option(bot: Bot, message: dict[str, Any]) -> str:
    """The custom_id of the right option of a practice multiple-choice message."""
    first = buttons(message)[0]["custom_id"]  # p1.c.<round>.<label>
    rnd = await bot.quiz.get_round(first.split(".")[2])
    assert rnd is not None
    question = bot.quiz.bank.get(rnd.question_id)
    assert question is not None
    return f"p1.c.{rnd.id}.{rnd.correct_label(question)}"


def modal_submit(fake: FakeDiscord, custom_id: str, text: str, user: FakeUser) -> dict[str, Any]:
    """A modal submission from a DM, as the gateway delivers it."""
    return fake._interaction(  # the fake's own payload builder, for type 5 (modal submit)
        5,
        {
            "custom_id": custom_id,
            "components": [
                {"type": 1, "components": [{"type": 4, "custom_id": "answer", "value": text}]}
            ],
        },
        user,
        False,
    )


async def test_a_practice_session_in_a_dm_with_the_answer_modal(
    tmp_path: Path, bank: QuestionBank, clock: FixedClock
) -> None:
    async with FakeDiscord() as fake, practice_bot(fake, tmp_path / "q.db", bank, clock) as bot:
        start = fake.command("practice", {"topic": "alpha"}, user=ANN, guild=False)
        callback = await fake.interact(start)
        assert callback.body["type"] == 4
        intro = callback.body["data"]
        assert intro["content"].startswith("Practice session on Alpha topic: 3 questions")
        assert not intro.get("flags")  # a DM: ordinary messages, kept in the history
        (question,) = await fake.followups(start)
        assert question.body["content"].startswith("Practice 1/3 · multiple choice")
        ids = [b["custom_id"] for b in buttons(question.body)]
        assert all(re.fullmatch(r"p1\.c\.[\w-]+\.[A-D]", i) for i in ids)

        dm_message = fake.posted(start["channel_id"])[-1]  # the question, as stored by Discord
        assert dm_message["content"] == question.body["content"]
        right = await right_option(bot, dm_message)
        click = fake.click(int(dm_message["id"]), right, user=ANN)
        answered = await fake.interact(click)
        assert answered.body["data"]["content"].startswith("**✅ Right!**")
        (open_q,) = await fake.followups(click)
        assert open_q.body["content"].startswith("Practice 2/3 · in your own words")
        (own_words,) = buttons(open_q.body)
        assert own_words["label"] == "Answer in my own words"
        session_id = own_words["custom_id"].removeprefix("p1.o.")

        # the button opens a modal (interaction callback type 9)
        open_message = fake.posted(start["channel_id"])[-1]
        opened = await fake.interact(
            fake.click(int(open_message["id"]), own_words["custom_id"], user=ANN)
        )
        assert opened.body["type"] == 9
        modal = opened.body["data"]
        assert modal["custom_id"] == f"p1.m.{session_id}" and modal["title"] == "Your answer"
        (text_input,) = [c for row in modal["components"] for c in row["components"]]
        assert (text_input["custom_id"], text_input["style"]) == ("answer", 2)

        # the submission is graded; the rating buttons show the next intervals
        graded = await fake.interact(
            modal_submit(fake, modal["custom_id"], "Both names point at one shared list, so a "
                         "change made through one of them shows through the other.", ANN)
        )  # fmt: skip
        content = graded.body["data"]["content"]
        assert "Key points:" in content and "Model answer" in content
        *ratings, learn_more = buttons(graded.body["data"])
        assert (learn_more["label"], learn_more["style"]) == ("Learn more", 5)  # a link button
        assert [b["custom_id"] for b in ratings] == [f"p1.r.{session_id}.{n}" for n in (1, 2, 3, 4)]
        assert sum(b["label"].startswith("★ ") for b in ratings) == 1
        assert ratings[2]["label"].endswith("Good · 10 min")

        rated_message = fake.posted(start["channel_id"])[-1]
        rate = fake.click(int(rated_message["id"]), ratings[2]["custom_id"], user=ANN)
        rated = await fake.interact(rate)
        assert rated.body["data"]["content"].startswith("Rated Good: this question comes back")
        (third,) = await fake.followups(rate)
        assert third.body["content"].startswith("Practice 3/3 · multiple choice")

        # a stale rating button says so, privately
        stale = await fake.interact(
            fake.click(int(rated_message["id"]), ratings[0]["custom_id"], user=ANN)
        )
        assert stale.body["data"]["flags"] == EPHEMERAL
        assert "earlier step" in stale.body["data"]["content"]


async def test_practice_in_a_server_is_refused_privately(
    tmp_path: Path, bank: QuestionBank, clock: FixedClock
) -> None:
    async with FakeDiscord() as fake, practice_bot(fake, tmp_path / "q.db", bank, clock):
        callback = await fake.interact(fake.command("practice", user=ANN))
        assert callback.body["data"]["flags"] == EPHEMERAL
        assert callback.body["data"]["content"] == (
            "Practice is private: send me /practice in a direct message."
        )
        due = await fake.interact(fake.command("due", user=ANN, guild=False))
        assert due.body["data"]["content"].startswith("You have no practice cards yet.")


async def test_practice_in_a_group_dm_is_refused_privately(
    tmp_path: Path, bank: QuestionBank, clock: FixedClock
) -> None:
    """A group DM has no guild, but others read along: it is not a private tutor session."""
    async with FakeDiscord() as fake, practice_bot(fake, tmp_path / "q.db", bank, clock):
        payload = fake.command("practice", user=ANN, guild=False)
        payload["channel_id"] = payload["channel"]["id"] = "810000000000000001"
        payload["channel"]["type"] = 3  # GROUP_DM
        payload["context"] = 2  # PRIVATE_CHANNEL
        callback = await fake.interact(payload)
        assert callback.body["data"]["flags"] == EPHEMERAL
        assert callback.body["data"]["content"] == (
            "Practice is private: send me /practice in a direct message."
        )


async def test_progress_chart_and_anki_export_are_attachments(
    tmp_path: Path, bank: QuestionBank, clock: FixedClock
) -> None:
    db = tmp_path / "q.db"
    async with FakeDiscordWithFiles() as fake, practice_bot(fake, db, bank, clock) as bot:
        ann = UserRef(Platform.DISCORD, str(ANN.id))
        asked = await bot.quiz.ask(ann, "Ann", DM, question_id="alpha-two")
        wrong = next(lbl for lbl in "ABC" if lbl != asked.round.correct_label(asked.question))
        await bot.quiz.answer_choice(ann, "Ann", asked.round.id, wrong)  # a card, rated Again

        progress = fake.command("progress", user=ANN, guild=False)
        deferred = await fake.interact(progress)
        assert deferred.body["type"] == 5  # "thinking..." first: the first chart takes a while
        (sent,) = await fake.followups(progress)
        assert "Alpha topic: 0% right (0/1)" in sent.body["content"]
        assert sent.body["attachments"][0]["filename"] == "stackprep-progress.png"

        export = fake.command("export", user=ANN, guild=False)
        await fake.interact(export)
        (file_message,) = await fake.followups(export)
        assert "1 hardest question" in file_message.body["content"]
        names = [name for name, _ in fake.files]
        assert names == [
            "stackprep-progress.png", "stackprep-hardest.apkg", "stackprep-hardest.txt"
        ]  # fmt: skip
        assert fake.files[0][1][1:4] == "PNG"
        assert fake.files[1][1].startswith("PK")  # a zip
        assert "stackprep-alpha-two\tStackprep::Alpha topic" in fake.files[2][1]


async def test_a_modal_opened_before_a_restart_is_still_graded(
    tmp_path: Path, bank: QuestionBank, clock: FixedClock
) -> None:
    db = tmp_path / "q.db"
    async with FakeDiscord() as fake:
        async with practice_bot(fake, db, bank, clock) as bot:
            start = fake.command("practice", {"topic": "beta"}, user=ANN, guild=False)
            await fake.interact(start)
            await fake.followups(start)
            question = fake.posted(start["channel_id"])[-1]
            click = fake.click(int(question["id"]), await right_option(bot, question), user=ANN)
            await fake.interact(click)
            (open_q,) = await fake.followups(click)
            (own_words,) = buttons(open_q.body)
            opened = await fake.interact(
                fake.click(int(fake.posted(start["channel_id"])[-1]["id"]),
                           own_words["custom_id"], user=ANN)
            )  # fmt: skip
            custom_id = opened.body["data"]["custom_id"]
        async with practice_bot(fake, db, bank, clock):  # a new process, same database
            text = "Return 201 Created and put the new resource's URL in the Location header."
            graded = await fake.interact(modal_submit(fake, custom_id, text, ANN))
            assert "Key points:" in graded.body["data"]["content"]
