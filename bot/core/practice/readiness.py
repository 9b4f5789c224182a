"""A mock interview's readiness report per topic, from the reviews it stored (pure).

Per topic of the mock: questions asked and answered before the deadline, how many were right
(Review.recalled: a right choice, or an open answer the grader passed), the open answers'
grades, and the key points missed most often (those an open answer missed or contradicted, and
a wrongly answered question's first key point).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from bot.core.bank.question_bank import QuestionBank
from bot.core.bank.questions import Question
from bot.core.practice.grading import Grade
from bot.core.practice.ports import Session
from bot.core.practice.srs import Review, Source

READY_SHARE = 0.8  # share right (of the questions asked) from which a topic is "ready"
WEAKEST_POINTS = 3  # key points named in a "review" verdict


@dataclass(frozen=True, slots=True)
class TopicReadiness:
    topic: str
    asked: int  # questions of the topic in the mock
    answered: int  # answered before the deadline
    right: int  # right choices and open answers the grader passed
    open_scores: tuple[float, ...]  # the grader's scores of its open answers
    weakest: tuple[str, ...]  # key points missed, most often first

    @property
    def mean_grade(self) -> float | None:
        return sum(self.open_scores) / len(self.open_scores) if self.open_scores else None

    @property
    def ready(self) -> bool:
        return self.asked > 0 and self.right >= READY_SHARE * self.asked


def readiness(
    session: Session, reviews: Sequence[Review], bank: QuestionBank
) -> list[TopicReadiness]:
    """Per topic of the mock, in the order they first came up: what its reviews since the
    start and up to the deadline say (a question's last review counts)."""
    planned = [(qid, q.topic) for qid in session.plan if (q := bank.get(qid)) is not None]
    wanted = {qid for qid, _ in planned}
    last: dict[str, Review] = {}
    for r in reviews:
        in_time = session.deadline is None or r.at <= session.deadline
        if r.player_id == session.player_id and r.question_id in wanted and in_time:
            last[r.question_id] = r
    missed: dict[str, Counter[str]] = {}
    for topic, point in session.missed:
        missed.setdefault(topic, Counter())[point] += 1
    out = []
    for topic in dict.fromkeys(t for _, t in planned):
        ids = [qid for qid, t in planned if t == topic]
        mine = [last[q] for q in ids if q in last]
        counts = missed.get(topic, Counter())
        for r in mine:  # a wrong choice: its question's first key point was not known
            question = bank.get(r.question_id)
            if r.source is Source.CHOICE and not r.recalled and question and question.key_points:
                counts[question.key_points[0].point] += 1
        weakest = tuple(p for p, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))
        out.append(
            TopicReadiness(
                topic, len(ids), len(mine), sum(r.recalled for r in mine),
                tuple(r.score for r in mine if r.source is Source.TEXT and r.score is not None),
                weakest[:WEAKEST_POINTS],
            )
        )  # fmt: skip
    return out


def missed_points(question: Question, grade: Grade) -> tuple[tuple[str, str], ...]:
    """The key points an open answer missed or stated the opposite of, with their topic."""
    points = [p.point for p in grade.points if not p.hit]
    points += [p for p in grade.negated if p not in points]
    return tuple((question.topic, p) for p in points)
