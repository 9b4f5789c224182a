"""Answer buttons end to end: the real discord.py client against the fake Discord, a real
SQLite file. A click scores once and only once, is answered privately, still works after a
restart, and forged or stale ids get a clear message; /leaderboard then shows who answered.
"""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any

from bot.core.bank.question_bank import QuestionBank
from bot.core.common.errors import InvalidAnswer
from bot.core.common.identity import Platform, UserRef
from bot.core.quiz.service import QuizService
from tests.fakes.clock import FixedClock
from tests.fakes.discord_api import (
    FakeDiscord,
    FakeUser,
    Recorded,
    left_to_the_collector,
    running_bot,
)

ANN = FakeUser(101, "Ann")
BOB = FakeUser(102, "Bob")
MALLORY = FakeUser(103, "*Mal*_lory @everyone")  # markdown and a would-be ping in a name
EPHEMERAL = 64


async def ask(fake: FakeDiscord, user: FakeUser, topic: str, level: int) -> dict[str, Any]:
    """Ask a question in the server channel; the posted message (with its buttons)."""
    callback = await fake.interact(
        fake.command("question", {"topic": topic, "difficulty": level}, user=user)
    )
    return fake.message_of(callback)


async def labels(
    service: QuizService, bank: QuestionBank, message: dict[str, Any]
) -> tuple[str, str, str]:
    """(round id, right label, a wrong label) of a posted question."""
    round_id = message["components"][0]["components"][0]["custom_id"].split(".")[1]
    rnd = await service.get_round(round_id)
    assert rnd is not None
    question = bank.get(rnd.question_id)
    assert question is not None
    right = rnd.correct_label(question)
    return round_id, right, next(label for label in "ABC" if label != right)


async def click(
    fake: FakeDiscord, message: dict[str, Any], custom_id: str, user: FakeUser
) -> Recorded:
    return await fake.interact(fake.click(int(message["id"]), custom_id, user=user))


async def stats(service: QuizService, user: FakeUser) -> tuple[int, int, int]:
    player = await service.store.player(UserRef(Platform.DISCORD, str(user.id)), user.name)
    s = await service.store.player_stats(player)
    return s.answered, s.correct, s.points


async def test_a_click_scores_once_and_only_once_with_a_private_reply(
    tmp_path: Path, bank: QuestionBank, clock: FixedClock
) -> None:
    async with FakeDiscord() as fake, running_bot(fake, tmp_path / "q.db", bank, clock) as bot:
        message = await ask(fake, ANN, "beta", 1)  # beta-one: 10 points
        round_id, right, wrong = await labels(bot.service, bank, message)

        first = await click(fake, message, f"a1.{round_id}.{right}", ANN)
        assert first.body["type"] == 4
        data = first.body["data"]
        assert data["flags"] == EPHEMERAL and data["allowed_mentions"] == {"parse": []}
        assert data["content"].startswith("**✅ Right!**")
        assert f"Answer: {right}) GET" in data["content"]
        assert data["content"].endswith("+10 points.")
        # in a server: no "Next question" button; "Report" and the "Learn more" link
        row = [c for r in data["components"] for c in r["components"]]
        assert [(c["label"], c.get("custom_id"), c["style"]) for c in row] == [
            ("Report", f"r1.{round_id}", 2), ("Learn more", None, 5),
        ]  # fmt: skip
        assert await stats(bot.service, ANN) == (1, 1, 10)

        # a second click, even on another option, changes nothing and says so privately
        second = await click(fake, message, f"a1.{round_id}.{wrong}", ANN)
        assert second.body["data"]["flags"] == EPHEMERAL
        assert second.body["data"]["content"] == (
            f"You have already answered this one. The answer is {right}."
        )
        assert await stats(bot.service, ANN) == (1, 1, 10)

        # another person answers the same round on their own
        bob = await click(fake, message, f"a1.{round_id}.{wrong}", BOB)
        assert bob.body["data"]["content"].startswith(f"**❌ Not quite: you chose {wrong}.**")
        assert await stats(bot.service, BOB) == (1, 0, 0)


async def test_a_handled_interaction_leaves_nothing_for_the_cycle_collector(
    tmp_path: Path, bank: QuestionBank, clock: FixedClock
) -> None:
    # discord.py's Interaction caches its InteractionResponse, which points back at it: each
    # click's interaction, message, member and user were cyclic garbage, and in the games
    # benchmark the bot's young collections freed 5,000-6,000 of them a pause (5-7 ms)
    users = [FakeUser(200 + n, f"P{n}") for n in range(5)]
    async with FakeDiscord() as fake, running_bot(fake, tmp_path / "q.db", bank, clock) as bot:
        message = await ask(fake, ANN, "beta", 1)
        round_id, right, wrong = await labels(bot.service, bank, message)
        await click(fake, message, f"a1.{round_id}.{right}", ANN)  # caches filled
        await asyncio.sleep(0.05)
        with left_to_the_collector() as left:
            for n, user in enumerate(users):
                reply = await click(fake, message, f"a1.{round_id}.{(right, wrong)[n % 2]}", user)
                assert reply.body["data"]["content"].startswith(("**✅", "**❌"))
            # and the slash commands' interactions: a command, an autocomplete (one a keystroke)
            await ask(fake, BOB, "alpha", 1)
            complete = await fake.interact(fake.autocomplete("question", "topic", "be", user=ANN))
            assert complete.body["type"] == 8
            await asyncio.sleep(0.05)  # each click's task ends after its callback went out
        assert left == []


async def test_a_click_on_a_message_from_before_a_restart_still_scores(
    tmp_path: Path, bank: QuestionBank, clock: FixedClock
) -> None:
    db = tmp_path / "q.db"
    async with FakeDiscord() as fake:
        async with running_bot(fake, db, bank, clock) as before:
            message = await ask(fake, ANN, "alpha", 3)  # alpha-three: 30 points
            round_id, right, _ = await labels(before.service, bank, message)
        # a new process: new client, new service, same database
        async with running_bot(fake, db, bank, clock) as after:
            reply = await click(fake, message, f"a1.{round_id}.{right}", BOB)
            assert reply.body["data"]["content"].startswith("**✅ Right!**")
            assert reply.body["data"]["content"].endswith("+30 points.")
            assert await stats(after.service, BOB) == (1, 1, 30)


async def test_forged_and_stale_custom_ids_get_no_longer_open(
    tmp_path: Path, bank: QuestionBank, clock: FixedClock
) -> None:
    forged = [
        "a1.NoSuchRound1.A",  # well-formed, but no such round
        "a1.short.A",  # round id too short
        "a1.aaaaaaaaaaa.Z",  # no option Z
        "a9.aaaaaaaaaaa.A",  # a token version that does not exist
        "n1.NOT-A-TOPIC!.7",  # a tampered "next question" button
        "a1." + "x" * 90,  # longer than any token
    ]
    async with FakeDiscord() as fake, running_bot(fake, tmp_path / "q.db", bank, clock) as bot:
        real = await ask(fake, ANN, "beta", 2)
        round_id, _, _ = await labels(bot.service, bank, real)
        forged.append(f"a1.{round_id}.D")  # a real round, but it has only options A-C
        message_id = fake.seed_message(forged)
        for custom_id in forged:
            reply = await fake.interact(fake.click(message_id, custom_id, user=ANN))
            assert reply.body["type"] == 4, custom_id
            assert reply.body["data"]["flags"] == EPHEMERAL, custom_id
            assert reply.body["data"]["content"] == InvalidAnswer().message, custom_id
        assert await stats(bot.service, ANN) == (0, 0, 0)

        # a round that has closed since (rounds of /question live 24 hours)
        clock.advance(hours=25)
        closed = await click(fake, real, f"a1.{round_id}.A", ANN)
        assert closed.body["data"]["content"] == "This round is closed."


async def test_a_click_on_a_button_the_message_no_longer_shows_is_answered(
    tmp_path: Path, bank: QuestionBank, clock: FixedClock
) -> None:
    """Discord sends a click with the message as it is now: a click racing the edit that
    closed a question (its buttons gone) still gets the core's answer, privately, never
    Discord's silent "This interaction failed"; and an id outside our namespace is left to
    whoever owns it (no answer from us)."""
    async with FakeDiscord() as fake, running_bot(fake, tmp_path / "q.db", bank, clock) as bot:
        message = await ask(fake, ANN, "beta", 1)  # beta-one: 10 points
        round_id, right, _ = await labels(bot.service, bank, message)
        fake.messages[int(message["id"])]["components"] = []  # edited since: no buttons

        reply = await click(fake, message, f"a1.{round_id}.{right}", ANN)
        assert reply.body["data"]["flags"] == EPHEMERAL
        assert reply.body["data"]["content"].startswith("**✅ Right!**")
        assert await stats(bot.service, ANN) == (1, 1, 10)

        clock.advance(hours=25)  # closed since
        closed = await click(fake, message, f"a1.{round_id}.{right}", BOB)
        assert closed.body["data"]["content"] == "This round is closed."

        foreign = fake.click(int(message["id"]), "daily:settings", user=ANN)
        await fake.dispatch("INTERACTION_CREATE", foreign)
        await click(fake, message, f"a1.{round_id}.{right}", BOB)  # handled after it
        callback = f"/interactions/{foreign['id']}/{foreign['token']}/callback"
        assert fake.matching("POST", re.escape(callback)) == []


async def test_leaderboard_after_several_people_answered(
    tmp_path: Path, bank: QuestionBank, clock: FixedClock
) -> None:
    async with FakeDiscord() as fake, running_bot(fake, tmp_path / "q.db", bank, clock) as bot:
        senior = await ask(fake, ANN, "alpha", 3)  # 30 points
        junior = await ask(fake, BOB, "beta", 1)  # 10 points
        s_round, s_right, s_wrong = await labels(bot.service, bank, senior)
        j_round, j_right, _ = await labels(bot.service, bank, junior)
        await click(fake, senior, f"a1.{s_round}.{s_right}", MALLORY)  # 30
        await click(fake, senior, f"a1.{s_round}.{s_right}", ANN)  # 30: a tie
        await click(fake, senior, f"a1.{s_round}.{s_wrong}", BOB)  # 0
        await click(fake, junior, f"a1.{j_round}.{j_right}", BOB)  # 10

        board = await fake.interact(fake.command("leaderboard", user=BOB))
        data = board.body["data"]
        assert "flags" not in data  # the board is for the channel
        assert data["allowed_mentions"] == {"parse": []}  # "@everyone" in a name pings nobody
        lines = data["content"].split("\n")
        assert lines[0] == "**🏆 Leaderboard — this server, this week**"
        ranked = [line for line in lines if re.match(r"^\d+\\\.", line)]
        assert ranked == [  # equal points: the earlier player first (Ann asked first)
            "1\\. Ann — 30 pts (1/1 right)",
            # shown literally; the core breaks the mention with a word joiner (U+2060)
            "1\\. \\*Mal\\*\\_lory @\u2060everyone — 30 pts (1/1 right)",
            "3\\. Bob — 10 pts (1/2 right)",
        ]

        everywhere = await fake.interact(
            fake.command("leaderboard", {"period": "all", "scope": "global"}, user=ANN)
        )
        assert "**🏆 Leaderboard — everywhere, all time**" in everywhere.body["data"]["content"]

        # in a DM there is no server: the global board, and the asker's own rank below it
        dm = await fake.interact(
            fake.command("leaderboard", user=FakeUser(104, "Dee"), guild=False)
        )
        assert "everywhere" in dm.body["data"]["content"]
        assert dm.body["data"]["content"].endswith("You have no points on this board yet.")
