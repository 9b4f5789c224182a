"""Timed mock interviews (`/mock`): 10 mixed questions in 30 minutes, then a readiness report.

A mock is a practice session of kind MOCK (bot/core/practice/ports.py) with a fixed deadline,
run by PracticeService's usual steps with three differences, each a hook the service calls:

- **The questions** (`pick`): up to `QUESTIONS` from the plan's topics (every topic without a
  plan, or when it names none), the topics taking turns; each question is multiple choice or
  open by `asks_choice`, which alternates within each topic and between topics, so both kinds
  come up in every topic with two or more questions and the mock as a whole has at least 3 of
  each whenever it has 8 or more questions.
- **No rating step**: an open answer is graded and recorded with the rating the grader
  suggests (`graded`), and the next question follows at once.
- **The deadline** (`over`): an answer after it is not counted; the session ends with its
  report, at that answer or from the timeout job (`time_up`), whichever comes first.

The report (`report`, pure) reads the reviews stored since the mock started, so it counts
exactly what the cards recorded: per topic, right of asked, the open answers' mean grade, and a
verdict ("ready", or what to review with the key points missed most). Two days before a plan's
date the reminders job sends one offer (`offers`); the store claims it per plan date.
"""

from __future__ import annotations

import random
import secrets
from collections import Counter
from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from dataclasses import replace
from datetime import date, datetime, time, timedelta
from typing import Generic, TypeVar
from zoneinfo import ZoneInfo

from fsrs import Rating

from bot.core.bank.question_bank import QuestionBank
from bot.core.bank.questions import Question
from bot.core.common.clock import Clock
from bot.core.common.errors import EmptyBank, QuizError
from bot.core.common.identity import ChatRef, Platform, UserRef
from bot.core.common.metrics import Metrics
from bot.core.common.replies import Reply
from bot.core.practice import mock_texts as mt
from bot.core.practice.grading import PASS_SCORE, Grade, Suggestion
from bot.core.practice.plans import interleave, local_today
from bot.core.practice.ports import Awaiting, PracticeStore, Session, SessionKind, SessionState
from bot.core.practice.readiness import missed_points, readiness
from bot.core.practice.srs import CardState
from bot.core.quiz import Players

QUESTIONS = 10  # questions in a mock
DURATION = timedelta(minutes=30)  # from the start to the deadline
OFFER_DAYS = 2  # the offer goes out this many days before the plan's date (or 1, if set later)
OFFER_AT = time(9, 0)  # local time of the offer for learners without a /remind time
RATING_OF = {
    Suggestion.AGAIN: Rating.Again,
    Suggestion.HARD: Rating.Hard,
    Suggestion.GOOD: Rating.Good,
    Suggestion.EASY: Rating.Easy,
}

StepT = TypeVar("StepT")  # PracticeService's Step (not imported: the service imports this)
Record = Callable[..., Awaitable[CardState]]


# -- the pure part ----------------------------------------------------------------------------


def pick(
    by_topic: Mapping[str, Sequence[str]], rng: random.Random, size: int = QUESTIONS
) -> tuple[str, ...]:
    """Up to `size` question ids, the topics taking turns (in the mapping's order), each
    topic's questions in a random order."""
    lists = []
    for ids in by_topic.values():
        shuffled = list(ids)
        rng.shuffle(shuffled)
        lists.append(shuffled)
    return tuple(interleave(lists, size))


def modes(topics: Sequence[str]) -> tuple[bool, ...]:
    """Multiple choice (True) or open (False) for each question of a mock, given its topic:
    a topic's questions alternate, and the first of each topic alternates between topics."""
    order: dict[str, int] = {}
    seen: Counter[str] = Counter()
    out = []
    for topic in topics:
        index = order.setdefault(topic, len(order))
        out.append((seen[topic] + index) % 2 == 0)
        seen[topic] += 1
    return tuple(out)


def over(session: Session, now: datetime) -> bool:
    """Whether a mock's time is up (never for a practice session)."""
    return session.deadline is not None and now >= session.deadline


def offer_due(target: date, today: date, local_now: time, at: time) -> bool:
    """Whether a plan's mock offer is due: on the day `OFFER_DAYS` before the date (or the
    day before, for a plan set later), from the learner's reminder time (or OFFER_AT)."""
    return 1 <= (target - today).days <= OFFER_DAYS and local_now >= at


# -- the service's hooks ----------------------------------------------------------------------


class MockInterviews(Generic[StepT]):
    def __init__(
        self,
        store: PracticeStore,
        *,
        bank: QuestionBank,
        players: Players,
        clock: Clock,
        rng: random.Random,
        metrics: Metrics,
        present: Callable[[Session, datetime, tuple[Reply, ...]], Awaitable[StepT]],
        record: Record,
        flush: Callable[[], Awaitable[None]],
    ) -> None:
        """`present`: PracticeService's step that asks a session's current question (or ends
        it); `record`: its review of a card with a rating and score; `flush`: waits for the
        card updates of stored multiple-choice answers (reviews the report reads)."""
        self.store = store
        self.bank = bank
        self.players = players
        self.clock = clock
        self._rng = rng
        self.metrics = metrics
        self._present = present
        self._record = record
        self._flush = flush

    async def start(self, user: UserRef, name: str, chat: ChatRef) -> StepT:
        """`/mock` in a private chat: a new mock interview (ending any running session)."""
        if not chat.is_private:
            raise QuizError(mt.DM_ONLY)
        player = await self.players.player(user, name)
        now = self.clock.now()
        plan = await self.store.plan(player)
        topics = [t for t in plan.topics if t in self.bank.titles] if plan else []
        if not topics:
            topics = list(self.bank.titles)
            self._rng.shuffle(topics)
        by_topic: dict[str, list[str]] = {}
        for topic in topics:
            try:
                by_topic[topic] = [q.id for q in self.bank.candidates(topic, None)]
            except EmptyBank:
                continue
        questions = pick(by_topic, self._rng)
        if not questions:
            raise EmptyBank()
        running = await self.store.active_session(player)
        if running is not None:
            ended = replace(running, state=SessionState.STOPPED, awaiting=Awaiting.NOTHING)
            await self.store.save_session(ended)
        session = Session(
            id=secrets.token_urlsafe(8), player_id=player, chat=chat, topic=None,
            plan=questions, position=0, awaiting=Awaiting.NOTHING, started_at=now,
            touched_at=now, kind=SessionKind.MOCK, deadline=now + DURATION,
        )  # fmt: skip
        self.metrics.practice_session("started")
        titles = [self.bank.titles[t] for t in by_topic if t in self.bank.titles]
        intro = mt.intro(len(questions), DURATION, session.deadline or now, titles)
        return await self._present(session, now, (intro,))

    def asks_choice(self, session: Session) -> bool:
        """Whether the session's current question is multiple choice (in practice: every
        other one; in a mock: `modes`)."""
        if session.kind is not SessionKind.MOCK:
            return session.position % 2 == 0
        topics = [(q.topic if (q := self.bank.get(qid)) else qid) for qid in session.plan]
        return modes(topics)[session.position]

    def over(self, session: Session, now: datetime) -> bool:
        return over(session, now)

    def is_mock(self, session: Session) -> bool:
        return session.kind is SessionKind.MOCK

    async def graded(
        self, session: Session, question: Question, grade: Grade, now: datetime
    ) -> StepT:
        """An open answer in a mock: recorded with the suggested rating, then the next step."""
        rating = RATING_OF[grade.suggestion]
        await self._record(session.player_id, question.id, question.topic, rating, now, grade.score)
        right = rating is not Rating.Again and grade.score >= PASS_SCORE
        session = replace(
            session, position=session.position + 1, answered=session.answered + 1,
            recalled=session.recalled + int(right),
            missed=session.missed + missed_points(question, grade),
        )  # fmt: skip
        return await self._present(session, now, (mt.noted(session.answered, len(session.plan)),))

    async def late(self, user: UserRef, name: str, round_id: str) -> StepT | None:
        """A multiple-choice press on an overdue mock's question: the mock ends with its
        report, the answer not counted; None for anything else."""
        player = await self.players.player(user, name)
        session = await self.store.active_session(player)
        now = self.clock.now()
        if session is None or session.round_id != round_id or not over(session, now):
            return None
        return await self._present(session, now, ())

    async def closing(self, session: Session, now: datetime, done: Reply) -> Reply:
        """What ends a session: a mock's report, or `done` for a practice session."""
        return await self.report(session, now) if self.is_mock(session) else done

    async def report(self, session: Session, now: datetime) -> Reply:
        """The readiness report of a finished mock (its reviews since the start)."""
        await self._flush()
        reviews = await self.store.reviews_since(session.player_id, session.started_at)
        rows = readiness(session, reviews, self.bank)
        return mt.report(rows, self.bank.titles, timed_out=over(session, now))

    async def time_up(
        self, platforms: Collection[Platform] | None = None, limit: int = 500
    ) -> list[tuple[ChatRef, Reply]]:
        """End the mocks whose deadline passed with nobody answering; their reports, by chat
        (only on `platforms`: others end at their learner's next answer)."""
        now = self.clock.now()
        notes = []
        for session in await self.store.overdue_mocks(now, limit):
            if platforms is not None and session.chat.platform not in platforms:
                continue
            done = replace(
                session, state=SessionState.DONE, awaiting=Awaiting.NOTHING, touched_at=now
            )
            await self.store.save_session(done)
            self.metrics.practice_session("completed")
            notes.append((session.chat, await self.report(done, now)))
        return notes

    async def offers(
        self, platforms: Collection[Platform] | None = None
    ) -> list[tuple[ChatRef, Reply]]:
        """The mock offers due now (see `offer_due`), each claimed before it is returned."""
        now = self.clock.now()
        out = []
        utc = now.date()  # +- 1 day covers any timezone's local date
        for plan in await self.store.plans_to_offer(utc, utc + timedelta(days=OFFER_DAYS + 1)):
            if platforms is not None and plan.chat.platform not in platforms:
                continue
            reminder = await self.store.reminder(plan.player_id)
            at = time.fromisoformat(reminder.time) if reminder else OFFER_AT
            local = now.astimezone(ZoneInfo(plan.timezone))
            today = local_today(now, plan.timezone)
            if not offer_due(plan.target, today, local.time(), at):
                continue
            if await self.store.claim_mock_offer(plan.player_id, plan.target):
                out.append((plan.chat, mt.offer((plan.target - today).days)))
        return out
