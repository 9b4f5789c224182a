"""Group quiz benchmark (issue 15): hundreds of games at once on each platform double, as
deployed. Run by hand:

    uv run python bench/games.py                      # both platforms, 300 games each
    uv run python bench/games.py --platform telegram  # one platform
    uv run python bench/games.py --games 30 --seconds 10 --spread 0   # smaller, all at once

The bot, per platform: a SQLite file in a temp dir built with `bot.app.bootstrap.build` (the
shipped bank, `tune_interpreter()` and `freeze_startup_heap()` as `bot.app.run` calls them),
the real GameEngine with real `asyncio.sleep` and the system clock, posting through
`bot.jobs.pacing.pace()` over the real adapter's outbox. Games start through
`GameService.start` (what /quiz calls), spread evenly over `--spread` seconds (0: all at once).

- Discord: `create_adapter` (discord.py 2.7, `DiscordOutbox`) logged in to the test suite's
  fake Discord (tests/fakes/discord_api.py, REST and gateway on 127.0.0.1). The bot runs in a
  child process, as bench/fanout.py runs it, so that the double's HTTP and WebSocket work and
  the players do not share the bot's event loop. An announcement would be the /quiz
  interaction's response, which channel limits do not cover; it is left out.
- Telegram: `create_adapter` (python-telegram-bot 22, its SendScheduler, `TelegramOutbox`)
  over the test suite's loopback Bot API (tests/fakes/telegram_api.py, `FakeBotApi`, which
  replaces the HTTP transport inside the bot's process, so bot and double share one process).
  Each announcement is queued on the group's send queue as the adapter's reply to /quiz is.

Players answer through the platform's own path: for every question the double accepts, each
of `--players` people in that chat answers once, at a uniformly random moment from 0.5 s
after the post reached the double to 50 ms before the question's deadline (read from the
game's stored row 0.5 s after the post reached the double: a question's time starts when its
post is out, so the engine may move the deadline once it hears back), with a random option.
Discord: a button click dispatched over the fake gateway (INTERACTION_CREATE), handled by
discord.py and the DiscordAdapter, timed until the interaction callback reaches the double.
Telegram: a `poll_answer` (quiz polls) or a `callback_query` (keyboard questions) Update
through the real `Application.process_update` and the adapter's handlers, timed around that
call (`Update.de_json` excluded, as in bench/telegram_adapter.py). The time inside
`QuizService.press` / `answer_poll` is shown too. On Discord each click's time is also split
into legs by wall-clock stamps in both processes (`ClickTrace`: the frame read by the bot,
the Interaction built, our handler entered; the callback at the double), and the clicks over
the target are counted with those under way during a garbage collection of the bot's process
(every pause is recorded, `gc.callbacks`). CPU is shown for the bot's process and for its
event loop's thread alone. Before the players start, the double sends the bot a GUILD_CREATE
of the game server with its channels, as Discord does after READY for a bot with the guilds
intent, so that discord.py finds them cached as in production (the test suite's double sends
none, and discord.py then built a placeholder server, its bot member and the channel anew
for every click).

A question *closed* when the double accepted its one close request, which also carries the
reveal: Discord the PATCH of the question's message, Telegram `editMessageText` of a keyboard
question. A Telegram quiz poll closes by itself after its `open_period` (shown apart): it closed
when the double accepted the reveal posted after it, as does a question whose close edit
failed. Lateness is that moment (wall clock at the double) minus the deadline the game stored,
read again at that moment (a question posted late has its time started when it went out, so a
deadline read as the post arrived can be the earlier one). A question post's wait is timed in
the bot, from the engine's call to the platform's answer (the pacer's queue and the send).
`--profile FILE` writes a cProfile of the Discord bot's process.

`--fanout N` also queues a daily fan-out to N other places (no game in them) through the same
paced outbox as the games begin, as the scheduler's daily posts go (the ordinary lane), and
shows how long each daily post waited; `--ordinary-questions` sends the games' questions in
the ordinary lane too, as the pacer did before its soon lane (an A/B of that lane: the
question posts' wait is the figure to compare).

Limits: Telegram's double enforces 30 messages a second overall and 20 a minute per group
(`FakeBotApi(flood_limits=True)`). The Discord double of the test suite enforces none, so
`LimitedDiscord` below adds the fan-out benchmark's windows (bench/fanout.py): 50 requests a
second per bot and 5 messages (posts and edits) per 5 s per channel, sliding, 429 with
`retry_after` (and `Via`, so discord.py retries it itself) beyond; interaction callbacks are
exempt, as on Discord.

Targets (issue 15): each question closes within 1 s of its deadline (p99), 0 429s, answer
latency p99 <= 10 ms. Nothing here is part of the test suite.
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import gc
import json
import math
import os
import random
import re
import sqlite3
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from aiohttp import web  # noqa: E402
from fanout import Window  # noqa: E402  (bench/, this script's folder)
from foundation import BANK, pct  # noqa: E402
from telegram import Update  # noqa: E402

from bot.app.bootstrap import App, build  # noqa: E402
from bot.app.run import freeze_startup_heap, tune_interpreter  # noqa: E402
from bot.config import Config, DatabaseConfig, QuizConfig  # noqa: E402
from bot.core.common.errors import QuizError  # noqa: E402
from bot.core.common.identity import ChatRef, Platform, UserRef  # noqa: E402
from bot.core.common.replies import Paragraph, Reply  # noqa: E402
from bot.core.common.secret import Secret  # noqa: E402
from bot.core.delivery import Outbox  # noqa: E402
from bot.core.games import GameEngine, GameSettings  # noqa: E402
from bot.core.games import engine as engine_module  # noqa: E402
from bot.core.quiz.tokens import AnswerToken, decode  # noqa: E402
from bot.jobs.pacing import pace  # noqa: E402
from tests.fakes import discord_api  # noqa: E402
from tests.fakes.discord_api import GUILD_ID, FakeDiscord, FakeUser, Recorded  # noqa: E402
from tests.fakes.telegram_api import TOKEN, FakeBotApi, poll_answer, press  # noqa: E402

TARGET_CLOSE_P99_S = 1.0
TARGET_ANSWER_P99_MS = 10.0
CHANNEL0 = 720000000000000000
GROUP0 = -1002000000000
OTHERS = 100_000  # --fanout's places: chats_of(..., first=OTHERS), no game in them
PLAYER0 = 10_000_000
NAN = float("nan")

Deadline = Callable[[ChatRef], Awaitable[float | None]]  # a chat's current question's deadline
Answer = Callable[[int, int], Coroutine[Any, Any, None]]  # (player id, option) -> answered


def is_answer_token(token: object) -> bool:
    try:
        return isinstance(decode(token), AnswerToken)
    except QuizError:
        return False


def chats_of(platform: str, games: int, first: int = 0) -> list[ChatRef]:
    """The places: games' from 0, the --fanout's other places from OTHERS."""
    ids = range(first, first + games)
    if platform == "discord":
        return [ChatRef(Platform.DISCORD, str(CHANNEL0 + i), str(GUILD_ID)) for i in ids]
    return [ChatRef(Platform.TELEGRAM, str(GROUP0 - i), str(GROUP0 - i)) for i in ids]


def config_for(db: Path) -> Config:
    return Config(database=DatabaseConfig(db), quiz=QuizConfig(questions_dir=ROOT / "questions"))


# -- the bot's side: the games, and the time answers spend in QuizService -----------------------


class BotSide:
    """Times `QuizService.press` / `answer_poll` (as the adapters call them) and plays the
    games; `figures()` is what it measured."""

    def __init__(self, app: App) -> None:
        self.app = app
        self.service_ms: list[float] = []
        self.outcomes: Counter[str] = Counter()
        self.closed_late: list[float] = []  # the engine's: deadline -> its timer woke
        self.question_s: list[float] = []  # a question post: the engine's call -> out
        self.fanout_s: list[float] = []  # --fanout: each daily post, queued -> out
        self.cpu = time.process_time()
        self.loop_cpu = time.thread_time()  # built on the event loop's thread
        self.gc_ms: list[float] = []  # each garbage collection's pause
        self.gc_full_ms: list[float] = []  # those of the oldest generation
        self.gc_spans: list[tuple[float, float]] = []  # each pause, wall clock
        self._gc_start = 0.0
        gc.callbacks.append(self._collected)
        for name in ("press", "answer_poll"):
            setattr(app.quiz, name, self._timed(getattr(app.quiz, name)))

    def _collected(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._gc_start = time.perf_counter()
        else:
            pause = time.perf_counter() - self._gc_start
            self.gc_ms.append(pause * 1000)
            end = time.time()
            self.gc_spans.append((end - pause, end))
            if info["generation"] == 2:
                self.gc_full_ms.append(self.gc_ms[-1])

    def _timed(self, method: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
        async def timed(*args: Any, **kwargs: Any) -> Any:
            start = time.perf_counter()
            outcome = "accepted"
            try:
                return await method(*args, **kwargs)
            except QuizError as exc:
                outcome = type(exc).__name__
                raise
            finally:
                self.service_ms.append((time.perf_counter() - start) * 1000)
                self.outcomes[outcome] += 1

        return timed

    async def play(
        self,
        args: argparse.Namespace,
        paced: Mapping[Platform, Outbox],
        announce: Callable[[ChatRef, Any], None] | None = None,
    ) -> None:
        """Start the games (spread over args.spread seconds) and play them to the end."""
        for outbox in paced.values():
            self._time_questions(outbox)
        if args.ordinary_questions:  # the pacer before its soon lane: questions wait in line
            engine_module.soon_lane = lambda outbox: outbox
        engine = GameEngine(self.app.games, paced)
        await engine.start()
        settings = GameSettings(count=args.count, seconds=args.seconds)
        chats = chats_of(args.platform_now, args.games)
        loop = asyncio.get_running_loop()
        began = loop.time()
        fanout = [
            asyncio.ensure_future(self._daily(outbox, chat, n))
            for outbox in paced.values()
            for n, chat in enumerate(chats_of(args.platform_now, args.fanout, OTHERS))
        ]
        budget = args.spread + 60 + args.count * (args.seconds + 30)
        try:
            for n, chat in enumerate(chats):
                await asyncio.sleep(max(0.0, began + args.spread * n / len(chats) - loop.time()))
                starter = UserRef(chat.platform, str(PLAYER0 - 1 - n))
                reply = await self.app.games.start(starter, "Starter", chat, settings)
                if announce is not None:
                    announce(chat, reply)
            for _ in range(int(budget * 2)):  # until every game has ended
                if not engine.playing or loop.time() - began > budget:
                    break
                await asyncio.sleep(0.5)
            if engine.playing:
                print(f"  {engine.playing} games still playing after {budget:.0f} s: stopped",
                      file=sys.stderr, flush=True)  # fmt: skip
            await asyncio.gather(*fanout)
        finally:
            await engine.stop()
            for task in fanout:
                task.cancel()
            self.closed_late = list(engine.closed_late)

    async def _daily(self, outbox: Outbox, chat: ChatRef, n: int) -> None:
        """One post of a daily fan-out to a place with no game, queued as the scheduler's
        daily posts are (the ordinary lane)."""
        start = time.perf_counter()
        await outbox.post(chat, Reply((Paragraph("The daily question"),)), nonce=f"daily:{n}")
        self.fanout_s.append(time.perf_counter() - start)

    def _time_questions(self, outbox: Outbox) -> None:
        """Time each question's post from the engine's call to the platform's answer: the
        pacer's queue and the send (the question's time starts then)."""
        post = outbox.post_question

        async def timed(*args: Any, **kwargs: Any) -> str:
            start = time.perf_counter()
            try:
                return await post(*args, **kwargs)
            finally:
                self.question_s.append(time.perf_counter() - start)

        outbox.post_question = timed  # type: ignore[method-assign]

    def figures(self) -> dict[str, Any]:
        return {
            "service_ms": self.service_ms, "outcomes": dict(self.outcomes),
            "closed_late": self.closed_late, "cpu": time.process_time() - self.cpu,
            "question_s": self.question_s, "fanout_s": self.fanout_s,
            "loop_cpu": time.thread_time() - self.loop_cpu, "gc_ms": self.gc_ms,
            "gc_full_ms": self.gc_full_ms, "gc_spans": self.gc_spans,
        }  # fmt: skip


# -- the doubles' side: what they accepted, and the players -------------------------------------


@dataclass
class Place:
    """One game's chat as the double saw it (wall-clock times of accepted requests)."""

    chat: ChatRef
    players: int  # the first of its players' user ids
    # per question: [received, deadline as the players read it, close request accepted, a
    # quiz poll's own close, deadline as stored when it closed]
    questions: list[list[float]] = field(default_factory=list)
    posts: list[float] = field(default_factory=list)  # everything else: reveals, the final


class Players:
    """What a double accepted in the game chats, and the players who answer its questions."""

    def __init__(self, args: argparse.Namespace, deadline: Deadline) -> None:
        chats = chats_of(args.platform_now, args.games)
        self.places = {c.chat_id: Place(c, PLAYER0 + n * 100) for n, c in enumerate(chats)}
        self.players = args.players
        self.seconds = args.seconds
        self.deadline = deadline
        self.rng = random.Random(args.seed)
        self.answer_ms: list[float] = []  # through the adapter
        # Discord: interaction id -> (dispatched, callback reached the double), wall clock
        self.clicks: dict[str, tuple[float, float]] = {}
        self.outcomes: Counter[str] = Counter()  # answers lost on the way
        self.kinds: Counter[str] = Counter()  # questions by form, closes by request
        self.tasks: set[asyncio.Task[None]] = set()
        self.throttled = 0  # 429s answered by the double
        self.limited = 0  # requests the double's limits apply to

    def spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def settle(self) -> None:
        while self.tasks:
            await asyncio.wait(set(self.tasks))

    def question(
        self, chat_id: str, kind: str, options: int, answer: Answer, closes: float = NAN
    ) -> None:
        """The double accepted a question in this chat (a quiz poll closing by itself at
        `closes`, wall clock): its players answer it."""
        self.kinds[kind] += 1
        place = self.places[chat_id]
        entry = [time.time(), NAN, NAN, closes, NAN]
        place.questions.append(entry)
        self.spawn(self._play(place, entry, options, answer))

    def closed(self, chat_id: str, how: str) -> None:
        self.kinds[how] += 1
        place = self.places[chat_id]
        place.questions[-1][2] = time.time()  # a chat's games go one by one
        self.spawn(self._deadline_at_close(place, place.questions[-1]))

    def posted(self, chat_id: str) -> None:
        place = self.places[chat_id]
        place.posts.append(time.time())
        last = place.questions[-1] if place.questions else None
        if last is not None and math.isnan(last[2]) and math.isnan(last[4]):  # its reveal
            last[4] = -1.0  # being read
            self.spawn(self._deadline_at_close(place, last))

    async def _deadline_at_close(self, place: Place, entry: list[float]) -> None:
        """The question's deadline as stored when it closed (the game's row keeps it until
        the next question opens, after the pause)."""
        deadline = await self.deadline(place.chat)
        entry[4] = NAN if deadline is None else deadline

    async def _play(self, place: Place, entry: list[float], options: int, answer: Answer) -> None:
        # its time starts when its post is out: read the deadline once the engine stored it
        await asyncio.sleep(max(0.0, entry[0] + 0.5 - time.time()))
        deadline = await self.deadline(place.chat)
        if deadline is None:
            self.outcomes["question without a running game"] += self.players
            return
        entry[1] = deadline
        first, last = entry[0] + 0.5, deadline - 0.05
        if last <= first:
            self.outcomes["not offered: posted too late to answer"] += self.players
            return
        times = sorted(self.rng.uniform(first, last) for _ in range(self.players))
        for n, at in enumerate(times):
            await asyncio.sleep(max(0.0, at - time.time()))
            self.spawn(answer(place.players + n, self.rng.randrange(options)))

    def lateness(self) -> tuple[list[float], list[float], Counter[str]]:
        """Per question, seconds: when it closed after its deadline (its close request, else
        the reveal posted after it) and when a quiz poll closed itself after its deadline,
        both against the deadline stored when it closed; and the exceptions."""
        late, polls, notes = [], [], Counter[str]()
        for place in self.places.values():
            for received, read, closed, by_itself, stored in place.questions:
                deadline = stored if stored > 0 else read  # NaN > 0 is False
                if math.isnan(deadline):  # its game had ended
                    notes["question without a deadline"] += 1
                    continue
                if abs(deadline - read) > 0.001:
                    notes["deadline moved after the players read it"] += 1
                if not math.isnan(by_itself):
                    polls.append(by_itself - deadline)
                if math.isnan(closed):  # the reveal was posted: the first post after it
                    closed = next((t for t in place.posts if t > received), NAN)
                    if math.isnan(by_itself):
                        notes["closed by the reveal post (no close edit)"] += 1
                if math.isnan(closed):
                    notes["never closed"] += 1
                    continue
                late.append(closed - deadline)
        return late, polls, notes

    def busiest(self, span: float) -> int:
        """The most messages the double accepted in the game chats within `span` seconds."""
        times = sorted(
            t
            for place in self.places.values()
            for t in (
                *place.posts,
                *(q[0] for q in place.questions),
                *(q[2] for q in place.questions),
            )
            if not math.isnan(t)
        )
        most, first = 0, 0
        for last, at in enumerate(times):
            while times[first] <= at - span:
                first += 1
            most = max(most, last - first + 1)
        return most


# -- Discord: the double and players here, the bot in a child process ---------------------------


class LimitedDiscord(FakeDiscord):
    """The test suite's fake Discord with the fan-out benchmark's limits, reporting what it
    accepts in the game channels to Players."""

    def __init__(self) -> None:
        super().__init__()
        self.overall = Window(50, 1.0)
        self.channels: dict[str, Window] = {}
        self.players: Players | None = None

    def _store_message(
        self, channel_id: str, body: dict[str, Any], *, loading: bool = False
    ) -> dict[str, Any]:
        message = super()._store_message(channel_id, body, loading=loading)
        if self.players is not None and channel_id in self.players.places:  # a server channel
            message["guild_id"] = str(GUILD_ID)
        return message

    def _respond(self, r: Recorded, request: web.Request) -> web.Response:
        players = self.players
        if players is None or r.path.startswith(("/interactions/", "/webhooks/")):
            return super()._respond(r, request)  # interactions: not under the bot's limits
        m = re.fullmatch(r"/channels/(\d+)/messages(/\d+)?", r.path)
        players.limited += 1
        now = time.monotonic()
        if m and r.method in ("POST", "PATCH"):
            window = self.channels.setdefault(m.group(1), Window(5, 5.0))
            wait = window.wait(now)
            if wait == 0 and (wait := self.overall.wait(now)) > 0:
                window.events.pop()  # not sent after all
        else:
            wait = self.overall.wait(now)
        if wait > 0:
            players.throttled += 1
            body = {"message": "You are being rate limited.", "retry_after": round(wait, 3),
                    "global": False}  # fmt: skip
            head = {"Content-Type": "application/json", "Via": "1.1 google",
                    "Retry-After": str(wait)}  # fmt: skip
            return web.Response(body=json.dumps(body).encode(), status=429, headers=head)
        response = super()._respond(r, request)
        if m is None or response.status != 200 or m.group(1) not in players.places:
            return response
        channel = m.group(1)
        if r.method == "PATCH":
            players.closed(channel, "close edits")
        elif r.method == "POST":
            tokens = [
                b["custom_id"]
                for row in (r.body or {}).get("components") or []
                for b in row.get("components", [])
                if is_answer_token(b.get("custom_id"))
            ]
            if tokens:
                message = json.loads(response.body)  # type: ignore[arg-type]
                click = self._clicker(int(message["id"]), tokens)
                players.question(channel, "questions with buttons", len(tokens), click)
            else:
                players.posted(channel)
        return response

    def _clicker(self, message_id: int, tokens: list[str]) -> Answer:
        async def click(player: int, option: int) -> None:
            assert self.players is not None
            payload = self.click(message_id, tokens[option], user=FakeUser(player, f"p{player}"))
            sent, start = time.time(), time.monotonic()
            try:
                callback = await self.interact(payload)
            except TimeoutError:
                self.players.outcomes["no interaction callback within 5 s"] += 1
                return
            self.players.answer_ms.append((callback.at - start) * 1000)
            self.players.clicks[payload["id"]] = (sent, sent + callback.at - start)

        return click


def stored_deadline(db: Path) -> Deadline:
    """A chat's deadline read from the bot's database file (another process's, WAL)."""
    connection: list[sqlite3.Connection] = []

    async def deadline(chat: ChatRef) -> float | None:
        if not connection:
            connection.append(sqlite3.connect(f"file:{db}?mode=ro", uri=True))
        row = (
            connection[0]
            .execute(
                "SELECT deadline FROM games WHERE chat_key = ? AND state = 'running'", (chat.key,)
            )
            .fetchone()
        )
        return None if row is None or row[0] is None else float(row[0])

    return deadline


async def discord_run(args: argparse.Namespace, folder: Path) -> tuple[Players, dict[str, Any]]:
    db = folder / "discord.db"
    fake = LimitedDiscord()
    async with fake:
        players = Players(args, stored_deadline(db))
        fake.players = players
        child = await asyncio.create_subprocess_exec(
            sys.executable, __file__, *sys.argv[1:], "--worker", str(db), "--port",
            str(fake.port), stdout=asyncio.subprocess.PIPE,
        )  # fmt: skip
        await fake.dispatch("GUILD_CREATE", guild_create(args.games), wait=60)
        out, _ = await child.communicate()
        await players.settle()
        if child.returncode != 0:
            raise SystemExit(f"the bot exited with {child.returncode}")
        result = next(line for line in out.decode().splitlines() if line.startswith("{"))
        # the bot's process has closed its gateway connection: nothing of ours is left running
    return players, json.loads(result)


def guild_create(games: int) -> dict[str, Any]:
    """The game server with its channels, as Discord sends it after READY to a bot with the
    guilds intent (ours): discord.py then finds the server and each click's channel in its
    cache, as it does in production, rather than building a placeholder server, the bot's
    member of it and the channel anew for every click (the test suite's double sends none)."""
    channels = [
        {"id": chat.chat_id, "type": 0, "guild_id": str(GUILD_ID), "name": f"quiz-{n}",
         "position": n, "permission_overwrites": [], "nsfw": False, "parent_id": None}
        for n, chat in enumerate(chats_of("discord", games))
    ]  # fmt: skip
    everyone = {"id": str(GUILD_ID), "name": "@everyone", "permissions": "1071698660929",
                "position": 0, "color": 0, "hoist": False, "managed": False,
                "mentionable": False, "flags": 0}  # fmt: skip
    return {
        "id": str(GUILD_ID), "name": "Bench", "owner_id": str(PLAYER0), "channels": channels,
        "roles": [everyone], "members": [], "member_count": games * 20, "threads": [],
        "emojis": [], "stickers": [], "features": [], "voice_states": [], "presences": [],
        "stage_instances": [], "guild_scheduled_events": [], "large": True,
        "unavailable": False, "joined_at": "2026-01-01T00:00:00+00:00",
        "preferred_locale": "en-US", "premium_tier": 0, "verification_level": 0,
        "default_message_notifications": 0, "explicit_content_filter": 0, "mfa_level": 0,
        "nsfw_level": 0, "afk_timeout": 300, "system_channel_flags": 0,
    }  # fmt: skip


class ClickTrace:
    """Where a click's time goes inside the bot's process: wall-clock stamps per interaction
    id, taken through discord.py's public hooks (`wait_for` checks run synchronously as an
    event is dispatched; returning False keeps them listening) and around the adapter's
    `on_button` and `deliver`: the gateway frame read (its JSON parsed), the Interaction
    built, our handler entered, its reply about to be rendered and sent (QuizService done).
    The driver adds when it dispatched the click and when the callback reached the double, so
    each click's time splits into its legs (`legs`)."""

    def __init__(self, adapter: Any) -> None:
        self.frame = NAN  # the latest INTERACTION_CREATE frame's arrival
        self.stamps: dict[str, list[float]] = {}  # id -> [frame, parsed, entered, replying]
        client = adapter.client
        self.listening = [
            asyncio.ensure_future(client.wait_for("socket_event_type", check=self._framed)),
            asyncio.ensure_future(client.wait_for("interaction", check=self._parsed)),
        ]
        handler, deliver = adapter.on_button, adapter.deliver

        async def on_button(interaction: Any, token: str) -> None:
            stamps = self.stamps.get(str(interaction.id))
            if stamps is not None:
                stamps[2] = time.time()
            await handler(interaction, token)

        async def delivering(interaction: Any, reply: Any, **kwargs: Any) -> None:
            stamps = self.stamps.get(str(interaction.id))
            if stamps is not None:
                stamps[3] = time.time()
            await deliver(interaction, reply, **kwargs)

        adapter.on_button, adapter.deliver = on_button, delivering

    def _framed(self, event: str) -> bool:
        if event == "INTERACTION_CREATE":
            self.frame = time.time()
        return False

    def _parsed(self, interaction: Any) -> bool:
        self.stamps[str(interaction.id)] = [self.frame, time.time(), NAN, NAN]
        return False

    def close(self) -> list[asyncio.Future[Any]]:
        for waiting in self.listening:
            waiting.cancel()
        return self.listening


def legs(
    clicks: dict[str, tuple[float, float]], stamps: dict[str, list[float]]
) -> dict[str, list[float]]:
    """Each click's time, ms, in legs: the driver's send to the bot's frame read, that to the
    Interaction built, that to our handler entered, that to its reply's sending (QuizService
    and what waits with it), that to the callback at the double (discord.py's request, the
    double's turn to read it)."""
    out: dict[str, list[float]] = {name: [] for name in LEGS}
    for interaction_id, (sent, arrived) in clicks.items():
        stamp = stamps.get(interaction_id)
        if stamp is None or any(math.isnan(t) for t in stamp):
            continue
        frame, parsed, entered, replying = stamp
        pairs = ((sent, frame), (frame, parsed), (parsed, entered), (entered, replying),
                 (replying, arrived))  # fmt: skip
        for name, (a, b) in zip(LEGS, pairs, strict=True):
            out[name].append((b - a) * 1000)
    return out


def slow_clicks(
    clicks: dict[str, tuple[float, float]], spans: list[tuple[float, float]]
) -> tuple[int, int]:
    """How many clicks took longer than the target, and how many of those were under way
    while a garbage collection paused the bot's process."""
    slow = sorted(c for c in clicks.values() if (c[1] - c[0]) * 1000 > TARGET_ANSWER_P99_MS)
    starts = [s for s, _ in sorted(spans)]
    ends = [e for _, e in sorted(spans)]
    in_gc = 0
    for sent, arrived in slow:  # a pause that began before the callback and ended after sent
        first = bisect.bisect_left(starts, arrived)
        if any(ends[i] > sent for i in range(max(0, first - 50), first)):
            in_gc += 1
    return len(slow), in_gc


LEGS = (
    "dispatched -> frame read by the bot",
    "frame read -> Interaction built",
    "Interaction built -> our handler entered",
    "handler entered -> reply being sent",
    "reply being sent -> callback at the double",
)


async def discord_bot(args: argparse.Namespace) -> None:
    """The child process: the bot, against the fake Discord on args.port."""
    import discord.gateway
    import discord.http
    import yarl

    from bot.adapters.discord.adapter import create_adapter

    tune_interpreter()
    discord.http.Route.BASE = f"http://127.0.0.1:{args.port}/api/v10"
    gateway = yarl.URL(f"ws://127.0.0.1:{args.port}/gateway")
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = gateway
    async with build(config_for(args.worker), bank=BANK) as app:
        freeze_startup_heap()
        bot = BotSide(app)
        adapter = create_adapter(Secret(discord_api.TOKEN), app.services)
        serving = asyncio.create_task(adapter.run())
        trace: ClickTrace | None = None
        try:
            await asyncio.wait_for(adapter.ready.wait(), 15)
            trace = ClickTrace(adapter)  # discord.py's wait_for needs the client logged in
            await bot.play(args, pace([adapter.outbox]))
        finally:
            waiting = trace.close() if trace is not None else []
            serving.cancel()
            await asyncio.gather(serving, *waiting, return_exceptions=True)
    stamps = trace.stamps if trace is not None else {}
    print(json.dumps(bot.figures() | {"stamps": stamps}), flush=True)


# -- Telegram: bot, double and players in one process -------------------------------------------


@dataclass(eq=False)
class ReportingBotApi(FakeBotApi):
    """The test suite's loopback Bot API (Telegram's flood limits on), reporting what it
    accepts in the game groups to Players, whose answers it hands to the Application."""

    players: Players | None = None
    application: Any = None

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: Any = None,
        read_timeout: Any = None,
        write_timeout: Any = None,
        connect_timeout: Any = None,
        pool_timeout: Any = None,
    ) -> tuple[int, bytes]:
        status, body = await super().do_request(
            url, method, request_data, read_timeout, write_timeout, connect_timeout, pool_timeout
        )
        name, players = url.rsplit("/", 1)[-1], self.players
        if players is None or status != 200 or name not in _OBSERVED:
            return status, body
        params = self.calls[-1].params  # nothing awaited since it was appended: this call's
        chat = str(params.get("chat_id"))
        if chat not in players.places:
            return status, body
        result = json.loads(body)["result"]
        if name in ("stopPoll", "editMessageText"):
            players.closed(chat, name)
        elif name == "sendPoll":
            vote = self._voter(result["poll"]["id"])
            if params.get("close_date"):  # a unix time, whole seconds
                closes = float(params["close_date"])
            else:
                closes = time.time() + float(params.get("open_period") or NAN)
            players.question(chat, "quiz polls", len(params["options"]), vote, closes)
        else:
            rows = (params.get("reply_markup") or {}).get("inline_keyboard") or []
            tokens = [b["callback_data"] for row in rows for b in row
                      if is_answer_token(b.get("callback_data"))]  # fmt: skip
            if tokens:
                tap = self._presser(int(chat), result["message_id"], tokens)
                players.question(chat, "keyboard questions", len(tokens), tap)
            else:
                players.posted(chat)
        return status, body

    def _voter(self, poll_id: str) -> Answer:
        async def vote(player: int, option: int) -> None:
            await self._process(poll_answer(poll_id, option, user_id=player, first_name="p"))

        return vote

    def _presser(self, chat: int, message_id: int, tokens: list[str]) -> Answer:
        async def tap(player: int, option: int) -> None:
            await self._process(
                press(tokens[option], chat_id=chat, message_id=message_id, user_id=player,
                      first_name="p")
            )  # fmt: skip

        return tap

    async def _process(self, payload: dict[str, Any]) -> None:
        assert self.players is not None
        update = Update.de_json(payload, self.application.bot)
        start = time.perf_counter()
        await self.application.process_update(update)
        self.players.answer_ms.append((time.perf_counter() - start) * 1000)


_OBSERVED = {"sendMessage", "sendPoll", "stopPoll", "editMessageText"}


async def telegram_run(args: argparse.Namespace, folder: Path) -> tuple[Players, dict[str, Any]]:
    from bot.adapters.telegram.adapter import create_adapter
    from bot.adapters.telegram.sending import is_posting

    tune_interpreter()
    async with build(config_for(folder / "telegram.db"), bank=BANK) as app:
        freeze_startup_heap()
        bot = BotSide(app)

        async def deadline(chat: ChatRef) -> float | None:
            game = await app.games.store.running_in(chat.key)
            return None if game is None or game.deadline is None else game.deadline.timestamp()

        players = Players(args, deadline)
        api = ReportingBotApi(flood_limits=True)
        adapter = create_adapter(Secret(TOKEN), app.services, request=api)
        api.application = adapter.app
        async with adapter.app:  # getMe; no polling: the players' updates are handed to it
            api.players = players

            def announce(chat: ChatRef, reply: Any) -> None:  # as the adapter's reply is sent
                chat_id = int(chat.chat_id)
                adapter.later(chat_id, lambda: adapter.outbox.send_reply(chat_id, reply))

            await bot.play(args, pace([adapter.outbox]), announce)
            await players.settle()
        players.throttled = len(api.throttled)
        players.limited = sum(1 for c in api.calls if is_posting(c.method))
    return players, bot.figures()


# -- the figures --------------------------------------------------------------------------------


def spread(values: list[float], unit: str = "s") -> str:
    if not values:
        return "(none)"
    f = "{:.3f}" if unit == "s" else "{:.2f}"
    p50, p99, top = (f.format(v) for v in (pct(values, 50), pct(values, 99), max(values)))
    return f"p50 {p50} {unit}, p99 {p99} {unit}, max {top} {unit}"


def pace_budget(name: str) -> float:
    from bot.jobs.pacing import LIMITS

    return LIMITS[Platform(name)].rate


def verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


def report(
    name: str, args: argparse.Namespace, players: Players, bot: dict[str, Any], wall: float
) -> None:
    late, polls, notes = players.lateness()
    expected = args.games * args.count
    service_ms, outcomes = bot["service_ms"], Counter(bot["outcomes"]) + players.outcomes
    print(f"{name}: {args.games} games x {args.count} questions of {args.seconds} s, "
          f"{args.players} players each, started over {args.spread:g} s")  # fmt: skip
    print(f"  posted: {', '.join(f'{v} {k}' for k, v in players.kinds.items())}")
    lost = f" ({', '.join(f'{v} {k}' for k, v in notes.items())})" if notes else ""
    print(f"  questions closed: {len(late)} of {expected}{lost}")
    ok = len(late) == expected and pct(late, 99) <= TARGET_CLOSE_P99_S
    print(f"  closed after deadline (the close edit, or a poll's reveal): {spread(late)}   "
          f"target p99 <= {TARGET_CLOSE_P99_S:g} s  {verdict(ok)}")  # fmt: skip
    if polls:
        print(f"  quiz polls closed by Telegram (open_period) after deadline: {spread(polls)}")
    print(f"  engine's timer, deadline -> wake-up: {spread(bot['closed_late'])}")
    print(f"  question posts, the engine's call -> out (pacer's queue + send; the question's "
          f"time starts then): {spread(bot['question_s'])}")  # fmt: skip
    if args.fanout:
        lane = "ordinary lane, as before the soon lane" if args.ordinary_questions else "soon lane"
        print(f"    with a daily fan-out of {args.fanout} places queued as the games began "
              f"(questions in the {lane}); each daily post, queued -> out: "
              f"{spread(bot['fanout_s'])}, {len(bot['fanout_s'])} out")  # fmt: skip
    second, ten = players.busiest(1.0), players.busiest(10.0)
    print(f"  messages into the game chats: busiest second {second}, busiest 10 s {ten} "
          f"({ten / 10:g}/s); the pacer's budget {pace_budget(name):g}/s")  # fmt: skip
    print(f"  429s answered by the double: {players.throttled} of {players.limited} requests "
          f"under its limits   target 0  {verdict(players.throttled == 0)}")  # fmt: skip
    offered = expected * args.players
    print(f"  answers: {offered} offered; "
          + ", ".join(f"{k} {v}" for k, v in outcomes.most_common()))  # fmt: skip
    ok = bool(players.answer_ms) and pct(players.answer_ms, 99) <= TARGET_ANSWER_P99_MS
    path = ("gateway dispatch -> interaction callback at the double" if name == "discord"
            else "Application.process_update")  # fmt: skip
    print(f"  answer latency, {path}: {spread(players.answer_ms, 'ms')}   "
          f"target p99 <= {TARGET_ANSWER_P99_MS:g} ms  {verdict(ok)}")  # fmt: skip
    print(f"  answer latency, inside QuizService: {spread(service_ms, 'ms')}")
    if "stamps" in bot:  # Discord: where a click's time went
        for leg, values in legs(players.clicks, bot["stamps"]).items():
            print(f"    {leg}: {spread(values, 'ms')}")
        slow, in_gc = slow_clicks(players.clicks, bot["gc_spans"])
        share = 100 * slow / max(1, offered)
        print(f"    clicks over {TARGET_ANSWER_P99_MS:g} ms: {slow} ({share:.2f}%), {in_gc} of "
              "them while a garbage collection paused the bot")  # fmt: skip
    where = "the bot's process" if name == "discord" else "bot + double + players (one process)"
    gc_ms = bot["gc_ms"]
    print(f"  garbage collections: {len(gc_ms)}, {sum(gc_ms) / 1000:.2f} s in all, pauses "
          f"{spread(gc_ms, 'ms')}; full ones {len(bot['gc_full_ms'])}, "
          f"{spread(bot['gc_full_ms'], 'ms')}")  # fmt: skip
    print(f"  CPU: {where} {bot['cpu']:.0f} s in {wall:.0f} s (its event loop's thread "
          f"{bot['loop_cpu']:.1f} s); load average {_load()}")  # fmt: skip


def _load() -> str:
    return " ".join(f"{v:.2f}" for v in os.getloadavg())


async def one(name: str, args: argparse.Namespace, folder: Path) -> None:
    print(f"{name}: load average before {_load()}", flush=True)
    start, cpu = time.monotonic(), time.process_time()
    runner = discord_run if name == "discord" else telegram_run
    players, bot = await runner(args, folder)
    report(name, args, players, bot, time.monotonic() - start)
    if name == "discord":
        print(f"  CPU: the driver (double + players) {time.process_time() - cpu:.0f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--platform", choices=("discord", "telegram", "both"), default="both")
    parser.add_argument("--games", type=int, default=300)
    parser.add_argument("--players", type=int, default=20, help="per game")
    parser.add_argument("--count", type=int, default=3, help="questions per game (3-20)")
    parser.add_argument("--seconds", type=int, default=30, help="per question (10-120)")
    parser.add_argument("--spread", type=float, default=30.0, help="seconds to start them in")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--fanout", type=int, default=0,
                        help="a daily fan-out to this many other places, queued as the games "
                        "begin")  # fmt: skip
    parser.add_argument(
        "--ordinary-questions",
        action="store_true",
        help="questions in the ordinary lane (the pacer before its soon lane)",
    )
    parser.add_argument("--profile", help="a cProfile of the Discord bot's process, to this file")
    parser.add_argument("--worker", type=Path, help=argparse.SUPPRESS)  # the Discord bot
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        args.platform_now = "discord"
        if args.profile:  # the bot's process only
            import cProfile

            cProfile.runctx("asyncio.run(discord_bot(args))", globals(), locals(), args.profile)
        else:
            asyncio.run(discord_bot(args))
        return
    print(f"machine: {os.cpu_count()} CPUs, Python {sys.version.split()[0]}, "
          f"{len(BANK)} questions", flush=True)  # fmt: skip
    names = ("discord", "telegram") if args.platform == "both" else (args.platform,)
    with tempfile.TemporaryDirectory() as tmp:
        for name in names:
            args.platform_now = name
            asyncio.run(one(name, args, Path(tmp)))


if __name__ == "__main__":
    main()
