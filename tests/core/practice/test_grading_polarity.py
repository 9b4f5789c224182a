"""The grader's reading of an answer (issue 20): negation and its scope, word forms, the right
choice as a point, wrong choices as misconceptions, and how the feedback shows them. Each
test holds at least one case the keyword grader before issue 20 got wrong."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.core.bank.questions import AnswerChoice, KeyPoint, Misconception, Question
from bot.core.practice import texts as pt
from bot.core.practice.grading import (
    Gate,
    GradingRules,
    Suggestion,
    find_phrase,
    grade,
    normalise,
)
from bot.core.practice.matching import read

RULES = GradingRules()
SLEEP = Question(
    id="sleep-blocks",
    topic="asyncio",
    difficulty=2,
    prompt="Three coroutines each call time.sleep(1) under asyncio.gather(). About how long?",
    choices=(
        AnswerChoice("About 3 seconds", True),
        AnswerChoice(
            "About 1 second, because gather runs the sleeps concurrently",
            False,
            "time.sleep never yields, so the sleeps run one after another on the loop thread.",
        ),
        AnswerChoice(
            "It raises a RuntimeError about blocking calls",
            False,
            "Nothing checks for blocking calls unless debug mode logs slow callbacks.",
        ),
    ),
    explanation="time.sleep blocks the loop's only thread.",
    model_answer=(
        "Calling time.sleep() blocks the event loop, so the sleeps run one after another and "
        "the total is about 3 seconds. Use await asyncio.sleep() or asyncio.to_thread() to let "
        "them overlap."
    ),
    key_points=(
        KeyPoint("time.sleep blocks the loop", ("blocking the loop", "blocks the event loop")),
        KeyPoint("the sleeps run one after another", ("one after another", "about 3 seconds")),
        KeyPoint("use asyncio.sleep or a thread", ("asyncio.sleep", "asyncio.to_thread")),
    ),
    references=("https://docs.python.org/3/library/asyncio-dev.html",),
    misconceptions=(
        Misconception(("threads run in parallel",), "The loop runs one callback at a time."),
    ),
)

LAZY = Question(
    id="lazy-images",
    topic="web",
    difficulty=1,
    prompt='What does loading="lazy" do on an image?',
    choices=(
        AnswerChoice("Defers the fetch until the image nears the viewport", True),
        AnswerChoice("Fetches a low-resolution preview first", False, "It only delays the fetch."),
        AnswerChoice("Downloads it after all scripts ran", False, "Scripts play no part."),
    ),
    explanation="The browser fetches it when it gets close to the viewport.",
    model_answer=(
        "The image is fetched only when it gets near the viewport. Do not use it above the "
        "fold: the LCP image should load eagerly."
    ),
    key_points=(
        KeyPoint("fetched near the viewport", ("near the viewport", "close to the viewport")),
        KeyPoint("Not for the LCP image", ("lcp", "above the fold")),
    ),
    references=("https://developer.mozilla.org/",),
)


def hits(question: Question, text: str) -> list[bool]:
    return [p.hit for p in grade(question, text).points]


@pytest.mark.parametrize(
    "text",
    [
        "The call does not block the event loop, so the three sleeps end together quickly.",
        "time.sleep doesn't block the event loop here, it is an async function after all.",
        "time.sleep doesnt block the event loop here, it is an async function after all.",
        "A sleep never blocks the event loop in a coroutine, so all three finish together.",
        "In a coroutine time.sleep isn't blocking the loop, since async def makes it cooperative.",
        "Since Python 3.7 time.sleep no longer blocks the event loop inside a coroutine at all.",
        "It cannot block the event loop, because gather wraps each call in its own task for us.",
        "Neither the first nor the second sleep blocks the event loop, they all overlap nicely.",
    ],
)
def test_a_negated_key_phrase_is_no_hit_and_is_reported_as_negated(text: str) -> None:
    result = grade(SLEEP, text)
    assert result.points[0].hit is False
    assert result.negated == ("time.sleep blocks the loop",)
    assert result.score < 0.34


def test_negation_is_scoped_to_its_clause() -> None:
    # the comma, "but" and a new verb end the scope: the key phrase after them is said plainly
    assert hits(SLEEP, "It is not async at all, and time.sleep blocks the event loop.")[0]
    assert hits(SLEEP, "Nothing awaits, but the sleep blocks the event loop all the same.")[0]
    assert hits(SLEEP, "What is not awaited is run one after another by the loop.")[1]
    # "without" governs only the next few words
    assert hits(SLEEP, "Without asyncio.sleep there is no overlap; it blocks the event loop.")[0]
    # ... while inside the clause the negation holds, before or within the phrase
    assert not hits(SLEEP, "In this code the sleep does not really block the event loop.")[0]
    assert grade(SLEEP, "The three coroutines do not run one after another here.").negated


def test_a_dismissed_subject_is_negated_too() -> None:
    result = grade(SLEEP, "Switching to asyncio.sleep wouldn't change anything about the time.")
    assert result.points[2].hit is False
    assert result.negated == ("use asyncio.sleep or a thread",)


def test_not_only_is_no_negation() -> None:
    assert hits(SLEEP, "It does not only take long: time.sleep blocks the event loop too.")[0]
    assert grade(SLEEP, "The sleep not only blocks the event loop, it holds every task.").hits


def test_a_point_that_is_itself_negative_is_hit_by_a_negated_mention() -> None:
    result = grade(LAZY, "Don't put it on the LCP image; it only waits until near the viewport.")
    assert [p.hit for p in result.points] == [True, True]
    assert result.negated == ()


def test_word_forms_match_through_stems() -> None:
    # "blocking the loop" finds "blocks the event loop", and the other way round
    assert hits(SLEEP, "The time.sleep call blocks the event loop for a full second each.")[0]
    assert hits(SLEEP, "It is blocking the whole event loop for a second every time.")[0]
    assert hits(SLEEP, "The sleeps ran one after the other, about three seconds in total.")[1]
    assert find_phrase("blocking the loop", normalise("it blocks the event loop"), RULES) == 3


def test_stems_do_not_join_unrelated_words() -> None:
    assert not hits(SLEEP, "The loop is in a blocking state? No: the event queue is fine here.")[0]
    assert not hits(SLEEP, "Each block runs its callbacks, and later the event loop waits.")[0]


def test_a_wrong_choice_stated_is_a_misconception_named_with_its_reason() -> None:
    text = "It takes about 1 second, because gather runs the three sleeps concurrently."
    result = grade(SLEEP, text)
    assert len(result.misconceptions) == 1
    feedback = result.misconceptions[0]
    assert "About 1 second, because gather runs the sleeps concurrently" in feedback
    assert "time.sleep never yields" in feedback
    assert result.suggestion is Suggestion.AGAIN


def test_a_wrong_choice_negated_or_explained_is_not_held_against_the_learner() -> None:
    negated = "It is not 1 second: gather does not run the sleeps concurrently, they block."
    assert grade(SLEEP, negated).misconceptions == ()
    explained = (
        "About 3 seconds: time.sleep blocks the event loop. Gather runs the sleeps concurrently "
        "only if they yield, and time.sleep never yields, so they run one after another."
    )
    result = grade(SLEEP, explained)
    assert result.misconceptions == ()
    assert result.score == pytest.approx(2 / 3, abs=0.01)


def test_the_written_misconception_needs_its_words_in_order_and_unnegated() -> None:
    held = grade(SLEEP, "The threads run in parallel, so it is quick, about one second in all.")
    assert held.misconceptions == ("The loop runs one callback at a time.",)
    not_held = grade(SLEEP, "The threads do not run in parallel here: one after another.")
    assert not_held.misconceptions == ()


def test_a_short_answer_that_states_the_right_choice_is_graded() -> None:
    result = grade(SLEEP, "About 3 seconds in total.")
    assert result.gate is None
    assert result.suggestion in {Suggestion.HARD, Suggestion.GOOD}
    assert grade(SLEEP, "Three seconds.").gate is Gate.TOO_SHORT  # two words stay too short


def test_naming_the_same_identifiers_as_the_model_answer_is_no_copy() -> None:
    text = "time.sleep() blocks the event loop, so use asyncio.to_thread() or asyncio.sleep()."
    result = grade(SLEEP, text)
    assert result.gate is None
    assert result.points[2].hit
    assert grade(SLEEP, SLEEP.model_answer).gate is Gate.COPY  # pasted prose still is


def test_the_feedback_shows_a_negated_point_apart() -> None:
    result = grade(SLEEP, "time.sleep does not block the event loop; gather overlaps them.")
    previews = {r: timedelta(minutes=r) for r in pt.RATING_LABELS}
    tokens = {r: f"p1.r.abcdefgh.{r}" for r in pt.RATING_LABELS}
    text = pt.graded_reply(SLEEP, result, previews, tokens).plain_text()
    assert "⛔ time.sleep blocks the loop (you said the opposite)" in text
    assert "❌ the sleeps run one after another" in text


def test_read_marks_the_negated_words() -> None:
    words = read("It isn't fast, but it doesn't block: without await the loop waits.")
    negated = [w for w, n in zip(words.words, words.negated, strict=True) if n]
    assert negated == ["fast", "block", "await", "the", "loop"]
    assert words.sentences == 1
