"""`/practice weak` and `/plan` through the real PracticeService over both stores, with a fixed
clock: which topics a weak drill picks and why, the plan's replies, its countdown in /due and
/progress, its topics for new cards, its timezone, and the reminders that follow it."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from bot.core.common.errors import QuizError
from bot.core.common.identity import ChatRef, Platform
from bot.core.practice.ports import Awaiting
from bot.core.practice.service import PracticeService
from bot.core.practice.srs import CardPhase, Review, Source, new_card
from tests.fakes.clock import FixedClock
from tests.fakes.people import ADA, DM

GROUP = ChatRef(Platform.TELEGRAM, "-100", "-100")


async def history(
    practice: PracticeService, question: str, ratings: list[int], at: datetime, lapses: int = 0
) -> None:
    """Multiple-choice reviews of one question (1 wrong, 3 right) and its card's lapses."""
    pid = await practice.players.player(ADA, "Ada")
    topic = question.split("-")[0]
    card = replace(new_card(pid, question, topic, at), lapses=lapses, due=at + timedelta(days=9))
    for rating in ratings:
        await practice.store.save_review(
            card, Review(pid, question, topic, rating, Source.CHOICE, at)
        )


def text(reply: object) -> str:
    return reply.plain_text()  # type: ignore[attr-defined,no-any-return]


# -- /practice weak ---------------------------------------------------------------------------


async def test_too_little_history_is_refused_and_the_running_session_goes_on(
    practice: PracticeService, clock: FixedClock
) -> None:
    await history(practice, "alpha-one", [1, 3, 1, 3], clock.now())  # 4 answers: one too few
    running = await practice.start(ADA, "Ada", DM, "beta")
    with pytest.raises(QuizError) as refused:
        await practice.start(ADA, "Ada", DM, " Weak ")
    assert str(refused.value) == (
        "Not enough practice to find your weak topics: I need at least 5 answers in a topic "
        "within the last 30 days. So far: Alpha topic 4. /practice [topic] builds that up."
    )
    assert await practice.awaiting(ADA, "Ada") is Awaiting.CHOICE  # still the beta session
    assert (await practice.resume(ADA, "Ada")).session_id == running.session_id


async def test_a_weak_drill_picks_the_weakest_topics_and_says_why(
    practice: PracticeService, clock: FixedClock
) -> None:
    now = clock.now()
    await history(practice, "alpha-one", [1, 1, 3], now - timedelta(days=2), lapses=2)
    await history(practice, "alpha-two", [3, 1, 3], now - timedelta(days=29), lapses=1)
    await history(practice, "beta-one", [3, 3, 3, 3, 1], now)
    # beta's wrong answers of two months ago are not recent: they do not count
    await history(practice, "beta-two", [1] * 10, now - timedelta(days=31))
    step = await practice.start(ADA, "Ada", DM, "weak")
    assert text(step.replies[0]) == (
        "Weak-topic drill: 5 questions from your weakest topics (Alpha topic: 3 of 6 right in "
        "the last 30 days, 3 lapses; Beta topic: 4 of 5 right in the last 30 days, no lapses). "
        "Due and forgotten cards come first. Multiple choice and answers in your own words take "
        "turns; /stop ends it."
    )
    pid = await practice.players.player(ADA, "Ada")
    session = await practice.store.active_session(pid)
    assert session is not None and session.topic is None
    assert sorted(session.plan) == ["alpha-one", "alpha-three", "alpha-two", "beta-one", "beta-two"]
    assert session.plan[0] == "alpha-two"  # the weakest topic's overdue card first
    assert session.plan[1].startswith("beta-")  # the topics take turns


async def test_nothing_weak_when_every_recent_answer_is_right(
    practice: PracticeService, clock: FixedClock
) -> None:
    await history(practice, "alpha-one", [3] * 6, clock.now())
    with pytest.raises(QuizError, match="No weak topics: every topic you practised"):
        await practice.start(ADA, "Ada", DM, "weak")


# -- /plan ------------------------------------------------------------------------------------


async def test_a_plan_is_set_shown_counted_down_and_removed(
    practice: PracticeService, clock: FixedClock
) -> None:
    assert text(await practice.plan(ADA, "Ada", DM, [])).startswith("You have no plan. Use /plan")
    with pytest.raises(QuizError, match="2026-11-01 is in the past"):
        await practice.plan(ADA, "Ada", DM, ["2026-11-01"])
    with pytest.raises(QuizError, match="Plans are private"):
        await practice.plan(ADA, "Ada", GROUP, ["2027-01-15"])

    reply = await practice.plan(ADA, "Ada", DM, ["2027-01-15", "alpha,beta"])
    assert text(reply).startswith(
        "Plan set: interview on 2027-01-15 (Friday) (UTC). 5 cards to study in Alpha topic, "
        "Beta topic (5 unseen, 0 not learned yet) over 45 days: 1 a day."
    )
    assert "/remind HH:MM [timezone] reminds you each day." in text(reply)
    shown = text(await practice.plan(ADA, "Ada", DM, []))
    assert shown.startswith("Your plan: interview on 2027-01-15 (Friday) (UTC), Alpha topic, Beta")
    assert "Interview in 45 days (2027-01-15 (Friday)): today 0 of 1 planned cards done" in shown

    await history(practice, "alpha-one", [3], clock.now())  # studied one today
    due = text(await practice.due(ADA, "Ada"))
    assert due.endswith(
        "🎯 Interview in 45 days (2027-01-15 (Friday)): today 1 of 1 planned cards done; "
        "5 cards left to study."
    )  # alpha-one is still learning, so it is left to study, and studied today
    progress = await practice.progress(ADA, "Ada")
    assert "today 1 of 1 planned cards done" in text(progress.reply)

    clock.advance(days=44)  # the day before: yesterday's study does not count today
    assert "Interview tomorrow (2027-01-15 (Friday)): today 0 of 5 planned" in text(
        await practice.due(ADA, "Ada")
    )
    clock.advance(days=1)
    assert text(await practice.due(ADA, "Ada")).endswith("Your interview is today. Good luck! "
                                                         "No cards planned today.")  # fmt: skip
    assert text(await practice.plan(ADA, "Ada", DM, ["off"])) == "Plan removed."
    assert text(await practice.plan(ADA, "Ada", DM, ["off"])) == "You had no plan."
    assert "Interview" not in text(await practice.due(ADA, "Ada"))


async def test_new_cards_come_from_the_plans_topics(practice: PracticeService) -> None:
    await practice.plan(ADA, "Ada", DM, ["2027-01-15", "beta"])
    step = await practice.start(ADA, "Ada", DM)
    assert "2 questions (2 new)" in text(step.replies[0])
    pid = await practice.players.player(ADA, "Ada")
    session = await practice.store.active_session(pid)
    assert session is not None and sorted(session.plan) == ["beta-one", "beta-two"]
    # a topic named explicitly still wins over the plan
    step = await practice.start(ADA, "Ada", DM, "alpha")
    assert "Alpha topic" in text(step.replies[0])


async def test_the_plan_counts_days_in_the_reminders_timezone(
    practice: PracticeService, clock: FixedClock
) -> None:
    clock.current = datetime(2026, 12, 1, 23, 30, tzinfo=UTC)  # 08:30 on 2 December in Tokyo
    await practice.remind(ADA, "Ada", DM, ["07:00", "Asia/Tokyo"])
    with pytest.raises(QuizError, match="That is today"):
        await practice.plan(ADA, "Ada", DM, ["2026-12-02"])
    reply = await practice.plan(ADA, "Ada", DM, ["2026-12-04", "alpha"])
    assert text(reply).startswith(
        "Plan set: interview on 2026-12-04 (Friday) (Asia/Tokyo). 3 cards to study in Alpha "
        "topic (3 unseen, 0 not learned yet) over 2 days: 2 a day."
    )
    assert "Your reminder at 07:00 (Asia/Tokyo) now says how many are planned" in text(reply)


async def test_todays_study_counts_from_local_midnight_across_dst(
    practice: PracticeService, clock: FixedClock
) -> None:
    # 14 March 2027: New York jumps from 02:00 EST to 03:00 EDT; the local day began at 05:00
    # UTC (midnight EST), and a review at 04:59 UTC was the day before
    clock.current = datetime(2027, 3, 14, 12, 0, tzinfo=UTC)
    await practice.remind(ADA, "Ada", DM, ["07:00", "America/New_York"])
    await practice.plan(ADA, "Ada", DM, ["2027-03-16", "alpha"])
    await history(practice, "alpha-one", [3], datetime(2027, 3, 14, 4, 59, tzinfo=UTC))
    await history(practice, "alpha-two", [3], datetime(2027, 3, 14, 5, 0, tzinfo=UTC))
    assert "today 1 of 2 planned cards done" in text(await practice.due(ADA, "Ada"))


async def test_reminders_follow_the_plan(practice: PracticeService, clock: FixedClock) -> None:
    await practice.remind(ADA, "Ada", DM, ["13:00"])  # today's time has not come yet
    clock.advance(hours=1, minutes=5)
    assert await practice.due_reminders() == []  # no cards due and no plan: nothing to say
    await practice.plan(ADA, "Ada", DM, ["2027-01-15", "alpha"])
    ((chat, reply),) = await practice.due_reminders()
    assert chat == DM
    assert text(reply) == (
        "📚 1 of today's 1 planned cards still to study for your interview in 45 days "
        "(2027-01-15). Send /practice when you have a few minutes."
    )
    assert await practice.due_reminders() == []  # once a day
    clock.advance(days=1)
    await history(practice, "alpha-one", [3], clock.now())  # today's share done already
    assert await practice.due_reminders() == []
    clock.advance(days=9)  # alpha-one falls due
    pid = await practice.players.player(ADA, "Ada")
    card = await practice.store.card(pid, "alpha-one")
    assert card is not None and card.phase is CardPhase.LEARNING
    ((_, reply),) = await practice.due_reminders()  # a card due and a planned one
    assert text(reply).startswith("📚 1 practice card due for review and 1 of today's 1 planned")
