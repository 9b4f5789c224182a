"""The group quiz on Discord end to end: /quiz start|stop|status through the real discord.py
client against the fake Discord, the GameService over a real SQLite file, and the GameEngine
posting through the adapter's real DiscordOutbox, in game time (FixedClock + FakeTimers).

Expected points come from the rule as documented (README, "How scoring works"): the base by
level (10 / 20 / 30) plus up to half again for speed, all of it in the first fifth of the
question's time, then falling linearly to nothing at the close.
"""

from __future__ import annotations

import copy
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import discord
import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.adapters.discord import texts as discord_texts
from bot.adapters.discord.adapter import DiscordAdapter
from bot.config import Secret
from bot.core.bank.question_bank import QuestionBank, load_bank
from bot.core.common.errors import InvalidAnswer, QuizError, UnknownDifficulty
from bot.core.common.identity import ChatRef, Platform, UserRef
from bot.core.common.texts import FOREIGN_BUTTON
from bot.core.games import COUNT_RANGE, SECONDS_RANGE, GameEngine
from bot.core.games import texts as game_texts
from bot.core.games.args import game_settings
from tests.fakes.app import memory_app
from tests.fakes.clock import FakeTimers, FixedClock
from tests.fakes.community import community_file
from tests.fakes.discord_api import (
    APP_ID,
    CHANNEL_ID,
    GUILD_ID,
    MEMBER_PERMISSIONS,
    TOKEN,
    FakeDiscord,
    FakeUser,
    Recorded,
    RunningBot,
    running_bot,
)
from tests.fakes.games import finished
from tests.fakes.paths import TEST_BANK

ANN, BOB, CY = FakeUser(201, "Ann"), FakeUser(202, "Bob"), FakeUser(203, "Cy")
DAN = FakeUser(204, "Dan")  # neither the starter nor an admin
ADA = FakeUser(205, "Ada", admin=True)
EPHEMERAL = 64
WINDOW = 30  # seconds per question in these games
BASE = {1: 10, 2: 20, 3: 30}  # points by level
POSTS = rf"/channels/{CHANNEL_ID}/messages"
EDITS = rf"/channels/{CHANNEL_ID}/messages/(\d+)"


def documented_points(level: int, seconds: float, window: float = WINDOW) -> int:
    """A right answer `seconds` after the question opened, by the documented rule."""
    base = BASE[level]
    share = seconds / window
    speed = 1.0 if share <= 1 / 5 else (1 - share) / (4 / 5)
    return base + round(base / 2 * speed)


@pytest.fixture
def timers(clock: FixedClock) -> FakeTimers:
    return FakeTimers(clock)


@asynccontextmanager
async def engine_over(bot: RunningBot, timers: FakeTimers) -> AsyncIterator[GameEngine]:
    """The GameEngine as run_jobs starts it, over the adapter's real DiscordOutbox."""
    engine = GameEngine(bot.app.games, {Platform.DISCORD: bot.adapter.outbox}, sleep=timers.sleep)
    await engine.start()
    try:
        yield engine
    finally:
        await engine.stop()


def public(callback: Recorded) -> str:
    data = callback.body["data"]
    assert callback.body["type"] == 4 and not int(data.get("flags") or 0) & EPHEMERAL, data
    assert data["allowed_mentions"] == {"parse": []}
    return str(data["content"])


def private(callback: Recorded) -> str:
    data = callback.body["data"]
    assert callback.body["type"] == 4 and data["flags"] == EPHEMERAL, data
    return str(data["content"])


def start(fake: FakeDiscord, user: FakeUser, **options: Any) -> dict[str, Any]:
    return fake.command("quiz", options, user=user, subcommand="start")


def posts(fake: FakeDiscord, channel: int = CHANNEL_ID) -> list[Recorded]:
    """What the engine posted (not interaction answers), in order."""
    return fake.matching("POST", rf"/channels/{channel}/messages")


def question_posts(fake: FakeDiscord, channel: int = CHANNEL_ID) -> list[dict[str, Any]]:
    """The game's question posts as they are now (a closed one: its reveal on top)."""
    return [
        m
        for m in fake.posted(channel)
        if "nonce" in m
        and (m["content"].startswith("**Question ") or "**The question was:**" in m["content"])
    ]


@dataclass
class Shown:
    """A posted question, as players see it, with what the test needs to know of it."""

    message: dict[str, Any]
    round_id: str
    right: str
    wrong: str
    level: int
    opened: datetime


async def shown(bot: RunningBot, bank: QuestionBank, message: dict[str, Any]) -> Shown:
    round_id = message["components"][0]["components"][0]["custom_id"].split(".")[1]
    rnd = await bot.app.quiz.get_round(round_id)
    assert rnd is not None
    question = bank.get(rnd.question_id)
    assert question is not None
    right = rnd.correct_label(question)
    wrong = next(label for label in "ABCD" if label != right)
    return Shown(copy.deepcopy(message), round_id, right, wrong, question.difficulty,
                 rnd.opened_at)  # fmt: skip


async def press(fake: FakeDiscord, q: Shown, label: str, user: FakeUser) -> str:
    """Press an answer button of `q` as the player's client shows it; the private answer."""
    payload = fake.click(int(q.message["id"]), f"a1.{q.round_id}.{label}", user=user)
    payload["message"] = q.message  # the message as it was posted, buttons and all
    return private(await fake.interact(payload))


@dataclass
class Tally:
    """One player's game by the documented rule."""

    name: str
    points: int = 0
    right: int = 0
    seconds: float = 0.0
    marks: list[str] = field(default_factory=list)


def ranked(tallies: list[Tally]) -> list[tuple[int, Tally]]:
    """Best first (points, then right answers, then the faster); equal points and right
    answers share a rank."""
    ordered = sorted(tallies, key=lambda t: (-t.points, -t.right, t.seconds))
    out: list[tuple[int, Tally]] = []
    rank, previous = 0, None
    for position, t in enumerate(ordered, 1):
        if (t.points, t.right) != previous:
            rank, previous = position, (t.points, t.right)
        out.append((rank, t))
    return out


def table(tallies: list[Tally]) -> list[str]:
    """The standings after a question as Discord shows them ("1." escaped so it is no list)."""
    return [f"{rank}\\. {t.name} — {t.points} pts ({t.right} right)" for rank, t in ranked(tallies)]


def final_table(tallies: list[Tally], played: int) -> list[str]:
    """The final standings: one line per player, a mark per question played (right, wrong,
    not answered) after the count of right answers."""
    return [
        f"{rank}\\. {t.name} — {t.points} pts, {t.right} of {played} right {''.join(t.marks)}"
        for rank, t in ranked(tallies)
    ]


async def test_a_five_question_game_with_three_players_end_to_end(
    tmp_path: Path, bank: QuestionBank, clock: FixedClock, timers: FakeTimers
) -> None:
    # per question: (seconds after it opened, player, right?) in the order they press
    plan: list[list[tuple[float, FakeUser, bool]]] = [
        [(2, ANN, True), (5, CY, False), (9, BOB, True)],
        [(3, BOB, True), (4, ANN, False)],  # Cy presses late, after the deadline
        [(6, CY, True), (21, ANN, True)],  # 6 s is exactly the first fifth: the full share
        [(1, ANN, True), (15, CY, False), (29, BOB, True)],
        [(9, CY, True), (15, BOB, True), (27, ANN, True)],
    ]
    tallies = {u.name: Tally(u.name) for u in (ANN, BOB, CY)}
    async with (
        FakeDiscord() as fake,
        running_bot(fake, tmp_path / "q.db", bank, clock, games=True) as bot,
        engine_over(bot, timers) as engine,
    ):
        announced = public(await fake.interact(start(fake, ANN, count=5, seconds=WINDOW)))
        assert announced.startswith("**🎮 Quiz! Ann started a game**")
        assert "5 mixed questions, 30 s each" in announced
        await timers.settle(1)
        seen: list[Shown] = []
        for number, answers in enumerate(plan, 1):
            await timers.advance(3 if number == 1 else 5)  # the start delay, or the pause
            message = question_posts(fake)[-1]
            q = await shown(bot, bank, message)
            seen.append(q)
            assert q.opened == clock.now()
            content = message["content"]
            header, countdown, body = content.split("\n\n", 2)
            assert header.startswith(f"**Question {number}/5 · ")
            deadline = int(clock.now().timestamp()) + WINDOW
            # right under the header, counted down by clients
            assert countdown == f"⏱ Closes <t:{deadline}:R>"
            assert "⏱" not in body
            assert [b["custom_id"] for b in message["components"][0]["components"]] == [
                f"a1.{q.round_id}.{label}"
                for label in "ABCD"[: len(message["components"][0]["components"])]
            ]
            answered: dict[str, bool] = {}
            elapsed = 0.0
            for at, user, right in answers:
                await timers.advance(at - elapsed)
                elapsed = at
                said = await press(fake, q, q.right if right else q.wrong, user)
                answered[user.name] = right
                if right:
                    points = documented_points(q.level, at)
                    t = tallies[user.name]
                    t.points, t.right, t.seconds = t.points + points, t.right + 1, t.seconds + at
                    assert said.startswith("**✅ Right!**") and f"+{points} points" in said
                else:
                    assert said.startswith(f"**❌ Not quite: you chose {q.wrong}.**")
            if number == 1:  # twice: refused, privately, nothing changes
                again = await press(fake, q, q.right, ANN)
                assert again == f"You have already answered this one. The answer is {q.right}."
            for name, t in tallies.items():
                t.marks.append("·" if name not in answered else "✅" if answered[name] else "❌")
            if number == 2:  # late: past the deadline, before the close reached the client
                clock.advance(seconds=WINDOW - elapsed + 1)
                assert await press(fake, q, q.right, CY) == "This round is closed."
                await timers.advance(0)
            else:
                await timers.advance(WINDOW - elapsed)
            # the one edit: the question closed, its buttons gone
            edits = fake.matching("PATCH", EDITS)
            assert len(edits) == number and edits[-1].path.endswith(f"/{message['id']}")
            # no answer buttons any more: only Report and the Learn more link
            kept = [b["label"] for row in edits[-1].body["components"] for b in row["components"]]
            assert kept == ["Report", "Learn more"]
            # the reveal takes the top of the closed post, the question stays below it
            reveal = fake.messages[int(message["id"])]["content"]
            assert reveal.startswith(f"**⏱ Time! Question {number}/5: the answer is {q.right}")
            assert reveal.endswith(f"\n\n**The question was:**\n\n{body}")  # no countdown
            if number == 2:  # a click from a client that still shows the buttons
                assert await press(fake, q, q.right, CY) == "This round is closed."
            rights = sorted((at, u.name) for at, u, right in answers if right)
            assert f"{len(answers)} answered, {len(rights)} right." in reveal
            fastest = ", ".join(f"{name} ({at:.1f} s)" for at, name in rights[:3])
            assert f"Fastest right: {fastest}" in reveal
            players = [t for t in tallies.values() if t.marks.count("·") < number]
            assert (
                reveal.split("**Standings**\n\n")[1].split("\n\n")[0].split("\n")
                == (table(players)[:5])
            )
        await timers.advance(5, sleepers=0)  # the pause after the last reveal, then the end
        await finished(engine)
        final = posts(fake)[-1].body["content"]
        (_, winner), (second, _), _ = ranked(list(tallies.values()))
        assert second == 2  # no tie for the lead
        assert all(t.right == t.marks.count("✅") for t in tallies.values())
        assert final == "\n\n".join(
            [
                "**🏁 Game over: 5 questions**",
                f"**🏆 Winner: {winner.name} with {winner.points} points!**",
                "\n".join(final_table(list(tallies.values()), 5)),
            ]
        )
        # exactly one edit per question, each closing its own post
        assert [e.path.rsplit("/", 1)[1] for e in fake.matching("PATCH", EDITS)] == [
            q.message["id"] for q in seen
        ]
        # a question each (its reveal is its edit), and the final standings: nothing else
        assert len(posts(fake)) == 5 + 1
        for user in (ANN, BOB, CY):  # the boards got the same points (under their caps)
            player = await bot.app.store.player(UserRef(Platform.DISCORD, str(user.id)), user.name)
            stats = await bot.app.store.player_stats(player)
            assert stats.points == tallies[user.name].points
        assert await bot.app.games.store.running_games() == []


async def test_stop_by_others_is_refused_an_admin_stops_and_one_game_per_channel(
    tmp_path: Path, bank: QuestionBank, clock: FixedClock, timers: FakeTimers
) -> None:
    async with (
        FakeDiscord() as fake,
        running_bot(fake, tmp_path / "q.db", bank, clock, games=True) as bot,
        engine_over(bot, timers) as engine,
    ):
        public(await fake.interact(start(fake, ANN, count=3, seconds=WINDOW)))
        await timers.settle(1)
        await timers.advance(3)
        q = await shown(bot, bank, question_posts(fake)[0])
        await timers.advance(4)
        assert (await press(fake, q, q.right, CY)).startswith("**✅ Right!**")

        second = private(await fake.interact(start(fake, BOB, count=5)))
        assert second.startswith(
            "A game is already running in this chat (question 1 of 3, 26 s left, started by Ann)."
        )
        refused = private(await fake.interact(fake.command("quiz", user=DAN, subcommand="stop")))
        assert refused == "Only Ann, who started this game, or an admin can stop it."
        status = private(await fake.interact(fake.command("quiz", user=DAN, subcommand="status")))
        assert status.startswith("**🎮 Game in progress: question 1 of 3, 26 s left**")
        assert "1\\. Cy — " in status
        assert len(fake.matching("PATCH", EDITS)) == 0 and engine.playing == 1  # still on

        stopped = public(await fake.interact(fake.command("quiz", user=ADA, subcommand="stop")))
        assert stopped.startswith("**🛑 Game stopped by Ada after 1 of 3 questions**")
        assert "**🏆 Winner: Cy with " in stopped  # the points: see the test below
        assert await press(fake, q, q.right, BOB) == "This round is closed."
        await finished(engine)  # the game's task closes its open question: one edit
        (edit,) = fake.matching("PATCH", EDITS)
        assert edit.path.endswith(f"/{q.message['id']}")
        # the answer buttons gone, Report and Learn more kept, as at the deadline
        kept = [b["label"] for row in edit.body["components"] for b in row["components"]]
        assert kept == ["Report", "Learn more"]
        # the reveal of the question on top, the question itself below it
        closed = edit.body["content"]
        assert closed.startswith(f"**⏱ Time! Question 1/3: the answer is {q.right}")
        assert "1 answered, 1 right." in closed and "Fastest right: Cy (4.0 s)" in closed
        assert "Next question" not in closed  # the game is over
        points = documented_points(q.level, 4)
        assert f"**Standings**\n\n1\\. Cy — {points} pts (1 right)\n\n" in closed
        body = q.message["content"].split("\n\n", 2)[2]
        assert closed.endswith(f"\n\n**The question was:**\n\n{body}")
        before = len(posts(fake))
        await timers.advance(120)
        assert len(posts(fake)) == before  # nothing more from the stopped game

        # the channel is free again; its starter may stop a game without being an admin
        public(await fake.interact(start(fake, BOB)))
        await timers.settle(1)
        own = public(await fake.interact(fake.command("quiz", user=BOB, subcommand="stop")))
        assert own.startswith("**🛑 Game stopped by Bob before the first question**")
        nothing = private(await fake.interact(fake.command("quiz", user=BOB, subcommand="stop")))
        assert nothing == game_texts.NO_GAME


async def test_a_stopped_games_final_standings_keep_the_points_each_answer_earned(
    tmp_path: Path, bank: QuestionBank, clock: FixedClock, timers: FakeTimers
) -> None:
    async with (
        FakeDiscord() as fake,
        running_bot(fake, tmp_path / "q.db", bank, clock, games=True) as bot,
        engine_over(bot, timers),
    ):
        public(await fake.interact(start(fake, ANN, count=3, seconds=WINDOW)))
        await timers.settle(1)
        await timers.advance(3)
        q = await shown(bot, bank, question_posts(fake)[0])
        await timers.advance(4)
        points = documented_points(q.level, 4)
        assert f"+{points} points" in await press(fake, q, q.right, CY)
        stopped = public(await fake.interact(fake.command("quiz", user=ANN, subcommand="stop")))
        await fake.wait_for("PATCH", EDITS)
        assert f"**🏆 Winner: Cy with {points} points!**" in stopped


async def test_a_restart_in_question_3_resumes_it_with_its_time_left_and_scores_once(
    tmp_path: Path, bank: QuestionBank, clock: FixedClock, timers: FakeTimers
) -> None:
    db = tmp_path / "q.db"
    tallies = {u.name: Tally(u.name, marks=["·"] * 5) for u in (ANN, BOB, CY)}

    def scored(user: FakeUser, number: int, q: Shown, seconds: float) -> int:
        points = documented_points(q.level, seconds)
        t = tallies[user.name]
        t.points, t.right, t.seconds = t.points + points, t.right + 1, t.seconds + seconds
        t.marks[number - 1] = "✅"
        return points

    async with FakeDiscord() as fake:
        async with (
            running_bot(fake, db, bank, clock, games=True) as bot,
            engine_over(bot, timers),
        ):
            public(await fake.interact(start(fake, ANN, count=5, seconds=WINDOW)))
            await timers.settle(1)
            await timers.advance(3)
            q1 = await shown(bot, bank, question_posts(fake)[-1])
            await timers.advance(2)
            assert f"+{scored(ANN, 1, q1, 2)} points" in await press(fake, q1, q1.right, ANN)
            await timers.advance(28 + 5)
            q2 = await shown(bot, bank, question_posts(fake)[-1])
            await timers.advance(3)
            assert f"+{scored(BOB, 2, q2, 3)} points" in await press(fake, q2, q2.right, BOB)
            await timers.advance(27 + 5)
            q3 = await shown(bot, bank, question_posts(fake)[-1])
            await timers.advance(10)
            assert f"+{scored(ANN, 3, q3, 10)} points" in await press(fake, q3, q3.right, ANN)
            assert (await press(fake, q3, q3.wrong, BOB)).startswith("**❌ Not quite")
            tallies["Bob"].marks[2] = "❌"
        # the engine, the client and the app stop with question 3 open for 20 s more
        clock.advance(seconds=5)  # the restart takes 5 s
        async with running_bot(fake, db, bank, clock, games=True) as bot:
            engine = GameEngine(
                bot.app.games, {Platform.DISCORD: bot.adapter.outbox}, sleep=timers.sleep
            )
            try:
                assert await engine.start() == 1
                await timers.settle(1)
                assert len(question_posts(fake)) == 3  # question 3 resumed, not posted again
                status = private(
                    await fake.interact(fake.command("quiz", user=CY, subcommand="status"))
                )
                assert status.startswith("**🎮 Game in progress: question 3 of 5, 15 s left**")
                again = await press(fake, q3, q3.wrong, ANN)  # answered before the restart
                assert again == f"You have already answered this one. The answer is {q3.right}."
                await timers.advance(1)
                assert f"+{scored(CY, 3, q3, 16)} points" in await press(fake, q3, q3.right, CY)
                await timers.advance(13)  # 29 s into question 3: still open
                assert len(fake.matching("PATCH", EDITS)) == 2
                await timers.advance(1)  # its deadline, as before the restart
                edits = fake.matching("PATCH", EDITS)
                assert len(edits) == 3 and edits[-1].path.endswith(f"/{q3.message['id']}")
                reveal = edits[-1].body["content"]  # the close edit carries the reveal
                assert reveal.startswith("**⏱ Time! Question 3/5: the answer is")
                assert "3 answered, 2 right." in reveal
                assert "Fastest right: Ann (10.0 s), Cy (16.0 s)" in reveal
                for _ in range(2):  # questions 4 and 5: nobody answers
                    await timers.advance(5 + WINDOW)
                await timers.advance(5, sleepers=0)
                await finished(engine)
            finally:
                await engine.stop()
            final = posts(fake)[-1].body["content"]
            (_, winner), (second, _), _ = ranked(list(tallies.values()))
            assert second == 2  # no tie for the lead
            assert final == "\n\n".join(
                [
                    "**🏁 Game over: 5 questions**",
                    f"**🏆 Winner: {winner.name} with {winner.points} points!**",
                    "\n".join(final_table(list(tallies.values()), 5)),
                ]
            )
            assert len(question_posts(fake)) == 5 and len(fake.matching("PATCH", EDITS)) == 5
            for user in (ANN, BOB, CY):  # each right answer scored once on the boards
                ref = UserRef(Platform.DISCORD, str(user.id))
                stats = await bot.app.store.player_stats(await bot.app.store.player(ref, user.name))
                assert stats.points == tallies[user.name].points


async def test_a_hint_strikes_out_a_wrong_option_by_its_letter_and_its_text(
    tmp_path: Path, bank: QuestionBank, clock: FixedClock, timers: FakeTimers
) -> None:
    async with (
        FakeDiscord() as fake,
        running_bot(fake, tmp_path / "q.db", bank, clock, games=True) as bot,
        engine_over(bot, timers),
    ):
        public(await fake.interact(start(fake, ANN, count=3, seconds=20, hints=True)))
        await timers.settle(1)
        for number in (1, 2, 3):
            await timers.advance(3 if number == 1 else 5)
            message = question_posts(fake)[-1]
            q = await shown(bot, bank, message)
            await timers.advance(9)
            before = len(posts(fake))
            await timers.advance(1)  # halfway: the hint, a post of its own
            (hint,) = posts(fake)[before:]
            said = re.fullmatch(
                rf"💡 Hint for question {number}: it is not ([A-D])\) (.+)\. "
                r"Answers from now on earn half\.",
                hint.body["content"],
            )
            assert said is not None, hint.body["content"]
            label, text = said.groups()
            assert label != q.right  # a wrong option, as the question shows it
            assert f"\n{label}) {text}\n" in message["content"] + "\n"
            await timers.advance(10)


async def test_forged_and_garbled_game_buttons_get_the_clear_message(
    tmp_path: Path, bank: QuestionBank, clock: FixedClock, timers: FakeTimers
) -> None:
    async with (
        FakeDiscord() as fake,
        running_bot(fake, tmp_path / "q.db", bank, clock, games=True) as bot,
        engine_over(bot, timers),
    ):
        public(await fake.interact(start(fake, ANN, count=3)))
        await timers.settle(1)
        await timers.advance(3)
        q = await shown(bot, bank, question_posts(fake)[0])
        rid = q.round_id
        forged = [
            f"a1.{rid}.Z",  # no option Z
            f"a1.{rid[:-2]}.{q.right}",  # truncated round id
            f"a1.{rid}x.{q.right}",  # a round id one character too long
            f"a1.{rid}.{q.right}.extra",  # trailing garbage
            f"a9.{rid}.{q.right}",  # a version that does not exist
            "a1.%%%%%%%%%%%.A",  # not a token at all
            "a1." + "x" * 90,  # longer than any token
        ]
        message_id = fake.seed_message(forged)
        for custom_id in forged:
            reply = await fake.interact(fake.click(message_id, custom_id, user=ANN))
            assert private(reply) == InvalidAnswer().message, custom_id
        # the real button under a copy of the question in another place
        elsewhere = fake.seed_message([f"a1.{rid}.{q.right}"], channel_id=800000000000000000 + 1)
        reply = await fake.interact(fake.click(elsewhere, f"a1.{rid}.{q.right}", user=ANN))
        assert private(reply) == FOREIGN_BUTTON
        player = await bot.app.store.player(UserRef(Platform.DISCORD, str(ANN.id)), ANN.name)
        assert (await bot.app.store.player_stats(player)).answered == 0
        assert (await press(fake, q, q.right, ANN)).startswith("**✅ Right!**")  # still open


async def test_options_out_of_range_are_refused_privately_and_start_nothing(
    tmp_path: Path, bank: QuestionBank, clock: FixedClock, timers: FakeTimers
) -> None:
    low, high = COUNT_RANGE
    cases: list[tuple[dict[str, Any], str]] = [
        ({"count": high + 30}, game_texts.count_out_of_range(high + 30)),
        ({"count": low - 1}, game_texts.count_out_of_range(low - 1)),
        ({"count": -5}, game_texts.count_out_of_range(-5)),
        ({"seconds": SECONDS_RANGE[0] - 5}, game_texts.seconds_out_of_range(SECONDS_RANGE[0] - 5)),
        ({"seconds": 100_000}, game_texts.seconds_out_of_range(100_000)),
        ({"difficulty": 7}, UnknownDifficulty().message),
        ({"topic": "no-such-topic"}, "I don't know the topic"),
        ({"topic": "alpha", "difficulty": 3}, game_texts.too_few(1)),  # a game needs 3
    ]
    async with (
        FakeDiscord() as fake,
        running_bot(fake, tmp_path / "q.db", bank, clock, games=True) as bot,
        engine_over(bot, timers) as engine,
    ):
        for options, message in cases:
            said = private(await fake.interact(start(fake, ANN, **options)))
            assert said.startswith(message), (options, said)
        assert engine.playing == 0 and await bot.app.games.store.running_games() == []
        # in range, the options at once: accepted (the topic by a unique prefix; a level on
        # top would leave the tiny test bank's topic one question, below a game's minimum)
        options = {"count": high, "topic": "alp", "seconds": 120, "hints": True}
        said = public(await fake.interact(start(fake, ANN, **options)))
        (game,) = await bot.app.games.store.running_games()
        assert (game.settings.topic, game.settings.difficulty, game.settings.seconds) == (
            "alpha",
            None,
            120,
        )
        assert game.settings.hints and game.settings.count == high
        await timers.settle(1)
        public(await fake.interact(fake.command("quiz", user=ANN, subcommand="stop")))


async def test_a_game_of_the_server_s_own_topic(
    tmp_path: Path, bank: QuestionBank, clock: FixedClock, timers: FakeTimers
) -> None:
    """`/quiz start topic:` takes the server's own topics too (issue 16), in that server only."""
    async with (
        FakeDiscord() as fake,
        running_bot(fake, tmp_path / "q.db", bank, clock, games=True) as bot,
        engine_over(bot, timers),
    ):
        await bot.app.community.import_file(
            UserRef(Platform.DISCORD, "1"), "Ada", ChatRef(Platform.DISCORD, "1", str(GUILD_ID)),
            admin=True, filename="acme.toml", data=community_file("j-one", "j-two", "j-three"),
        )  # fmt: skip
        said = public(await fake.interact(start(fake, ANN, count=3, topic="acme-stack")))
        assert "Acme stack" in said
        (game,) = await bot.app.games.store.running_games()
        assert all(q.startswith(f"discord:{GUILD_ID}/") for q in game.question_ids)
        await timers.settle(1)
        public(await fake.interact(fake.command("quiz", user=ANN, subcommand="stop")))


async def test_in_a_dm_a_game_of_one(
    tmp_path: Path, bank: QuestionBank, clock: FixedClock, timers: FakeTimers
) -> None:
    dm = 800000000000000000 + DAN.id
    async with (
        FakeDiscord() as fake,
        running_bot(fake, tmp_path / "q.db", bank, clock, games=True) as bot,
        engine_over(bot, timers),
    ):
        payload = fake.command("quiz", {"count": 3}, user=DAN, guild=False, subcommand="start")
        assert public(await fake.interact(payload)).startswith("**🎮 Quiz! Dan started a game**")
        await timers.settle(1)
        await timers.advance(3)
        (message,) = question_posts(fake, dm)
        q = await shown(bot, bank, message)
        await timers.advance(1)
        assert (await press(fake, q, q.right, DAN)).startswith("**✅ Right!**")
        await timers.advance(WINDOW - 1)
        reveal = fake.messages[int(message["id"])]["content"]  # closed: the reveal on top
        assert f"1\\. Dan — {documented_points(q.level, 1)} pts (1 right)" in reveal
        stop = fake.command("quiz", user=DAN, guild=False, subcommand="stop")
        final = public(await fake.interact(stop))
        assert final.startswith("**🛑 Game stopped by Dan after 1 of 3 questions**")
        assert final.endswith("A game of one: its points count under the usual limits.")


async def test_threads_need_their_permission_and_user_installs_need_the_bot(
    tmp_path: Path, bank: QuestionBank, clock: FixedClock, timers: FakeTimers
) -> None:
    thread_id = 720000000000000001
    async with (
        FakeDiscord() as fake,
        running_bot(fake, tmp_path / "q.db", bank, clock, games=True) as bot,
        engine_over(bot, timers),
    ):
        fake_thread = fake.thread_channel(thread_id)
        thread = fake.command("quiz", user=ANN, subcommand="start", channel=fake_thread)
        refused = private(await fake.interact(thread))  # no Send Messages in Threads there
        assert refused == discord_texts.cannot_post_game(["send_messages_in_threads"], thread=True)
        assert await bot.app.games.store.running_games() == []

        alone = start(fake, ANN)
        alone["authorizing_integration_owners"] = {"1": str(ANN.id)}  # a user install only
        assert private(await fake.interact(alone)) == discord_texts.GAME_NEEDS_THE_BOT

        allowed = MEMBER_PERMISSIONS | discord.Permissions(send_messages_in_threads=True).value
        ok = fake.command(
            "quiz", {"count": 3}, user=ANN, subcommand="start", channel=fake_thread,
            app_permissions=allowed,
        )  # fmt: skip
        public(await fake.interact(ok))
        await timers.settle(1)
        await timers.advance(3)
        (message,) = question_posts(fake, thread_id)  # posted into the thread itself
        assert message["components"]
        stop = fake.command("quiz", user=ANN, subcommand="stop", channel=fake_thread)
        assert public(await fake.interact(stop)).startswith("**🛑 Game stopped by Ann")
        await fake.wait_for("PATCH", rf"/channels/{thread_id}/messages/\d+")


async def test_sync_registers_quiz_start_stop_status_with_ranges_and_autocomplete(
    tmp_path: Path, bank: QuestionBank, clock: FixedClock
) -> None:
    async with FakeDiscord() as fake:
        app = memory_app(bank)
        adapter = DiscordAdapter(Secret(TOKEN), app.quiz, games=app.games)
        assert "quiz" in await adapter.sync()
        (put,) = fake.matching("PUT", rf"/applications/{APP_ID}/commands")
        quiz = next(c for c in put.body if c["name"] == "quiz")
    assert quiz["description"] == discord_texts.QUIZ_DESCRIPTION
    assert quiz["contexts"] == [0, 1] and quiz["integration_types"] == [0, 1]  # no group DMs
    assert quiz["default_member_permissions"] is None  # anyone may play
    subs = {s["name"]: s for s in quiz["options"]}
    assert list(subs) == ["start", "stop", "status"]
    assert subs["stop"]["options"] == [] and subs["status"]["options"] == []
    options = {o["name"]: o for o in subs["start"]["options"]}
    assert list(options) == ["count", "topic", "difficulty", "seconds", "hints"]
    assert not any(o["required"] for o in options.values())
    count, seconds = options["count"], options["seconds"]
    assert (count["type"], count["min_value"], count["max_value"]) == (4, *COUNT_RANGE)
    assert (seconds["type"], seconds["min_value"], seconds["max_value"]) == (4, *SECONDS_RANGE)
    assert options["topic"]["type"] == 3 and options["topic"]["autocomplete"] is True
    assert [c["value"] for c in options["difficulty"]["choices"]] == [1, 2, 3]
    assert options["hints"]["type"] == 5
    for described in (quiz, *subs.values(), *options.values()):
        assert 1 <= len(described["description"]) <= 100

    async with FakeDiscord() as fake, running_bot(fake, tmp_path / "q.db", bank, clock, games=True):
        asked = fake.autocomplete("quiz", "topic", "alp", user=ANN, subcommand="start")
        answer = await fake.interact(asked)
        assert answer.body["type"] == 8
        assert answer.body["data"]["choices"] == [{"name": "Alpha topic (alpha)", "value": "alpha"}]


BANK = load_bank(TEST_BANK)
TOPIC_WORDS = ["alpha", "beta", "Alpha topic", "al", "b", "nope", "", " ", "*", "a" * 200]


@given(
    count=st.none() | st.integers(-(2**63), 2**63),
    topic=st.none() | st.sampled_from(TOPIC_WORDS) | st.text(max_size=300),
    difficulty=st.none() | st.integers(-(2**31), 2**31),
    seconds=st.none() | st.integers(-(2**63), 2**63),
    hints=st.none() | st.booleans(),
)
def test_any_options_give_settings_in_range_or_a_clear_refusal(
    count: int | None,
    topic: str | None,
    difficulty: int | None,
    seconds: int | None,
    hints: bool | None,
) -> None:
    """Whatever an interaction carries: settings within the game's ranges, or a QuizError
    with a message for the person (never another exception)."""
    refusal: str | None = None
    try:
        settings = game_settings(
            BANK, count=count, topic=topic, difficulty=difficulty, seconds=seconds, hints=hints
        )
    except QuizError as exc:
        refusal = exc.message
    if refusal is not None:
        assert 0 < len(refusal) < 500
        return
    assert COUNT_RANGE[0] <= settings.count <= COUNT_RANGE[1]
    assert SECONDS_RANGE[0] <= settings.seconds <= SECONDS_RANGE[1]
    assert settings.difficulty in (None, 1, 2, 3)
    assert settings.topic is None or settings.topic in {"alpha", "beta"}
    assert settings.hints is bool(hints)
    if count is not None:
        assert settings.count == count
    if seconds is not None:
        assert settings.seconds == seconds
