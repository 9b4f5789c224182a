"""Who grades an open answer (bot/core/practice/model_grading.py): a model through the port,
cached, limited per person and day, and the keyword grader whenever the model cannot, said in
one line. The port here is a fake in the test; tests/llm runs the real client over HTTP."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest

from bot.core.bank.question_bank import QuestionBank
from bot.core.bank.questions import Question
from bot.core.practice.grading import GradingRules, Suggestion, grade
from bot.core.practice.model_grading import (
    FALLBACK_NOTES,
    Failure,
    Grader,
    Misstatement,
    ModelGradingFailed,
    ModelGradingSettings,
    ModelRequest,
    ModelVerdict,
    PointVerdict,
    limit_note,
)

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
ANSWER = "The built-in len() returns how many items there are; it calls the __len__ method."
ADA, BOB = 1, 2


@dataclass
class FakeModel:
    """The port, answering from a script: a verdict (every point hit by default) or a failure."""

    failure: ModelGradingFailed | None = None
    score: float = 0.8
    requests: list[ModelRequest] = field(default_factory=list)

    async def assess(self, request: ModelRequest) -> ModelVerdict:
        self.requests.append(request)
        if self.failure is not None:
            raise self.failure
        points = tuple(PointVerdict(p, True, request.answer[:12]) for p in request.key_points)
        wrong = (Misstatement("how many items", "It is the count of items."),)
        return ModelVerdict(points, wrong, self.score)


@pytest.fixture
def question(bank: QuestionBank) -> Question:
    found = bank.get("alpha-one")
    assert found is not None
    return found


def grader_with(model: FakeModel, **settings: int) -> Grader:
    return Grader(GradingRules(), model, ModelGradingSettings(**settings))


async def test_the_models_verdict_is_the_grade(question: Question) -> None:
    model = FakeModel(score=0.8)
    graded = await grader_with(model).grade(question, ANSWER, ADA, NOW)
    assert graded.by_model and graded.note is None
    assert graded.grade.score == 0.8 and graded.grade.suggestion is Suggestion.GOOD
    assert graded.grade.hits == 2 and graded.grade.gate is None
    assert graded.grade.misconceptions == ("“how many items”: It is the count of items.",)
    assert model.requests == [ModelRequest.of(question, ANSWER)]


async def test_without_a_model_the_keyword_grader_grades(question: Question) -> None:
    graded = await Grader(GradingRules()).grade(question, ANSWER, ADA, NOW)
    assert graded.grade == grade(question, ANSWER) and not graded.by_model and graded.note is None


async def test_an_answer_the_keyword_grader_gates_is_never_sent(question: Question) -> None:
    model = FakeModel(score=1.0)
    stuffed = "len __len__ len() len function __len__ size count items"
    graded = await grader_with(model).grade(question, stuffed, ADA, NOW)
    assert graded.grade.gate is not None and graded.grade.score == 0.0
    assert model.requests == [] and graded.note is None


@pytest.mark.parametrize("failure", list(Failure))
async def test_any_failure_falls_back_to_keywords_saying_so_in_one_line(
    question: Question, failure: Failure, caplog: pytest.LogCaptureFixture
) -> None:
    model = FakeModel(failure=ModelGradingFailed(failure, "why"))
    graded = await grader_with(model).grade(question, ANSWER, ADA, NOW)
    assert graded.grade == grade(question, ANSWER) and not graded.by_model
    assert graded.note == FALLBACK_NOTES[failure] and "\n" not in graded.note
    assert f"model grader failed ({failure.value}: why); graded by keywords" in caplog.text


async def test_the_same_answer_twice_is_one_call(question: Question) -> None:
    model = FakeModel()
    grader = grader_with(model)
    first = await grader.grade(question, ANSWER, ADA, NOW)
    again = await grader.grade(question, f"  {ANSWER.upper()}  ", BOB, NOW)  # same, normalised
    assert len(model.requests) == 1 and again.grade == first.grade and again.by_model
    await grader.grade(question, ANSWER + " Also for tuples.", ADA, NOW)
    assert len(model.requests) == 2


async def test_the_cache_is_bounded_least_recently_used_first(question: Question) -> None:
    model = FakeModel()
    grader = grader_with(model, cache_size=2, daily_limit=100)
    answers = [f"{ANSWER} Number {n} in a row." for n in range(3)]
    for text in (answers[0], answers[1], answers[0], answers[2]):  # answers[1] is oldest
        await grader.grade(question, text, ADA, NOW)
    assert len(model.requests) == 3
    await grader.grade(question, answers[0], ADA, NOW)  # still cached
    assert len(model.requests) == 3
    await grader.grade(question, answers[1], ADA, NOW)  # evicted: asked again
    assert len(model.requests) == 4


async def test_failures_are_not_cached(question: Question) -> None:
    model = FakeModel(failure=ModelGradingFailed(Failure.TIMEOUT))
    grader = grader_with(model)
    await grader.grade(question, ANSWER, ADA, NOW)
    model.failure = None
    assert (await grader.grade(question, ANSWER, ADA, NOW)).by_model
    assert len(model.requests) == 2


async def test_past_the_daily_limit_keywords_grade_and_say_so_once(question: Question) -> None:
    model = FakeModel()
    grader = grader_with(model, daily_limit=2)
    for n in range(2):
        assert (await grader.grade(question, f"{ANSWER} Take {n}.", ADA, NOW)).by_model
    over = await grader.grade(question, f"{ANSWER} Take 2.", ADA, NOW)
    assert not over.by_model and over.note == limit_note(2) == (
        "Graded by keywords: you used today's 2 model-graded answers."
    )
    later = await grader.grade(question, f"{ANSWER} Take 3.", ADA, NOW)
    assert not later.by_model and later.note is None  # said once
    assert (await grader.grade(question, f"{ANSWER} Take 0.", ADA, NOW)).by_model  # cached
    assert (await grader.grade(question, f"{ANSWER} Bob's.", BOB, NOW)).by_model  # per person
    tomorrow = NOW + timedelta(days=1)
    assert (await grader.grade(question, f"{ANSWER} Take 4.", ADA, tomorrow)).by_model
    assert len(model.requests) == 4


async def test_a_limit_of_zero_never_calls_the_model(question: Question) -> None:
    model = FakeModel()
    graded = await grader_with(model, daily_limit=0).grade(question, ANSWER, ADA, NOW)
    assert model.requests == [] and graded.note == limit_note(0)


async def test_after_a_429_the_model_rests_as_long_as_it_asked(question: Question) -> None:
    model = FakeModel(failure=ModelGradingFailed(Failure.RATE_LIMITED, "HTTP 429", 20.0))
    grader = grader_with(model)
    await grader.grade(question, ANSWER, ADA, NOW)
    model.failure = None
    resting = await grader.grade(question, ANSWER, BOB, NOW + timedelta(seconds=19))
    assert resting.note == FALLBACK_NOTES[Failure.RATE_LIMITED] and len(model.requests) == 1
    assert (await grader.grade(question, ANSWER, BOB, NOW + timedelta(seconds=20))).by_model


async def test_a_429_without_retry_after_rests_30_s_and_never_over_5_min(
    question: Question,
) -> None:
    model = FakeModel(failure=ModelGradingFailed(Failure.RATE_LIMITED))
    grader = grader_with(model)
    await grader.grade(question, ANSWER, ADA, NOW)
    model.failure = None
    assert not (await grader.grade(question, ANSWER, ADA, NOW + timedelta(seconds=29))).by_model
    assert (await grader.grade(question, ANSWER, ADA, NOW + timedelta(seconds=30))).by_model
    model.failure = ModelGradingFailed(Failure.RATE_LIMITED, retry_after=86_400)
    await grader.grade(question, ANSWER + " More.", ADA, NOW)
    model.failure = None
    assert (
        await grader.grade(question, ANSWER + " More.", ADA, NOW + timedelta(minutes=5))
    ).by_model


async def test_a_model_score_outside_0_and_1_never_reaches_the_grade(question: Question) -> None:
    for score, expected in ((float("nan"), 0.0), (7.0, 1.0), (-2.0, 0.0)):
        graded = await grader_with(FakeModel(score=score), cache_size=0).grade(
            question, ANSWER, ADA, NOW
        )
        assert graded.grade.score == expected
