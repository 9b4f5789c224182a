"""The pure part of weak-topic drills and interview plans (bot/core/practice/plans.py):
weak-topic selection, the /plan argument parser, and the day arithmetic (local dates,
timezones and DST, zero days left, past dates)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.core.common.errors import QuizError
from bot.core.practice import plan_texts as tx
from bot.core.practice.plans import (
    PlanAction,
    add_years,
    interleave,
    local_today,
    parse_date,
    parse_plan_args,
    pick_weak,
    plan_day,
    weak_order,
)
from bot.core.practice.ports import TopicStats
from bot.core.practice.srs import CardPhase, CardState, new_card

TODAY = date(2026, 12, 1)
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
TOPICS = {"asyncio": "asyncio", "django-orm": "django-orm", "flask": "flask"}


def resolve(word: str) -> str | None:
    found = [t for t in TOPICS if t.startswith(word.casefold())]
    if len(found) != 1:
        raise QuizError(f"I don't know the topic '{word}'.")
    return found[0]


# -- weak topics ------------------------------------------------------------------------------


def test_weak_topics_are_the_lowest_share_right_then_the_most_lapses() -> None:
    stats = [
        TopicStats("asyncio", reviews=10, recalled=4, lapses=3, cards=6),
        TopicStats("flask", reviews=10, recalled=4, lapses=5, cards=6),  # same share, more lapses
        TopicStats("django-orm", reviews=8, recalled=7, lapses=0, cards=5),
        TopicStats("perfect", reviews=9, recalled=9, lapses=0, cards=4),  # nothing weak
        TopicStats("lapsed", reviews=6, recalled=6, lapses=2, cards=3),  # all right, but lapses
        TopicStats("thin", reviews=4, recalled=0, lapses=9, cards=4),  # too few to judge
    ]
    assert [s.topic for s in pick_weak(stats)] == ["flask", "asyncio", "django-orm"]
    assert [s.topic for s in pick_weak(stats, limit=5)] == [
        "flask", "asyncio", "django-orm", "lapsed",
    ]  # fmt: skip
    assert pick_weak([TopicStats("thin", 4, 0, 9, 4)]) == []


def test_the_reason_says_how_many_right_and_lapses() -> None:
    reason = tx.weak_reason(TopicStats("asyncio", 10, 4, 3, 6), "asyncio")
    assert reason == "asyncio: 4 of 10 right in the last 30 days, 3 lapses"
    assert tx.weak_reason(TopicStats("x", 5, 4, 1, 2), "X").endswith(", 1 lapse")
    assert tx.weak_reason(TopicStats("x", 5, 4, 0, 2), "X").endswith(", no lapses")


def test_too_little_history_says_what_is_needed_and_what_there_is() -> None:
    text = tx.too_little_history([TopicStats("asyncio", 2, 1, 0, 2)], 5, {"asyncio": "Asyncio"})
    assert "at least 5 answers in a topic within the last 30 days" in text
    assert "So far: Asyncio 2." in text
    assert "no answers in that time" in tx.too_little_history([], 5, {})


def test_a_weak_drill_takes_due_then_unlearned_then_lapsed_then_unseen() -> None:
    c = new_card(1, "x", "asyncio", NOW)
    review = CardPhase.REVIEW
    due = replace(c, question_id="due", due=NOW - timedelta(hours=1), phase=review)
    learning = replace(c, question_id="learning", due=NOW + timedelta(1))
    lapsed = replace(c, question_id="lapsed", lapses=4, phase=review, due=NOW + timedelta(9))
    known = replace(c, question_id="known", phase=review, due=NOW + timedelta(30))
    order = weak_order([known, lapsed, learning, due], ["new1", "new2"], NOW, 10)
    assert order == ["due", "learning", "lapsed", "new1", "new2"]
    assert weak_order([known, lapsed, learning, due], ["new1"], NOW, 2) == ["due", "learning"]
    assert interleave([["a1", "a2", "a3"], ["b1"], ["c1", "c2"]], 5) == [
        "a1", "b1", "c1", "a2", "c2",
    ]  # fmt: skip


# -- the date ---------------------------------------------------------------------------------


def test_a_real_future_date_within_a_year_is_accepted() -> None:
    assert parse_date("2027-01-15", TODAY) == date(2027, 1, 15)
    assert parse_date(" 2027-1-5 ", TODAY) == date(2027, 1, 5)
    assert parse_date("2026-12-02", TODAY) == date(2026, 12, 2)  # tomorrow
    assert parse_date("2027-12-01", TODAY) == date(2027, 12, 1)  # exactly a year ahead


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("15.01.2027", "I can't read '15.01.2027' as a date. Write the interview date as "
         "YYYY-MM-DD, e.g. /plan 2027-01-30"),
        ("tomorrow", "I can't read 'tomorrow' as a date"),
        ("2027-02-30", "2027-02-30 is not a date in the calendar"),
        ("2027-13-01", "2027-13-01 is not a date in the calendar"),
        ("2026-11-30", "2026-11-30 is in the past (today is 2026-12-01)"),
        ("2026-12-01", "That is today: a plan needs at least a day before the interview."),
        ("2027-12-02", "2027-12-02 is more than a year away; a plan reaches 2027-12-01 at the "
         "latest."),
    ],
)  # fmt: skip
def test_a_bad_date_gets_a_clear_message(text: str, message: str) -> None:
    with pytest.raises(QuizError) as caught:
        parse_date(text, TODAY)
    assert str(caught.value).startswith(message)


def test_a_year_after_29_february_is_28_february() -> None:
    assert add_years(date(2028, 2, 29), 1) == date(2029, 2, 28)
    assert parse_date("2029-02-28", date(2028, 2, 29)) == date(2029, 2, 28)
    with pytest.raises(QuizError, match="more than a year away"):
        parse_date("2029-03-01", date(2028, 2, 29))


def test_plan_arguments() -> None:
    assert parse_plan_args([], TODAY, resolve).action is PlanAction.SHOW
    assert parse_plan_args(["OFF"], TODAY, resolve).action is PlanAction.OFF
    request = parse_plan_args(["2027-01-15", "asyncio,django", "as", "fl"], TODAY, resolve)
    assert request.action is PlanAction.SET
    assert request.target == date(2027, 1, 15)
    assert request.topics == ("asyncio", "django-orm", "flask")  # each once, in order
    # Discord hands the topics over as one option: "asyncio, flask"
    assert parse_plan_args(["2027-01-15", "asyncio, flask"], TODAY, resolve).topics == (
        "asyncio", "flask",
    )  # fmt: skip
    with pytest.raises(QuizError, match="I don't know the topic 'cobol'"):
        parse_plan_args(["2027-01-15", "cobol"], TODAY, resolve)
    with pytest.raises(QuizError, match="as a date"):
        parse_plan_args(["asyncio"], TODAY, resolve)


_WORDS = st.one_of(
    st.text(max_size=20),
    st.sampled_from(["off", "OFF", "asyncio", "fl", "django-orm", ",", " ", "2027-01-15"]),
    st.dates(date(1, 1, 1), date(9999, 12, 31)).map(date.isoformat),
    st.builds(lambda y, m, d: f"{y}-{m}-{d}", st.integers(0, 99999), st.integers(0, 99),
              st.integers(0, 99)),
)  # fmt: skip


@given(st.lists(_WORDS, max_size=5), st.dates(date(2000, 1, 1), date(2100, 12, 31)))
def test_any_plan_arguments_give_a_request_or_a_clear_refusal(args: list[str], today: date) -> None:
    refusal: QuizError | None = None
    try:
        request = parse_plan_args(args, today, resolve)
    except QuizError as exc:
        refusal = exc
    if refusal is not None:
        assert str(refusal) and len(str(refusal)) < 400  # a message, never a traceback
        return
    if request.action is PlanAction.SET:
        assert request.target is not None
        assert today < request.target <= add_years(today, 1)
        assert set(request.topics) <= set(TOPICS)
        assert len(set(request.topics)) == len(request.topics)
    else:
        assert request.target is None and request.topics == ()


@given(st.dates(date(2000, 1, 1), date(2100, 12, 31)), st.integers(1, 365))
def test_every_day_within_a_year_is_accepted(today: date, ahead: int) -> None:
    day = today + timedelta(days=ahead)
    if day <= add_years(today, 1):
        assert parse_date(day.isoformat(), today) == day


# -- the days ---------------------------------------------------------------------------------


def test_the_local_date_follows_the_timezone() -> None:
    late = datetime(2026, 12, 1, 23, 30, tzinfo=UTC)
    assert local_today(late, "UTC") == date(2026, 12, 1)
    assert local_today(late, "Asia/Tokyo") == date(2026, 12, 2)  # already tomorrow there
    assert local_today(datetime(2026, 12, 1, 3, 0, tzinfo=UTC), "America/New_York") == date(
        2026, 11, 30
    )
    # across DST changes the local date is still the wall-clock one
    spring = datetime(2027, 3, 14, 6, 59, tzinfo=UTC)  # 01:59 EST, just before the jump
    assert local_today(spring, "America/New_York") == date(2027, 3, 14)
    assert local_today(datetime(2027, 3, 14, 4, 30, tzinfo=UTC), "America/New_York") == date(
        2027, 3, 13
    )
    autumn = datetime(2027, 10, 31, 0, 30, tzinfo=UTC)  # 01:30 BST, the day clocks go back
    assert local_today(autumn, "Europe/London") == date(2027, 10, 31)


def _cards(n_learning: int, n_learned: int, first: int = 0) -> list[CardState]:
    """Cards q<first>... : `n_learning` still learning, then `n_learned` learned."""
    cards = [new_card(1, f"q{first + i}", "t", NOW) for i in range(n_learning + n_learned)]
    return cards[:n_learning] + [replace(c, phase=CardPhase.REVIEW) for c in cards[n_learning:]]


def test_what_is_left_is_spread_over_the_days_left_rounded_up() -> None:
    questions = [f"q{i}" for i in range(100)]
    cards = _cards(10, 20)  # q0-q9 learning, q10-q29 learned, q30-q99 unseen
    day = plan_day(date(2026, 12, 31), TODAY, questions, cards, reviewed_today=set())
    assert (day.days_left, day.unseen, day.unlearned, day.to_study) == (30, 70, 10, 80)
    assert day.per_day == 3  # 80 / 30, rounded up
    assert (day.done_today, day.left_today) == (0, 3)
    assert tx.countdown(day) == (
        "🎯 Interview in 30 days (2026-12-31 (Thursday)): today 0 of 3 planned cards done; "
        "80 cards left to study."
    )


def test_todays_target_stays_put_while_the_learner_works_through_it() -> None:
    questions = [f"q{i}" for i in range(10)]
    before = plan_day(date(2026, 12, 3), TODAY, questions, [], set())
    assert (before.days_left, before.per_day) == (2, 5)
    # five learned today, two still learning: what was left at the day's start is unchanged
    cards = _cards(2, 5)
    after = plan_day(date(2026, 12, 3), TODAY, questions, cards, {f"q{i}" for i in range(7)})
    assert (after.per_day, after.done_today, after.left_today, after.to_study) == (5, 7, 0, 5)


def test_zero_days_left_and_past_dates_plan_nothing() -> None:
    today = plan_day(TODAY, TODAY, ["q1"], [], set())
    assert (today.days_left, today.per_day, today.left_today) == (0, 0, 0)
    assert tx.countdown(today) == "🎯 Your interview is today. Good luck! No cards planned today."
    past = plan_day(date(2026, 11, 20), TODAY, ["q1"], [], set())
    assert (past.days_left, past.per_day) == (-11, 0)
    assert tx.countdown(past).startswith("Your interview date 2026-11-20 (Friday) has passed.")
    tomorrow = plan_day(date(2026, 12, 2), TODAY, ["q1", "q2"], [], set())
    assert (tomorrow.days_left, tomorrow.per_day) == (1, 2)
    assert tx.countdown(tomorrow).startswith("🎯 Interview tomorrow (2026-12-02 (Wednesday))")
    done = plan_day(date(2026, 12, 9), TODAY, [], [], set())
    assert tx.countdown(done).endswith("nothing new or weak left to study; keep up with your "
                                       "due reviews.")  # fmt: skip


def test_the_reminder_says_how_many_are_planned_today() -> None:
    day = plan_day(date(2027, 1, 15), TODAY, [f"q{i}" for i in range(90)], [], set())
    assert tx.reminder_text(3, day) == (
        "📚 3 practice cards due for review and 2 of today's 2 planned cards still to study for "
        "your interview in 45 days (2027-01-15). Send /practice when you have a few minutes."
    )
    assert tx.reminder_text(0, day).startswith("📚 2 of today's 2 planned cards")
    assert tx.reminder_text(1, None).startswith("📚 1 practice card due for review.")
