"""Mock interviews (`/mock`): the pure parts (the questions, their kinds, the deadline, the
readiness report) and whole mocks through the real PracticeService over both stores, with a
fixed clock."""

from __future__ import annotations

import random
from collections import Counter
from datetime import date, timedelta
from itertools import pairwise

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.core.common.errors import QuizError
from bot.core.common.identity import ChatRef, Platform
from bot.core.practice import mock
from bot.core.practice.ports import Awaiting, SessionKind, SessionState, StudyPlan
from bot.core.practice.service import PracticeService, Step
from bot.core.practice.srs import Source
from tests.core.practice.test_session import pick as press_choice
from tests.fakes.clock import FixedClock
from tests.fakes.people import ADA, DM

GROUP = ChatRef(Platform.TELEGRAM, "-100", "-100")
UNSURE = "I am not sure about this one, I have never looked into it before."


# -- the pure part ----------------------------------------------------------------------------


def test_pick_takes_turns_between_topics_and_stops_at_ten() -> None:
    by_topic = {t: [f"{t}-{i}" for i in range(6)] for t in ("a", "b", "c")}
    chosen = mock.pick(by_topic, random.Random(1))
    assert len(chosen) == mock.QUESTIONS == 10 and len(set(chosen)) == 10
    assert [q[0] for q in chosen] == list("abcabcabca")
    small = mock.pick({"a": ["a-1"], "b": ["b-1", "b-2", "b-3"]}, random.Random(1))
    assert sorted(small) == ["a-1", "b-1", "b-2", "b-3"]  # fewer when the bank has fewer


@given(
    counts=st.lists(st.integers(min_value=1, max_value=12), min_size=1, max_size=14),
    seed=st.integers(min_value=0, max_value=2**16),
)
def test_every_mock_mixes_both_kinds(counts: list[int], seed: int) -> None:
    """At least 3 of each kind in any mock of 8 or more questions; within a topic the kinds
    alternate, so every topic with 2 or more questions gets both."""
    by_topic = {f"t{i}": [f"t{i}-{n}" for n in range(c)] for i, c in enumerate(counts)}
    chosen = mock.pick(by_topic, random.Random(seed))
    topics = [q.split("-")[0] for q in chosen]
    kinds = mock.modes(topics)
    if len(chosen) >= 8:
        assert 3 <= sum(kinds) <= len(kinds) - 3
    for topic in set(topics):
        mine = [k for t, k in zip(topics, kinds, strict=True) if t == topic]
        assert all(a != b for a, b in pairwise(mine))


def test_two_topics_taking_turns_each_get_both_kinds() -> None:
    """A plain alternation would give one topic only multiple choice, the other only open."""
    kinds = mock.modes(list("abababababab"[:10]))
    assert Counter(k for t, k in zip("ababababab", kinds, strict=True) if t == "a") == {
        True: 3, False: 2,
    }  # fmt: skip
    assert sum(kinds) == 5


def test_the_offer_is_due_two_days_before_from_the_reminder_time() -> None:
    at, day = mock.OFFER_AT, date(2027, 1, 15)
    noon, early = at.replace(hour=12), at.replace(hour=8)
    assert mock.offer_due(day, date(2027, 1, 13), noon, at)
    assert not mock.offer_due(day, date(2027, 1, 13), early, at)  # before its time
    assert mock.offer_due(day, date(2027, 1, 14), noon, at)  # a plan set the day before
    assert not mock.offer_due(day, date(2027, 1, 12), noon, at)  # three days before
    assert not mock.offer_due(day, day, noon, at)  # the day itself


# -- whole mocks ------------------------------------------------------------------------------


async def answer(practice: PracticeService, step: Step, *, right: bool) -> Step:
    if step.awaiting is Awaiting.CHOICE:
        return await press_choice(practice, step, right=right)
    assert step.awaiting is Awaiting.TEXT
    return await practice.answer_text(ADA, "Ada", UNSURE)


async def test_a_mock_of_the_plans_topic_ends_with_its_readiness_report(
    practice: PracticeService, clock: FixedClock
) -> None:
    pid = await practice.players.player(ADA, "Ada")
    await practice.store.set_plan(
        StudyPlan(pid, DM, date(2027, 1, 15), "UTC", ("alpha",), clock.now())
    )
    step = await practice.mock.start(ADA, "Ada", DM)
    intro, first = step.replies
    assert intro.plain_text().startswith(
        "Mock interview: 3 questions on Alpha topic, multiple choice and answers in your own "
        "words. You have 30 minutes (until 12:30 UTC)"
    )
    assert first.plain_text().startswith("Practice 1/3 · multiple choice")
    step = await answer(practice, step, right=True)  # MC right
    assert step.awaiting is Awaiting.TEXT  # then an open one
    clock.advance(minutes=5)
    step = await answer(practice, step, right=False)  # graded, no rating step
    noted, _ = step.replies
    assert noted.plain_text().startswith("Answer noted (2 of 3)")
    assert step.awaiting is Awaiting.CHOICE
    step = await answer(practice, step, right=False)
    report = step.replies[-1].plain_text()
    assert step.awaiting is Awaiting.NOTHING
    assert "Time is up" not in report
    assert "Mock interview report" in report
    assert "Alpha topic: 1/3 right; open answers 0% on average. Verdict: review Alpha topic: " in (
        report
    )
    assert report.endswith(
        "Ready in 0 of 1 topic. /practice weak drills your weakest topics; /mock starts another "
        "mock interview."
    )
    session_reviews = await practice.store.reviews_since(pid, clock.now() - timedelta(hours=1))
    assert Counter(r.source for r in session_reviews) == {Source.CHOICE: 2, Source.TEXT: 1}
    assert await practice.awaiting(ADA, "Ada") is Awaiting.NOTHING


async def test_an_answer_after_the_deadline_is_not_counted_and_shows_the_report(
    practice: PracticeService, clock: FixedClock
) -> None:
    step = await practice.mock.start(ADA, "Ada", DM)  # no plan: every topic
    assert step.replies[0].plain_text().startswith("Mock interview: 5 questions on ")
    step = await answer(practice, step, right=True)
    clock.advance(minutes=30)  # the deadline itself: too late
    late = await answer(practice, step, right=True)
    (report,) = late.replies
    text = report.plain_text()
    assert text.startswith("⏱ Time is up: answers from now on are not counted.")
    assert "1/" in text and "unanswered" in text
    pid = await practice.players.player(ADA, "Ada")
    reviews = await practice.store.reviews_since(pid, clock.now() - timedelta(hours=1))
    assert len(reviews) == 1  # the late answer left no review (and no card update)
    assert await practice.store.active_session(pid) is None


async def test_a_mock_nobody_finishes_ends_from_the_job_with_its_report(
    practice: PracticeService, clock: FixedClock
) -> None:
    step = await practice.mock.start(ADA, "Ada", DM)
    await answer(practice, step, right=True)
    clock.advance(minutes=29)
    assert await practice.mock.time_up() == []
    clock.advance(minutes=1)
    ((chat, report),) = await practice.mock.time_up()
    assert chat == DM and report.plain_text().startswith("⏱ Time is up")
    assert await practice.mock.time_up() == []
    pid = await practice.players.player(ADA, "Ada")
    assert await practice.store.active_session(pid) is None


async def test_mock_is_private_and_replaces_a_running_session(
    practice: PracticeService, clock: FixedClock
) -> None:
    with pytest.raises(QuizError) as refused:
        await practice.mock.start(ADA, "Ada", GROUP)
    assert str(refused.value) == "Mock interviews are private: send me /mock in a direct message."
    running = await practice.start(ADA, "Ada", DM)
    step = await practice.mock.start(ADA, "Ada", DM)
    pid = await practice.players.player(ADA, "Ada")
    session = await practice.store.active_session(pid)
    assert session is not None and session.id == step.session_id != running.session_id
    assert session.kind is SessionKind.MOCK
    assert session.deadline == clock.now() + timedelta(minutes=30)
    assert session.state is SessionState.ACTIVE


async def test_a_choice_pressed_after_the_deadline_is_not_counted(
    practice: PracticeService, clock: FixedClock
) -> None:
    pid = await practice.players.player(ADA, "Ada")
    await practice.store.set_plan(
        StudyPlan(pid, DM, date(2027, 1, 15), "UTC", ("alpha",), clock.now())
    )
    step = await practice.mock.start(ADA, "Ada", DM)
    step = await answer(practice, step, right=True)
    step = await answer(practice, step, right=False)  # the open one: 2 of 3 answered
    assert step.awaiting is Awaiting.CHOICE
    clock.advance(minutes=31)
    late = await answer(practice, step, right=True)
    (report,) = late.replies  # not the quiz's "Right!": the answer never reached it
    assert report.plain_text().startswith("⏱ Time is up")
    assert "Alpha topic: 1/3 right (1 unanswered)" in report.plain_text()
    reviews = await practice.store.reviews_since(pid, clock.now() - timedelta(hours=1))
    assert len(reviews) == 2


async def test_each_topic_of_a_mock_gets_both_kinds_of_question(
    practice: PracticeService,
) -> None:
    """Every topic, two topics taking turns: alpha and beta each get a multiple-choice and an
    open question (every other question overall would give beta open questions only)."""
    step = await practice.mock.start(ADA, "Ada", DM)
    pid = await practice.players.player(ADA, "Ada")
    session = await practice.store.active_session(pid)
    assert session is not None and len(session.plan) == 5
    kinds: dict[str, set[Awaiting]] = {}
    for qid in session.plan:
        kinds.setdefault(qid.split("-")[0], set()).add(step.awaiting)
        step = await answer(practice, step, right=True)
    assert kinds == {
        "alpha": {Awaiting.CHOICE, Awaiting.TEXT},
        "beta": {Awaiting.CHOICE, Awaiting.TEXT},
    }
    assert "Mock interview report" in step.replies[-1].plain_text()
