"""The quiz's Store in memory (tests, dry runs, `discord sync`).

Held to the same contract tests as the SQLite store (tests/storage/test_contract.py). It has
no lifecycle: nothing to open or close.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, datetime

from bot.core.common.errors import AlreadyAnswered
from bot.core.common.identity import UserRef, clean_name
from bot.core.quiz.ports import Attempt, PlayerStats, RoundStats, Solver, Store, TopicStat
from bot.core.quiz.rounds import Round, RoundKind
from bot.core.quiz.scoring import AnswerContext, Award, BoardRow


@dataclass
class _Answer:
    player_id: int
    question_id: str
    correct: bool
    points: int
    at: datetime
    seconds: float


class MemoryStore:
    def __init__(self) -> None:
        self._identities: dict[tuple[str, str], int] = {}
        self._names: dict[int, str] = {}
        self._stats: dict[int, PlayerStats] = {}
        self._rounds: dict[str, Round] = {}
        self._seen: dict[tuple[int, str], dict[str, datetime]] = defaultdict(dict)
        self._answers: dict[tuple[str, int], _Answer] = {}
        self._scores: dict[tuple[str, str, int], list[int]] = {}  # points, correct, answered
        self._topics: dict[tuple[int, str], list[int]] = {}  # answered, correct
        self._days: dict[tuple[int, date], int] = defaultdict(int)
        self._links: dict[tuple[str, str], str] = {}

    async def player(self, user: UserRef, display_name: str) -> int:
        key = (user.platform.value, user.user_id)
        name = clean_name(display_name) or f"player {user.user_id[-4:]}"
        player_id = self._identities.get(key)
        if player_id is None:
            player_id = self._identities[key] = len(self._names) + 1
            self._stats[player_id] = PlayerStats()
        self._names[player_id] = name
        return player_id

    def name_of(self, player_id: int) -> str:
        return self._names[player_id]

    def answers(self) -> list[tuple[tuple[str, int], _Answer]]:
        """Every answer by (round id, player id) (the memory game store reads these)."""
        return list(self._answers.items())

    async def player_stats(self, player_id: int) -> PlayerStats:
        return self._stats.get(player_id, PlayerStats())

    async def topic_stats(self, player_id: int) -> list[TopicStat]:
        mine = [(t, a, c) for (p, t), (a, c) in self._topics.items() if p == player_id]
        return [TopicStat(t, a, c) for t, a, c in sorted(mine)]

    async def create_round(self, rnd: Round) -> None:
        if rnd.id in self._rounds:
            raise ValueError(f"round {rnd.id} exists")
        self._rounds[rnd.id] = rnd
        if rnd.asked_by is not None:
            self._seen[(rnd.asked_by, rnd.chat.key)][rnd.question_id] = rnd.opened_at

    async def get_round(self, round_id: str) -> Round | None:
        return self._rounds.get(round_id)

    async def retime_round(self, round_id: str, opened_at: datetime, closes_at: datetime) -> None:
        rnd = self._rounds.get(round_id)
        if rnd is not None:
            self._rounds[round_id] = replace(rnd, opened_at=opened_at, closes_at=closes_at)

    async def hint_round(self, round_id: str, at: datetime) -> None:
        rnd = self._rounds.get(round_id)
        if rnd is not None:
            self._rounds[round_id] = replace(rnd, hint_at=at)

    async def close_round(self, round_id: str, at: datetime) -> None:
        rnd = self._rounds.get(round_id)
        if rnd is not None and (rnd.closes_at is None or at < rnd.closes_at):
            self._rounds[round_id] = replace(rnd, closes_at=at)

    async def last_seen(self, player_id: int, place: str) -> dict[str, datetime]:
        return dict(self._seen.get((player_id, place), {}))

    async def link_round(self, platform: str, ref: str, round_id: str) -> None:
        self._links[(platform, ref)] = round_id

    async def linked_round(self, platform: str, ref: str) -> str | None:
        return self._links.get((platform, ref))

    async def round_stats(self, round_id: str) -> RoundStats:
        answers = [a for (rid, _), a in self._answers.items() if rid == round_id]
        right = sorted((a for a in answers if a.correct), key=lambda a: (a.seconds, a.player_id))
        fastest = tuple(Solver(a.player_id, self._names[a.player_id], a.seconds) for a in right[:3])
        return RoundStats(len(answers), len(right), fastest)

    async def record_answer(
        self, attempt: Attempt, decide: Callable[[AnswerContext], Award]
    ) -> Award:
        a, rnd = attempt, attempt.round
        key = (rnd.id, a.player_id)
        if key in self._answers:
            raise AlreadyAnswered()
        stats = self._stats[a.player_id]
        scored = [
            x.at
            for x in self._answers.values()
            if x.player_id == a.player_id and x.question_id == a.question_id and x.points > 0
        ]
        ctx = AnswerContext(
            points_today=self._days.get((a.player_id, a.day), 0),
            last_scored_at=max(scored) if scored else None,
            daily_streak=stats.daily_streak,
            last_daily_day=stats.last_daily_day,
        )
        award = decide(ctx)
        seconds = max(0.0, (a.at - rnd.opened_at).total_seconds())
        self._answers[key] = _Answer(
            a.player_id, a.question_id, award.correct, award.points, a.at, seconds
        )
        for scope in a.scopes:
            for period in ("all", a.week):
                row = self._scores.setdefault((scope, period, a.player_id), [0, 0, 0])
                row[0] += award.points
                row[1] += int(award.correct)
                row[2] += 1
        topic = self._topics.setdefault((a.player_id, a.topic), [0, 0])
        topic[0] += 1
        topic[1] += int(award.correct)
        if rnd.kind in (RoundKind.ASK, RoundKind.GAME) and award.points > 0:
            self._days[(a.player_id, a.day)] += award.points
        streak = award.daily_streak
        self._stats[a.player_id] = replace(
            stats,
            answered=stats.answered + 1,
            correct=stats.correct + int(award.correct),
            points=stats.points + award.points,
            daily_streak=stats.daily_streak if streak is None else streak,
            best_streak=max(stats.best_streak, streak or 0),
            last_daily_day=rnd.day if streak is not None and rnd.day else stats.last_daily_day,
        )
        return award

    def _board(self, scope: str, period: str) -> list[BoardRow]:
        rows = [
            BoardRow(p, self._names[p], pts, c, n)
            for (s, per, p), (pts, c, n) in self._scores.items()
            if s == scope and per == period and pts > 0
        ]
        return sorted(rows, key=lambda r: (-r.points, -r.correct, r.player_id))

    async def top(self, scope: str, period: str, limit: int) -> list[BoardRow]:
        return self._board(scope, period)[:limit]

    async def board_entry(
        self, scope: str, period: str, player_id: int
    ) -> tuple[int, BoardRow] | None:
        board = self._board(scope, period)
        mine = next((r for r in board if r.player_id == player_id), None)
        if mine is None:
            return None
        return sum(r.points > mine.points for r in board) + 1, mine


def _conforms(store: MemoryStore) -> Store:
    return store  # mypy checks that the store satisfies the protocol
