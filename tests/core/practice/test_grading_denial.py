"""The grader's second round of issue 20 (tuned on the development halves of both blind sets):
a clause that denies a key point, verbs that dismiss their subject, answers the gates stopped
although they answer, and the small credit for the model answer's vocabulary. Each test holds
at least one case the grader before this change got wrong."""

from __future__ import annotations

import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.core.bank.questions import AnswerChoice, KeyPoint, Question
from bot.core.practice.grading import Gate, GradingRules, Suggestion, grade, suggest
from bot.core.practice.matching import read
from bot.core.practice.negation import HARD, PLAIN
from tests.core.properties import ANY_TEXT, PROPERTIES

RULES = GradingRules()


def question(
    key_points: tuple[KeyPoint, ...],
    prompt: str = "What happens here?",
    model_answer: str = "The model answer says something else entirely about this code.",
    qid: str = "denial-test",
) -> Question:
    return Question(
        id=qid,
        topic="testing",
        difficulty=2,
        prompt=prompt,
        choices=(AnswerChoice("Right", True), AnswerChoice("Wrong", False, "No.")),
        explanation="Because.",
        model_answer=model_answer,
        key_points=key_points,
        references=("https://example.org/",),
    )


PARTIAL = question(
    (
        KeyPoint("Partial makes properties optional", ("Partial", "optional", "all optional")),
        KeyPoint("Omit removes the id key", ("Omit", "removes id", "without id")),
    ),
    qid="denial-partial",
)


@pytest.mark.parametrize(
    "text",
    [
        "Partial doesn't make the properties optional, so lines 4 and 5 fail to compile.",
        "Line 4 fails: Partial does not make properties optional at all.",
    ],
)
def test_a_clause_denying_a_points_wording_outweighs_its_bare_term(text: str) -> None:
    # before: "Partial" (its subject) hit the point, and the answer passed on a denial of it
    result = grade(PARTIAL, text)
    assert not result.points[0].hit
    assert result.negated == ("Partial makes properties optional",)


@pytest.mark.parametrize(
    "text",
    [
        "Partial makes every property optional, so the empty body passes and line 4 is fine.",
        "Partial makes the properties optional. The body is not validated at runtime though.",
        "The id is not accepted, Partial makes the other properties optional.",
    ],
)
def test_a_point_said_plainly_is_still_hit(text: str) -> None:
    result = grade(PARTIAL, text)
    assert result.points[0].hit and not result.negated


EXIT = question(
    (
        KeyPoint("__exit__ receives the exception details", ("exc_type", "exception details")),
        KeyPoint(
            "A true return value suppresses the exception",
            ("returns true", "suppress", "swallows the exception"),
        ),
    ),
    qid="denial-exit",
)


@pytest.mark.parametrize(
    "text",
    [
        "Returning True from __exit__ does not suppress the exception; it propagates anyway.",
        "An __exit__ that returns True never swallows the exception, so after is not printed.",
    ],
)
def test_a_subject_and_its_negated_predicate_in_one_clause_deny_the_point(text: str) -> None:
    # before: "returns true" (the subject) was a plain hit, outweighing the negated "suppress"
    result = grade(EXIT, text)
    assert not result.points[1].hit
    assert "A true return value suppresses the exception" in result.negated
    assert result.suggestion is Suggestion.AGAIN


@pytest.mark.parametrize(
    "text",
    [
        "Because __exit__ returns True the exception is suppressed, it does not propagate.",
        "It does not propagate: __exit__ returns True, which swallows the exception.",
        "When __exit__ returns true it suppresses the error and the code goes on.",
    ],
)
def test_a_plain_claim_beside_an_unrelated_negation_still_hits(text: str) -> None:
    result = grade(EXIT, text)
    assert result.points[1].hit and not result.negated


@pytest.mark.parametrize(
    ("text", "subject"),
    [
        ("the sub claim isn't relevant here", "claim"),
        ("falling back to a cached rate isn't part of it", "cached"),
        ("a radiogroup role isn't an alternative", "radiogroup"),
        ("the timeout is not important", "timeout"),
    ],
)
def test_verbs_that_dismiss_their_subject_negate_it(text: str, subject: str) -> None:
    # before: only "needed", "matter", "required" ... dismissed their subject
    words = read(text)
    assert words.negated[words.words.index(subject)] == HARD


def test_a_dismissal_stays_in_its_clause() -> None:
    words = read("the trust policy checks the claim, the region isn't relevant")
    assert words.negated[words.words.index("claim")] == PLAIN


LAX = question(
    (KeyPoint("Lax mode coerces numeric strings", ("coerced", "converts the string", "lax")),),
    prompt="In lax mode, what does Order(quantity='3').quantity + 1 print with quantity: int?",
    qid="denial-lax",
)


def test_an_echo_that_adds_a_key_term_is_graded() -> None:
    # before: gated as an echo of the prompt (its only new content words: "4", "coerced")
    result = grade(LAX, "4: Order quantity '3' is coerced to int, quantity + 1 in lax mode.")
    assert result.gate is None and result.points[0].hit
    assert grade(LAX, "In lax mode what does Order quantity 3 plus 1 print").gate is Gate.ECHO


VIEW = question(
    (
        KeyPoint("a missing handler gives 405", ("405", "http_method_not_allowed")),
        KeyPoint("dispatch maps the method to a handler", ("dispatch", "matching handler")),
    ),
    qid="denial-view",
)


def test_a_list_in_brackets_is_an_aside_not_a_keyword_list() -> None:
    # before: the bracketed list made five short segments, gated as a keyword list
    text = "405 Method Not Allowed (Allow: GET, HEAD, OPTIONS) - no post(), so dispatch gives up."
    result = grade(VIEW, text)
    assert result.gate is None and result.score == 1.0


@pytest.mark.parametrize(
    "text",
    [
        "405, http_method_not_allowed, dispatch, matching handler, handler, method",
        "(405, http_method_not_allowed, dispatch, matching handler, handler, method)",
        "dispatch (405, http_method_not_allowed, matching handler, handler, method)",
    ],
)
def test_a_keyword_list_is_still_gated(text: str) -> None:
    assert grade(VIEW, text).gate is Gate.KEYWORDS


VITALS = question(
    (
        KeyPoint("LCP measures loading", ("lcp", "largest contentful paint", "loading")),
        KeyPoint("INP measures responsiveness", ("inp", "interaction to next paint", "input")),
        KeyPoint("CLS measures visual stability", ("cls", "layout shift", "visual stability")),
    ),
    prompt="Which three metrics are the Core Web Vitals?",
    qid="denial-vitals",
)


def test_three_short_terms_are_graded() -> None:
    # before: "lcp inp cls" is 11 characters, under the 15 of the too-short gate
    assert grade(VITALS, "LCP, INP, CLS.").score == 1.0
    assert grade(VITALS, "LCP and INP").gate is None
    assert grade(VITALS, "LCP, CLS").gate is Gate.TOO_SHORT


BLOCKING = question(
    (
        KeyPoint("time.sleep blocks the loop", ("blocks the event loop", "blocking call")),
        KeyPoint("the sleeps run one after another", ("one after another", "sequentially")),
        KeyPoint("use asyncio.sleep", ("asyncio.sleep", "await asyncio.sleep")),
    ),
    prompt="Three coroutines each call time.sleep(1) under asyncio.gather(). How long?",
    model_answer=(
        "About three seconds. time.sleep() holds the only thread of the event loop, so no other "
        "coroutine can run while one sleeps: the waits serialize instead of overlapping. Use "
        "await asyncio.sleep() or move the call to a worker thread with asyncio.to_thread()."
    ),
    qid="denial-blocking",
)


def test_the_model_answers_vocabulary_ranks_an_on_topic_answer_above_an_off_topic_one() -> None:
    # before: both scored 0, tied
    own_words = "The thread is held by each call so the waits serialize, no overlapping at all."
    off_topic = "Use a connection pool and close your cursors when the request is finished."
    on, off = grade(BLOCKING, own_words), grade(BLOCKING, off_topic)
    assert not any(p.hit for p in on.points)
    assert off.score < on.score < RULES.hard_at and on.suggestion is Suggestion.AGAIN


@pytest.mark.parametrize(
    "text",
    [
        "It blocks the event loop, the thread is held, the waits serialize, about three seconds.",
        "It blocks the event loop, one after another, the thread is held and waits serialize.",
        "It blocks the event loop and they run one after another: the thread is held, waits "
        "serialize, three seconds overall.",
    ],
)
def test_vocabulary_never_moves_an_answer_into_the_next_band(text: str) -> None:
    result = grade(BLOCKING, text)
    share = sum(p.hit for p in result.points) / 3
    assert share <= result.score < (RULES.good_at if share < RULES.good_at else 1.01)
    assert result.suggestion is suggest(share, RULES)
    assert suggest(result.score, RULES) is suggest(share, RULES)


def test_an_answer_with_a_negated_point_gets_no_vocabulary_credit() -> None:
    text = "It doesn't block the event loop: the thread is held briefly and the waits serialize."
    result = grade(BLOCKING, text)
    assert result.negated and result.score == 0.0


# Property-based: the clauses the reader marks.
@PROPERTIES
@given(text=ANY_TEXT | st.lists(st.sampled_from(
    ["a", "not", "it", ",", ".", ";", "(", ")", "\n", " - ", "->", "x", "isn't", "relevant"]
), max_size=40).map(" ".join))  # fmt: skip
def test_clauses_are_aligned_ordered_and_end_at_every_sentence_end(text: str) -> None:
    words = read(text)
    assert len(words.clause) == len(words.words)
    assert list(words.clause) == sorted(words.clause)
    pairs = list(zip(words.sentence, words.clause, strict=True))
    for (s1, c1), (s2, c2) in itertools.pairwise(pairs):
        assert s1 == s2 or c1 != c2  # a new sentence is always a new clause


@PROPERTIES
@given(before=ANY_TEXT, after=st.sampled_from(["Partial makes every property optional."]))
def test_a_sentence_that_says_a_point_in_full_is_a_hit_whatever_came_before(
    before: str, after: str
) -> None:
    # a denial elsewhere never outweighs a sentence that says the point's whole wording
    result = grade(PARTIAL, f"{before}.\n{after}")
    if result.gate is None:
        assert result.points[0].hit
