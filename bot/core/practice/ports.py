"""What private practice keeps: sessions, cards, reviews, reminders, and the store protocol.

`PracticeStore` is implemented in `bot/storage/sqlite/practice.py` over the database and in
memory; one contract test suite holds both to the same behaviour.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Protocol

from bot.core.common.identity import ChatRef
from bot.core.practice.grading import Suggestion
from bot.core.practice.srs import CardState, Review


class Awaiting(StrEnum):
    """What the session waits for from the learner."""

    CHOICE = "choice"  # a multiple-choice button (or A-D in the console)
    TEXT = "text"  # an answer in their own words
    RATING = "rating"  # Again / Hard / Good / Easy after an open answer
    NOTHING = "none"


class SessionKind(StrEnum):
    PRACTICE = "practice"
    MOCK = "mock"  # a timed mock interview (bot/core/practice/mock.py): no rating step


class SessionState(StrEnum):
    ACTIVE = "active"
    DONE = "done"
    STOPPED = "stopped"
    EXPIRED = "expired"


@dataclass(frozen=True, slots=True)
class Session:
    id: str
    player_id: int
    chat: ChatRef
    topic: str | None
    plan: tuple[str, ...]  # question ids, in order
    position: int  # index into plan of the current question
    awaiting: Awaiting
    started_at: datetime
    touched_at: datetime  # last activity; the session times out after a quiet period
    state: SessionState = SessionState.ACTIVE
    round_id: str | None = None  # the practice round of the current multiple-choice question
    suggestion: Suggestion | None = None  # the grader's suggestion for the pending rating
    score: float | None = None  # the grader's score of the pending open answer
    answered: int = 0
    recalled: int = 0  # right choices and open answers not rated Again
    kind: SessionKind = SessionKind.PRACTICE
    deadline: datetime | None = None  # a mock's end: answers after it are not counted
    missed: tuple[tuple[str, str], ...] = ()  # a mock's missed key points: (topic, point)

    @property
    def question_id(self) -> str:
        return self.plan[self.position]


@dataclass(frozen=True, slots=True)
class TopicProgress:
    topic: str
    reviews: int  # every multiple-choice answer and rated open answer
    recalled: int  # right answers and ratings other than Again
    cards: int
    learned: int  # cards in the FSRS review phase


@dataclass(frozen=True, slots=True)
class TopicStats:
    """One topic's recent answers (since a given moment) and its cards' lapses (ever)."""

    topic: str
    reviews: int  # answers since then: multiple choice and rated open answers
    recalled: int  # of those, the ones /progress counts as right (Review.recalled)
    lapses: int  # times its cards were forgotten after being learned
    cards: int


@dataclass(frozen=True, slots=True)
class StudyPlan:
    """An interview date to prepare for (`/plan`): its local date and timezone, its topics
    (() = every topic), and the private chat it was set in."""

    player_id: int
    chat: ChatRef
    target: date  # the interview's local date
    timezone: str  # IANA name: the day boundaries of the countdown
    topics: tuple[str, ...]
    created_at: datetime


@dataclass(frozen=True, slots=True)
class PlanDay:
    """Where a plan stands today."""

    target: date
    days_left: int  # days before the interview, today included (0: it is today; < 0: past)
    unseen: int  # questions of the plan's topics without a card
    unlearned: int  # their cards not learned yet (FSRS learning or relearning)
    done_today: int  # questions of the plan's topics reviewed today
    per_day: int  # today's share of what is left (0 once the date has come)

    @property
    def to_study(self) -> int:
        return self.unseen + self.unlearned

    @property
    def left_today(self) -> int:
        return max(0, self.per_day - self.done_today)


@dataclass(frozen=True, slots=True)
class DueSummary:
    due_now: int
    cards: int
    next_due: datetime | None  # earliest due time of the cards not due yet


@dataclass(frozen=True, slots=True)
class ChoiceAnswer:
    """A stored multiple-choice answer, as the card writer reads it: wrong = Again, right =
    Good for the learner's card of that question."""

    seq: int  # its place in the order answers were stored
    player_id: int
    question_id: str
    topic: str
    correct: bool
    at: datetime


@dataclass(frozen=True, slots=True)
class PendingChoices:
    """The oldest answers whose card updates are not written yet (at most a batch of them).

    They follow the watermark `after` and run through `through` (the last one read; it can be
    past the last of `answers` when an answer among them is gone). `latest` is the newest
    answer stored when they were read.
    """

    after: int
    through: int
    latest: int
    answers: tuple[ChoiceAnswer, ...]


@dataclass(frozen=True, slots=True)
class Reminder:
    player_id: int
    chat: ChatRef  # the private chat the reminder is sent to
    time: str  # "HH:MM", local
    timezone: str  # IANA name
    last_sent: date | None = None  # local date of the last reminder sent


class PracticeStore(Protocol):
    # -- cards and reviews ------------------------------------------------------------------
    async def card(self, player_id: int, question_id: str) -> CardState | None: ...

    async def save_review(self, card: CardState, review: Review) -> None:
        """Store the card's new state and the review that produced it, atomically."""
        ...

    async def cards(self, keys: Sequence[tuple[int, str]]) -> dict[tuple[int, str], CardState]:
        """The stored cards among (player id, question id) keys, in one read."""
        ...

    # -- multiple-choice answers' card updates, derived from the stored answers ------------
    async def note_choice(
        self, player_id: int, question_id: str, topic: str, correct: bool, at: datetime
    ) -> None:
        """The quiz has just stored this multiple-choice answer. A store whose answers feed
        practice in the answer's own write (SQLite: a trigger) has it already and does
        nothing; the in-memory store queues it here."""
        ...

    async def pending_choices(self, limit: int) -> PendingChoices:
        """Up to `limit` of the oldest stored answers whose card updates are not written, in
        the order they were stored."""
        ...

    async def apply_choices(
        self, after: int, through: int, items: Sequence[tuple[CardState, Review]]
    ) -> None:
        """Write the cards and reviews that the pending answers after `after` through
        `through` produced (in order: later states win) and move the watermark to `through`,
        all in one transaction; nothing at all if the watermark is no longer `after` (they
        were applied already). Nobody waits for these: a store may write them when it has
        nothing more urgent to do; keep each call small."""
        ...

    async def due_cards(
        self, player_id: int, now: datetime, topic: str | None, limit: int
    ) -> list[CardState]:
        """Cards due at `now` (optionally of one topic), most overdue first."""
        ...

    async def upcoming_cards(
        self, player_id: int, now: datetime, topic: str | None, limit: int
    ) -> list[CardState]:
        """Cards not due yet, soonest first (for sessions when nothing is due or new)."""
        ...

    async def carded(self, player_id: int) -> set[str]:
        """Question ids this player has a card for."""
        ...

    async def due_summary(self, player_id: int, now: datetime) -> DueSummary: ...

    async def hardest(self, player_id: int, limit: int) -> list[CardState]:
        """Cards with the most lapses, then the highest FSRS difficulty."""
        ...

    async def progress(self, player_id: int) -> list[TopicProgress]: ...

    async def topic_stats(self, player_id: int, since: datetime) -> list[TopicStats]:
        """Per topic with a card or a review since `since`: the reviews since then and how
        many were recalled, and the lapses and number of its cards; by topic."""
        ...

    async def player_cards(self, player_id: int) -> list[CardState]:
        """Every card of this player, by question id."""
        ...

    async def reviewed_since(self, player_id: int, since: datetime) -> set[str]:
        """Question ids this player reviewed at or after `since`."""
        ...

    async def reviews_since(self, player_id: int, since: datetime) -> list[Review]:
        """This player's reviews at or after `since`, oldest first (a mock's report)."""
        ...

    # -- sessions ---------------------------------------------------------------------------
    async def save_session(self, session: Session) -> None:
        """Insert or update a session; at most one active session per player."""
        ...

    async def active_session(self, player_id: int) -> Session | None: ...

    async def idle_sessions(self, before: datetime, limit: int) -> list[Session]:
        """Active sessions last touched before `before`, oldest first."""
        ...

    async def overdue_mocks(self, now: datetime, limit: int) -> list[Session]:
        """Active mock interviews whose deadline is at or before `now`, earliest first."""
        ...

    # -- reminders --------------------------------------------------------------------------
    async def set_reminder(self, reminder: Reminder) -> None: ...

    async def delete_reminder(self, player_id: int) -> bool: ...

    async def reminder(self, player_id: int) -> Reminder | None: ...

    async def reminders(self) -> list[Reminder]: ...

    async def claim_reminder(self, player_id: int, day: date) -> bool:
        """Mark today's reminder as sent; False if it was already sent for `day`."""
        ...

    # -- interview plans --------------------------------------------------------------------
    async def set_plan(self, plan: StudyPlan) -> None:
        """Insert or replace the player's one plan."""
        ...

    async def plan(self, player_id: int) -> StudyPlan | None: ...

    async def delete_plan(self, player_id: int) -> bool: ...

    async def plans_to_offer(self, start: date, until: date) -> list[StudyPlan]:
        """Plans dated from `start` through `until` whose mock interview offer was not claimed for
        their date, by player."""
        ...

    async def claim_mock_offer(self, player_id: int, target: date) -> bool:
        """Mark the mock offer of the plan dated `target` as sent; False if it was already,
        or the plan is gone or now has another date."""
        ...
