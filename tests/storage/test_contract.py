"""One contract, every Store implementation (memory and sqlite)."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest

from bot.core.common.errors import AlreadyAnswered
from bot.core.common.identity import ChatRef, Platform, UserRef
from bot.core.quiz.ports import Attempt, Store
from bot.core.quiz.rounds import Round, RoundKind
from bot.core.quiz.scoring import AnswerContext, Award, iso_week

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
GUILD = ChatRef(Platform.DISCORD, "chan", "guild")


def user(n: int) -> UserRef:
    return UserRef(Platform.DISCORD, str(1000 + n))


def make_round(rid: str = "round000001", kind: RoundKind = RoundKind.ASK, **kw: object) -> Round:
    base = Round(rid, "alpha-one", GUILD, kind, (1, 0, 2), T0, T0 + timedelta(hours=1))
    return replace(base, **kw)  # type: ignore[arg-type]


def attempt(rnd: Round, player: int, points_at: datetime = T0, correct: bool = True) -> Attempt:
    return Attempt(
        rnd, player, rnd.question_id, "alpha", "A", correct, points_at,
        ("global", "discord:guild"), iso_week(points_at), points_at.date(),
    )  # fmt: skip


def fixed(points: int, correct: bool = True, streak: int | None = None):  # type: ignore[no-untyped-def]
    seen: list[AnswerContext] = []

    def decide(ctx: AnswerContext) -> Award:
        seen.append(ctx)
        return Award(correct, points, points, daily_streak=streak)

    decide.seen = seen  # type: ignore[attr-defined]
    return decide


async def test_player_ids_are_stable_and_names_update(store: Store) -> None:
    a = await store.player(user(1), "Ada")
    b = await store.player(user(2), "Bob")
    assert a != b
    assert await store.player(user(1), "Ada L.") == a
    assert await store.player(UserRef(Platform.TELEGRAM, "1001"), "Ada") not in {a, b}
    rnd = make_round()
    await store.create_round(rnd)
    await store.record_answer(attempt(rnd, a), fixed(10))
    assert (await store.top("global", "all", 10))[0].name == "Ada L."


async def test_round_round_trips_and_marks_seen(store: Store) -> None:
    p = await store.player(user(1), "Ada")
    rnd = make_round(asked_by=p, day=date(2026, 12, 1))
    await store.create_round(rnd)
    assert await store.get_round(rnd.id) == rnd
    assert await store.get_round("nosuchround") is None
    assert await store.last_seen(p, GUILD.key) == {"alpha-one": T0}
    assert await store.last_seen(p, "discord:other") == {}


async def test_one_answer_per_round_and_player(store: Store) -> None:
    p = await store.player(user(1), "Ada")
    rnd = make_round()
    await store.create_round(rnd)
    first = await store.record_answer(attempt(rnd, p), fixed(20))
    assert first.points == 20
    with pytest.raises(AlreadyAnswered):
        await store.record_answer(attempt(rnd, p, T0 + timedelta(seconds=1)), fixed(20))
    stats = await store.player_stats(p)
    assert (stats.answered, stats.correct, stats.points) == (1, 1, 20)
    assert (await store.board_entry("global", "all", p)) is not None
    entry = await store.board_entry("discord:guild", iso_week(T0), p)
    assert entry is not None and entry[1].points == 20


async def test_concurrent_duplicate_answers_score_once(store: Store) -> None:
    p = await store.player(user(1), "Ada")
    rnd = make_round()
    await store.create_round(rnd)
    results = await asyncio.gather(
        *(store.record_answer(attempt(rnd, p), fixed(20)) for _ in range(5)),
        return_exceptions=True,
    )
    assert sum(isinstance(r, Award) for r in results) == 1
    assert sum(isinstance(r, AlreadyAnswered) for r in results) == 4
    assert (await store.player_stats(p)).points == 20


async def test_context_reports_points_today_and_last_scored(store: Store) -> None:
    p = await store.player(user(1), "Ada")
    r1, r2 = make_round("round000001"), make_round("round000002")
    await store.create_round(r1)
    await store.create_round(r2)
    await store.record_answer(attempt(r1, p), fixed(30))
    probe = fixed(0)
    await store.record_answer(attempt(r2, p, T0 + timedelta(minutes=5)), probe)
    ctx = probe.seen[0]
    assert ctx.points_today == 30
    assert ctx.last_scored_at == T0


async def test_daily_streak_is_stored(store: Store) -> None:
    p = await store.player(user(1), "Ada")
    rnd = make_round(kind=RoundKind.DAILY, day=date(2026, 12, 1))
    await store.create_round(rnd)
    await store.record_answer(attempt(rnd, p), fixed(25, streak=4))
    stats = await store.player_stats(p)
    assert (stats.daily_streak, stats.best_streak, stats.last_daily_day) == (
        4, 4, date(2026, 12, 1),
    )  # fmt: skip
    probe = fixed(0, streak=5)
    nxt = make_round("round000002", kind=RoundKind.DAILY, day=date(2026, 12, 2))
    await store.create_round(nxt)
    await store.record_answer(attempt(nxt, p), probe)
    assert probe.seen[0].daily_streak == 4
    assert probe.seen[0].last_daily_day == date(2026, 12, 1)


async def test_leaderboard_orders_ties_share_rank_and_zero_is_off_board(store: Store) -> None:
    players = [await store.player(user(i), f"P{i}") for i in range(6)]
    for i, (p, pts) in enumerate(zip(players, [30, 50, 30, 10, 0, 50], strict=True)):
        rnd = make_round(f"round00000{i}")
        await store.create_round(rnd)
        await store.record_answer(attempt(rnd, p, correct=pts > 0), fixed(pts, pts > 0))
    top = await store.top("discord:guild", "all", 10)
    assert [r.points for r in top] == [50, 50, 30, 30, 10]
    assert await store.board_entry("discord:guild", "all", players[2]) == (3, top[3])
    assert await store.board_entry("discord:guild", "all", players[4]) is None
    assert len(await store.top("discord:guild", "all", 2)) == 2
    assert await store.top("discord:other", "all", 10) == []


async def test_topic_stats_links_and_round_stats(store: Store) -> None:
    a = await store.player(user(1), "Ada")
    b = await store.player(user(2), "Bob")
    c = await store.player(user(3), "Cy")
    rnd = make_round()
    await store.create_round(rnd)
    await store.record_answer(attempt(rnd, a, T0 + timedelta(seconds=40)), fixed(10))
    await store.record_answer(attempt(rnd, b, T0 + timedelta(seconds=9)), fixed(10))
    await store.record_answer(attempt(rnd, c, T0 + timedelta(seconds=5), False), fixed(0, False))
    stats = await store.round_stats(rnd.id)
    assert (stats.answered, stats.correct) == (3, 2)
    assert [(s.name, s.seconds) for s in stats.fastest] == [("Bob", 9.0), ("Ada", 40.0)]
    assert [(t.topic, t.answered, t.correct) for t in await store.topic_stats(c)] == [
        ("alpha", 1, 0)
    ]
    await store.link_round("telegram", "poll-1", rnd.id)
    assert await store.linked_round("telegram", "poll-1") == rnd.id
    assert await store.linked_round("telegram", "poll-2") is None


async def test_every_board_counts_right_wrong_and_pointless_answers(store: Store) -> None:
    """Each answer counts on all four boards; only points and right answers move a rank."""
    a, b = await store.player(user(1), "Ada"), await store.player(user(2), "Bob")
    outcomes = [(a, False, 0), (a, True, 20), (a, True, 0), (a, False, 0), (b, True, 10)]
    for i, (p, correct, points) in enumerate(outcomes):
        rnd = make_round(f"round1000{i:02d}")
        await store.create_round(rnd)
        await store.record_answer(attempt(rnd, p, correct=correct), fixed(points, correct))
    for scope in ("global", "discord:guild"):
        for period in ("all", iso_week(T0)):
            top = await store.top(scope, period, 10)
            assert [(r.player_id, r.points, r.correct, r.answered) for r in top] == [
                (a, 20, 2, 4),
                (b, 10, 1, 1),
            ]
            assert await store.board_entry(scope, period, b) == (2, top[1])
