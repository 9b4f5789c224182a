"""The free-text grader: matching rules, gates, misconceptions and suggestions."""

from __future__ import annotations

from dataclasses import replace

import pytest

from bot.core.bank.questions import AnswerChoice, KeyPoint, Misconception, Question
from bot.core.practice.grading import (
    Gate,
    GradingRules,
    Suggestion,
    find_phrase,
    grade,
    normalise,
)

RULES = GradingRules()

QUESTION = Question(
    id="gil-threads",
    topic="python-core",
    difficulty=2,
    prompt="Why do threads not speed up CPU-bound Python code in CPython?",
    choices=(AnswerChoice("The GIL", True), AnswerChoice("Bad luck", False, "No.")),
    explanation="The GIL lets one thread run bytecode at a time.",
    model_answer=(
        "The global interpreter lock lets only one thread execute Python bytecode at a time. "
        "CPU-bound work therefore gains nothing from threads; use multiprocessing instead."
    ),
    key_points=(
        KeyPoint("the GIL", ("GIL", "global interpreter lock")),
        KeyPoint("one thread at a time", ("one thread at a time",)),
        KeyPoint("use processes", ("multiprocessing", "ProcessPoolExecutor")),
    ),
    references=("https://docs.python.org/3/glossary.html#term-global-interpreter-lock",),
    misconceptions=(
        Misconception(("threads run in parallel",), "CPython threads take turns holding the GIL."),
    ),
)


def test_normalise_folds_case_punctuation_and_apostrophes() -> None:
    assert normalise("Don't use F()! I/O-bound,  `x.y`") == "dont use f i o bound x y"


@pytest.mark.parametrize(
    ("phrase", "answer", "found"),
    [
        ("gil", "the gil is held", True),
        ("gil", "gilded cage", False),  # short terms only as whole words
        ("gil", "a fragile design", False),
        ("n 1", "this is the n 1 query problem", True),  # "N+1" after normalising
        ("n 1", "n 10 queries", False),
        ("global interpreter lock", "the global interpretr lock holds", True),  # a typo
        ("global interpreter lock", "a global lock", False),
        ("use sticky sessions", "any request sticky sessions hide it", False),  # word bounds
        ("await", "it was never awaited so just await it", True),  # finds the later hit
        ("it returns 300", "it returns 0 rows", False),  # numbers must be exact
    ],
)
def test_find_phrase(phrase: str, answer: str, found: bool) -> None:
    assert (find_phrase(phrase, answer, RULES) is not None) is found


def test_threshold_is_configurable() -> None:
    answer = normalise("only one thred at a tim runs")
    assert find_phrase("one thread at a time", answer, RULES) is None
    assert find_phrase("one thread at a time", answer, replace(RULES, threshold=80)) is not None


def test_good_answer_hits_every_point_and_suggests_good() -> None:
    result = grade(
        QUESTION,
        "Because of the GIL only one thread at a time runs Python bytecode, so CPU-bound work "
        "does not get faster; multiprocessing or a ProcessPoolExecutor uses several cores.",
    )
    assert result.gate is None
    assert [p.hit for p in result.points] == [True, True, True]
    assert result.score == 1.0
    assert result.suggestion is Suggestion.GOOD


def test_partial_answer_lists_hits_and_misses() -> None:
    result = grade(QUESTION, "The GIL is the reason, it stops Python code from going faster.")
    assert [(p.point, p.hit) for p in result.points] == [
        ("the GIL", True), ("one thread at a time", False), ("use processes", False),
    ]  # fmt: skip
    assert result.score == pytest.approx(1 / 3, abs=0.01)
    assert result.suggestion is Suggestion.HARD  # one of three points: Hard (tuned, issue 20)


def test_misconception_costs_points_and_gives_feedback() -> None:
    text = "The GIL exists, but threads run in parallel anyway on many cores, so it is fine."
    result = grade(QUESTION, text)
    assert result.misconceptions == ("CPython threads take turns holding the GIL.",)
    assert result.score == pytest.approx(1 / 3 - RULES.misconception_penalty, abs=0.01)


def test_negated_misconception_is_not_held_against_the_learner() -> None:
    text = "With the GIL, threads do not run in parallel: one thread at a time executes bytecode."
    result = grade(QUESTION, text)
    assert result.misconceptions == ()
    assert result.hits == 2


@pytest.mark.parametrize(
    ("text", "gate"),
    [
        ("The GIL.", Gate.TOO_SHORT),
        ("Why do threads not speed up CPU-bound Python code?", Gate.ECHO),
        (QUESTION.model_answer, Gate.COPY),
        ("GIL, one thread at a time, multiprocessing, ProcessPoolExecutor, cores", Gate.KEYWORDS),
        ("GIL bytecode multiprocessing ProcessPoolExecutor cores threads CPU-bound", Gate.KEYWORDS),
        ("- GIL\n- one thread at a time\n- multiprocessing\n- ProcessPoolExecutor", Gate.KEYWORDS),
    ],
)
def test_gates_score_zero_and_say_why(text: str, gate: Gate) -> None:
    result = grade(QUESTION, text)
    assert result.gate is gate
    assert result.score == 0.0
    assert result.suggestion is Suggestion.AGAIN
    assert not any(p.hit for p in result.points)


def test_a_few_commas_in_prose_are_not_a_keyword_list() -> None:
    text = (
        "In CPython, because of the GIL, only one thread at a time runs bytecode, so for CPU "
        "work you reach for multiprocessing instead."
    )
    assert grade(QUESTION, text).gate is None


@pytest.mark.parametrize(
    "text",
    [
        # blind terse answers that were gated as keyword lists before code counted as relating
        "urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)",
        "SynchronousOnlyOperation. await Book.objects.aget(pk=pk).",
        "60x/day - every minute 07:00-07:59, minute defaults to *. Use crontab(minute=0, hour=7).",
        "git switch release/2.4 && git cherry-pick -x <sha>",
    ],
)
def test_terse_code_is_not_a_keyword_list(text: str) -> None:
    assert grade(QUESTION, text).gate is None


@pytest.mark.parametrize(
    "text",
    [
        "threading.Thread multiprocessing.Pool concurrent.futures.ProcessPoolExecutor GIL cores",
        "Thread() Pool() ProcessPoolExecutor() GIL cores bytecode",
    ],
)
def test_a_list_of_code_names_is_still_a_keyword_list(text: str) -> None:
    assert grade(QUESTION, text).gate is Gate.KEYWORDS


def test_very_long_input_is_cut_and_still_graded() -> None:
    text = "Only one thread at a time holds the GIL, so use multiprocessing. " * 500
    result = grade(QUESTION, text)
    assert result.gate is None and result.hits == 3
