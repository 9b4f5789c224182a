"""`/quiz` in the console: the group game played alone, with a visible timer.

The console plays games with the platforms' own GameEngine, over a ConsoleOutbox that prints
each post as it comes (the question, the hint, the close, the reveal, the final standings).
Each question posted becomes the open one, so A-D answer it the usual way and the private
result is printed. The timer: the question shows the seconds it runs (its Countdown), and
while it is open and unanswered a few "N s left" lines follow (piped input; on a terminal
the prompt shows the seconds left instead, so nothing is printed into a line being typed).
The ticks ride on the engine's own waits (one task, no timers of their own), so tests drive
them with the same fake sleep as the engine.
"""

from __future__ import annotations

import asyncio
import itertools
from datetime import datetime, timedelta
from typing import Protocol

from bot.adapters.console import texts
from bot.core.common.identity import ChatRef, Platform, UserRef
from bot.core.common.replies import Paragraph, Reply
from bot.core.games import GameEngine, GameService
from bot.core.games import texts as games_texts
from bot.core.games.engine import Sleep
from bot.core.quiz import Asked

TICK_MARKS = (30, 10, 5)  # seconds left at which an unanswered question says so
TICK_AFTER = 5  # ... but only marks at least this long after the question was posted


class Screen(Protocol):
    """What the console adapter offers the game: printing and its open question."""

    def show(self, reply: Reply) -> None:
        """Print a post of the game."""
        ...

    def note(self, text: str) -> None:
        """Print one short line (a "10 s left")."""
        ...

    def opened(self, asked: Asked) -> None:
        """`asked` is the open question now: A-D answer it."""
        ...

    def is_open(self, round_id: str) -> bool:
        """The question of `round_id` is still open here (not answered yet)."""
        ...


class ConsoleOutbox:
    """The Outbox of the console: every post is printed at once."""

    platform = Platform.CONSOLE

    def __init__(self, screen: Screen) -> None:
        self.screen = screen
        self.question: Asked | None = None  # the last question posted
        self._refs = itertools.count(1)

    async def post_question(self, chat: ChatRef, asked: Asked, *, nonce: str) -> str:
        self.question = asked
        self.screen.opened(asked)
        self.screen.show(asked.reply)
        return self._ref()

    async def post(self, chat: ChatRef, reply: Reply, *, nonce: str) -> str:
        self.screen.show(reply)
        return self._ref()

    async def edit(self, chat: ChatRef, message_ref: str, reply: Reply) -> None:
        """A terminal cannot change what it printed: a closed question's post is shown by
        its reveal (the part above the copy of the question), or, closed without one (a
        stopped game), by its first and last lines ("Question 1/3 (closed)", "Time is up")."""
        copy = next(
            (i for i, b in enumerate(reply.blocks)
             if isinstance(b, Paragraph) and b.text == games_texts.QUESTION_BELOW),
            None,
        )  # fmt: skip
        if copy is not None:
            blocks = reply.blocks[:copy]
        else:
            blocks = reply.blocks if len(reply.blocks) <= 2 else (reply.blocks[0], reply.blocks[-1])
        self.screen.show(Reply(blocks))

    def _ref(self) -> str:
        return f"console:{next(self._refs)}"


class ConsoleGames:
    """The console's games: one GameEngine over a ConsoleOutbox, and `/quiz`'s commands."""

    def __init__(
        self, games: GameService, screen: Screen, *, sleep: Sleep = asyncio.sleep, ticks: bool
    ) -> None:
        """`sleep`: how the engine waits (a fake in tests); `ticks`: print "N s left" lines
        (not on a terminal, where they would land in the line being typed)."""
        self.games = games
        self.outbox = ConsoleOutbox(screen)
        self.engine = GameEngine(games, {Platform.CONSOLE: self.outbox}, sleep=self._wait)
        self._screen = screen
        self._sleep = sleep
        self._ticks = ticks
        self._started = False

    async def start(self) -> None:
        """Play games from now on, and resume one left running here (e.g. after /quit)."""
        if not self._started:
            self._started = True
            await self.engine.start()

    async def stop(self) -> bool:
        """Stop playing (a step in flight, such as the final standings, finishes first);
        True if a game was left running, stored to resume at the next start."""
        if not self._started:
            return False
        self._started = False
        playing = self.engine.playing > 0
        await self.engine.stop()
        return playing and bool(await self.games.running())

    @property
    def playing(self) -> bool:
        return self.engine.playing > 0

    async def command(self, user: UserRef, name: str, chat: ChatRef, args: list[str]) -> Reply:
        """`/quiz [settings]`, `/quiz stop`, `/quiz status`. The console is one person's
        chat, so whoever sits at it may stop its game (as an admin could elsewhere)."""
        await self.start()
        word = args[0].casefold() if len(args) == 1 else ""
        if word == "stop":
            return await self.games.stop(user, name, chat, admin=True)
        if word == "status":
            return await self.games.status(chat)
        return await self.games.start(user, name, chat, " ".join(args))

    def seconds_left(self) -> int | None:
        """Seconds left on the open, unanswered question (for the prompt), else None."""
        asked = self.outbox.question
        if asked is None or asked.round.closes_at is None:
            return None
        if not self._screen.is_open(asked.round.id):
            return None
        left = (asked.round.closes_at - self.games.clock.now()).total_seconds()
        return int(left + 0.999) if left > 0 else None

    async def _wait(self, seconds: float) -> None:
        """The engine's sleep, with the "N s left" lines of the open question on the way."""
        now = self.games.clock.now()
        end = now + timedelta(seconds=seconds)
        for mark, at in self._marks():
            if now < at <= end:
                await self._sleep((at - now).total_seconds())
                now = at
                asked = self.outbox.question
                if asked is not None and self._screen.is_open(asked.round.id):
                    self._screen.note(texts.seconds_left(mark))
        left = (end - now).total_seconds()
        if left > 0 or seconds <= 0:
            await self._sleep(max(0.0, left))

    def _marks(self) -> list[tuple[int, datetime]]:
        asked = self.outbox.question
        if not self._ticks or asked is None or asked.round.closes_at is None:
            return []
        deadline = asked.round.closes_at
        window = (deadline - asked.round.opened_at).total_seconds()
        return [
            (mark, deadline - timedelta(seconds=mark))
            for mark in TICK_MARKS
            if mark <= window - TICK_AFTER
        ]
