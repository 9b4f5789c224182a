"""Replicas: several real `stackprep run` processes on one PostgreSQL schema, each serving
some of the fake Discord's shards (tests/adapters/discord/against_fake.py), and a daily
fan-out to watch: the two-process test (tests/app/test_several_processes.py) and the
takeover benchmark (bench/postgres_leader.py) share them.

`FanOutDiscord` holds the posts into the daily places until its `gate` opens, kills `victim`
(SIGKILL) the moment the `kill_at`-th of them is answered, and counts what each place got.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import socket
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
from aiohttp import web

from bot.core.common.identity import ChatRef, Platform
from bot.core.daily.model import Subscription
from bot.storage.postgres import PgDailyStore, PgDatabase
from tests.fakes.discord_api import TOKEN, FakeDiscord
from tests.fakes.paths import REPO, TEST_BANK

CHANNEL0 = 720000000000000000  # the daily places' channels, CHANNEL0 + i in guild GUILD0 + i
GUILD0 = 730000000000000000
POST = re.compile(r"/channels/(\d+)/messages")


class FanOutDiscord(FakeDiscord):
    def __init__(self, places: int) -> None:
        super().__init__()
        self.places = {str(CHANNEL0 + i) for i in range(places)}
        self.gate = asyncio.Event()  # the daily places' posts wait for it
        self.victim: int | None = None
        self.kill_at = 0
        self.answered = 0  # daily posts answered (a repeated nonce too)
        self.killed_at: float | None = None  # time.monotonic() of the kill
        self.at_kill = 0  # places posted to when the victim was killed
        self.all_posted = asyncio.Event()
        self.new_after_kill: list[float] = []  # when each new daily message came after it

    async def __aexit__(self, exc_type: object, *exc: object) -> None:
        self.gate.set()  # posts held at the gate end now (a test that failed before opening it)
        await super().__aexit__(exc_type, *exc)

    async def _rest(self, request: web.Request) -> web.Response:
        match = POST.fullmatch("/" + request.match_info["path"])
        if request.method != "POST" or match is None or match.group(1) not in self.places:
            return await super()._rest(request)
        await self.gate.wait()
        before = len(self.messages)
        response = await super()._rest(request)
        if response.status == 200:
            self.answered += 1
            if self.killed_at is not None and len(self.messages) > before:
                self.new_after_kill.append(time.monotonic())
            if len(self.daily_posts()) >= len(self.places):
                self.all_posted.set()
            if self.victim is not None and self.answered >= self.kill_at:
                os.kill(self.victim, signal.SIGKILL)
                self.victim, self.killed_at = None, time.monotonic()
                self.at_kill = len(self.daily_posts())
        return response

    def daily_posts(self) -> Counter[str]:
        """Messages the bot created in each daily place."""
        return Counter(
            m["channel_id"] for m in self.messages.values() if m["channel_id"] in self.places
        )

    def resumed_after(self) -> float | None:
        """Seconds from the kill to the first new daily post after it (None: none yet)."""
        if self.killed_at is None or not self.new_after_kill:
            return None
        return self.new_after_kill[0] - self.killed_at


async def seed_due_places(url: str, places: int) -> None:
    """Migrate the schema; `places` Discord channels whose daily question is due now (each
    is caught up as the scheduler starts; the answer window is an hour: no reveals)."""
    database = PgDatabase(url)
    await database.open()
    try:
        now = datetime.now(UTC)
        due = now - timedelta(minutes=1)
        at = due.time() if due.date() == now.date() else now.time().replace(hour=0, minute=0)
        store = PgDailyStore(database)
        for i in range(places):
            chat = ChatRef(Platform.DISCORD, str(CHANNEL0 + i), str(GUILD0 + i))
            await store.save_subscription(
                Subscription(chat, at.replace(second=0, microsecond=0), "UTC",
                             now - timedelta(days=1), window=timedelta(hours=1), recap=False)
            )  # fmt: skip
    finally:
        await database.close()


@asynccontextmanager
async def bot_process(
    folder: Path, port: int, url: str, shard: int, shards: int = 2
) -> AsyncIterator[asyncio.subprocess.Process]:
    """`stackprep run` serving shard `shard` of `shards`, on the database (schema) at `url`;
    its stderr in folder/stderr.log. Killed on exit if still running."""
    config = folder / "stackprep.toml"
    await asyncio.to_thread(folder.mkdir)
    await asyncio.to_thread(config.write_text, f'[quiz]\nquestions_dir = "{TEST_BANK}"\n')
    env = {k: v for k, v in os.environ.items() if not k.startswith("STACKPREP_")}
    env |= {
        "STACKPREP_DISCORD_TOKEN": TOKEN,
        "STACKPREP_DATABASE_URL": url,
        "STACKPREP_DATABASE_PATH": str(folder / "unused.db"),  # its folder: the bank's cache
        "STACKPREP_DISCORD_SHARD_COUNT": str(shards),
        "STACKPREP_DISCORD_SHARD_IDS": str(shard),
    }
    with (folder / "stderr.log").open("a") as log:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "tests.adapters.discord.against_fake", str(port),
            "--config", str(config),
            cwd=REPO, env=env, stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL, stderr=log,
        )  # fmt: skip
    try:
        yield proc
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()


async def leader_pid(url: str, *, other_than: int | None = None, within: float = 30.0) -> int:
    """The leading process's pid from the `leader` table (`host:pid/token`), waiting until one
    (other than `other_than`) is named there."""
    conn = await asyncpg.connect(url)
    try:
        deadline = time.monotonic() + within
        while True:
            holder = await conn.fetchval("SELECT holder FROM leader WHERE id = 1")
            if holder is not None and int(_host_pid(holder)[1]) != other_than:
                break
            if time.monotonic() > deadline:
                raise TimeoutError("no process took the lead")
            await asyncio.sleep(0.05)
    finally:
        await conn.close()
    host, pid = _host_pid(holder)
    assert host == socket.gethostname()
    return int(pid)


async def logged(path: Path, text: str, *, within: float = 30.0) -> None:
    """Until a process's log (its stderr.log) says `text`."""
    deadline = time.monotonic() + within
    while text not in await asyncio.to_thread(path.read_text, errors="replace"):
        if time.monotonic() > deadline:
            raise TimeoutError(f"{path} did not say {text!r} within {within:g} s")
        await asyncio.sleep(0.05)


def _host_pid(holder: object) -> tuple[str, str]:
    host, pid = str(holder).split("/", 1)[0].rsplit(":", 1)
    return host, pid
