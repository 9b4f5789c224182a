"""GameEngine: plays every running game in time, one task per game, posting through Outboxes.

A game's task loops: open the next question and post it; post the hint halfway (if on); at
the deadline edit the post once to close it, the reveal with the standings at its top (a
Discord countdown ticks in the client, so nothing is edited meanwhile; a Telegram poll closes
by itself and the reveal is posted); pause; and after the last, the final standings. Every
step is recorded by the service first or right after its post, so after a restart `start()`
resumes each game where it stood: a question still open is played out with the time it has
left, one whose time ran out is revealed and the game goes on. The Outboxes are the paced
ones the daily question uses, so games share its budgets.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime, timedelta

from bot.core.common.clock import Clock
from bot.core.common.identity import Platform
from bot.core.common.replies import Reply
from bot.core.delivery import ChatGone, DeliveryFailed, Outbox
from bot.core.games.model import Game, Phase
from bot.core.games.service import GameService

log = logging.getLogger(__name__)

Sleep = Callable[[float], Awaitable[None]]
RETRY_DELAYS = (2.0, 5.0, 15.0, 30.0, 60.0)  # a failing step is tried again after these


class GameEngine:
    def __init__(
        self,
        games: GameService,
        outboxes: Mapping[Platform, Outbox],
        *,
        clock: Clock | None = None,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.games = games
        self.outboxes = dict(outboxes)
        self.clock = clock or games.clock
        self._sleep = sleep
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._side: set[asyncio.Task[bool]] = set()
        # seconds from each deadline to the moment its close began (the last 10,000; bench)
        self.closed_late: deque[float] = deque(maxlen=10_000)

    async def start(self) -> int:
        """Play games as they start, and resume the running ones; returns how many resumed."""
        self.games.started_listeners.append(self.launch)
        self.games.ended_listeners.append(self._ended)
        resumed = 0
        for game in await self.games.running():
            if self._launch(game):
                resumed += 1
        if resumed:
            log.info("games: resumed %d running game(s)", resumed)
        return resumed

    def launch(self, game: Game) -> None:
        """Play `game` in a task of its own (once; only where this process can post)."""
        self._launch(game)

    def _launch(self, game: Game) -> bool:
        if game.chat.platform not in self.outboxes or game.id in self._tasks:
            return False
        task = asyncio.get_running_loop().create_task(self._run(game), name=f"game {game.id}")
        self._tasks[game.id] = task
        task.add_done_callback(lambda _: self._tasks.pop(game.id, None))
        return True

    @property
    def playing(self) -> int:
        return len(self._tasks)

    async def stop(self) -> None:
        """Stop playing (the games stay running in the store: the next start resumes them)."""
        for listener, listeners in (
            (self.launch, self.games.started_listeners),
            (self._ended, self.games.ended_listeners),
        ):
            if listener in listeners:
                listeners.remove(listener)
        tasks: list[asyncio.Task[None] | asyncio.Task[bool]] = [*self._tasks.values(), *self._side]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def _ended(self, game: Game) -> None:
        """A game was stopped: end its task and close its open question's post."""
        task = self._tasks.pop(game.id, None)
        if task is not None:
            task.cancel()
        if game.message_ref is not None and game.phase is Phase.ASKING:
            side = asyncio.get_running_loop().create_task(self._close_post(game))
            self._side.add(side)
            side.add_done_callback(self._side.discard)

    async def _run(self, game: Game) -> None:
        failures = 0
        current: Game | None = game
        while current is not None:
            try:
                await self._play(current)
                return
            except asyncio.CancelledError:
                raise
            except ChatGone as exc:
                await self.games.abandon(current, f"the chat is gone ({exc.reason})")
                return
            except Exception as exc:
                if failures >= len(RETRY_DELAYS):
                    await self.games.abandon(current, f"it kept failing ({_why(exc)})")
                    return
                delay = RETRY_DELAYS[failures]
                failures += 1
                log.warning("game %s in %s: %s; trying again in %.0f s", current.id,
                            current.chat.key, _why(exc), delay,
                            exc_info=not isinstance(exc, DeliveryFailed))  # fmt: skip
                await self._sleep(delay)
                current = await self.games.reload(current)

    async def _play(self, game: Game) -> None:
        outbox = self.outboxes[game.chat.platform]
        current: Game | None = game
        while current is not None:
            game = current
            if game.phase is Phase.REVEALED:
                pause = self.games.start_delay if game.position < 0 else self.games.pause
                await self._sleep(pause.total_seconds())
                if game.position >= game.count - 1:
                    finished = await self.games.finish(game)
                    if finished is not None:
                        ended, reply = finished
                        await outbox.post(ended.chat, reply, nonce=f"game:{game.id}:final")
                    return
                opened = await self.games.open_next(game)
                if opened is None:
                    current = await self.games.reload(game)
                    continue
                game, asked = opened
                ref = await outbox.post_question(
                    game.chat, asked, nonce=f"game:{game.id}:{game.position}"
                )
                current = await self.games.posted(game, ref)
                continue
            current = await self._ask(outbox, game)

    async def _ask(self, outbox: Outbox, game: Game) -> Game | None:
        """Play out the open question from wherever it stands; returns the game revealed."""
        deadline = game.deadline
        assert deadline is not None
        nonce = f"game:{game.id}:{game.position}"
        if game.message_ref is None and self._left(deadline) > 1.0:
            asked = await self.games.reasked(game)  # resumed before its post went out
            if asked is not None:
                ref = await outbox.post_question(game.chat, asked, nonce=nonce)
                moved = await self.games.posted(game, ref)
                if moved is None:
                    return await self.games.reload(game)
                game = moved
        if game.settings.hints and not game.hint_sent:
            await self._until(deadline - timedelta(seconds=game.settings.seconds / 2))
            if self._left(deadline) > 0:
                hinted = await self.games.hint(game)
                if hinted is None:
                    return await self.games.reload(game)
                game, reply = hinted
                await outbox.post(game.chat, reply, nonce=f"{nonce}:hint")
                await self.games.hint_posted(game)
        await self._until(deadline)
        self.closed_late.append(-self._left(deadline))
        reveal = await self.games.reveal(game)
        if reveal is not None and not await self._close_post(game, reveal):
            await outbox.post(game.chat, reveal, nonce=f"{nonce}:reveal")
        return await self.games.revealed(game)

    async def _close_post(self, game: Game, reveal: Reply | None = None) -> bool:
        """The one edit of a question's post: its buttons go, and the reveal (if given) takes
        the top of it. False where nothing was edited (no post, a poll that closed by itself
        on a platform with `closes_polls`, the edit failed): then the reveal is posted. A
        failed edit is only logged: the round itself closed at its deadline."""
        if game.message_ref is None:
            return False
        outbox = self.outboxes[game.chat.platform]
        # at its deadline a poll closes by itself; stopped early, it is closed by the edit
        polls_close = reveal is not None and bool(getattr(outbox, "closes_polls", False))
        closed = await self.games.closed(game, reveal=reveal, polls_close_themselves=polls_close)
        if closed is None:
            return False
        try:
            await outbox.edit(game.chat, game.message_ref, closed)
        except DeliveryFailed as exc:
            log.info("game %s: could not close question %d's post in %s: %s",
                     game.id, game.position + 1, game.chat.key, exc.reason)  # fmt: skip
            return False
        return True

    def _left(self, when: datetime) -> float:
        return (when - self.clock.now()).total_seconds()

    async def _until(self, when: datetime) -> None:
        left = self._left(when)
        if left > 0:
            await self._sleep(left)


def _why(exc: Exception) -> str:
    return exc.reason if isinstance(exc, DeliveryFailed) else f"{type(exc).__name__}: {exc}"
