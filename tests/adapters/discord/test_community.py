"""A server's own questions on Discord end to end: the real discord.py client against the fake
Discord on 127.0.0.1 (REST, gateway and the attachments' CDN), a real SQLite file.

`/questions import` downloads the attachment from the fake's 127.0.0.1 URL; the imported topic
is asked by `/question` in that server and unknown in another; `/questions export` gives the
file back; `/propose` (a modal) -> `/questions pending` -> Approve, and the proposer gets a
DM. Every bad input of issue 16 gets a clear private message and changes nothing.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from bot.adapters.discord.adapter import DiscordAdapter
from bot.config import Secret
from bot.core.bank.question_bank import QuestionBank
from tests.fakes.app import memory_app
from tests.fakes.clock import FixedClock
from tests.fakes.community_files import ACME, ACME_PROMPT, BAD_FILES, MB, NOT_TEXT
from tests.fakes.discord_api import (
    APP_ID,
    GUILD_ID,
    TOKEN,
    FakeDiscord,
    FakeUser,
    Recorded,
    RunningBot,
    left_to_the_collector,
    running_bot,
)

ANN = FakeUser(301, "Ann")
ADMIN = FakeUser(303, "Ada Admin", admin=True)
EPHEMERAL = 64
SCOPE = f"discord:{GUILD_ID}"
OTHER_GUILD, OTHER_CHANNEL = 700000000000000009, 710000000000000009
MEMBERS_REFUSED = "Only members with the Manage Server permission can"


def content(callback: Recorded) -> str:
    """What a callback's message says, without Discord's markdown escapes."""
    return str(callback.body["data"]["content"]).replace("\\", "")


async def answer(fake: FakeDiscord, payload: dict[str, Any]) -> str:
    """What the bot answered an interaction: the callback's message, or (deferred) the first
    follow-up's."""
    callback = await fake.interact(payload)
    if callback.body["type"] == 5:
        (followup,) = await fake.followups(payload)
        return str(followup.body["content"]).replace("\\", "")
    return content(callback)


def is_private(callback: Recorded) -> bool:
    return bool(int(callback.body["data"].get("flags") or 0) & EPHEMERAL)


def elsewhere(payload: dict[str, Any]) -> dict[str, Any]:
    """The same interaction from another server (and its channel)."""
    payload |= {"guild_id": str(OTHER_GUILD), "channel_id": str(OTHER_CHANNEL),
                "authorizing_integration_owners": {"0": str(OTHER_GUILD)}}  # fmt: skip
    payload["channel"] |= {"id": str(OTHER_CHANNEL), "guild_id": str(OTHER_GUILD)}
    return payload


async def import_file(fake: FakeDiscord, user: FakeUser, file: dict[str, Any]) -> Recorded:
    return await fake.interact(
        fake.command("questions", {"file": file}, user=user, subcommand="import")
    )


def own_questions(bot: RunningBot) -> int:
    own = bot.app.community.library.community(SCOPE)
    return len(own.questions) if own else 0


async def test_sync_registers_questions_and_propose_for_servers(bank: QuestionBank) -> None:
    async with FakeDiscord() as fake:
        app = memory_app(bank)
        adapter = DiscordAdapter(Secret(TOKEN), app.quiz, community=app.community)
        names = await adapter.sync()
        (put,) = fake.matching("PUT", rf"/applications/{APP_ID}/commands")
    assert {"questions", "propose"} <= set(names)
    commands = {c["name"]: c for c in put.body}
    questions, propose = commands["questions"], commands["propose"]
    assert questions["contexts"] == [0] and propose["contexts"] == [0]  # servers only
    assert questions.get("default_member_permissions") is None  # list is for everyone
    subs = {s["name"]: s for s in questions["options"]}
    assert sorted(subs) == ["export", "import", "list", "pending", "remove"]
    (file,) = subs["import"]["options"]
    assert (file["name"], file["type"], file["required"]) == ("file", 11, True)  # attachment
    assert subs["remove"]["options"][0]["autocomplete"] is True


async def test_an_admin_imports_a_file_only_this_server_gets_it_and_exports_it_back(
    tmp_path: Path, bank: QuestionBank, clock: FixedClock
) -> None:
    async with (
        FakeDiscord() as fake,
        running_bot(fake, tmp_path / "q.db", bank, clock, community=True) as bot,
    ):
        file = fake.attachment("acme.toml", ACME.encode())
        done = await import_file(fake, ADMIN, file)
        assert is_private(done)
        assert content(done).startswith("Imported 1 question(s) into Acme stack")
        assert len(fake.downloads) == 1  # fetched from the fake's 127.0.0.1 URL
        assert own_questions(bot) == 1

        asked = await fake.interact(fake.command("question", {"topic": "acme-stack"}, user=ANN))
        assert ACME_PROMPT in content(asked)
        assert not is_private(asked)
        labels = [b["label"] for row in asked.body["data"]["components"][:1]
                  for b in row["components"]]  # fmt: skip
        assert sorted(labels) == ["A", "B", "C"]

        other = elsewhere(fake.command("question", {"topic": "acme-stack"}, user=ANN))
        refused = await fake.interact(other)
        assert "Acme" not in content(refused) and is_private(refused)

        listed = await fake.interact(fake.command("questions", user=ANN, subcommand="list"))
        assert "Acme stack (acme-stack): 1" in content(listed)

        autocomplete = fake.autocomplete("question", "topic", "acm", user=ANN)
        shown = await fake.interact(autocomplete)
        assert shown.body["data"]["choices"] == [
            {"name": "Acme stack (acme-stack) · this server's", "value": "acme-stack"}
        ]

        export = fake.command("questions", user=ADMIN, subcommand="export")
        await fake.interact(export)
        (sent,) = await fake.followups(export)
        assert int(sent.body.get("flags") or 0) & EPHEMERAL
        assert "acme-stack.toml" in sent.body["content"]
        exported = sent.files["acme-stack.toml"].decode()
        assert 'prompt = "Which tool deploys Acme\'s services?"' in exported

        again = await import_file(
            fake, ADMIN, fake.attachment("acme-stack.toml", exported.encode())
        )
        assert "replacing the 1 it had" in content(again)  # the export imports as it is
        assert own_questions(bot) == 1


async def test_a_member_cannot_import_and_nothing_is_downloaded(
    tmp_path: Path, bank: QuestionBank, clock: FixedClock
) -> None:
    async with (
        FakeDiscord() as fake,
        running_bot(fake, tmp_path / "q.db", bank, clock, community=True) as bot,
    ):
        done = await import_file(fake, ANN, fake.attachment("acme.toml", ACME.encode()))
        assert is_private(done) and content(done).startswith(MEMBERS_REFUSED)
        assert fake.downloads == [] and own_questions(bot) == 0
        for sub in ("export", "pending"):
            refused = await answer(fake, fake.command("questions", user=ANN, subcommand=sub))
            assert refused.startswith(MEMBERS_REFUSED), sub
        removed = await fake.interact(
            fake.command("questions", {"topic": "acme-stack"}, user=ANN, subcommand="remove")
        )
        assert content(removed).startswith(MEMBERS_REFUSED)


async def test_a_file_over_1_mb_is_refused_before_it_is_downloaded(
    tmp_path: Path, bank: QuestionBank, clock: FixedClock
) -> None:
    async with (
        FakeDiscord() as fake,
        running_bot(fake, tmp_path / "q.db", bank, clock, community=True) as bot,
    ):
        big = fake.attachment("big.toml", b"x", size=MB + 1)  # Discord says: just over 1 MB
        done = await import_file(fake, ADMIN, big)
        assert is_private(done)
        assert "big.toml: the file is 1.0 MB; the limit is 1 MB" in content(done)
        assert fake.downloads == [] and own_questions(bot) == 0


async def test_a_size_that_lies_does_not_make_the_bot_read_past_1_mb(
    tmp_path: Path, bank: QuestionBank, clock: FixedClock
) -> None:
    """Discord says 200 bytes; the file never ends. The bot stops reading right after 1 MB."""
    async with (
        FakeDiscord() as fake,
        running_bot(fake, tmp_path / "q.db", bank, clock, community=True) as bot,
    ):
        endless = fake.attachment("liar.toml", b"# " + b"x" * 65_534, size=200, endless=True)
        done = await import_file(fake, ADMIN, endless)
        assert "liar.toml: the file is larger than 1 MB, the limit" in content(done)
        assert own_questions(bot) == 0
        assert fake.served(endless) < 64 * MB  # it hung up (socket buffers hold the rest)


@pytest.mark.parametrize("case", sorted(BAD_FILES))
async def test_a_bad_file_is_refused_with_every_problem_and_nothing_imported(
    tmp_path: Path, bank: QuestionBank, clock: FixedClock, case: str
) -> None:
    text, problem = BAD_FILES[case]
    async with (
        FakeDiscord() as fake,
        running_bot(fake, tmp_path / "q.db", bank, clock, community=True) as bot,
    ):
        done = await import_file(fake, ADMIN, fake.attachment("acme.toml", text.encode()))
        assert is_private(done)
        said = content(done)
        assert said.startswith("Nothing was imported"), said
        assert problem in said, said
        assert own_questions(bot) == 0


async def test_a_file_that_is_not_text_is_refused(
    tmp_path: Path, bank: QuestionBank, clock: FixedClock
) -> None:
    async with (
        FakeDiscord() as fake,
        running_bot(fake, tmp_path / "q.db", bank, clock, community=True) as bot,
    ):
        done = await import_file(
            fake, ADMIN, fake.attachment("cat.png", NOT_TEXT, content_type="image/png")
        )
        assert "cat.png: not a text file" in content(done)
        assert own_questions(bot) == 0


def proposal(**changes: str) -> dict[str, str]:
    fields = {
        "prompt": "Which port does Acme's staging API listen on?",
        "options": "A) 8080\nB) 8443\nC) 9000\nD) 3000",
        "right": "menu:B",
        "explanation": "Staging terminates TLS on 8443.",
        "topic": "",
    }
    return fields | changes


async def test_propose_approve_and_the_proposer_is_told_by_dm(
    tmp_path: Path, bank: QuestionBank, clock: FixedClock
) -> None:
    async with (
        FakeDiscord() as fake,
        running_bot(fake, tmp_path / "q.db", bank, clock, community=True) as bot,
    ):
        opened = await fake.interact(fake.command("propose", user=ANN))
        assert opened.body["type"] == 9  # the modal
        form = opened.body["data"]
        assert (form["custom_id"], form["title"]) == ("cp1.propose", "Propose a question")
        inner = [label["component"] for label in form["components"]]
        assert [c["custom_id"] for c in inner] == [
            "prompt", "options", "right", "explanation", "topic"
        ]  # fmt: skip
        assert [o["value"] for o in inner[2]["options"]] == ["A", "B", "C", "D"]

        sent = await fake.interact(fake.modal_submit("cp1.propose", proposal(), user=ANN))
        assert is_private(sent) and content(sent).startswith("Thanks! Your question waits")

        pending = fake.command("questions", user=ADMIN, subcommand="pending")
        shown = await fake.interact(pending)
        assert is_private(shown)
        said = content(shown)
        assert "Which port does Acme's staging API listen on?" in said and "✅ B. 8443" in said
        buttons = [b for row in shown.body["data"]["components"] for b in row["components"]]
        assert [(b["label"], b["custom_id"]) for b in buttons] == [
            ("Approve", "cq1.1.a"), ("Reject", "cq1.1.r")
        ]  # fmt: skip

        message = fake.message_of(shown)["id"]
        refused = await fake.interact(fake.click(int(message), "cq1.1.a", user=ANN))
        assert content(refused).startswith(MEMBERS_REFUSED)  # a member cannot approve

        approved = await fake.interact(fake.click(int(message), "cq1.1.a", user=ADMIN))
        assert content(approved).startswith("Proposal #1 approved: added to Members")
        dm_opened = await fake.wait_for("POST", "/users/@me/channels")
        assert dm_opened[0].body == {"recipient_id": ANN.id}
        dm = str(800000000000000000 + ANN.id)
        (told,) = await fake.wait_for("POST", rf"/channels/{dm}/messages")
        assert told.body["content"].startswith("Good news: the question you proposed")
        assert told.body["allowed_mentions"] == {"parse": []}
        assert own_questions(bot) == 1

        twice = await fake.interact(fake.click(int(message), "cq1.1.r", user=ADMIN))
        assert "was already approved by Ada Admin" in content(twice)
        asked = await fake.interact(fake.command("question", {"topic": "proposals"}, user=ANN))
        assert "staging API" in content(asked)


async def test_a_proposer_whose_dms_are_closed_is_not_told_and_nothing_breaks(
    tmp_path: Path, bank: QuestionBank, clock: FixedClock
) -> None:
    async with (
        FakeDiscord() as fake,
        running_bot(fake, tmp_path / "q.db", bank, clock, community=True) as bot,
    ):
        await fake.interact(fake.modal_submit("cp1.propose", proposal(), user=ANN))
        shown = await fake.interact(fake.command("questions", user=ADMIN, subcommand="pending"))
        dm = 800000000000000000 + ANN.id
        fake.fail_next("POST", rf"/channels/{dm}/messages", 403,
                       {"message": "Cannot send messages to this user", "code": 50007})  # fmt: skip
        message = int(fake.message_of(shown)["id"])
        rejected = await fake.interact(fake.click(message, "cq1.1.r", user=ADMIN))
        assert content(rejected) == "Proposal #1 rejected."
        (refused,) = await fake.wait_for("POST", rf"/channels/{dm}/messages")
        assert refused.status == 403
        assert own_questions(bot) == 0
        assert not bot.task.done()  # the adapter carries on


async def test_a_proposal_with_empty_or_missing_fields_is_refused_and_not_stored(
    tmp_path: Path, bank: QuestionBank, clock: FixedClock
) -> None:
    async with (
        FakeDiscord() as fake,
        running_bot(fake, tmp_path / "q.db", bank, clock, community=True) as bot,
    ):
        empty = proposal(prompt="   ", options="A) 1\nB) 2\n\nC) 3", explanation=" ")
        done = await fake.interact(fake.modal_submit("cp1.propose", empty, user=ANN))
        said = content(done)
        assert is_private(done) and said.startswith("Nothing was sent to the admins")
        assert "The prompt is empty." in said and "exactly 4 options" in said
        assert "The explanation is empty." in said
        unknown = proposal(topic="kubernetes", right="menu:E")
        done = await fake.interact(fake.modal_submit("cp1.propose", unknown, user=ANN))
        said = content(done)
        assert "from A to D" in said and "'kubernetes' is not one of your community's" in said
        assert await bot.app.community.store.pending_count(SCOPE) == 0


async def test_a_handled_form_leaves_nothing_for_the_cycle_collector(
    tmp_path: Path, bank: QuestionBank, clock: FixedClock
) -> None:
    async with (
        FakeDiscord() as fake,
        running_bot(fake, tmp_path / "q.db", bank, clock, community=True),
    ):
        await fake.interact(fake.modal_submit("cp1.propose", proposal(), user=ANN))  # warm
        await asyncio.sleep(0.05)
        with left_to_the_collector() as left:
            for _ in range(3):
                done = await fake.interact(fake.modal_submit("cp1.propose", proposal(), user=ANN))
                assert is_private(done)
            await asyncio.sleep(0.05)  # each submission's task ends after its reply went out
        assert left == []


async def test_questions_are_for_servers_only(
    tmp_path: Path, bank: QuestionBank, clock: FixedClock
) -> None:
    """Discord offers the commands in servers only; an interaction from a DM anyway is told
    where they work."""
    async with (
        FakeDiscord() as fake,
        running_bot(fake, tmp_path / "q.db", bank, clock, community=True),
    ):
        dm = await fake.interact(
            fake.command("questions", user=ANN, guild=False, subcommand="list")
        )
        assert "live in a server or group" in content(dm)


async def test_quiz_and_daily_topics_autocomplete_show_the_servers_own_first(
    tmp_path: Path, bank: QuestionBank, clock: FixedClock
) -> None:
    async with (
        FakeDiscord() as fake,
        running_bot(
            fake, tmp_path / "q.db", bank, clock, community=True, games=True, daily=True
        ) as bot,
    ):
        await import_file(fake, ADMIN, fake.attachment("acme.toml", ACME.encode()))
        assert own_questions(bot) == 1
        mine = {"name": "Acme stack (acme-stack) · this server's", "value": "acme-stack"}
        quiz = await fake.interact(
            fake.autocomplete("quiz", "topic", "", user=ANN, subcommand="start")
        )
        assert quiz.body["data"]["choices"][0] == mine
        assert {"name": "Alpha topic (alpha)", "value": "alpha"} in quiz.body["data"]["choices"]
        daily = await fake.interact(
            fake.autocomplete("daily", "topics", "alpha, acm", user=ADMIN, subcommand="set")
        )
        assert daily.body["data"]["choices"] == [
            {"name": "alpha, Acme stack (acme-stack) · this server's", "value": "alpha, acme-stack"}
        ]
        other = elsewhere(fake.autocomplete("quiz", "topic", "acm", user=ANN, subcommand="start"))
        assert (await fake.interact(other)).body["data"]["choices"] == []
