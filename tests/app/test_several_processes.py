"""Two real `stackprep run` processes on one PostgreSQL schema (issue 14), each serving one
of two Discord shards against the fake Discord on 127.0.0.1 (tests.fakes.replicas.py):
answers arrive at both processes and the boards they show agree; one process leads the
scheduler, and plays the /quiz game started on the other; kill -9 of the leader in the
middle of a 500-place daily fan-out, and the other takes over: every place gets its post once
(0 duplicates, 0 missing), and posting resumes within 15 s of the kill.

The fan-out is held at the fake until the answers and the game are done, so that both
processes still run meanwhile; then the fake kills the leader the moment the KILL_AT-th daily
post arrives.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import signal
import socket
from collections import Counter
from pathlib import Path
from typing import Any

import asyncpg

from tests.fakes.discord_api import FakeUser, channel_of, guild_on_shard
from tests.fakes.postgres import fresh_schema
from tests.fakes.replicas import (
    FanOutDiscord,
    bot_process,
    leader_pid,
    logged,
    seed_due_places,
)

PLACES = 500
KILL_AT = 250  # daily posts accepted before the leader is killed
TAKEOVER = 15.0  # seconds from the kill to the next post (issue 14)
ASKER = FakeUser(7, "Asker")


async def answer_round(fake: FanOutDiscord, guild: int, people: list[FakeUser]) -> list[str]:
    """Ask a question in `guild`'s channel; everyone answers; the private replies."""
    asked = await fake.interact(
        fake.command("question", {"topic": "alpha", "difficulty": 1}, user=ASKER, guild_id=guild)
    )
    message = fake.message_of(asked)
    buttons = [c["custom_id"] for row in message["components"] for c in row["components"]]
    replies = []
    for n, person in enumerate(people):
        callback = await fake.interact(
            fake.click(int(message["id"]), buttons[n % len(buttons)], user=person)
        )
        replies.append(str(callback.body["data"]["content"]))
    return replies


async def board(fake: FanOutDiscord, guild: int) -> str:
    callback = await fake.interact(
        fake.command(
            "leaderboard", {"period": "all", "scope": "global"}, user=ASKER, guild_id=guild
        )
    )
    return str(callback.body["data"]["content"])


def quiz(fake: FanOutDiscord, guild: int, subcommand: str, **options: int) -> dict[str, Any]:
    """/quiz start|stop in `guild`'s channel."""
    return fake.command("quiz", options, user=ASKER, subcommand=subcommand, guild_id=guild)


def buttons(message: dict[str, Any]) -> set[str]:
    """The custom ids of a message's buttons (links have none)."""
    rows = message.get("components") or []
    return {c["custom_id"] for row in rows for c in row["components"] if "custom_id" in c}


async def delivered(url: str) -> Counter[str]:
    """The daily posts' delivery records by state."""
    conn = await asyncpg.connect(url)
    try:
        rows = await conn.fetch("SELECT state FROM daily_deliveries WHERE kind = 'question'")
    finally:
        await conn.close()
    return Counter(str(r["state"]) for r in rows)


async def test_two_processes_share_the_answers_and_survive_the_leaders_kill_9(
    tmp_path: Path,
) -> None:
    async with fresh_schema() as url:
        await seed_due_places(url, PLACES)
        async with FanOutDiscord(PLACES) as fake:
            async with (
                bot_process(tmp_path / "a", fake.port, url, 0) as a,
                bot_process(tmp_path / "b", fake.port, url, 1) as b,
            ):
                await fake.wait_shards((0, 2), (1, 2))
                processes = {a.pid: a, b.pid: b}
                logs = {a.pid: tmp_path / "a" / "stderr.log", b.pid: tmp_path / "b" / "stderr.log"}

                # answers reach both processes (each guild's events go to its shard's process)
                g0, g1 = guild_on_shard(0, 2), guild_on_shard(1, 2)
                here = await answer_round(
                    fake, g0, [FakeUser(60_000 + n, f"A{n}") for n in range(8)]
                )
                there = await answer_round(
                    fake, g1, [FakeUser(61_000 + n, f"B{n}") for n in range(8)]
                )
                for reply in here + there:  # each was recorded and told its result
                    assert reply.startswith(("**✅", "**❌")), reply
                boards = [await board(fake, g0), await board(fake, g1)]
                assert boards[0] == boards[1]  # one database: one board, whoever shows it
                # everyone pressed one of the options in turn: some in each guild were right
                assert re.search(r"\bA\d — 10 pts", boards[0]) and re.search(
                    r"\bB\d — 10 pts", boards[0]
                )

                # a game started on the follower is played by the leader (its engine watches);
                # stopped there, the leader lets it go and closes its question's post. Started
                # once the leader's engine has read the games running as it started (it says
                # so): a game started before that is taken up by that read ("resumed"), not
                # by the watch this is about
                victim = await leader_pid(url)
                await logged(logs[victim], "games: looking every")
                guild = g1 if victim == a.pid else g0  # one the follower serves
                channel = rf"/channels/{channel_of(guild)}/messages"
                announced = await fake.interact(quiz(fake, guild, "start", count=3, seconds=30))
                assert "started a game" in announced.body["data"]["content"]
                await fake.wait_for("POST", channel, within=20)  # question 1, by the leader
                stopped = await fake.interact(quiz(fake, guild, "stop"))
                assert "Game stopped by Asker" in stopped.body["data"]["content"]
                await fake.wait_for("PATCH", channel + r"/\d+", within=20)  # closed by the leader

                # one leads, the other follows; kill -9 the leader in the middle of the fan-out
                survivor = next(pid for pid in processes if pid != victim)
                fake.victim, fake.kill_at = victim, KILL_AT
                fake.gate.set()
                assert await asyncio.wait_for(processes[victim].wait(), 60) == -signal.SIGKILL
                assert fake.killed_at is not None
                with contextlib.suppress(TimeoutError):  # what is missing is counted below
                    await asyncio.wait_for(fake.all_posted.wait(), 60)
                posts = fake.daily_posts()
                assert processes[survivor].returncode is None
                processes[survivor].send_signal(signal.SIGTERM)
                assert await asyncio.wait_for(processes[survivor].wait(), 30) == 0

            missing = PLACES - len(posts)
            duplicated = sum(n - 1 for n in posts.values())
            resumed = fake.resumed_after()
            shown = "never" if resumed is None else f"{resumed:.1f} s after the kill"
            repeats = fake.answered - sum(posts.values())  # resent with the same nonce: dropped
            print(f"\nmissing {missing}, duplicated {duplicated} ({repeats} repeats dropped by "
                  f"nonce), posting resumed {shown}")  # fmt: skip
            assert (missing, duplicated) == (0, 0)
            assert KILL_AT <= fake.at_kill < PLACES  # killed in the middle of the fan-out
            assert resumed is not None and resumed <= TAKEOVER
            assert await delivered(url) == Counter({"delivered": PLACES})

            victim_log, survivor_log = logs[victim].read_text(), logs[survivor].read_text()
            assert f"scheduler: this process leads ({socket.gethostname()}:{victim}/" in victim_log
            assert f"scheduler: following {socket.gethostname()}:{victim}/" in survivor_log
            assert (
                f"scheduler: this process leads ({socket.gethostname()}:{survivor}/" in survivor_log
            )
            assert "games: playing 1 game(s) started on another process" in victim_log
            # question 1 was the game's one post (a resend carries its nonce: one message),
            # closed by one edit (its answer buttons gone); nothing was posted after the stop
            posts = [r.body for r in fake.matching("POST", channel)]
            nonces = {post["nonce"] for post in posts}
            (question,) = [m for m in fake.posted(channel_of(guild)) if m.get("nonce") in nonces]
            assert len(nonces) == 1 and question["edited_timestamp"] is not None
            assert buttons(posts[0]) and not buttons(posts[0]) & buttons(question)
            assert len(fake.matching("PATCH", channel + r"/\d+")) == 1
            assert "Traceback" not in survivor_log
