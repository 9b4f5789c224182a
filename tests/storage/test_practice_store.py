"""One contract, every PracticeStore implementation (memory, SQLite and PostgreSQL).
Several processes on one PostgreSQL database: test_postgres_practice.py."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest

from bot.core.common.identity import ChatRef, Platform, UserRef
from bot.core.practice.grading import Suggestion
from bot.core.practice.ports import (
    Awaiting,
    PracticeStore,
    Reminder,
    Session,
    SessionState,
    StudyPlan,
    TopicProgress,
    TopicStats,
)
from bot.core.practice.srs import CardPhase, CardState, Review, Source, new_card
from bot.core.quiz.ports import Attempt, Store
from bot.core.quiz.rounds import Round, RoundKind
from bot.core.quiz.scoring import Award, iso_week

T0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
DM = ChatRef(Platform.DISCORD, "dm-1")


async def player(store: Store, n: int = 1) -> int:
    return await store.player(UserRef(Platform.DISCORD, str(n)), f"p{n}")


def card(pid: int, qid: str, due: datetime, **kw: object) -> CardState:
    return replace(new_card(pid, qid, kw.pop("topic", "alpha"), due), **kw)  # type: ignore[arg-type]


def review(c: CardState, rating: int, source: Source = Source.CHOICE) -> Review:
    return Review(c.player_id, c.question_id, c.topic, rating, source, T0, None)


async def stored_answer(
    stores: tuple[Store, PracticeStore], n: int, pid: int, correct: bool, at: datetime
) -> None:
    """A multiple-choice answer as the quiz stores it, and as the answer listener notes it."""
    store, practice = stores
    rnd = Round(f"round{n:06d}", "alpha-one", DM, RoundKind.PRACTICE, (0, 1, 2), at, None)
    await store.create_round(rnd)
    attempt = Attempt(rnd, pid, "alpha-one", "alpha", "A", correct, at, (), iso_week(at), at.date())
    await store.record_answer(attempt, lambda ctx: Award(correct, 0))
    await practice.note_choice(pid, "alpha-one", "alpha", correct, at)


def session(pid: int, sid: str = "sess000001", **kw: object) -> Session:
    base = Session(sid, pid, DM, None, ("q1", "q2"), 0, Awaiting.CHOICE, T0, T0)
    return replace(base, **kw)  # type: ignore[arg-type]


async def test_cards_round_trip_every_field(practice_stores: tuple[Store, PracticeStore]) -> None:
    store, practice = practice_stores
    pid = await player(store)
    saved = CardState(
        pid, "alpha-one", "alpha", CardPhase.RELEARNING, 0, 3.25, 6.5,
        T0 + timedelta(minutes=10), T0, reps=4, lapses=1,
    )  # fmt: skip
    await practice.save_review(saved, review(saved, 1))
    assert await practice.card(pid, "alpha-one") == saved
    assert await practice.card(pid, "alpha-two") is None
    assert await practice.card(pid + 1, "alpha-one") is None
    assert await practice.carded(pid) == {"alpha-one"}


async def test_stored_answers_wait_for_their_cards_until_applied_once(
    practice_stores: tuple[Store, PracticeStore],
) -> None:
    store, practice = practice_stores
    a, b = await player(store, 1), await player(store, 2)
    empty = await practice.pending_choices(10)
    assert empty.answers == () and empty.after == empty.through == empty.latest
    minute = timedelta(minutes=1)
    for n, (pid, correct) in enumerate([(a, True), (b, False), (a, False)]):
        await stored_answer(practice_stores, n, pid, correct, T0 + n * minute)

    pending = await practice.pending_choices(10)
    assert [(x.player_id, x.question_id, x.topic, x.correct, x.at) for x in pending.answers] == [
        (a, "alpha-one", "alpha", True, T0),
        (b, "alpha-one", "alpha", False, T0 + minute),
        (a, "alpha-one", "alpha", False, T0 + 2 * minute),
    ]
    seqs = [x.seq for x in pending.answers]
    assert empty.after == pending.after < seqs[0] < seqs[1] < seqs[2] == pending.through
    assert pending.latest == seqs[2]

    first = await practice.pending_choices(2)  # the oldest two, in order
    assert [x.seq for x in first.answers] == seqs[:2] and first.through == seqs[1]
    assert first.latest == seqs[2]
    mine = card(a, "alpha-one", T0)
    later = replace(mine, reps=2, due=T0 + timedelta(days=1))
    theirs = card(b, "alpha-one", T0)
    items = [(mine, review(mine, 3)), (later, review(later, 3)), (theirs, review(theirs, 1))]
    await practice.apply_choices(first.after, first.through, items)
    await practice.apply_choices(first.after, first.through, items)  # applied already: nothing
    found = await practice.cards([(a, "alpha-one"), (b, "alpha-one"), (a, "nope")])
    assert found == {(a, "alpha-one"): later, (b, "alpha-one"): theirs}  # the later state wins
    assert await practice.cards([]) == {}
    progress = {p.topic: p for p in await practice.progress(a)}
    assert (progress["alpha"].reviews, progress["alpha"].recalled) == (2, 2)  # not 4, 4

    rest = await practice.pending_choices(10)
    assert rest.after == seqs[1] and [x.seq for x in rest.answers] == [seqs[2]]
    await practice.apply_choices(rest.after, rest.through, [])  # nothing to write: still moves
    done = await practice.pending_choices(10)
    assert done.answers == () and done.after == done.through == done.latest == seqs[2]
    await stored_answer(practice_stores, 3, b, True, T0 + 3 * minute)
    (newer,) = (await practice.pending_choices(10)).answers
    assert newer.seq > seqs[2]  # numbers never go back, though the rows before are gone


async def test_due_cards_are_most_overdue_first_and_filtered(
    practice_stores: tuple[Store, PracticeStore],
) -> None:
    store, practice = practice_stores
    pid, other = await player(store, 1), await player(store, 2)
    for qid, hours, topic in [("b", -1, "alpha"), ("a", -5, "alpha"), ("c", -3, "beta"),
                              ("d", 2, "alpha"), ("e", 1, "beta")]:  # fmt: skip
        c = card(pid, qid, T0 + timedelta(hours=hours), topic=topic)
        await practice.save_review(c, review(c, 3))
    foreign = card(other, "z", T0 - timedelta(days=9))
    await practice.save_review(foreign, review(foreign, 3))

    assert [c.question_id for c in await practice.due_cards(pid, T0, None, 10)] == ["a", "c", "b"]
    assert [c.question_id for c in await practice.due_cards(pid, T0, "alpha", 10)] == ["a", "b"]
    assert [c.question_id for c in await practice.due_cards(pid, T0, None, 1)] == ["a"]
    upcoming = await practice.upcoming_cards(pid, T0, None, 10)
    assert [c.question_id for c in upcoming] == ["e", "d"]
    summary = await practice.due_summary(pid, T0)
    assert (summary.due_now, summary.cards, summary.next_due) == (3, 5, T0 + timedelta(hours=1))
    empty = await practice.due_summary(await player(store, 3), T0)
    assert (empty.due_now, empty.cards, empty.next_due) == (0, 0, None)


async def test_progress_counts_reviews_and_learned_cards(
    practice_stores: tuple[Store, PracticeStore],
) -> None:
    store, practice = practice_stores
    pid = await player(store)
    learned = card(pid, "a1", T0, phase=CardPhase.REVIEW)
    learning = card(pid, "a2", T0)
    other = card(pid, "b1", T0, topic="beta")
    await practice.save_review(learned, review(learned, 3))
    await practice.save_review(learned, review(learned, 1, Source.TEXT))
    await practice.save_review(learning, review(learning, 2, Source.TEXT))
    await practice.save_review(other, review(other, 1))
    assert await practice.progress(pid) == [  # an open answer the grader did not pass: not right
        TopicProgress("alpha", reviews=3, recalled=1, cards=2, learned=1),
        TopicProgress("beta", reviews=1, recalled=0, cards=1, learned=0),
    ]
    assert await practice.progress(pid + 99) == []


async def test_hardest_orders_by_lapses_then_difficulty(
    practice_stores: tuple[Store, PracticeStore],
) -> None:
    store, practice = practice_stores
    pid = await player(store)
    for qid, lapses, difficulty in [("x", 0, 9.0), ("y", 2, 3.0), ("z", 2, 7.0), ("w", 0, None)]:
        c = card(pid, qid, T0, lapses=lapses, difficulty=difficulty)
        await practice.save_review(c, review(c, 1))
    assert [c.question_id for c in await practice.hardest(pid, 3)] == ["z", "y", "x"]


async def test_sessions_one_active_per_player(practice_stores: tuple[Store, PracticeStore]) -> None:
    store, practice = practice_stores
    pid = await player(store)
    first = session(pid, suggestion=Suggestion.HARD, score=0.5, round_id="round00001")
    await practice.save_session(first)
    assert await practice.active_session(pid) == first
    with pytest.raises(ValueError, match="active session"):
        await practice.save_session(session(pid, "sess000002"))
    moved = replace(first, position=1, awaiting=Awaiting.RATING, answered=1, recalled=1,
                    touched_at=T0 + timedelta(minutes=3))  # fmt: skip
    await practice.save_session(moved)
    assert await practice.active_session(pid) == moved
    await practice.save_session(replace(moved, state=SessionState.STOPPED))
    assert await practice.active_session(pid) is None
    second = session(pid, "sess000002")
    await practice.save_session(second)  # allowed once the first is over
    assert await practice.active_session(pid) == second


async def test_idle_sessions_are_active_ones_untouched_since(
    practice_stores: tuple[Store, PracticeStore],
) -> None:
    store, practice = practice_stores
    a, b, c = [await player(store, n) for n in (1, 2, 3)]
    await practice.save_session(session(a, "sessaaaaaa", touched_at=T0 - timedelta(hours=2)))
    await practice.save_session(session(b, "sessbbbbbb", touched_at=T0 - timedelta(minutes=5)))
    await practice.save_session(
        session(c, "sesscccccc", touched_at=T0 - timedelta(hours=3), state=SessionState.DONE)
    )
    idle = await practice.idle_sessions(T0 - timedelta(minutes=30), 10)
    assert [s.id for s in idle] == ["sessaaaaaa"]


async def test_reminders_set_claim_and_delete(practice_stores: tuple[Store, PracticeStore]) -> None:
    store, practice = practice_stores
    pid = await player(store)
    assert await practice.reminder(pid) is None
    rem = Reminder(pid, DM, "08:30", "Europe/Berlin")
    await practice.set_reminder(rem)
    assert await practice.reminder(pid) == rem
    assert await practice.reminders() == [rem]
    day = date(2026, 12, 1)
    assert await practice.claim_reminder(pid, day) is True
    assert await practice.claim_reminder(pid, day) is False  # once per local day
    assert await practice.claim_reminder(pid, day + timedelta(days=1)) is True
    await practice.set_reminder(replace(rem, time="21:00"))
    assert (await practice.reminder(pid)) == replace(rem, time="21:00")
    assert await practice.delete_reminder(pid) is True
    assert await practice.delete_reminder(pid) is False
    assert await practice.reminders() == []
    assert await practice.claim_reminder(pid, day) is False


# -- weak topics and interview plans (issue 20) -----------------------------------------------


async def test_topic_stats_count_recent_reviews_and_every_lapse(
    practice_stores: tuple[Store, PracticeStore],
) -> None:
    store, practice = practice_stores
    pid, other = await player(store, 1), await player(store, 2)
    since = T0 - timedelta(days=30)
    old = replace(card(pid, "alpha-one", T0), lapses=2)
    await practice.save_review(old, replace(review(old, 3), at=since - timedelta(seconds=1)))
    a2 = replace(card(pid, "alpha-two", T0), lapses=1)
    await practice.save_review(a2, replace(review(a2, 1), at=since))  # at `since`: counts
    await practice.save_review(a2, review(a2, 3))
    # open answers: right only when the grader passed them and the learner did not say Again
    passed = Review(pid, "alpha-two", "alpha", 3, Source.TEXT, T0, 0.9)
    failed = Review(pid, "alpha-two", "alpha", 3, Source.TEXT, T0, 0.1)
    again = Review(pid, "alpha-two", "alpha", 1, Source.TEXT, T0, 0.9)
    for r in (passed, failed, again):
        await practice.save_review(a2, r)
    b1 = card(pid, "beta-one", T0, topic="beta")
    await practice.save_review(b1, review(b1, 3))
    theirs = card(other, "beta-two", T0, topic="beta")
    await practice.save_review(theirs, review(theirs, 1))

    assert await practice.topic_stats(pid, since) == [
        TopicStats("alpha", reviews=5, recalled=2, lapses=3, cards=2),
        TopicStats("beta", reviews=1, recalled=1, lapses=0, cards=1),
    ]
    later = await practice.topic_stats(pid, T0 + timedelta(seconds=1))  # no review since
    assert later == [TopicStats("alpha", 0, 0, 3, 2), TopicStats("beta", 0, 0, 0, 1)]
    assert await practice.topic_stats(await player(store, 3), since) == []
    assert await practice.reviewed_since(pid, since) == {"alpha-two", "beta-one"}
    assert await practice.reviewed_since(pid, T0 + timedelta(seconds=1)) == set()
    assert [c.question_id for c in await practice.player_cards(pid)] == [
        "alpha-one", "alpha-two", "beta-one",
    ]  # fmt: skip
    assert await practice.player_cards(pid) == [
        await practice.card(pid, q) for q in ("alpha-one", "alpha-two", "beta-one")
    ]


async def test_plans_round_trip_replace_and_delete(
    practice_stores: tuple[Store, PracticeStore],
) -> None:
    store, practice = practice_stores
    a, b = await player(store, 1), await player(store, 2)
    assert await practice.plan(a) is None
    plan = StudyPlan(a, DM, date(2027, 1, 15), "Europe/Berlin", ("alpha", "beta"), T0)
    await practice.set_plan(plan)
    everything = StudyPlan(b, ChatRef(Platform.TELEGRAM, "77"), date(2027, 3, 1), "UTC", (), T0)
    await practice.set_plan(everything)
    assert await practice.plan(a) == plan and await practice.plan(b) == everything

    moved = replace(plan, target=date(2027, 2, 1), topics=("beta",))
    await practice.set_plan(moved)  # a new plan replaces the old one
    assert await practice.plan(a) == moved

    assert await practice.delete_plan(a)
    assert not await practice.delete_plan(a)
    assert await practice.plan(a) is None and await practice.plan(b) == everything
