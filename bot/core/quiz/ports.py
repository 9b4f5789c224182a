"""What the quiz needs from storage: the Store protocol and the values it hands back."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import NamedTuple, Protocol

from bot.core.common.identity import UserRef
from bot.core.quiz.rounds import Round
from bot.core.quiz.scoring import AnswerContext, Award, BoardRow


class Attempt(NamedTuple):
    """One person's first answer to a round, as the service hands it to the store (a named
    tuple, not a dataclass: one is made per answer, and a frozen dataclass costs twice as
    much to build)."""

    round: Round
    player_id: int
    question_id: str
    topic: str
    label: str
    correct: bool
    at: datetime
    scopes: tuple[str, ...]  # leaderboard scopes this answer counts in (community, global)
    week: str  # ISO week of `at`, e.g. 2026-W49
    day: date  # UTC date of `at` (for the daily cap)


@dataclass(frozen=True, slots=True)
class PlayerStats:
    answered: int = 0
    correct: int = 0
    points: int = 0
    daily_streak: int = 0
    best_streak: int = 0
    last_daily_day: date | None = None


@dataclass(frozen=True, slots=True)
class TopicStat:
    topic: str
    answered: int
    correct: int


@dataclass(frozen=True, slots=True)
class Solver:
    player_id: int
    name: str
    seconds: float


@dataclass(frozen=True, slots=True)
class RoundStats:
    answered: int
    correct: int
    fastest: tuple[Solver, ...]  # up to three fastest right answers


class Players(Protocol):
    async def player(self, user: UserRef, display_name: str) -> int:
        """The internal player id for `user`, created on first sight; records the name."""
        ...


class Results(Protocol):
    """What other contexts read of the quiz's results: boards and a round's stats."""

    async def top(self, scope: str, period: str, limit: int) -> list[BoardRow]: ...

    async def round_stats(self, round_id: str) -> RoundStats: ...


class Store(Players, Results, Protocol):
    """The quiz's storage: players, rounds, answers with their points, and boards."""

    async def create_round(self, rnd: Round) -> None:
        """Persist a round; if it has an asker, mark the question seen by them in that place."""
        ...

    async def get_round(self, round_id: str) -> Round | None: ...

    async def close_round(self, round_id: str, at: datetime) -> None:
        """Close a round early (a stopped game): no answer counts from `at` on."""
        ...

    async def retime_round(self, round_id: str, opened_at: datetime, closes_at: datetime) -> None:
        """Move a round's window (a game's question whose post went out late)."""
        ...

    async def hint_round(self, round_id: str, at: datetime) -> None:
        """Record when a game's hint went out: answers from `at` on earn less."""
        ...

    async def last_seen(self, player_id: int, place: str) -> dict[str, datetime]:
        """question id -> when this player last saw it in this place."""
        ...

    def record_answer(
        self, attempt: Attempt, decide: Callable[[AnswerContext], Award]
    ) -> Awaitable[Award]:
        """Record the first answer of a player in a round and its points, atomically.

        `decide` turns the player's context into the award; it must be a pure function of its
        argument, since a store may call it on its writer's thread (SqliteQuizStore does).
        Raises AlreadyAnswered if the player answered this round before; nothing changes then.
        """
        ...

    async def board_entry(
        self, scope: str, period: str, player_id: int
    ) -> tuple[int, BoardRow] | None:
        """(rank, row) of a player on a board, ties sharing a rank; None if not on it."""
        ...

    async def player_stats(self, player_id: int) -> PlayerStats: ...

    async def topic_stats(self, player_id: int) -> list[TopicStat]: ...

    async def link_round(self, platform: str, ref: str, round_id: str) -> None:
        """Remember that a platform object (e.g. a Telegram poll id) belongs to a round."""
        ...

    async def linked_round(self, platform: str, ref: str) -> str | None: ...
