"""The mock interview's store calls (schema 11), one contract for both PracticeStores: a
session's kind, deadline and missed key points; overdue mocks; reviews since a moment; the
plan's mock offer claimed once per plan date."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

from bot.core.common.identity import ChatRef, Platform, UserRef
from bot.core.practice.ports import (
    Awaiting,
    PracticeStore,
    Session,
    SessionKind,
    SessionState,
    StudyPlan,
)
from bot.core.practice.srs import Review, Source, new_card
from bot.core.quiz.ports import Store

T0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
DM = ChatRef(Platform.DISCORD, "dm-1")


async def player(store: Store, n: int) -> int:
    return await store.player(UserRef(Platform.DISCORD, str(n)), f"p{n}")


def mock(pid: int, sid: str, deadline: datetime | None) -> Session:
    return Session(
        sid, pid, DM, None, ("alpha-one", "beta-one"), 0, Awaiting.CHOICE, T0, T0,
        kind=SessionKind.MOCK if deadline else SessionKind.PRACTICE, deadline=deadline,
    )  # fmt: skip


async def test_a_mock_session_round_trips_and_is_found_once_overdue(
    practice_stores: tuple[Store, PracticeStore],
) -> None:
    store, practice = practice_stores
    a, b, c = [await player(store, n) for n in (1, 2, 3)]
    soon = mock(a, "mock00000a", T0 + timedelta(minutes=30))
    later = mock(b, "mock00000b", T0 + timedelta(minutes=40))
    plain = mock(c, "prac00000c", None)
    for s in (soon, later, plain):
        await practice.save_session(s)
    assert await practice.active_session(a) == soon
    assert await practice.active_session(c) == plain  # a practice session: no deadline
    missed = replace(soon, position=1, missed=(("alpha", "len built-in"), ("beta", "x; y")))
    await practice.save_session(missed)
    assert await practice.active_session(a) == missed  # missed points are kept, in order

    assert await practice.overdue_mocks(T0 + timedelta(minutes=29), 10) == []
    assert await practice.overdue_mocks(T0 + timedelta(minutes=30), 10) == [missed]  # at: due
    assert await practice.overdue_mocks(T0 + timedelta(hours=1), 10) == [missed, later]
    assert await practice.overdue_mocks(T0 + timedelta(hours=1), 1) == [missed]
    await practice.save_session(replace(missed, state=SessionState.DONE))
    assert await practice.overdue_mocks(T0 + timedelta(hours=1), 10) == [later]  # active only


async def test_reviews_since_a_moment_are_the_players_oldest_first(
    practice_stores: tuple[Store, PracticeStore],
) -> None:
    store, practice = practice_stores
    a, b = await player(store, 1), await player(store, 2)
    card = new_card(a, "alpha-one", "alpha", T0)
    early = Review(a, "alpha-one", "alpha", 3, Source.CHOICE, T0 - timedelta(seconds=1))
    first = Review(a, "alpha-one", "alpha", 1, Source.CHOICE, T0)
    second = Review(a, "beta-one", "beta", 3, Source.TEXT, T0 + timedelta(minutes=2), 0.75)
    other = Review(b, "alpha-one", "alpha", 3, Source.CHOICE, T0 + timedelta(minutes=1))
    for r in (early, second, first):
        await practice.save_review(replace(card, question_id=r.question_id), r)
    await practice.save_review(replace(card, player_id=b), other)
    assert await practice.reviews_since(a, T0) == [first, second]
    assert await practice.reviews_since(b, T0) == [other]
    assert await practice.reviews_since(a, T0 + timedelta(hours=1)) == []


async def test_the_mock_offer_is_claimed_once_per_plan_date(
    practice_stores: tuple[Store, PracticeStore],
) -> None:
    store, practice = practice_stores
    a, b = await player(store, 1), await player(store, 2)
    plan = StudyPlan(a, DM, date(2026, 12, 3), "UTC", ("alpha",), T0)
    far = StudyPlan(b, DM, date(2027, 1, 15), "UTC", (), T0)
    await practice.set_plan(plan)
    await practice.set_plan(far)
    window = (date(2026, 12, 1), date(2026, 12, 4))
    assert await practice.plans_to_offer(*window) == [plan]
    assert await practice.plans_to_offer(date(2026, 12, 4), date(2026, 12, 10)) == []  # passed
    assert not await practice.claim_mock_offer(a, date(2026, 12, 4))  # not the plan's date
    assert await practice.claim_mock_offer(a, plan.target)
    assert not await practice.claim_mock_offer(a, plan.target)  # once
    assert await practice.plans_to_offer(*window) == []
    assert await practice.plan(a) == plan  # the claim changes nothing a plan shows

    moved = replace(plan, target=date(2026, 12, 4))
    await practice.set_plan(moved)  # a new date: a new offer
    assert await practice.plans_to_offer(*window) == [moved]
    assert await practice.claim_mock_offer(a, moved.target)
    assert not await practice.claim_mock_offer(b, plan.target)
    assert await practice.delete_plan(a)
    assert not await practice.claim_mock_offer(a, moved.target)  # no plan: nothing to claim
