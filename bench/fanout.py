"""Daily fan-out benchmark: 2,000 Discord channels and 2,000 Telegram groups in one run, through
the real scheduler, the real adapter outboxes (discord.py, python-telegram-bot) and SQLite,
against a platform double on 127.0.0.1 that enforces the platforms' limits. Run by hand:

    uv run python bench/fanout.py                 # clean run + crash run, 2,000 + 2,000
    uv run python bench/fanout.py --chats 300     # smaller
    uv run python bench/fanout.py --skip-clean    # only the crash run

The double answers 429 (with retry_after) when a request would exceed Discord's 50 requests/s
per bot or 5 messages per 5 s per channel, or Telegram's 30 messages/s per bot or 20 per
minute per group, and deduplicates Discord posts that repeat a nonce with enforce_nonce (as
Discord does). The bot runs in a subprocess so the crash run can kill -9 it.

Clean run: every place is scheduled for the next full minute, so the posts start from a
real APScheduler job. Crash run: every place's post is due when the bot starts (catch-up);
at about half of the posts the bot is killed with SIGKILL and started again.

Figures (targets from issue 7): rate as % of our budget (40/s Discord, 25/s Telegram;
>= 90%), 429s (< 0.1% of requests), duplicates (0), and in the crash run missing and
duplicated posts (0 and 0) and restart-to-resumed-sending time (<= 60 s).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import sys
import tempfile
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from datetime import time as dtime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from aiohttp import web  # noqa: E402

VERBOSE = bool(os.environ.get("FANOUT_VERBOSE"))
BUDGET = {"discord": 40.0, "telegram": 25.0}
TOKEN = "123456:bench-token"
GUILD = 700000000000000001
CHANNEL0 = 710000000000000000
GROUP0 = -1001000000000


# -- the platform double -------------------------------------------------------------------------


class Window:
    """At most `limit` events in any `span` seconds (a sliding log)."""

    def __init__(self, limit: int, span: float) -> None:
        self.limit, self.span, self.events = limit, span, deque[float]()

    def wait(self, now: float) -> float:
        """0 if an event may happen now (and records it), else seconds until one may."""
        while self.events and self.events[0] <= now - self.span:
            self.events.popleft()
        if len(self.events) < self.limit:
            self.events.append(now)
            return 0.0
        return self.events[0] + self.span - now


@dataclass
class Platform:
    name: str
    overall: Window
    per_chat: tuple[int, float]
    chats: dict[str, Window] = field(default_factory=dict)
    posts: dict[str, list[float]] = field(default_factory=dict)  # chat -> accept times
    requests: int = 0
    throttled: int = 0
    deduplicated: int = 0

    def admit(self, chat: str, now: float) -> float:
        self.requests += 1
        window = self.chats.setdefault(chat, Window(*self.per_chat))
        wait = max(window.wait(now), 0.0)
        if wait == 0:
            overall = self.overall.wait(now)
            if overall > 0:
                window.events.pop()  # not sent after all
                wait = overall
        if wait > 0:
            self.throttled += 1
        return wait

    def accepted(self) -> list[float]:
        return sorted(t for times in self.posts.values() for t in times)


class Double:
    """Discord REST (login + channel messages) and the Telegram Bot API (getMe, sendMessage,
    sendPoll) on one aiohttp server."""

    def __init__(self) -> None:
        self.discord = Platform("discord", Window(50, 1.0), (5, 5.0))
        self.telegram = Platform("telegram", Window(30, 1.0), (20, 60.0))
        self.nonces: dict[tuple[str, str], dict[str, Any]] = {}
        self.ids = iter(range(10**12, 10**13))
        self.runner: web.AppRunner | None = None
        self.port = 0
        self.posted = asyncio.Event()  # set on every accepted post

    async def until(self, count: int) -> None:
        """Wait until `count` posts were accepted in all."""
        while self.total_posts() < count:
            self.posted.clear()
            await self.posted.wait()

    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/api/v10/{path:.*}", self.discord_api)
        app.router.add_route("*", "/bot{token}/{method}", self.telegram_api)
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def stop(self) -> None:
        if self.runner:
            await self.runner.cleanup()

    def accepted_after(self, moment: float) -> float:
        """When the first post after `moment` was accepted."""
        return min(t for p in (self.discord, self.telegram) for t in p.accepted() if t > moment)

    def total_posts(self) -> int:
        return sum(len(t) for p in (self.discord, self.telegram) for t in p.posts.values())

    # Discord: responses need Content-Type exactly application/json; 429s carry Via so that
    # discord.py retries them itself (as it does behind Discord's proxies)
    @staticmethod
    def _json(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
        head = {"Content-Type": "application/json", **(headers or {})}
        return web.Response(body=json.dumps(data).encode(), status=status, headers=head)

    async def discord_api(self, request: web.Request) -> web.Response:
        path = "/" + request.match_info["path"]
        bot = {"id": "900000000000000002", "username": "stackprep", "discriminator": "0",
               "global_name": "Stackprep", "avatar": None, "bot": True}  # fmt: skip
        if path == "/users/@me":
            return self._json(bot)
        if path == "/oauth2/applications/@me":
            return self._json({
                "id": "900000000000000001", "name": "Stackprep", "description": "",
                "icon": None, "bot_public": True, "bot_require_code_grant": False,
                "verify_key": "0" * 64, "team": None, "flags": 0,
                "owner": {"id": "1", "username": "owner", "discriminator": "0", "avatar": None},
            })  # fmt: skip
        parts = path.strip("/").split("/")
        if request.method != "POST" or len(parts) != 3 or parts[2] != "messages":
            return self._json({"message": "404: Not Found", "code": 0}, 404)
        channel, body = parts[1], await request.json()
        wait = self.discord.admit(channel, time.monotonic())
        if wait > 0:
            payload = {"message": "You are being rate limited.", "retry_after": round(wait, 3),
                       "global": False}  # fmt: skip
            return self._json(payload, 429, {"Via": "1.1 google", "Retry-After": str(wait)})
        nonce = body.get("nonce")
        if body.get("enforce_nonce") and nonce and (channel, nonce) in self.nonces:
            self.discord.deduplicated += 1
            return self._json(self.nonces[(channel, nonce)])
        message = {
            "id": str(next(self.ids)), "channel_id": channel, "type": 0, "author": bot,
            "content": body.get("content") or "", "timestamp": datetime.now(UTC).isoformat(),
            "edited_timestamp": None, "tts": False, "mention_everyone": False, "mentions": [],
            "mention_roles": [], "attachments": [], "embeds": [], "pinned": False,
            "flags": 0, "components": body.get("components") or [], "nonce": nonce,
        }  # fmt: skip
        if nonce:
            self.nonces[(channel, nonce)] = message
        self.discord.posts.setdefault(channel, []).append(time.monotonic())
        self.posted.set()
        return self._json(message)

    async def telegram_api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        params = dict(await request.post())
        bot = {"id": 777000, "is_bot": True, "first_name": "Stackprep",
               "username": "stackprep_bot"}  # fmt: skip
        if method == "getMe":
            return web.json_response({"ok": True, "result": bot})
        if method not in {"sendMessage", "sendPoll"}:
            return web.json_response({"ok": True, "result": True})
        chat = str(params["chat_id"])
        wait = self.telegram.admit(chat, time.monotonic())
        if wait > 0:
            return web.json_response(
                {"ok": False, "error_code": 429, "parameters": {"retry_after": max(1, round(wait))},
                 "description": f"Too Many Requests: retry after {max(1, round(wait))}"},
                status=429,
            )  # fmt: skip
        message: dict[str, Any] = {
            "message_id": next(self.ids) % 2**31, "date": int(time.time()), "from": bot,
            "chat": {"id": int(chat), "type": "supergroup", "title": "Study group"},
        }  # fmt: skip
        if method == "sendPoll":
            options = json.loads(str(params["options"]))
            message["poll"] = {
                "id": str(next(self.ids)), "question": params["question"],
                "options": [{"text": o["text"] if isinstance(o, dict) else o, "voter_count": 0,
                             "persistent_id": str(i)} for i, o in enumerate(options)],
                "total_voter_count": 0, "is_closed": False, "is_anonymous": False,
                "type": "quiz", "allows_multiple_answers": False, "allows_revoting": False,
                "members_only": False, "correct_option_ids": [0],
            }  # fmt: skip
        else:
            message["text"] = params.get("text", "")
        self.telegram.posts.setdefault(chat, []).append(time.monotonic())
        self.posted.set()
        return web.json_response({"ok": True, "result": message})


# -- the bot under test (a subprocess) -----------------------------------------------------------


async def seed(db: Path, chats: int, at: dtime, since: datetime) -> None:
    from bot.core.common.identity import ChatRef
    from bot.core.common.identity import Platform as P
    from bot.core.daily.model import Subscription
    from bot.storage.sqlite import Database, SqliteDailyStore

    database = Database(db)
    await database.open()
    try:
        daily = SqliteDailyStore(database)
        for i in range(chats):
            for chat in (
                ChatRef(P.DISCORD, str(CHANNEL0 + i), str(GUILD + i)),
                ChatRef(P.TELEGRAM, str(GROUP0 - i), str(GROUP0 - i)),
            ):
                sub = Subscription(chat, at, "UTC", since, window=timedelta(hours=1), recap=False)
                await daily.save_subscription(sub)
    finally:
        await database.close()


async def worker(db: Path, port: int, expected: int) -> None:
    """The bot: real store, services, outboxes and scheduler; exits once all are delivered."""
    import discord

    from bot.adapters.discord.adapter import DiscordAdapter
    from bot.adapters.telegram.adapter import build_application
    from bot.adapters.telegram.outbox import TelegramOutbox
    from bot.app.bootstrap import build
    from bot.config import Config, DatabaseConfig, QuizConfig, Secret
    from bot.jobs.daily import DailyScheduler
    from bot.log import setup_logging

    setup_logging("INFO", [TOKEN])
    discord.http.Route.BASE = f"http://127.0.0.1:{port}/api/v10"
    stackprep = build(
        Config(database=DatabaseConfig(db), quiz=QuizConfig(questions_dir=ROOT / "questions"))
    )
    await stackprep.open()
    database, quiz, daily = stackprep.database, stackprep.quiz, stackprep.daily
    assert database is not None
    discord_bot = DiscordAdapter(Secret("bench-token"), quiz)
    await discord_bot.client.login("bench-token")
    app = build_application(TOKEN, base_url=f"http://127.0.0.1:{port}/bot")  # SendScheduler
    await app.initialize()
    scheduler = DailyScheduler(daily, [discord_bot.outbox, TelegramOutbox(app.bot, quiz)])
    print("worker: started", flush=True)
    await scheduler.start()
    try:
        while True:
            rows = await database.read(
                "SELECT count(*) FROM daily_deliveries WHERE kind = 'question' "
                "AND state IN ('delivered', 'gone')"
            )
            if rows[0][0] >= expected:
                break
            await asyncio.sleep(0.5)
    finally:
        await scheduler.stop()
        await app.shutdown()
        await discord_bot.client.close()
        await stackprep.close()


# -- the driver ----------------------------------------------------------------------------------


async def spawn(db: Path, port: int, expected: int, logs: list[str]) -> Bot:
    args = [__file__, "--worker", str(db), "--port", str(port), "--expected", str(expected)]
    proc = await asyncio.create_subprocess_exec(
        sys.executable, *args, stderr=asyncio.subprocess.PIPE
    )
    return Bot(proc, asyncio.create_task(drain(proc, logs)))


@dataclass
class Bot:
    proc: asyncio.subprocess.Process
    reader: asyncio.Task[None]

    async def finished(self) -> int:
        code = await self.proc.wait()
        await self.reader
        return code


def report(double: Double, chats: int, label: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for p in (double.discord, double.telegram):
        times = p.accepted()
        span = times[-1] - times[0] if len(times) > 1 else float("nan")
        rate = (len(times) - 1) / span if len(times) > 1 else 0.0
        dupes = sum(len(t) - 1 for t in p.posts.values() if len(t) > 1)
        missing = chats - len(p.posts)
        out[p.name] = (rate, p.throttled, p.requests, dupes, missing, p.deduplicated)
        pace = (
            f"{len(times)} posts in {span:.1f} s = {rate:.1f}/s = "
            f"{100 * rate / BUDGET[p.name]:.0f}% of {BUDGET[p.name]:.0f}/s (target >= 90%)"
            if label == "clean"
            else f"{len(times)} posts"
        )
        print(
            f"{label} {p.name:8}: {pace}; "
            f"429s {p.throttled}/{p.requests} = {100 * p.throttled / max(1, p.requests):.2f}% "
            f"(target < 0.1%); duplicates {dupes} (target 0); missing {missing} (target 0)"
            + (f"; repeats dropped by nonce {p.deduplicated}" if p.deduplicated else "")
        )
    return out


async def drain(proc: asyncio.subprocess.Process, sink: list[str]) -> None:
    assert proc.stderr is not None
    async for line in proc.stderr:
        text = line.decode(errors="replace").rstrip()
        sink.append(text)
        if VERBOSE or any(w in text for w in ("fan-out", "cut off", "Traceback", "ERROR")):
            print("   bot:", text.split(" ", 2)[-1][:160])


async def clean_run(chats: int, folder: Path) -> None:
    double = Double()
    await double.start()
    try:
        now = datetime.now(UTC)
        fire = (now + timedelta(minutes=1)).replace(second=0, microsecond=0)
        if (fire - now).total_seconds() < 15:  # leave time for start-up
            fire += timedelta(minutes=1)
        db = folder / "clean.db"
        await seed(db, chats, fire.time(), now - timedelta(days=1))
        print(f"clean run: {chats} + {chats} places scheduled for {fire:%H:%M:%S} UTC")
        logs: list[str] = []
        code = await (await spawn(db, double.port, 2 * chats, logs)).finished()
        if code != 0:
            print("\n".join(logs[-30:]))
            raise SystemExit(f"the bot exited with {code}")
        report(double, chats, "clean")
    finally:
        await double.stop()


async def crash_run(chats: int, folder: Path) -> None:
    double = Double()
    await double.start()
    try:
        now = datetime.now(UTC)
        db = folder / "crash.db"
        at = (now - timedelta(minutes=1)).time().replace(second=0, microsecond=0)
        await seed(db, chats, at, now - timedelta(days=1))
        total = 2 * chats
        print(f"crash run: {chats} + {chats} places due now; SIGKILL at about {total // 2} posts")
        logs: list[str] = []
        bot = await spawn(db, double.port, total, logs)
        half = asyncio.create_task(double.until(total // 2))
        await asyncio.wait(
            {half, asyncio.ensure_future(bot.proc.wait())}, return_when="FIRST_COMPLETED"
        )
        if not half.done():
            raise SystemExit("the bot exited before the crash point:\n" + "\n".join(logs[-30:]))
        await asyncio.sleep(random.uniform(0, 0.2))  # a crash comes at any instant
        os.kill(bot.proc.pid, signal.SIGKILL)
        await bot.finished()
        killed_at = double.total_posts()
        await asyncio.sleep(0.2)  # let requests already on the wire land
        before = double.total_posts()
        print(f"   killed with {killed_at} posts delivered ({before} after in-flight landed)")
        restarted = time.monotonic()
        bot = await spawn(db, double.port, total, logs)
        resumed = asyncio.create_task(double.until(before + 1))
        code = await bot.finished()
        resumed_after = float("nan")
        if resumed.done():
            resumed_after = double.accepted_after(restarted) - restarted
        resumed.cancel()
        if code != 0:
            print("\n".join(logs[-30:]))
            raise SystemExit(f"the restarted bot exited with {code}")
        figures = report(double, chats, "crash")
        missing = sum(f[4] for f in figures.values())
        dupes = sum(f[3] for f in figures.values())
        print(
            f"crash: missing {missing} (target 0), duplicated {dupes} (target 0), "
            f"restart to resumed sending {resumed_after:.1f} s (target <= 60 s)"
        )
    finally:
        await double.stop()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--chats", type=int, default=2000, help="places per platform")
    parser.add_argument("--skip-clean", action="store_true")
    parser.add_argument("--skip-crash", action="store_true")
    parser.add_argument("--worker", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--expected", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        asyncio.run(worker(args.worker, args.port, args.expected))
        return
    print(f"machine: {os.cpu_count()} CPUs, Python {sys.version.split()[0]}")
    with tempfile.TemporaryDirectory() as tmp:
        if not args.skip_clean:
            asyncio.run(clean_run(args.chats, Path(tmp)))
        if not args.skip_crash:
            asyncio.run(crash_run(args.chats, Path(tmp)))


if __name__ == "__main__":
    main()
