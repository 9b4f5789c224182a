"""/progress counts an open answer as right only when the grader passed it (issue 20): before,
an open answer the learner rated Good counted as right even with no key point hit."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.core.bank.questions import Question
from bot.core.practice.grading import PASS_SCORE, grade
from bot.core.practice.ports import Awaiting
from bot.core.practice.service import PracticeService, Step
from bot.core.practice.srs import Review, Source
from tests.core.practice.test_session import pick
from tests.fakes.people import ADA, DM

POOR = "I am honestly not sure about this one, sorry, maybe it depends on the setup?"


def passing_answer(question: Question) -> str:
    """Every key point in a sentence of its own: what the grader passes."""
    said = ". ".join(f"Here it matters that {k.phrases[0]}" for k in question.key_points)
    return f"{said}. That is my answer in my own words."


async def open_question(practice: PracticeService, step: Step) -> Question:
    step = await pick(practice, step, right=True)  # the multiple-choice step first
    assert step.awaiting is Awaiting.TEXT
    player = await practice.quiz.store.player(ADA, "Ada")
    session = await practice.store.active_session(player)
    assert session is not None
    question = practice.quiz.bank.get(session.question_id)
    assert question is not None
    return question


async def totals(practice: PracticeService) -> tuple[int, int]:
    await practice.flush()
    rows = await practice.store.progress(await practice.quiz.store.player(ADA, "Ada"))
    return sum(r.reviews for r in rows), sum(r.recalled for r in rows)


async def test_an_open_answer_the_grader_failed_is_not_right_even_rated_good(
    practice: PracticeService,
) -> None:
    step = await practice.start(ADA, "Ada", DM)
    question = await open_question(practice, step)
    assert grade(question, POOR).score < PASS_SCORE
    await practice.answer_text(ADA, "Ada", POOR)
    step = await practice.rate(ADA, "Ada", 3)  # the learner says Good anyway
    assert await totals(practice) == (2, 1)  # the right choice only
    text = (await practice.progress(ADA, "Ada")).reply.plain_text()
    assert "2 answers, 50% right" in text

    question = await open_question(practice, step)
    answer = passing_answer(question)
    assert grade(question, answer).score >= PASS_SCORE
    await practice.answer_text(ADA, "Ada", answer)
    await practice.rate(ADA, "Ada", 3)
    assert await totals(practice) == (4, 3)  # passed and rated Good: right


async def test_a_passed_open_answer_rated_again_is_not_right(practice: PracticeService) -> None:
    step = await practice.start(ADA, "Ada", DM)
    question = await open_question(practice, step)
    await practice.answer_text(ADA, "Ada", passing_answer(question))
    await practice.rate(ADA, "Ada", 1)  # the learner knows better: Again
    assert await totals(practice) == (2, 1)


def test_what_counts_as_right() -> None:
    def review(source: Source, rating: int, score: float | None) -> Review:
        return Review(1, "q", "t", rating, source, datetime(2027, 1, 1, tzinfo=UTC), score)

    assert review(Source.CHOICE, 3, None).recalled and not review(Source.CHOICE, 1, None).recalled
    assert review(Source.TEXT, 3, PASS_SCORE).recalled
    assert not review(Source.TEXT, 4, PASS_SCORE - 0.01).recalled
    assert not review(Source.TEXT, 3, None).recalled
    assert not review(Source.TEXT, 1, 1.0).recalled
