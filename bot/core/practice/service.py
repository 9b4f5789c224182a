"""PracticeService: private practice sessions, free-text grading and FSRS spaced repetition.

A session is N questions (due cards first, most overdue first, then new ones) that alternate
multiple choice and open questions. Multiple-choice answers go through QuizService (a practice
round: no points, no leaderboard) and, like every multiple-choice answer anywhere, update the
card: the answer listener wakes the card writer (bot/core/practice/cards.py), which derives
the updates from the stored answers. Open answers are graded, then the learner rates their recall;
the rating schedules the card. Free-text answers never touch the leaderboard tables.
"""

from __future__ import annotations

import logging
import random
import secrets
from collections.abc import Collection
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from fsrs import Rating

from bot.core.bank.exporters import ExportFile, FilesExporter
from bot.core.bank.question_bank import QuestionBank
from bot.core.common.clock import Clock, SystemClock
from bot.core.common.errors import EmptyBank, InvalidAnswer, QuizError
from bot.core.common.identity import ChatRef, Platform, UserRef
from bot.core.common.metrics import NO_METRICS, Metrics
from bot.core.common.replies import Reply
from bot.core.common.untrusted import storable, storable_words
from bot.core.practice import texts as pt
from bot.core.practice.cards import CardWriter
from bot.core.practice.coach import Coach
from bot.core.practice.grading import GradingRules
from bot.core.practice.mock import MockInterviews
from bot.core.practice.model_grading import Grader, ModelGrader, ModelGradingSettings
from bot.core.practice.plans import is_weak_request
from bot.core.practice.ports import Awaiting, PracticeStore, Session, SessionState
from bot.core.practice.reminders import PracticeReminders
from bot.core.practice.srs import CardState, Review, Source, Srs, new_card
from bot.core.practice.tokens import (
    CHOICE_RE,
    OWN_WORDS_RE,
    RATING_RE,
    choice_token,
    own_words_token,
    rating_token,
)
from bot.core.quiz import AnswerEvent, Players, QuizService, RoundKind, question_reply

log = logging.getLogger(__name__)
# Seconds a reader of cards (/due, /progress, a session's start) waits for the card updates of
# answers stored before it; under a backlog it reads the cards as they are rather than hang.
CARDS_READ_WAIT = 5.0


@dataclass(frozen=True, slots=True)
class PracticeSettings:
    session_size: int = 5
    timeout: timedelta = timedelta(minutes=30)
    grading: GradingRules = field(default_factory=GradingRules)
    desired_retention: float = 0.9
    export_limit: int = 50
    model_grading: ModelGradingSettings = field(default_factory=ModelGradingSettings)


@dataclass(frozen=True, slots=True)
class Step:
    """What one practice action produced: replies to show, and what the session waits for."""

    replies: tuple[Reply, ...]
    awaiting: Awaiting = Awaiting.NOTHING
    session_id: str | None = None


@dataclass(frozen=True, slots=True)
class Progress:
    reply: Reply
    chart: pt.ChartSpec | None  # None when there is nothing to draw yet


@dataclass(frozen=True, slots=True)
class Export:
    files: tuple[ExportFile, ...]  # the .apkg first, then the same notes as a text file
    reply: Reply


class PracticeService:
    def __init__(
        self,
        quiz: QuizService,
        store: PracticeStore,
        *,
        bank: QuestionBank,
        players: Players,
        clock: Clock | None = None,
        settings: PracticeSettings | None = None,
        exporter: FilesExporter | None = None,
        rng: random.Random | None = None,
        metrics: Metrics = NO_METRICS,
        model_grader: ModelGrader | None = None,
    ) -> None:
        """`quiz` opens and answers the practice rounds of multiple-choice steps; `players`
        (the quiz's store) maps a person to their player id; `model_grader`: grades open
        answers, with the keyword grader as the fallback (bot/core/practice/model_grading.py)."""
        self.quiz = quiz
        self.store = store
        self.bank = bank
        self.players = players
        self.clock = clock or SystemClock()
        self.settings = settings or PracticeSettings()
        self.srs = Srs(self.settings.desired_retention)
        self._exporter = exporter
        self._rng = rng or random.SystemRandom()
        self.metrics = metrics  # sessions started and completed (bot.ops when enabled)
        self.coach = Coach(store, bank=bank, players=players, clock=self.clock, rng=self._rng)
        self.reminders = PracticeReminders(
            store, players=players, clock=self.clock, plan_day=self.coach.today
        )
        self.cards = CardWriter(store, self.srs)
        self.grader = Grader(self.settings.grading, model_grader, self.settings.model_grading)
        self.mock = MockInterviews(  # `/mock` (bot/core/practice/mock.py)
            store, bank=bank, players=players, clock=self.clock, rng=self._rng, metrics=metrics,
            present=self._present, record=self._review, flush=self.flush,
        )  # fmt: skip

    def attach(self) -> None:
        """Let every multiple-choice answer anywhere update the learner's card."""
        if self.on_answer not in self.quiz.answer_listeners:
            self.quiz.answer_listeners.append(self.on_answer)

    @property
    def _timeout_minutes(self) -> int:
        return round(self.settings.timeout.total_seconds() / 60)

    # -- cards --------------------------------------------------------------------------------

    async def on_answer(self, event: AnswerEvent) -> None:
        """A multiple-choice answer was stored: wrong = Again, right = Good for its card.

        Not written inline: the card writer applies stored answers in batches in the
        background, so an answer's reply never waits for its card. Readers of cards call
        `flush()` first.
        """
        await self.cards.noted(event)

    async def flush(self) -> None:
        """Wait until the card update of every multiple-choice answer stored so far is
        written (a failed write is logged and retried later)."""
        await self.cards.flush()

    async def close(self) -> None:
        """Stop the card writer; card updates not written yet stay pending in the store and
        are applied after the next start (nothing is lost)."""
        await self.cards.close()

    async def _review(
        self, player: int, question_id: str, topic: str, rating: Rating, at: datetime,
        score: float | None = None,
    ) -> CardState:  # fmt: skip
        card = await self._card(player, question_id, topic, at)
        updated = self.srs.review(card, rating, at)
        source = Source.CHOICE if score is None else Source.TEXT
        review = Review(player, question_id, topic, int(rating), source, at, score)
        await self.store.save_review(updated, review)
        return updated

    async def _card(self, player: int, question_id: str, topic: str, at: datetime) -> CardState:
        card = await self.store.card(player, question_id)
        return card or new_card(player, question_id, topic, at)

    # -- sessions -----------------------------------------------------------------------------

    async def start(
        self, user: UserRef, name: str, chat: ChatRef, topic: str | None = None
    ) -> Step:
        """`/practice [topic]` in a private chat: a new session (ending any running one);
        `/practice weak`: a drill of the weakest topics (bot/core/practice/coach.py)."""
        await self.cards.flush(within=CARDS_READ_WAIT)  # stored answers' cards first
        if not chat.is_private:
            raise QuizError(pt.DM_ONLY)
        topic = storable(topic) if topic is not None else None
        weak = is_weak_request(topic)
        slug = None if weak else self.bank.resolve_topic(topic)
        player = await self.players.player(user, name)
        now = self.clock.now()
        if weak:  # chosen before the running session ends: a refusal leaves it running
            plan, opening = await self.coach.weak_drill(player, now, self.settings.session_size)
        else:
            plan, due = await self._plan(player, slug, now)
            opening = pt.session_intro(len(plan), due, self.bank.titles.get(slug or ""))
        running = await self.store.active_session(player)
        if running is not None:
            state = SessionState.EXPIRED if self._idle(running, now) else SessionState.STOPPED
            await self.store.save_session(replace(running, state=state, awaiting=Awaiting.NOTHING))
        session = Session(
            id=secrets.token_urlsafe(8), player_id=player, chat=chat, topic=slug, plan=plan,
            position=0, awaiting=Awaiting.NOTHING, started_at=now, touched_at=now,
        )  # fmt: skip
        intro = Reply((opening,), private=True)
        self.metrics.practice_session("started")
        return await self._present(session, now, (intro,))

    async def _plan(
        self, player: int, topic: str | None, now: datetime
    ) -> tuple[tuple[str, ...], int]:
        size = self.settings.session_size
        bank = self.bank
        due = [
            c.question_id
            for c in await self.store.due_cards(player, now, topic, size)
            if c.question_id in bank
        ]
        carded = await self.store.carded(player)
        planned = None if topic else await self.coach.plan_topics(player)  # a plan's topics
        pool = [q for q in bank.candidates(topic, None) if planned is None or q.topic in planned]
        fresh = [q.id for q in pool if q.id not in carded]
        self._rng.shuffle(fresh)
        n_new = min(len(fresh), max(size - len(due), 1))  # mix in a new one even when busy
        plan = due[: size - n_new] + fresh[:n_new]
        if len(plan) < size:
            later = await self.store.upcoming_cards(player, now, topic, size)
            plan += [c.question_id for c in later if c.question_id in bank][: size - len(plan)]
        if not plan:
            raise EmptyBank()
        return tuple(plan), min(len(due), size - n_new)

    async def _present(self, session: Session, now: datetime, before: tuple[Reply, ...]) -> Step:
        """Ask the session's current question (multiple choice on even positions)."""
        if self.mock.over(session, now):  # a mock's time is up: its report
            return await self._finish(session, now, before)
        while session.position < len(session.plan):
            question = self.bank.get(session.question_id)
            if question is not None:
                break
            session = replace(session, position=session.position + 1)  # left the bank
        else:
            return await self._finish(session, now, before)
        total, title = len(session.plan), self.bank.titles.get(question.topic, question.topic)
        if self.mock.asks_choice(session):
            asked = await self.quiz.open_round(
                question, session.chat, RoundKind.PRACTICE, now, now + self.settings.timeout,
                asked_by=session.player_id,
            )  # fmt: skip
            tokens = [choice_token(asked.round.id, b.label) for b in asked.reply.choices]
            reply = pt.choice_question(asked.reply, session.position, total, tokens)
            session = replace(session, awaiting=Awaiting.CHOICE, round_id=asked.round.id)
        else:
            reply = pt.open_question(
                question, title, session.position, total, own_words_token(session.id)
            )
            session = replace(session, awaiting=Awaiting.TEXT, round_id=None)
        session = replace(session, touched_at=now, suggestion=None, score=None)
        await self.store.save_session(session)
        return Step((*before, reply), session.awaiting, session.id)

    async def _finish(self, session: Session, now: datetime, before: tuple[Reply, ...]) -> Step:
        session = replace(
            session, state=SessionState.DONE, awaiting=Awaiting.NOTHING, touched_at=now
        )
        await self.store.save_session(session)
        self.metrics.practice_session("completed")
        done = await self.mock.closing(session, now, pt.done_reply(session))
        return Step((*before, done), Awaiting.NOTHING, session.id)

    def _idle(self, session: Session, now: datetime) -> bool:
        return now - session.touched_at >= self.settings.timeout

    async def _current(self, user: UserRef, name: str, now: datetime) -> Session:
        """The running session, or a QuizError saying there is none (or that it timed out)."""
        player = await self.players.player(user, name)
        session = await self.store.active_session(player)
        if session is None:
            raise QuizError(pt.NO_SESSION)
        if self._idle(session, now) and not self.mock.is_mock(session):  # a mock: over()
            await self.store.save_session(
                replace(session, state=SessionState.EXPIRED, awaiting=Awaiting.NOTHING)
            )
            raise QuizError(pt.timed_out_text(self._timeout_minutes))
        return session

    async def press(self, user: UserRef, name: str, token: str) -> Step:
        """A practice button: a multiple-choice option, a rating, or "answer in my own words"."""
        if not isinstance(token, str) or len(token) > 64:
            raise InvalidAnswer()
        if m := CHOICE_RE.match(token):
            return await self.choose(user, name, m.group(1), m.group(2))
        if m := RATING_RE.match(token):
            return await self.rate(user, name, int(m.group(2)), session_id=m.group(1))
        if m := OWN_WORDS_RE.match(token):
            return await self.own_words(user, name, m.group(1))
        raise InvalidAnswer()

    async def choose(self, user: UserRef, name: str, round_id: str, label: str) -> Step:
        if (late := await self.mock.late(user, name, round_id)) is not None:
            return late  # a mock's time is up: the answer is not counted
        reply = await self.quiz.answer_choice(user, name, round_id, label)  # updates the card
        now = self.clock.now()
        player = await self.players.player(user, name)
        session = await self.store.active_session(player)
        if (
            session is None
            or session.round_id != round_id
            or session.awaiting is not Awaiting.CHOICE
        ):
            return Step((reply,))
        rnd = await self.quiz.get_round(round_id)
        question = self.bank.get(session.question_id)
        right = (
            rnd is not None
            and question is not None
            and rnd.choice_index(label) == question.correct_index
        )
        session = replace(
            session, position=session.position + 1, answered=session.answered + 1,
            recalled=session.recalled + int(right),
        )  # fmt: skip
        return await self._present(session, now, (reply,))  # with its Report button

    async def own_words(self, user: UserRef, name: str, session_id: str) -> Step:
        """The "Answer in my own words" button: ask for the text (adapters show a prompt)."""
        now = self.clock.now()
        session = await self._current(user, name, now)
        if session.id != session_id or session.awaiting is not Awaiting.TEXT:
            raise QuizError(pt.NOT_THIS_STEP)
        return Step((pt.answer_prompt_reply(),), Awaiting.TEXT, session.id)

    async def answer_text(
        self, user: UserRef, name: str, text: str, *, session_id: str | None = None
    ) -> Step:
        """An answer in the learner's own words: grade it and offer the rating buttons."""
        text = storable(text)  # what a model is sent must encode, as what is shown must
        now = self.clock.now()
        session = await self._current(user, name, now)
        if session_id is not None and session_id != session.id:
            raise QuizError(pt.NOT_THIS_STEP)
        if self.mock.over(session, now):
            return await self._finish(session, now, ())
        if session.awaiting is Awaiting.CHOICE:
            raise QuizError(pt.WANT_CHOICE)
        if session.awaiting is Awaiting.RATING:
            raise QuizError(pt.WANT_RATING)
        question = self.bank.get(session.question_id)
        if session.awaiting is not Awaiting.TEXT or question is None:
            raise QuizError(pt.NO_SESSION)
        graded = await self.grader.grade(question, text, session.player_id, now)
        result = graded.grade
        if self.grader.model is not None:  # a model was awaited: the session may have moved
            asked, session = session, await self._current(user, name, now)
            if (session.id, session.position, session.awaiting) != (
                asked.id, asked.position, Awaiting.TEXT,
            ):  # fmt: skip
                raise QuizError(pt.NOT_THIS_STEP)
        if self.mock.is_mock(session):  # no rating step in a mock
            return await self.mock.graded(session, question, result, now)
        card = await self._card(session.player_id, question.id, question.topic, now)
        previews = {int(r): d for r, d in self.srs.preview(card, now).items()}
        tokens = {r: rating_token(session.id, r) for r in pt.RATING_LABELS}
        session = replace(
            session, awaiting=Awaiting.RATING, suggestion=result.suggestion, score=result.score,
            touched_at=now,
        )  # fmt: skip
        await self.store.save_session(session)
        reply = pt.graded_reply(question, result, previews, tokens, graded.note)
        return Step((reply,), Awaiting.RATING, session.id)

    async def rate(
        self, user: UserRef, name: str, rating: int, *, session_id: str | None = None
    ) -> Step:
        """Again (1), Hard (2), Good (3) or Easy (4) after an open answer: schedule the card."""
        await self.cards.flush(within=CARDS_READ_WAIT)  # stored answers' cards first
        now = self.clock.now()
        session = await self._current(user, name, now)
        if (session_id is not None and session_id != session.id) or (
            session.awaiting is not Awaiting.RATING
        ):
            raise QuizError(pt.NOT_THIS_STEP)
        if rating not in pt.RATING_LABELS:
            raise QuizError(pt.RATING_PROMPT)
        question = self.bank.get(session.question_id)
        topic = question.topic if question else "unknown"
        card = await self._review(
            session.player_id, session.question_id, topic, Rating(rating), now,
            session.score if session.score is not None else 0.0,
        )  # fmt: skip
        line = Reply((pt.scheduled_line(rating, card.due - now),), private=True)
        session = replace(
            session, position=session.position + 1, answered=session.answered + 1,
            recalled=session.recalled + int(rating > 1),
        )  # fmt: skip
        return await self._present(session, now, (line,))

    async def resume(self, user: UserRef, name: str) -> Step:
        """Show the running session's current step again (e.g. after the console restarted)."""
        now = self.clock.now()
        session = await self._current(user, name, now)
        question = self.bank.get(session.question_id)
        if question is None:
            raise QuizError(pt.NO_SESSION)
        total, title = len(session.plan), self.bank.titles.get(question.topic, question.topic)
        if session.awaiting is Awaiting.CHOICE and session.round_id is not None:
            rnd = await self.quiz.get_round(session.round_id)
            if rnd is None:
                raise QuizError(pt.NO_SESSION)
            asked = question_reply(question, rnd, title)
            tokens = [choice_token(rnd.id, b.label) for b in asked.choices]
            reply = pt.choice_question(asked, session.position, total, tokens)
        elif session.awaiting is Awaiting.TEXT:
            reply = pt.open_question(
                question, title, session.position, total, own_words_token(session.id)
            )
        else:
            raise QuizError(pt.WANT_RATING)
        return Step((reply,), session.awaiting, session.id)

    async def stop(self, user: UserRef, name: str) -> Reply:
        player = await self.players.player(user, name)
        session = await self.store.active_session(player)
        if session is None:
            raise QuizError(pt.NO_SESSION)
        session = replace(session, state=SessionState.STOPPED, awaiting=Awaiting.NOTHING)
        await self.store.save_session(session)
        return pt.stopped_reply(session)

    async def awaiting(self, user: UserRef, name: str) -> Awaiting:
        """What the running session waits for (NOTHING if none or timed out)."""
        player = await self.players.player(user, name)
        session = await self.store.active_session(player)
        idle = session is not None and self._idle(session, self.clock.now())
        if session is None or (idle and not self.mock.is_mock(session)):  # a mock: its report
            return Awaiting.NOTHING
        return session.awaiting

    async def expire_idle(
        self, platforms: Collection[Platform] | None = None, limit: int = 500
    ) -> list[tuple[ChatRef, Reply]]:
        """End sessions nobody answered for `timeout`; the polite notes to send, by chat.

        Only sessions on `platforms` (default: all), so a platform not served in this run
        keeps its sessions to time out lazily, with the same note, on the next interaction."""
        now = self.clock.now()
        notes = []
        for session in await self.store.idle_sessions(now - self.settings.timeout, limit):
            if platforms is not None and session.chat.platform not in platforms:
                continue
            await self.store.save_session(
                replace(session, state=SessionState.EXPIRED, awaiting=Awaiting.NOTHING)
            )
            notes.append((session.chat, pt.timed_out_reply(self._timeout_minutes)))
        return notes

    # -- due, progress, export ----------------------------------------------------------------

    async def due(self, user: UserRef, name: str) -> Reply:
        await self.cards.flush(within=CARDS_READ_WAIT)  # stored answers' cards first
        player = await self.players.player(user, name)
        now = self.clock.now()
        reply = pt.due_reply(await self.store.due_summary(player, now), now)
        return await self.coach.with_countdown(reply, player, now)

    async def progress(self, user: UserRef, name: str) -> Progress:
        await self.cards.flush(within=CARDS_READ_WAIT)  # stored answers' cards first
        player = await self.players.player(user, name)
        rows = await self.store.progress(player)
        reply = pt.progress_reply(rows, self.bank.titles)
        return Progress(
            await self.coach.with_countdown(reply, player, self.clock.now()),
            pt.progress_chart(rows, self.bank.titles),
        )

    async def export(self, user: UserRef, name: str) -> Export:
        """The learner's hardest questions as Anki files (.apkg, and plain text)."""
        await self.cards.flush(within=CARDS_READ_WAIT)  # stored answers' cards first
        if self._exporter is None:
            raise QuizError(pt.EXPORT_UNAVAILABLE)
        player = await self.players.player(user, name)
        cards = await self.store.hardest(player, self.settings.export_limit)
        questions = [q for c in cards if (q := self.bank.get(c.question_id)) is not None]
        if not questions:
            raise QuizError(pt.NOTHING_TO_EXPORT)
        files = self._exporter(questions, self.bank.titles, pt.EXPORT_STEM)
        return Export(files, pt.export_reply(len(questions)))

    async def plan(self, user: UserRef, name: str, chat: ChatRef, args: list[str]) -> Reply:
        """`/plan YYYY-MM-DD [topics]`, `/plan off`, `/plan` (bot/core/practice/coach.py)."""
        await self.cards.flush(within=CARDS_READ_WAIT)  # stored answers' cards first
        return await self.coach.command(user, name, chat, storable_words(args))

    # -- reminders (bot/core/practice/reminders.py) -------------------------------------------

    async def remind(self, user: UserRef, name: str, chat: ChatRef, args: list[str]) -> Reply:
        """`/remind HH:MM [timezone]`, `/remind off`, or `/remind` for the current setting."""
        return await self.reminders.command(user, name, chat, storable_words(args))

    async def due_reminders(
        self, platforms: Collection[Platform] | None = None
    ) -> list[tuple[ChatRef, Reply]]:
        """Claimed reminders to send now (see PracticeReminders.due)."""
        await self.cards.flush(within=CARDS_READ_WAIT)  # stored answers' cards first
        return await self.reminders.due(platforms)
