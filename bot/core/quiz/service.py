"""QuizService: one async method per use case. Adapters call these and render the Replies."""

from __future__ import annotations

import logging
import random
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import NamedTuple

from aiolimiter import AsyncLimiter

from bot.core.bank.library import Library, content_scope, is_community_id
from bot.core.bank.question_bank import QuestionBank, parse_difficulty, pick_least_recent
from bot.core.bank.questions import LABELS, Question
from bot.core.common.clock import Clock, SystemClock
from bot.core.common.errors import (
    AlreadyAnswered,
    InvalidAnswer,
    QuizError,
    RateLimited,
    RoundClosed,
)
from bot.core.common.identity import GLOBAL_SCOPE, ChatRef, Platform, UserRef
from bot.core.common.metrics import NO_METRICS, Metrics
from bot.core.common.replies import (
    POLL_EXPLANATION_MAX,
    POLL_OPTION_MAX,
    POLL_QUESTION_MAX,
    Button,
    QuizPoll,
    Reply,
)
from bot.core.common.texts import FOREIGN_BUTTON, community_word
from bot.core.common.untrusted import storable
from bot.core.quiz import texts
from bot.core.quiz.ports import Attempt, Store
from bot.core.quiz.rounds import Round, RoundKind, new_round_id, shuffled_order
from bot.core.quiz.scoring import AnswerContext, Award, ScoringRules, award, iso_week, rank_rows
from bot.core.quiz.tokens import AnswerToken, NextToken, decode, next_token

_PERIODS = {"week": "week", "weekly": "week", "all": "all", "alltime": "all", "all-time": "all"}
_SCOPES = {"global": True, "everywhere": True, "all": True, "here": False, "local": False}
_ROUND_CACHE = 4096
_REPLY_CACHE = 1024  # a busy round needs a few (labels x awards); about 1 KB each
_LIMITER_CACHE = 10_000
log = logging.getLogger(__name__)


class AnswerEvent(NamedTuple):
    """A recorded multiple-choice answer, as passed to answer listeners (one per answer)."""

    player_id: int
    question_id: str
    topic: str
    round_id: str
    kind: RoundKind
    correct: bool
    at: datetime


# Called after every recorded multiple-choice answer (e.g. practice updates the FSRS card).
# A failing listener is logged; it never fails the answer, which is already recorded.
AnswerListener = Callable[[AnswerEvent], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Asked:
    """A question put to a place: what to show, and the round it opened."""

    reply: Reply
    round: Round
    question: Question
    poll: QuizPoll | None  # set when the question fits a native quiz poll


class QuizService:
    def __init__(
        self,
        bank: QuestionBank,
        store: Store,
        *,
        clock: Clock | None = None,
        rules: ScoringRules | None = None,
        round_ttl: timedelta = timedelta(hours=24),
        ask_rate: tuple[int, float] = (10, 60.0),
        rng: random.Random | None = None,
        help_lines: Sequence[str] = (),
        metrics: Metrics = NO_METRICS,
        library: Library | None = None,
    ) -> None:
        """`help_lines`: other features' lines for /help and the welcome (e.g. practice's);
        `metrics`: where answers and asked questions are reported (bot.ops when enabled);
        `library`: the shipped `bank` plus each community's own questions (a place picks from
        its community's; answers find any question by id)."""
        self.bank = bank  # the shipped questions (practice, the global CLI commands)
        self.library = library or Library(bank)
        self.store = store
        self.clock = clock or SystemClock()
        self.rules = rules or ScoringRules()
        self.round_ttl = round_ttl
        self._ask_rate = ask_rate
        self._rng = rng or random.SystemRandom()
        self._rounds: OrderedDict[str, Round] = OrderedDict()
        # answer replies in shared chats by (round, label, award): everyone who answers a busy
        # round the same way with the same points gets the same (immutable) Reply, built once
        self._replies: OrderedDict[tuple[str, str, Award], Reply] = OrderedDict()
        self._limiters: OrderedDict[int, AsyncLimiter] = OrderedDict()
        self.answer_listeners: list[AnswerListener] = []
        self._help_lines = tuple(help_lines)
        self.metrics = metrics

    # -- asking -----------------------------------------------------------------------------

    async def ask(
        self,
        user: UserRef,
        name: str,
        chat: ChatRef,
        topic: str | None = None,
        difficulty: str | int | None = None,
        *,
        question_id: str | None = None,
    ) -> Asked:
        """`/question [topic] [difficulty]`, or a specific question (e.g. from a deep link)."""
        bank = self.library.for_scope(content_scope(chat))  # shipped + this community's own
        topic = storable(topic) if topic is not None else None
        if isinstance(difficulty, str):
            difficulty = storable(difficulty)
        if question_id is not None:
            question_id = storable(question_id)
            question = bank.get(question_id)
            if question is None:
                raise QuizError(texts.no_such_question(question_id))
            player = await self.store.player(user, name)
            await self._check_rate(player)
        else:
            slug = bank.resolve_topic(topic)
            level = parse_difficulty(None if difficulty is None else str(difficulty))
            pool = bank.candidates(slug, level)
            player = await self.store.player(user, name)
            await self._check_rate(player)
            seen = await self.store.last_seen(player, chat.key)
            question = pick_least_recent(pool, seen, self._rng)
        now = self.clock.now()
        return await self.open_round(
            question, chat, RoundKind.ASK, now, now + self.round_ttl, asked_by=player
        )

    async def open_round(
        self,
        question: Question,
        chat: ChatRef,
        kind: RoundKind,
        opened_at: datetime,
        closes_at: datetime | None,
        *,
        asked_by: int | None = None,
        day: date | None = None,
        poll_seconds: int | None = None,
    ) -> Asked:
        """Open a round of `question` in `chat` (also used by the daily scheduler and games;
        `poll_seconds` closes a native poll by itself; a game's hint time comes later, from
        `hint_round`, once the hint is out)."""
        rnd = Round(
            id=new_round_id(),
            question_id=question.id,
            chat=chat,
            kind=kind,
            order=shuffled_order(question, self._rng),
            opened_at=opened_at,
            closes_at=closes_at,
            asked_by=asked_by,
            day=day,
        )
        await self.store.create_round(rnd)
        self._remember(rnd)
        self.metrics.asked(chat.platform.value, kind.value)
        reply = self.question_reply(question, rnd)
        return Asked(reply, rnd, question, quiz_poll(question, rnd, poll_seconds))

    async def retime_round(self, round_id: str, opened_at: datetime, closes_at: datetime) -> None:
        """Start a round's time later (a game's question whose post waited for the
        platform's budget): opened then, closing `closes_at`."""
        await self.store.retime_round(round_id, opened_at, closes_at)
        self._rounds.pop(round_id, None)

    async def hint_round(self, round_id: str, at: datetime) -> None:
        """A game's hint went out at `at`: answers from then on earn less."""
        await self.store.hint_round(round_id, at)
        self._rounds.pop(round_id, None)

    def question_reply(self, question: Question, rnd: Round) -> Reply:
        """The question as posted in `rnd`: its options in the round's order, with buttons."""
        return texts.question_reply(question, rnd, self.library.title(question))

    async def close_round(self, round_id: str, at: datetime) -> None:
        """Close a round early (a stopped game): answers from `at` on are refused."""
        await self.store.close_round(round_id, at)
        self._rounds.pop(round_id, None)

    async def _check_rate(self, player: int) -> None:
        limiter = self._limiters.get(player)
        if limiter is None:
            limiter = self._limiters[player] = AsyncLimiter(*self._ask_rate)
            if len(self._limiters) > _LIMITER_CACHE:
                self._limiters.popitem(last=False)
        self._limiters.move_to_end(player)
        if not limiter.has_capacity():
            raise RateLimited()
        await limiter.acquire()  # has capacity, so this records the use without waiting

    # -- answering --------------------------------------------------------------------------

    async def press(self, user: UserRef, name: str, chat: ChatRef, token: str) -> Reply | Asked:
        """Any button: an answer (returns a private Reply) or "next question" (returns Asked)."""
        decoded = decode(token)
        if isinstance(decoded, NextToken):
            return await self.ask(user, name, chat, decoded.topic, decoded.difficulty)
        return await self.answer(user, name, decoded, chat=chat)

    async def answer(
        self, user: UserRef, name: str, token: AnswerToken | str, *, chat: ChatRef | None = None
    ) -> Reply:
        """An answer button; `chat` is where it was pressed (a round counts only in its own
        chat: a message forwarded elsewhere keeps its buttons). Buttons always pass it."""
        decoded = decode(token) if isinstance(token, str) else token
        if not isinstance(decoded, AnswerToken):
            raise InvalidAnswer()
        return await self.answer_choice(user, name, decoded.round_id, decoded.label, chat=chat)

    async def answer_poll(
        self, user: UserRef, name: str, platform: Platform, poll_ref: str, option: int
    ) -> Reply:
        """A native poll answer: the poll id maps to a round, the option index to a label."""
        round_id = await self.store.linked_round(platform.value, storable(poll_ref))
        if round_id is None or not 0 <= option < len(LABELS):
            raise InvalidAnswer()
        return await self.answer_choice(user, name, round_id, LABELS[option])

    async def link(self, platform: Platform, ref: str, round_id: str) -> None:
        await self.store.link_round(platform.value, ref, round_id)

    async def answer_choice(
        self, user: UserRef, name: str, round_id: str, label: str, *, chat: ChatRef | None = None
    ) -> Reply:
        started = time.perf_counter()
        rnd = self._rounds.get(round_id) or await self.get_round(round_id)  # mostly cached
        question = self.library.get(rnd.question_id) if rnd else None
        if rnd is None or question is None or label not in LABELS[: len(rnd.order)]:
            raise InvalidAnswer()
        if chat is not None and not rnd.chat.same_place(chat):
            raise InvalidAnswer(FOREIGN_BUTTON)
        now = self.clock.now()
        if not rnd.is_open(now):
            raise RoundClosed()
        if len(rnd.order) != len(question.choices):  # a community re-imported it, changed
            raise RoundClosed(texts.QUESTION_CHANGED)
        player = await self.store.player(user, name)
        correct = rnd.choice_index(label) == question.correct_index
        scopes: tuple[str, ...] = ()
        if rnd.kind is not RoundKind.PRACTICE:
            scope = rnd.chat.scope
            scopes = (GLOBAL_SCOPE, scope) if scope else (GLOBAL_SCOPE,)
            if scope and is_community_id(question.id):
                # a community's own question scores on its own boards only: whoever wrote
                # it knows its answers, and the global board is everyone's
                scopes = (scope,)
        attempt = Attempt(
            round=rnd, player_id=player, question_id=question.id, topic=question.topic,
            label=label, correct=correct, at=now, scopes=scopes, week=iso_week(now),
            day=now.date(),
        )  # fmt: skip

        def decide(ctx: AnswerContext) -> Award:
            return award(self.rules, rnd, question.difficulty, correct, now, ctx)

        try:
            result = await self.store.record_answer(attempt, decide)
        except AlreadyAnswered:
            raise AlreadyAnswered(texts.already_answered(rnd.correct_label(question))) from None
        self.metrics.answered(
            rnd.chat.platform.value, rnd.kind.value, correct, time.perf_counter() - started
        )
        event = AnswerEvent(player, question.id, question.topic, rnd.id, rnd.kind, correct, now)
        for listener in list(self.answer_listeners):
            try:
                await listener(event)
            except Exception:
                log.exception("answer listener %r failed for round %s", listener, rnd.id)
        return self._answer_reply(question, rnd, label, result)

    def _answer_reply(self, question: Question, rnd: Round, label: str, result: Award) -> Reply:
        if rnd.chat.is_private:  # one person answers: nothing to share
            following = rnd.kind is RoundKind.ASK
            return texts.answer_reply(
                question, rnd, label, result, repeat_days=self.rules.repeat_window.days,
                next_button=Button("Next question", next_token(None, None)) if following else None,
            )  # fmt: skip
        key = (rnd.id, label, result)
        reply = self._replies.get(key)
        if reply is None:
            reply = self._replies[key] = texts.answer_reply(
                question, rnd, label, result, repeat_days=self.rules.repeat_window.days
            )
            if len(self._replies) > _REPLY_CACHE:
                self._replies.popitem(last=False)
        return reply

    async def get_round(self, round_id: str) -> Round | None:
        rnd = self._rounds.get(round_id)
        if rnd is None:
            rnd = await self.store.get_round(round_id)
            if rnd is not None:
                self._remember(rnd)
        return rnd

    def _remember(self, rnd: Round) -> None:
        self._rounds[rnd.id] = rnd
        if len(self._rounds) > _ROUND_CACHE:
            self._rounds.popitem(last=False)

    # -- scores -----------------------------------------------------------------------------

    async def score(self, user: UserRef, name: str) -> Reply:
        player = await self.store.player(user, name)
        stats = await self.store.player_stats(player)
        topics = await self.store.topic_stats(player)
        now = self.clock.now()
        week = await self.store.board_entry(GLOBAL_SCOPE, iso_week(now), player)
        return texts.score_reply(
            name, stats, topics, self.bank.titles, week[1].points if week else 0, now.date()
        )

    async def leaderboard(
        self,
        user: UserRef,
        name: str,
        chat: ChatRef,
        period: str | None = None,
        scope: str | None = None,
    ) -> Reply:
        """Top 10 of this community (or global), this week (or all time); ties share a rank."""
        words = [w.casefold() for w in map(storable, filter(None, (period, scope))) if w.strip()]
        chosen_period, want_global = "week", chat.scope is None
        for word in words:
            if word in _PERIODS:
                chosen_period = _PERIODS[word]
            elif word in _SCOPES:
                want_global = _SCOPES[word] or chat.scope is None
            else:
                raise QuizError(texts.leaderboard_word_unknown(word))
        board_scope = GLOBAL_SCOPE if want_global or chat.scope is None else chat.scope
        board_period = iso_week(self.clock.now()) if chosen_period == "week" else "all"
        player = await self.store.player(user, name)
        rows = rank_rows(await self.store.top(board_scope, board_period, 10))
        own = await self.store.board_entry(board_scope, board_period, player)
        place = "everywhere" if board_scope == GLOBAL_SCOPE else community_word(chat.platform)
        return texts.leaderboard_reply(
            rows, own, period=chosen_period, place=place, asker_id=player
        )

    # -- information ------------------------------------------------------------------------

    def topics(self, chat: ChatRef | None = None) -> Reply:
        """`/topics`: the bot's own, and in a community its own topics too."""
        bank = self.library.for_scope(content_scope(chat)) if chat is not None else self.bank
        return texts.topics_reply(bank.topics())

    def topic_slugs(self) -> list[str]:
        return [t.slug for t in self.bank.topics()]

    def help(self, platform: Platform) -> Reply:
        return texts.help_reply(platform, self._help_lines)

    def welcome(self, platform: Platform) -> Reply:
        return texts.welcome_reply(platform, self._help_lines)


def quiz_poll(question: Question, rnd: Round, seconds: int | None = None) -> QuizPoll | None:
    """The question as a native quiz poll, if it has no code and fits the poll limits;
    `seconds`: the poll closes by itself that long after it is posted (games)."""
    options = tuple(question.choices[i].text for i in rnd.order)
    if (
        question.code
        or len(question.prompt) > POLL_QUESTION_MAX
        or len(question.explanation) > POLL_EXPLANATION_MAX
        or any(len(o) > POLL_OPTION_MAX for o in options)
    ):
        return None
    return QuizPoll(
        question.prompt,
        options,
        rnd.order.index(question.correct_index),
        question.explanation,
        open_seconds=seconds,
    )
