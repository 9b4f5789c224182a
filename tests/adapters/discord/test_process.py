"""`stackprep` on Discord as a real process (tests/adapters/discord/against_fake.py) against
the fake Discord on 127.0.0.1, with a SQLite file in tmp_path: kill -9 in the middle of a
burst of answer presses loses no answer the bot acknowledged, and a token revoked while the
bot runs ends the process with one line and exit code 1 (so a supervisor restarts or alerts).
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sqlite3
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from tests.fakes.discord_api import TOKEN, FakeDiscord, FakeUser, Recorded
from tests.fakes.paths import REPO, TEST_BANK

PRESSES = 300  # answer presses in the burst, one per person
KILL_AFTER = 40  # acknowledged presses before the kill
CALLBACK = r"/interactions/\d+/[^/]+/callback"
ASKER = FakeUser(7, "Asker")


async def start_bot(
    folder: Path, port: int, settings: dict[str, str] | None = None
) -> asyncio.subprocess.Process:
    config = folder / "stackprep.toml"
    config.write_text(f'[quiz]\nquestions_dir = "{TEST_BANK}"\n')
    env = {k: v for k, v in os.environ.items() if not k.startswith("STACKPREP_")}
    env |= {"STACKPREP_DISCORD_TOKEN": TOKEN, "STACKPREP_DATABASE": str(folder / "quiz.db")}
    env |= settings or {}
    log = (folder / "stderr.log").open("a")
    try:
        return await asyncio.create_subprocess_exec(
            sys.executable, "-m", "tests.adapters.discord.against_fake", str(port),
            "--config", str(config),
            cwd=REPO, env=env, stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL, stderr=log,
        )  # fmt: skip
    finally:
        log.close()  # the child has its own copy


async def push(fake: FakeDiscord, payloads: list[dict[str, Any]], pause: float = 0) -> None:
    """Deliver interactions; with `pause`, a short one after every 10 (people clicking over
    a second or two, not all in the same millisecond)."""
    for i, payload in enumerate(payloads):
        await fake.dispatch("INTERACTION_CREATE", payload)
        if pause and i % 10 == 9:
            await asyncio.sleep(pause)


def is_answer(callback: Recorded) -> bool:
    """An interaction response that tells a press its result: the bot sends it only once the
    answer is committed, so it is the acknowledgement."""
    content = str((callback.body or {}).get("data", {}).get("content", ""))
    return content.startswith(("**✅", "**❌"))


class KillingDiscord(FakeDiscord):
    """The fake Discord, sending SIGKILL to `victim` the moment the `kill_at`-th answer
    acknowledgement arrives (deterministically mid-burst, however fast the bot is)."""

    def __init__(self) -> None:
        super().__init__()
        self.victim: int | None = None
        self.kill_at = 0
        self.acknowledged = 0

    def _respond(self, r: Recorded, request: web.Request) -> web.Response:
        if self.victim is not None and re.fullmatch(CALLBACK, r.path) and is_answer(r):
            self.acknowledged += 1
            if self.acknowledged >= self.kill_at:
                os.kill(self.victim, signal.SIGKILL)
                self.victim = None
        return super()._respond(r, request)


def answers_per_person(db: Path) -> Counter[str]:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5) as conn:
        rows = conn.execute(
            "SELECT i.user_id FROM answers a JOIN identities i ON i.player_id = a.player_id "
            "WHERE i.platform = 'discord'"
        ).fetchall()
    return Counter(str(user_id) for (user_id,) in rows)


async def test_kill_9_mid_burst_loses_no_acknowledged_answer(tmp_path: Path) -> None:
    fake = KillingDiscord()
    async with fake:
        bot = await start_bot(tmp_path, fake.port)
        try:
            await fake.wait_connected()
            asked = await fake.interact(
                fake.command("question", {"topic": "alpha", "difficulty": 1}, user=ASKER)
            )
            message = fake.message_of(asked)
            buttons = [c["custom_id"] for row in message["components"] for c in row["components"]]
            people = [FakeUser(50_000 + i, f"P{i}") for i in range(PRESSES)]
            presses = {
                p.id: fake.click(int(message["id"]), buttons[p.id % len(buttons)], user=p)
                for p in people
            }
            fake.victim, fake.kill_at = bot.pid, KILL_AFTER
            burst = asyncio.create_task(push(fake, list(presses.values()), pause=0.05))
            await asyncio.wait_for(bot.wait(), 20)  # SIGKILL at the KILL_AFTER-th answer
            assert bot.returncode == -signal.SIGKILL
            burst.cancel()
            await asyncio.wait({burst})
        finally:
            if bot.returncode is None:
                bot.kill()
                await bot.wait()
        by_token = {p["token"]: person for person, p in presses.items()}
        acknowledged = {
            by_token[c.path.split("/")[3]]
            for c in fake.matching("POST", CALLBACK)
            if c.path.split("/")[3] in by_token and is_answer(c)
        }
        assert len(acknowledged) >= KILL_AFTER
        stored = answers_per_person(tmp_path / "quiz.db")
        assert stored.total() < PRESSES  # killed in the middle: some presses never processed
        lost = [p for p in acknowledged if stored[str(p)] != 1]
        assert lost == []  # every acknowledged answer is there, exactly once

        await fake.wait_disconnected()
        bot = await start_bot(tmp_path, fake.port)  # the restart
        try:
            await fake.wait_connected()
            again = {p.id: fake.click(int(message["id"]), buttons[0], user=p) for p in people}
            seen = len(fake.matching("POST", CALLBACK))
            await push(fake, list(again.values()))  # everyone presses (again)
            await fake.wait_for("POST", CALLBACK, seen + PRESSES, within=30)
            replies = {
                c.path.split("/")[3]: c.body["data"]["content"]
                for c in fake.matching("POST", CALLBACK)[seen:]
            }
            for person in acknowledged:  # told so, and not counted a second time
                assert replies[again[person]["token"]].startswith("You have already answered")
            assert bot.returncode is None
            bot.send_signal(signal.SIGTERM)
            assert await asyncio.wait_for(bot.wait(), 20) == 0
        finally:
            if bot.returncode is None:
                bot.kill()
                await bot.wait()
    stored = answers_per_person(tmp_path / "quiz.db")
    assert {str(p.id) for p in people} <= set(stored)
    assert all(stored[str(p.id)] == 1 for p in people)  # each exactly once
    assert "Traceback" not in (tmp_path / "stderr.log").read_text()


SHARD_1_OF_2 = {"STACKPREP_DISCORD_SHARD_COUNT": "2", "STACKPREP_DISCORD_SHARD_IDS": "1"}


@pytest.mark.parametrize("settings", [{}, SHARD_1_OF_2], ids=["automatic", "shard-1-of-2"])
async def test_a_token_revoked_while_running_exits_1_with_one_line(
    tmp_path: Path, settings: dict[str, str]
) -> None:
    async with FakeDiscord() as fake:
        bot = await start_bot(tmp_path, fake.port, settings)
        try:
            await fake.wait_connected()
            assert [d["shard"] for d in fake.identifies] == [[1, 2] if settings else [0, 1]]
            await fake.interact(fake.command("topics", user=ASKER))
            await fake.revoke_token()
            code = await asyncio.wait_for(bot.wait(), 20)
        finally:
            if bot.returncode is None:
                bot.kill()
                await bot.wait()
    errors = (tmp_path / "stderr.log").read_text()
    assert code == 1, errors
    last = errors.strip().splitlines()[-1]
    assert "ERROR" in last and "Discord rejected the bot token in STACKPREP_DISCORD_TOKEN" in last
    assert "close code 4004" in last
    assert "Traceback" not in errors and "never retrieved" not in errors
    assert TOKEN not in errors
