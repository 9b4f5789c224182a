"""Practice's PracticeStore in memory (tests, dry runs, `discord sync`).

Held to the same contract tests as the SQLite store (tests/practice/test_practice_store.py).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import replace
from datetime import date, datetime

from bot.core.practice.ports import (
    ChoiceAnswer,
    DueSummary,
    PendingChoices,
    PracticeStore,
    Reminder,
    Session,
    SessionState,
    StudyPlan,
    TopicProgress,
    TopicStats,
)
from bot.core.practice.srs import CardPhase, CardState, Review

__all__ = ["MemoryPracticeStore"]


class MemoryPracticeStore:
    def __init__(self) -> None:
        self._cards: dict[tuple[int, str], CardState] = {}
        self._reviews: list[Review] = []
        self._sessions: dict[str, Session] = {}
        self._reminders: dict[int, Reminder] = {}
        self._plans: dict[int, StudyPlan] = {}
        self._offered: dict[int, date] = {}  # the plan date each mock offer was sent for
        self._choices: deque[ChoiceAnswer] = deque()  # noted, card update not applied yet
        self._latest = 0  # seq of the newest noted answer
        self._applied = 0  # the watermark: seq of the last answer whose card update is applied

    async def card(self, player_id: int, question_id: str) -> CardState | None:
        return self._cards.get((player_id, question_id))

    async def cards(self, keys: Sequence[tuple[int, str]]) -> dict[tuple[int, str], CardState]:
        return {k: self._cards[k] for k in keys if k in self._cards}

    async def save_review(self, card: CardState, review: Review) -> None:
        self._save([(card, review)])

    def _save(self, items: Sequence[tuple[CardState, Review]]) -> None:
        for card, review in items:
            self._cards[(card.player_id, card.question_id)] = card
            self._reviews.append(review)

    async def note_choice(
        self, player_id: int, question_id: str, topic: str, correct: bool, at: datetime
    ) -> None:
        self._latest += 1
        self._choices.append(ChoiceAnswer(self._latest, player_id, question_id, topic, correct, at))

    async def pending_choices(self, limit: int) -> PendingChoices:
        batch = tuple(c for _, c in zip(range(limit), self._choices, strict=False))
        through = batch[-1].seq if batch else self._applied
        return PendingChoices(self._applied, through, self._latest, batch)

    async def apply_choices(
        self, after: int, through: int, items: Sequence[tuple[CardState, Review]]
    ) -> None:
        if self._applied != after:
            return  # applied already
        self._save(items)
        self._applied = through
        while self._choices and self._choices[0].seq <= through:
            self._choices.popleft()

    def _mine(self, player_id: int, topic: str | None) -> list[CardState]:
        return [
            c
            for (p, _), c in self._cards.items()
            if p == player_id and (topic is None or c.topic == topic)
        ]

    async def due_cards(
        self, player_id: int, now: datetime, topic: str | None, limit: int
    ) -> list[CardState]:
        due = [c for c in self._mine(player_id, topic) if c.due <= now]
        return sorted(due, key=lambda c: (c.due, c.question_id))[:limit]

    async def upcoming_cards(
        self, player_id: int, now: datetime, topic: str | None, limit: int
    ) -> list[CardState]:
        later = [c for c in self._mine(player_id, topic) if c.due > now]
        return sorted(later, key=lambda c: (c.due, c.question_id))[:limit]

    async def carded(self, player_id: int) -> set[str]:
        return {c.question_id for c in self._mine(player_id, None)}

    async def due_summary(self, player_id: int, now: datetime) -> DueSummary:
        cards = self._mine(player_id, None)
        later = [c.due for c in cards if c.due > now]
        return DueSummary(sum(c.due <= now for c in cards), len(cards), min(later, default=None))

    async def hardest(self, player_id: int, limit: int) -> list[CardState]:
        cards = self._mine(player_id, None)
        return sorted(cards, key=lambda c: (-c.lapses, -(c.difficulty or 0), c.question_id))[:limit]

    async def progress(self, player_id: int) -> list[TopicProgress]:
        rows: dict[str, list[int]] = {}
        for r in self._reviews:
            if r.player_id == player_id:
                row = rows.setdefault(r.topic, [0, 0, 0, 0])
                row[0] += 1
                row[1] += int(r.recalled)
        for c in self._mine(player_id, None):
            row = rows.setdefault(c.topic, [0, 0, 0, 0])
            row[2] += 1
            row[3] += int(c.phase is CardPhase.REVIEW)
        return [TopicProgress(t, *v) for t, v in sorted(rows.items())]

    async def topic_stats(self, player_id: int, since: datetime) -> list[TopicStats]:
        rows: dict[str, list[int]] = {}
        for r in self._reviews:
            if r.player_id == player_id and r.at >= since:
                row = rows.setdefault(r.topic, [0, 0, 0, 0])
                row[0] += 1
                row[1] += int(r.recalled)
        for c in self._mine(player_id, None):
            row = rows.setdefault(c.topic, [0, 0, 0, 0])
            row[2] += c.lapses
            row[3] += 1
        return [TopicStats(t, *v) for t, v in sorted(rows.items())]

    async def player_cards(self, player_id: int) -> list[CardState]:
        return sorted(self._mine(player_id, None), key=lambda c: c.question_id)

    async def reviewed_since(self, player_id: int, since: datetime) -> set[str]:
        return {r.question_id for r in self._reviews if r.player_id == player_id and r.at >= since}

    async def reviews_since(self, player_id: int, since: datetime) -> list[Review]:
        mine = [r for r in self._reviews if r.player_id == player_id and r.at >= since]
        return sorted(mine, key=lambda r: r.at)  # stable: stored order within a moment

    async def save_session(self, session: Session) -> None:
        if session.state is SessionState.ACTIVE:
            other = await self.active_session(session.player_id)
            if other is not None and other.id != session.id:
                raise ValueError(f"player {session.player_id} already has an active session")
        self._sessions[session.id] = session

    async def active_session(self, player_id: int) -> Session | None:
        return next(
            (
                s
                for s in self._sessions.values()
                if s.player_id == player_id and s.state is SessionState.ACTIVE
            ),
            None,
        )

    async def idle_sessions(self, before: datetime, limit: int) -> list[Session]:
        idle = [
            s
            for s in self._sessions.values()
            if s.state is SessionState.ACTIVE and s.touched_at < before
        ]
        return sorted(idle, key=lambda s: s.touched_at)[:limit]

    async def overdue_mocks(self, now: datetime, limit: int) -> list[Session]:
        overdue = [
            s
            for s in self._sessions.values()
            if s.state is SessionState.ACTIVE and s.deadline is not None and s.deadline <= now
        ]
        return sorted(overdue, key=lambda s: s.deadline or now)[:limit]

    async def set_reminder(self, reminder: Reminder) -> None:
        self._reminders[reminder.player_id] = reminder

    async def delete_reminder(self, player_id: int) -> bool:
        return self._reminders.pop(player_id, None) is not None

    async def reminder(self, player_id: int) -> Reminder | None:
        return self._reminders.get(player_id)

    async def reminders(self) -> list[Reminder]:
        return [self._reminders[p] for p in sorted(self._reminders)]

    async def claim_reminder(self, player_id: int, day: date) -> bool:
        current = self._reminders.get(player_id)
        if current is None or (current.last_sent is not None and current.last_sent >= day):
            return False
        self._reminders[player_id] = replace(current, last_sent=day)
        return True

    async def set_plan(self, plan: StudyPlan) -> None:
        self._plans[plan.player_id] = plan
        self._offered.pop(plan.player_id, None)  # a replaced plan is offered afresh

    async def plan(self, player_id: int) -> StudyPlan | None:
        return self._plans.get(player_id)

    async def delete_plan(self, player_id: int) -> bool:
        self._offered.pop(player_id, None)
        return self._plans.pop(player_id, None) is not None

    async def plans_to_offer(self, start: date, until: date) -> list[StudyPlan]:
        return [
            plan
            for p, plan in sorted(self._plans.items())
            if start <= plan.target <= until and self._offered.get(p) != plan.target
        ]

    async def claim_mock_offer(self, player_id: int, target: date) -> bool:
        plan = self._plans.get(player_id)
        if plan is None or plan.target != target or self._offered.get(player_id) == target:
            return False
        self._offered[player_id] = target
        return True


def _conforms(store: MemoryPracticeStore) -> PracticeStore:
    return store  # mypy checks that the store satisfies the protocol
