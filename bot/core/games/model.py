"""A game: a timed run of questions in one chat, its settings, and where it stands."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from bot.core.common.identity import ChatRef

COUNT_RANGE = (3, 20)  # questions in a game
SECONDS_RANGE = (10, 120)  # seconds per question
DEFAULT_COUNT = 5
DEFAULT_SECONDS = 30


class GameState(StrEnum):
    RUNNING = "running"
    FINISHED = "finished"
    STOPPED = "stopped"


class Phase(StrEnum):
    ASKING = "asking"  # the question at `position` is open (or being posted)
    REVEALED = "revealed"  # its answer was shown; the next question comes next


@dataclass(frozen=True, slots=True)
class GameSettings:
    count: int = DEFAULT_COUNT
    seconds: int = DEFAULT_SECONDS
    topic: str | None = None  # a topic slug, None for every topic
    difficulty: int | None = None  # 1-3, None for every level
    hints: bool = False


@dataclass(frozen=True, slots=True)
class Game:
    id: str
    chat: ChatRef
    starter_id: int
    starter_name: str
    settings: GameSettings
    question_ids: tuple[str, ...]  # chosen at the start, in play order
    created_at: datetime
    state: GameState = GameState.RUNNING
    position: int = -1  # the question being played, 0-based; -1 before the first
    phase: Phase = Phase.REVEALED
    round_ids: tuple[str, ...] = ()  # one per question opened so far
    message_ref: str | None = None  # the current question's post, once it is out
    deadline: datetime | None = None  # when the current question closes
    hint_sent: bool = False
    ended_at: datetime | None = None
    ended_by: str | None = None  # who stopped it (a display name)

    @property
    def count(self) -> int:
        return len(self.question_ids)

    @property
    def round_id(self) -> str | None:
        return self.round_ids[self.position] if 0 <= self.position < len(self.round_ids) else None

    @property
    def is_last(self) -> bool:
        return self.position >= self.count - 1


@dataclass(frozen=True, slots=True)
class GameAnswer:
    """One answer given in a game, as the store reads it back for the standings."""

    player_id: int
    name: str
    round_id: str
    correct: bool
    at: datetime


@dataclass(frozen=True, slots=True)
class Standing:
    player_id: int
    name: str
    points: int
    right: int
    answered: int
    seconds: float  # total time of the right answers (breaks ties: faster first)
    results: tuple[bool | None, ...] = ()  # per question played: right, wrong, not answered
