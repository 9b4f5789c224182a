"""GameService: /quiz's commands (start, stop, status) and the steps a game is played by.

The service decides and records; the engine (`bot.core.games.engine`) keeps time and posts.
Every step is a compare-and-set on the stored game (its position and phase), so a step taken
twice (a restart, a stop racing the timer) changes the game once, and answers are the quiz's
own rounds (kind GAME): one per person per question, whatever happens to the game.
"""

from __future__ import annotations

import logging
import random
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from bot.core.bank.library import content_scope
from bot.core.bank.questions import LABELS, Question
from bot.core.common.clock import Clock, SystemClock
from bot.core.common.errors import EmptyBank, NotAllowed, QuizError
from bot.core.common.identity import ChatRef, UserRef, clean_name
from bot.core.common.replies import POLL_QUESTION_MAX, Paragraph, Reply
from bot.core.games import texts
from bot.core.games.args import parse_game_args, validated
from bot.core.games.model import COUNT_RANGE, Game, GameSettings, GameState, Phase, Standing
from bot.core.games.ports import GameStore
from bot.core.quiz import Asked, QuizService, Round, RoundKind, game_points, quiz_poll

log = logging.getLogger(__name__)

GameListener = Callable[[Game], None]
RECENT_GAMES = 10  # a new game avoids the questions of this many of the chat's last games
HeldQuestions = Callable[[], Awaitable[frozenset[str]]]


class NoQuestion(Exception):
    """A game's next question left the bank (a community removed its topic, a release
    dropped it) and nothing of the game's topic and level can stand in: the game ends."""


def new_game_id() -> str:
    return secrets.token_urlsafe(8)


class GameService:
    def __init__(
        self,
        quiz: QuizService,
        store: GameStore,
        *,
        clock: Clock | None = None,
        rng: random.Random | None = None,
        pause: timedelta = timedelta(seconds=5),
        start_delay: timedelta = timedelta(seconds=3),
        held: HeldQuestions | None = None,
    ) -> None:
        """`pause`: between a reveal and the next question; `start_delay`: before the first;
        `held`: question ids kept out of games (e.g. reported as wrong, under review)."""
        self.quiz = quiz
        self.bank = quiz.bank  # the shipped questions
        self.library = quiz.library  # ... and each community's own (a game picks its chat's)
        self.store = store
        self.clock = clock or quiz.clock or SystemClock()
        self._rng = rng or random.SystemRandom()
        self.pause = pause
        self.start_delay = start_delay
        self._held = held
        self.started_listeners: list[GameListener] = []  # the engine plays what starts
        self.ended_listeners: list[GameListener] = []  # ... and lets go of what is stopped

    # -- commands -----------------------------------------------------------------------------

    async def start(
        self, user: UserRef, name: str, chat: ChatRef, settings: GameSettings | str = ""
    ) -> Reply:
        """`/quiz [count] [topic] [difficulty] [seconds] [hints]`: a new game in `chat`."""
        bank = self.library.for_scope(content_scope(chat))  # this community's own too
        chosen = (
            parse_game_args(settings, bank) if isinstance(settings, str) else validated(settings)
        )
        now = self.clock.now()
        running = await self.store.running_in(chat.key)
        if running is not None:
            raise QuizError(texts.already_running(running, now))
        pool = bank.candidates(chosen.topic, chosen.difficulty)
        if self._held is not None:
            held = await self._held()
            pool = [q for q in pool if q.id not in held]
        if not pool:
            raise EmptyBank()
        if len(pool) < COUNT_RANGE[0]:
            raise QuizError(texts.too_few(len(pool)))
        player = await self.quiz.store.player(user, name)
        picked = await self._pick(chat, pool, chosen.count)
        game = Game(
            id=new_game_id(), chat=chat, starter_id=player,
            starter_name=clean_name(name) or "someone", settings=chosen,
            question_ids=tuple(q.id for q in picked), created_at=now,
        )  # fmt: skip
        stored = await self.store.create_game(game)
        if stored.id != game.id:  # another /quiz won the race for this chat
            raise QuizError(texts.already_running(stored, now))
        log.info("game %s started in %s: %d questions, %d s each",
                 game.id, chat.key, game.count, chosen.seconds)  # fmt: skip
        for listener in list(self.started_listeners):
            listener(stored)
        title = bank.titles.get(chosen.topic, chosen.topic) if chosen.topic else None
        return texts.started(stored, title, round(self.start_delay.total_seconds()))

    async def _pick(self, chat: ChatRef, pool: list[Question], count: int) -> list[Question]:
        """`count` questions, none played in this chat's recent games if the pool allows,
        else the ones played longest ago; in random order."""
        recent = await self.store.recent_questions(chat.key, RECENT_GAMES)
        age = {qid: n for n, qid in enumerate(recent)}  # 0: played in the latest game
        fresh = [q for q in pool if q.id not in age]
        picked = self._rng.sample(fresh, min(count, len(fresh)))
        if len(picked) < count:
            stale = sorted((q for q in pool if q.id in age), key=lambda q: -age[q.id])
            picked += stale[: count - len(picked)]
            self._rng.shuffle(picked)
        return picked

    async def stop(self, user: UserRef, name: str, chat: ChatRef, *, admin: bool) -> Reply:
        """`/quiz stop`: by the starter or an admin; the current question closes at once."""
        player = await self.quiz.store.player(user, name)
        for _ in range(5):  # the engine may move the game on between our read and write
            game = await self.store.running_in(chat.key)
            if game is None:
                raise QuizError(texts.NO_GAME)
            if player != game.starter_id and not admin:
                raise NotAllowed(texts.stop_refused(game))
            now = self.clock.now()
            ended = replace(
                game, state=GameState.STOPPED, ended_at=now, ended_by=clean_name(name) or "?"
            )
            if await self.store.update(ended, game):
                break
        else:
            raise QuizError("The game is changing too fast to stop; try again.")
        if ended.round_id is not None and ended.phase is Phase.ASKING:
            await self.quiz.close_round(ended.round_id, now)
        log.info("game %s in %s stopped after %d of %d questions",
                 game.id, chat.key, _played(ended), game.count)  # fmt: skip
        for listener in list(self.ended_listeners):
            listener(ended)
        return texts.final(ended, await self.standings(ended), _played(ended))

    async def status(self, chat: ChatRef) -> Reply:
        game = await self.store.running_in(chat.key)
        if game is None:
            return Reply((Paragraph(texts.NO_GAME),))
        return texts.status(game, self.clock.now(), await self.standings(game))

    # -- the steps the engine plays a game by -----------------------------------------------

    async def running(self) -> list[Game]:
        return await self.store.running_games()

    async def reload(self, game: Game) -> Game | None:
        """The stored game if it is still running, else None."""
        found = await self.store.get_game(game.id)
        return found if found is not None and found.state is GameState.RUNNING else None

    async def open_next(self, game: Game) -> tuple[Game, Asked] | None:
        """Open the next question's round; None if the game moved on meanwhile."""
        position = game.position + 1
        return await self._open(game, game, position, game.question_ids[position])

    async def _open(
        self, game: Game, stored: Game, position: int, question_id: str
    ) -> tuple[Game, Asked] | None:
        """A new round of the question at `position` (after `game`'s rounds so far), and the
        game moved to it, stored if it still stands as `stored` (else None)."""
        question = self.library.get(question_id) or await self._stand_in(game)
        if question is None:
            raise NoQuestion(question_id)
        seconds = game.settings.seconds
        now = self.clock.now()
        deadline = now + timedelta(seconds=seconds)
        asked = await self.quiz.open_round(
            question, game.chat, RoundKind.GAME, now, deadline, poll_seconds=seconds
        )
        moved = replace(
            game, position=position, phase=Phase.ASKING,
            round_ids=(*game.round_ids, asked.round.id), message_ref=None, deadline=deadline,
            hint_sent=False,
        )  # fmt: skip
        if not await self.store.update(moved, stored):
            return None
        return moved, self._asked(moved, asked)

    async def _stand_in(self, game: Game) -> Question | None:
        """A question for one that left the bank under a game (resumed after a restart with
        another bank): one of the game's topic and level not in the game and not held."""
        bank = self.library.for_scope(content_scope(game.chat))
        held = await self._held() if self._held is not None else frozenset()
        try:
            pool = bank.candidates(game.settings.topic, game.settings.difficulty)
        except QuizError:
            pool = []
        fresh = [q for q in pool if q.id not in game.question_ids and q.id not in held]
        return self._rng.choice(fresh) if fresh else None

    async def current(self, game: Game) -> tuple[Question, Round] | None:
        """The question and round being played (None if either is gone)."""
        return None if game.round_id is None else await self._played_round(game.round_id)

    async def _played_round(self, round_id: str) -> tuple[Question, Round] | None:
        rnd = await self.quiz.get_round(round_id)
        question = self.library.get(rnd.question_id) if rnd is not None else None
        return None if rnd is None or question is None else (question, rnd)

    async def reasked(self, game: Game) -> Asked | None:
        """The current question to post again (resumed before its post went out)."""
        found = await self.current(game)
        if found is None:
            return None
        question, rnd = found
        base = self.quiz.question_reply(question, rnd)
        left = int((rnd.closes_at - self.clock.now()).total_seconds()) if rnd.closes_at else 0
        poll = quiz_poll(question, rnd, max(5, left))
        return self._asked(game, Asked(base, rnd, question, poll))

    def _asked(self, game: Game, asked: Asked) -> Asked:
        title = self.library.title(asked.question)
        reply = texts.question(game, asked.question, asked.round, title, asked.reply)
        poll = asked.poll
        if poll is not None:
            numbered = f"[{game.position + 1}/{game.count}] {poll.question}"
            if len(numbered) <= POLL_QUESTION_MAX:
                poll = replace(poll, question=numbered)
        return Asked(reply, asked.round, asked.question, poll)

    async def posted(self, game: Game, message_ref: str) -> Game | None:
        return await self._moved(game, message_ref=message_ref)

    async def hint(self, game: Game) -> tuple[Game, Reply] | None:
        """Strike out one wrong option of the current question; None if it is gone or the
        game moved on. Recorded first: a hint is never posted twice."""
        found = await self.current(game)
        moved = await self._moved(game, hint_sent=True)
        if found is None or moved is None:
            return None
        question, rnd = found
        wrong = [(LABELS[i], question.choices[index].text) for i, index in enumerate(rnd.order)
                 if index != question.correct_index]  # fmt: skip
        return moved, texts.hint(moved, *self._rng.choice(wrong))

    async def hint_posted(self, game: Game) -> None:
        """The hint is out: answers from now on earn less (from when people could see it,
        not from when it was due: a post the platform's budget held back costs nobody)."""
        if game.round_id is not None:
            await self.quiz.hint_round(game.round_id, self.clock.now())

    async def closed(
        self,
        game: Game,
        *,
        reveal: Reply | None = None,
        polls_close_themselves: bool = False,
    ) -> Reply | None:
        """The current question's post as its one edit closes it: no buttons, and with
        `reveal`, the reveal above the question (one edit instead of an edit and a post, so a
        game spends two messages of the platform's budget per question). None if there is
        nothing to edit: with `polls_close_themselves`, the question went out as a poll,
        which closed by itself (its text cannot be edited; the reveal is posted instead)."""
        found = await self.current(game)
        if found is None:
            return None
        question, rnd = found
        if polls_close_themselves and quiz_poll(question, rnd) is not None:
            return None
        return texts.closed(game, self.quiz.question_reply(question, rnd), reveal)

    async def reveal(self, game: Game) -> Reply | None:
        """The answer, who answered, the fastest right, and the standings so far."""
        found = await self.current(game)
        if found is None:
            return None
        question, rnd = found
        stats = await self.quiz.store.round_stats(rnd.id)
        standings = await self.standings(game)
        return texts.reveal(
            game, question, rnd, stats, standings, round(self.pause.total_seconds())
        )

    async def revealed(self, game: Game) -> Game | None:
        return await self._moved(game, phase=Phase.REVEALED)

    async def final(self, game: Game, *, why: str | None = None) -> Reply:
        """The final standings of a game whose last question was revealed (or that is
        ended because it was interrupted too long): posted first, then `finished` records
        the end, so a failed or crashed post is made again rather than lost."""
        ended = replace(game, ended_at=self.clock.now())
        return texts.final(ended, await self.standings(ended), _played(ended), why)

    async def finished(self, game: Game) -> bool:
        ended = replace(game, state=GameState.FINISHED, ended_at=self.clock.now())
        if not await self.store.update(ended, game):
            return False
        log.info("game %s in %s finished", game.id, game.chat.key)
        return True

    async def abandon(self, game: Game, why: str) -> bool:
        """End a game that cannot go on (its chat is gone, its posts keep failing) from
        wherever it stands now; nothing is posted. False if it had ended already."""
        for _ in range(5):
            current = await self.reload(game)
            if current is None:
                return False
            ended = replace(current, state=GameState.STOPPED, ended_at=self.clock.now())
            if await self.store.update(ended, current):
                log.warning("game %s in %s ended: %s", game.id, game.chat.key, why)
                for listener in list(self.ended_listeners):
                    listener(ended)
                return True
        return False

    async def retime(self, game: Game, *, started: datetime) -> Game | None:
        """The question's post went out late (it waited for the platform's budget): its
        time starts now that people can see it, so nobody loses any of it."""
        if game.round_id is None:
            return game
        deadline = started + timedelta(seconds=game.settings.seconds)
        await self.quiz.retime_round(game.round_id, started, deadline)
        return await self._moved(game, deadline=deadline)

    async def reopen(self, game: Game) -> tuple[Game, Asked] | None:
        """Ask the current question afresh: its time ran out before its post ever went out
        (a restart, failed posts), so nobody saw it; a new round, full time."""
        back = replace(game, position=game.position - 1, round_ids=game.round_ids[:-1])
        return await self._open(back, game, game.position, game.question_ids[game.position])

    async def standings(self, game: Game) -> list[Standing]:
        """Each player's game points (base and speed share, before the boards' caps), right
        answers and time, best first; ties on points and right answers go to the faster."""
        played = game.round_ids[: _played(game)]
        rounds: dict[str, tuple[Round, Question]] = {}
        for round_id in played:
            asked = await self._played_round(round_id)
            if asked is not None:
                question, rnd = asked
                # the speed share runs over the question's full time, as when it was scored,
                # also where a stop closed the round early
                full = rnd.opened_at + timedelta(seconds=game.settings.seconds)
                rounds[round_id] = (replace(rnd, closes_at=full), question)
        position = {round_id: i for i, round_id in enumerate(played)}
        tallies: dict[int, _Tally] = {}
        base = self.quiz.rules.base_points
        for answer in await self.store.game_answers(game):
            found = rounds.get(answer.round_id)
            if found is None:
                continue
            rnd, question = found
            tally = tallies.get(answer.player_id)
            if tally is None:
                tally = tallies[answer.player_id] = _Tally(answer.name, [None] * len(played))
            tally.results[position[answer.round_id]] = answer.correct
            tally.answered += 1
            if answer.correct:
                tally.points += game_points(
                    self.quiz.rules, base[question.difficulty - 1], rnd, answer.at
                )
                tally.right += 1
                tally.seconds += (answer.at - rnd.opened_at).total_seconds()
        standings = [
            Standing(pid, t.name, t.points, t.right, t.answered, t.seconds, tuple(t.results))
            for pid, t in tallies.items()
        ]
        standings.sort(key=lambda s: (-s.points, -s.right, s.seconds, s.player_id))
        return standings

    # -- helpers ------------------------------------------------------------------------------

    async def _moved(self, game: Game, **changes: object) -> Game | None:
        moved = replace(game, **changes)  # type: ignore[arg-type]
        return moved if await self.store.update(moved, game) else None


@dataclass(slots=True)
class _Tally:
    name: str
    results: list[bool | None]
    points: int = 0
    right: int = 0
    answered: int = 0
    seconds: float = 0.0


def _played(game: Game) -> int:
    """How many questions were put to the players."""
    return game.position + 1
