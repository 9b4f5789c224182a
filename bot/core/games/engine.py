"""GameEngine: plays every running game in time, one task per game, posting through Outboxes.

A game's task loops: open the next question and post it; post the hint halfway (if on); at
the deadline edit the post once to close it, the reveal with the standings at its top (a
Discord countdown ticks in the client, so nothing is edited meanwhile; a Telegram poll closes
by itself and the reveal is posted); pause; and after the last, the final standings. Every
step is recorded by the service first or right after its post, so after a restart `start()`
resumes each game where it stood: a question still open is played out with the time it has
left, one whose time ran out is revealed and the game goes on. The Outboxes are the paced
ones the daily question uses, so games share its budgets; what is due at a moment (a
question's close and reveal, its hint) goes through their urgent lane (`urgent_lane`), ahead
of everything else; what the channel is waiting for but whose time has not begun (the next
question, whose time starts when it is out; the final standings) through their soon lane
(`soon_lane`), behind those but ahead of posts that can wait (the daily fan-out).
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TypeVar

from bot.core.common.clock import Clock
from bot.core.common.identity import Platform
from bot.core.common.replies import Paragraph, Reply
from bot.core.delivery import ChatGone, DeliveryFailed, Outbox, soon_lane, urgent_lane
from bot.core.games import texts
from bot.core.games.model import Game, GameState, Phase
from bot.core.games.service import GameService, NoQuestion
from bot.core.quiz import Asked

log = logging.getLogger(__name__)

Sleep = Callable[[float], Awaitable[None]]
T = TypeVar("T")
RETRY_DELAYS = (2.0, 5.0, 15.0, 30.0, 60.0)  # a failing step is tried again after these
LATE_START = 1.0  # a question resumed with no more time than this, never posted: asked anew
RETIME_AFTER = 0.25  # seconds a question's post may take before its time starts when it is out
STALE = timedelta(minutes=10)  # a game resumed this long after its deadline just ends
REMEMBERED = 1000  # ended games' ids kept, so that a stale read never plays one again


@dataclass(eq=False)
class _Play:
    """One game's task and what a stop needs to know of it."""

    task: asyncio.Task[None] | None = None
    napping: bool = False  # asleep between steps: a stop may cancel it at once
    stopped: Game | None = None  # the game as a stop left it
    posted: str | None = None  # the current question's post, known before it is recorded
    closed: bool = False  # the current question's post was closed already


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
        self._plays: dict[str, _Play] = {}
        self._gone: dict[str, None] = {}  # ids of games whose task ended here, oldest first
        self._watcher: asyncio.Task[None] | None = None
        self._stopping = False
        # seconds from each deadline to the moment its close began (the last 10,000; bench)
        self.closed_late: deque[float] = deque(maxlen=10_000)

    async def start(self, *, watch: float | None = None) -> int:
        """Play games as they start, and resume the running ones; returns how many resumed.
        With `watch` (seconds), also look that often for games started or stopped by other
        processes sharing the database (`sync`): with PostgreSQL only the scheduler's leader
        plays games, wherever /quiz was typed."""
        self.games.started_listeners.append(self.launch)
        self.games.ended_listeners.append(self._ended)
        if watch is not None and self._watcher is None:  # it resumes them too if the read fails
            self._watcher = asyncio.get_running_loop().create_task(
                self._watch(watch), name="games: watch"
            )
        resumed = 0
        for game in await self.games.running():
            if self._launch(game):
                resumed += 1
        if resumed:
            log.info("games: resumed %d running game(s)", resumed)
        if watch is not None:  # from now on, what other processes start reaches the watch
            log.info("games: looking every %g s for games started on other processes", watch)
        return resumed

    async def sync(self) -> int:
        """Play the running games this engine does not play yet (another process started
        them) and let go of those another process stopped; returns how many it took up."""
        running = await self.games.running()
        taken = sum(1 for game in running if game.id not in self._gone and self._launch(game))
        ids = {game.id for game in running}
        for game_id, play in list(self._plays.items()):
            if game_id in ids or play.stopped is not None:
                continue
            stored = await self.games.store.get_game(game_id)  # not just started meanwhile?
            if stored is not None and stored.state is GameState.STOPPED:
                self._ended(stored)
        return taken

    async def _watch(self, every: float) -> None:
        failing = False
        while not self._stopping:
            await self._sleep(every)
            try:
                taken = await self.sync()
            except Exception as exc:  # the database is busy or away: the next look may do
                if not failing:
                    log.warning("games: cannot look for games started elsewhere: %s", _why(exc))
                failing = True
                continue
            failing = False
            if taken:
                log.info("games: playing %d game(s) started on another process", taken)

    def launch(self, game: Game) -> None:
        """Play `game` in a task of its own (once; only where this process can post)."""
        self._launch(game)

    def _launch(self, game: Game) -> bool:
        if self._stopping or game.chat.platform not in self.outboxes or game.id in self._plays:
            return False
        play = self._plays[game.id] = _Play()
        play.task = asyncio.get_running_loop().create_task(
            self._run(game, play), name=f"game {game.id}"
        )
        return True

    @property
    def playing(self) -> int:
        return len(self._plays)

    async def stop(self, grace: float = 5.0) -> None:
        """Stop playing (the games stay running in the store: the next start resumes them);
        a step in flight gets up to `grace` seconds to finish."""
        self._stopping = True
        if self._watcher is not None:
            self._watcher.cancel()
            await asyncio.gather(self._watcher, return_exceptions=True)
        for listener, listeners in (
            (self.launch, self.games.started_listeners),
            (self._ended, self.games.ended_listeners),
        ):
            if listener in listeners:
                listeners.remove(listener)
        # a task asleep stops at once; one in the middle of a step (a post, its record)
        # finishes that step and stops at its next nap, so nothing is left half done
        for play in list(self._plays.values()):
            if play.napping and play.task is not None:
                play.task.cancel()
        tasks = [p.task for p in self._plays.values() if p.task is not None]
        if tasks:
            await asyncio.wait(tasks, timeout=grace)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def _ended(self, game: Game) -> None:
        """A game was stopped. A task asleep between steps ends at once; one in the middle
        of a step (a post in flight) finishes it and then sees the stop. Either way its task
        closes the question's post on the way out, once."""
        play = self._plays.get(game.id)
        if play is None:
            return
        play.stopped = game
        if play.napping and play.task is not None:
            play.task.cancel()

    async def _run(self, game: Game, play: _Play) -> None:
        try:
            try:
                await self._play(game, play)
                if play.stopped is None and not self._stopping:
                    play.stopped = await self._stopped_elsewhere(game)
            except asyncio.CancelledError:
                if play.stopped is None:  # the engine stops: the game stays, to be resumed
                    raise
            if play.stopped is not None and not self._stopping:
                await self._close_stopped(play)
        finally:
            self._plays.pop(game.id, None)
            self._gone[game.id] = None
            while len(self._gone) > REMEMBERED:
                del self._gone[next(iter(self._gone))]

    async def _stopped_elsewhere(self, game: Game) -> Game | None:
        """The game as another process's stop left it, if that is how it ended: a step that
        found it moved on (its post out, not yet recorded, when the stop came) ended the task
        before the watch's next look could tell it (`sync` only tells tasks still playing);
        its question's post is closed all the same. None if it ended otherwise."""
        try:
            stored = await self.games.store.get_game(game.id)
        except Exception as exc:  # only the close of its post is lost: the round closed
            log.info("game %s: cannot read how it ended: %s", game.id, _why(exc))
            return None
        return stored if stored is not None and stored.state is GameState.STOPPED else None

    async def _play(self, game: Game, play: _Play) -> None:
        """Step the game until it is over; a failing step (or the read after it) is tried
        again after RETRY_DELAYS, the count starting afresh after every step that works. A
        chat that is gone, or a step failing every time, ends the game where it stands."""
        failures = 0
        current: Game | None = game
        wait = 0.0
        while current is not None and play.stopped is None:
            at: Game = current
            try:
                if wait:  # after a failure: read the game again, as it stands now
                    reloaded = await self._nap(play, wait, self.games.reload(at))
                    wait = 0.0
                    if reloaded is None:
                        return
                    at = reloaded
                current = await self._step(at, play)
                failures = 0
            except asyncio.CancelledError:
                raise
            except ChatGone as exc:
                await self.games.abandon(game, f"the chat is gone ({exc.reason})")
                return
            except Exception as exc:
                if failures >= len(RETRY_DELAYS):
                    await self.games.abandon(game, f"it kept failing ({_why(exc)})")
                    return
                wait = RETRY_DELAYS[failures]
                failures += 1
                log.warning("game %s in %s: %s; trying again in %.0f s", game.id,
                            game.chat.key, _why(exc), wait,
                            exc_info=not isinstance(exc, DeliveryFailed))  # fmt: skip

    async def _nap(self, play: _Play, seconds: float, then: Awaitable[T]) -> T:
        """Sleep (a stop may cancel it), then `then`."""
        play.napping = True
        try:
            if self._stopping:  # the engine stops: no new step
                raise asyncio.CancelledError
            if seconds > 0:
                await self._sleep(seconds)
        except BaseException:
            if asyncio.iscoroutine(then):
                then.close()
            raise
        finally:
            play.napping = False
        return await then

    async def _step(self, game: Game, play: _Play) -> Game | None:
        """Take the game's next step from where it is stored; the game after it, or None
        when it is over (or someone else moved it on: then it is read again)."""
        outbox = self.outboxes[game.chat.platform]
        if game.phase is Phase.REVEALED:
            if game.position >= game.count - 1:
                reply = await self.games.final(game)
                await self._nap(play, self.games.pause.total_seconds(), _done())
                await self._finish(game, outbox, reply)
                return None
            pause = self.games.start_delay if game.position < 0 else self.games.pause
            if game.deadline is not None and self.clock.now() - game.deadline > STALE:
                await self._end_early(game, outbox, texts.INTERRUPTED)
                return None
            await self._nap(play, pause.total_seconds(), _done())
            return await self._ask_anew(outbox, play, game, self.games.open_next)
        deadline = game.deadline
        assert deadline is not None
        if self.clock.now() - deadline > STALE:
            await self._end_early(game, outbox, texts.INTERRUPTED)
            return None
        if game.message_ref is None and self._left(deadline) <= LATE_START:
            # its time ran out before its post ever went out: nobody saw it; ask it afresh
            return await self._ask_anew(outbox, play, game, self.games.reopen)
        if game.message_ref is None:  # resumed before its post went out: post it now, and
            asked = await self.games.reasked(game)  # its time starts then (nobody saw it)
            if asked is not None:
                return await self._post(outbox, play, game, asked)
        if game.settings.hints and not game.hint_sent and self._left(deadline) > 1.0:
            halfway = deadline - timedelta(seconds=game.settings.seconds / 2)
            await self._nap(play, self._left(halfway), _done())
            hinted = await self.games.hint(game)  # recorded first: never posted twice
            if hinted is None:
                return await self.games.reload(game)
            game, reply = hinted
            # urgent: due now, and the close waits for it
            await urgent_lane(outbox).post(game.chat, reply, nonce=f"{self._nonce(game)}:hint")
            await self.games.hint_posted(game)
            return game
        await self._nap(play, self._left(deadline), _done())
        self.closed_late.append(-self._left(deadline))
        reveal = await self.games.reveal(game)
        if reveal is None:  # the question left the bank meanwhile: say so, go on
            reveal = Reply((Paragraph(texts.QUESTION_REMOVED),))
            await urgent_lane(outbox).post(game.chat, reveal, nonce=f"{self._nonce(game)}:reveal")
        elif not await self._close_post(game, reveal):  # no close edit: post the reveal
            await urgent_lane(outbox).post(game.chat, reveal, nonce=f"{self._nonce(game)}:reveal")
        play.closed = True
        return await self.games.revealed(game) or await self.games.reload(game)

    async def _ask_anew(
        self,
        outbox: Outbox,
        play: _Play,
        game: Game,
        open_round: Callable[[Game], Awaitable[tuple[Game, Asked] | None]],
    ) -> Game | None:
        """Open a round (the next question, or the current one afresh) and post it; a game
        out of questions ends with its standings, one moved on meanwhile is read again."""
        try:
            opened = await open_round(game)
        except NoQuestion:
            await self._end_early(game, outbox, texts.NO_MORE_QUESTIONS)
            return None
        if opened is None:
            return await self.games.reload(game)
        return await self._post(outbox, play, *opened)

    async def _post(self, outbox: Outbox, play: _Play, game: Game, asked: Asked) -> Game | None:
        """Post a question just opened (or one resumed whose post never went out); if it went
        out more than RETIME_AFTER after its round opened (it waited for the platform's
        budget, or the bot was down), its time starts when it went out (nobody loses any of
        it, and questions opened together do not all close at one moment)."""
        ref = await soon_lane(outbox).post_question(game.chat, asked, nonce=self._nonce(game))
        play.posted, play.closed = ref, False
        posted = await self.games.posted(game, ref)
        if posted is None:
            return await self.games.reload(game)
        now = self.clock.now()
        if (now - asked.round.opened_at).total_seconds() > RETIME_AFTER:
            posted = await self.games.retime(posted, started=now)
        return posted or await self.games.reload(game)

    async def _end_early(self, game: Game, outbox: Outbox, why: str) -> None:
        """End a game that cannot go on as planned with its standings so far: resumed long
        after its deadline (the bot was down; the chat moved on), or out of questions."""
        await self._finish(game, outbox, await self.games.final(game, why=why))

    async def _finish(self, game: Game, outbox: Outbox, standings: Reply) -> None:
        """Post the final standings (one nonce, so a post made again after a failure is the
        same post), then record the game as finished."""
        await soon_lane(outbox).post(game.chat, standings, nonce=f"game:{game.id}:final")
        await self.games.finished(game)

    async def _close_stopped(self, play: _Play) -> None:
        """Close a stopped game's open question once, with its answer, unless the engine's
        own close got there first."""
        game = play.stopped
        assert game is not None
        if game.phase is not Phase.ASKING or play.closed:
            return
        ref = game.message_ref or play.posted
        if ref is None:
            return
        try:
            reveal = await self.games.reveal(game)
            await self._close_post(replace(game, message_ref=ref), reveal, stopped=True)
        except Exception as exc:  # only cosmetic: the round closed with the stop
            log.info("game %s: could not close its last post: %s", game.id, _why(exc))

    async def _close_post(self, game: Game, reveal: Reply | None, *, stopped: bool = False) -> bool:
        """The one edit of a question's post: its buttons go, the reveal takes the top of it.
        False where nothing was edited (no post, a poll that closed by itself at its deadline
        on a platform with `closes_polls`, the edit failed): then the reveal is posted. A
        failed edit is only logged: the round itself closed at its deadline."""
        if game.message_ref is None:
            return False
        outbox = self.outboxes[game.chat.platform]  # its `closes_polls`; the edit is urgent
        # at its deadline a poll closes by itself; stopped early, it is closed by the edit
        polls_close = not stopped and bool(getattr(outbox, "closes_polls", False))
        closed = await self.games.closed(game, reveal=reveal, polls_close_themselves=polls_close)
        if closed is None:
            return False
        try:
            await urgent_lane(outbox).edit(game.chat, game.message_ref, closed)
        except DeliveryFailed as exc:
            log.info("game %s: could not close question %d's post in %s: %s",
                     game.id, game.position + 1, game.chat.key, exc.reason)  # fmt: skip
            return False
        return True

    @staticmethod
    def _nonce(game: Game) -> str:
        return f"game:{game.id}:{game.position}:{game.round_id}"

    def _left(self, when: datetime) -> float:
        return (when - self.clock.now()).total_seconds()


async def _done() -> None:
    """Nothing to do after a nap."""


def _why(exc: Exception) -> str:
    return exc.reason if isinstance(exc, DeliveryFailed) else f"{type(exc).__name__}: {exc}"
