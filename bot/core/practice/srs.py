"""Spaced repetition with FSRS (the `fsrs` package): one card per person and question.

Cards are plain frozen values the stores persist column by column; `Srs` converts them to and
from `fsrs.Card` for each review. Fuzzing is off so the intervals shown on the rating buttons
are exactly the ones a rating produces.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import IntEnum, StrEnum

from fsrs import Card, Rating, Scheduler, State

from bot.core.practice.grading import PASS_SCORE


class CardPhase(IntEnum):
    """The FSRS learning state (same numbers as fsrs.State)."""

    LEARNING = 1
    REVIEW = 2  # graduated: the card counts as learned
    RELEARNING = 3


class Source(StrEnum):
    CHOICE = "choice"  # a multiple-choice answer anywhere (wrong = Again, right = Good)
    TEXT = "text"  # an open answer, rated by the learner


RATINGS = (Rating.Again, Rating.Hard, Rating.Good, Rating.Easy)
RATING_NAMES = {
    Rating.Again: "Again",
    Rating.Hard: "Hard",
    Rating.Good: "Good",
    Rating.Easy: "Easy",
}


@dataclass(frozen=True, slots=True)
class CardState:
    player_id: int
    question_id: str
    topic: str
    phase: CardPhase
    step: int | None
    stability: float | None
    difficulty: float | None
    due: datetime
    last_review: datetime | None
    reps: int = 0
    lapses: int = 0  # Again ratings after the card was first reviewed


@dataclass(frozen=True, slots=True)
class Review:
    player_id: int
    question_id: str
    topic: str
    rating: int  # 1 Again .. 4 Easy
    source: Source
    at: datetime
    score: float | None = None  # the grader's score for an open answer

    @property
    def recalled(self) -> bool:
        """Whether /progress counts it as right: a right choice, or an open answer the grader
        passed (PASS_SCORE) that the learner did not rate Again."""
        if self.source is Source.TEXT:
            return self.rating > 1 and self.score is not None and self.score >= PASS_SCORE
        return self.rating > 1


def new_card(player_id: int, question_id: str, topic: str, now: datetime) -> CardState:
    return CardState(player_id, question_id, topic, CardPhase.LEARNING, 0, None, None, now, None)


class Srs:
    """FSRS scheduling of CardState values; pure and deterministic (no fuzzing)."""

    def __init__(self, desired_retention: float = 0.9, maximum_interval_days: int = 3650) -> None:
        self._scheduler = Scheduler(
            desired_retention=desired_retention,
            maximum_interval=maximum_interval_days,
            enable_fuzzing=False,
        )

    def review(self, card: CardState, rating: Rating, at: datetime) -> CardState:
        """The card after a review with `rating` at `at` (timezone-aware UTC)."""
        updated, _ = self._scheduler.review_card(_to_fsrs(card), rating, at)
        # built directly, not with dataclasses.replace (a quarter of this call's time: every
        # multiple-choice answer makes one; issue 17)
        return CardState(
            card.player_id,
            card.question_id,
            card.topic,
            CardPhase(int(updated.state)),
            updated.step,
            updated.stability,
            updated.difficulty,
            updated.due,
            updated.last_review,
            card.reps + 1,
            card.lapses + int(rating is Rating.Again and card.last_review is not None),
        )

    def preview(self, card: CardState, at: datetime) -> dict[Rating, timedelta]:
        """How long until the card is due again after each possible rating."""
        return {rating: self.review(card, rating, at).due - at for rating in RATINGS}

    def retrievability(self, card: CardState, at: datetime) -> float:
        return float(self._scheduler.get_card_retrievability(_to_fsrs(card), at))


def _to_fsrs(card: CardState) -> Card:
    # card_id is passed explicitly: without it fsrs sleeps 1 ms to make a unique id
    return Card(
        card_id=1,
        state=State(int(card.phase)),
        step=card.step,
        stability=card.stability,
        difficulty=card.difficulty,
        due=card.due,
        last_review=card.last_review,
    )
