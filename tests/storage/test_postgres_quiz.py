"""PostgreSQL-specific guarantees of the quiz store (bot/storage/postgres/quiz.py, answers.py):
group commit, one answer per round and person and the per-player caps across two processes
(two stores on two pools over one database), an answer whose context another process changed
between its read and its write (scored again), a batch holding a duplicate, faults (the server
ending our connections mid-run), and close() writing what is queued."""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from datetime import timedelta
from typing import Any

import asyncpg
import pytest

from bot.core.common.errors import AlreadyAnswered, StorageUnavailable
from bot.core.common.identity import Platform, UserRef
from bot.core.quiz.ports import Attempt
from bot.core.quiz.rounds import Round, RoundKind
from bot.core.quiz.scoring import AnswerContext, Award, ScoringRules, award
from bot.storage.postgres import PgDatabase, PgQuizStore
from bot.storage.postgres import answers as answers_module
from bot.storage.postgres.answers import PLAYER_LOCKS, lock_key
from bot.storage.postgres.database import UNREACHABLE
from bot.storage.rows.quiz import ANSWER_COLUMNS, answer_values
from tests.fakes.answers import T0, a_round, an_attempt, ten_points
from tests.fakes.postgres import databases, fresh_schema, server_url

RULES = ScoringRules()  # 30 points for a senior question, 200 a day at most


@pytest.fixture
async def url() -> AsyncIterator[str]:
    async with fresh_schema() as schema_url:
        yield schema_url


@pytest.fixture
async def two() -> AsyncIterator[tuple[PgQuizStore, PgQuizStore]]:
    """Two processes' stores: each its own pool over the one database."""
    async with databases(2) as (first, second):
        yield PgQuizStore(first), PgQuizStore(second)


async def _player(store: PgQuizStore, n: int) -> int:
    return await store.player(UserRef(Platform.DISCORD, str(n)), f"p{n}")


async def _rounds(store: PgQuizStore, count: int, **changes: Any) -> list[Round]:
    rounds = [replace(a_round(i), **changes) for i in range(count)]
    for rnd in rounds:
        await store.create_round(rnd)
    return rounds


def _scored(rnd: Round, at_seconds: int = 0) -> Callable[[AnswerContext], Award]:
    """The real scoring of a right answer to a senior question: 30 points under the caps."""
    return lambda ctx: award(RULES, rnd, 3, True, T0 + timedelta(seconds=at_seconds), ctx)


def _batches(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The size of every chunk the flusher writes from now on (a batch is written in chunks
    that hold each player once; each chunk is one transaction)."""
    sizes: list[int] = []
    real = answers_module._write_chunk

    async def spy(conn: Any, chunk: Any) -> Any:
        sizes.append(len(chunk))
        return await real(conn, chunk)

    monkeypatch.setattr(answers_module, "_write_chunk", spy)
    return sizes


async def test_answers_that_arrive_together_share_one_transaction(
    two: tuple[PgQuizStore, PgQuizStore], monkeypatch: pytest.MonkeyPatch
) -> None:
    store, _ = two
    players = [await _player(store, i) for i in range(300)]
    (rnd,) = await _rounds(store, 1)
    sizes = _batches(monkeypatch)
    results = await asyncio.gather(
        *(store.record_answer(an_attempt(rnd, p), ten_points) for p in players)
    )
    assert all(r == Award(True, 10, 10) for r in results)
    assert sum(sizes) == 300
    assert len(sizes) <= 3  # 256 at most in one; the rest in one or two more
    assert (await store.round_stats(rnd.id)).answered == 300
    top = await store.top("global", "all", 1000)
    assert len(top) == 300 and {r.points for r in top} == {10}


async def test_a_batch_with_a_duplicate_records_the_first_and_counts_earlier_answers(
    two: tuple[PgQuizStore, PgQuizStore], monkeypatch: pytest.MonkeyPatch
) -> None:
    """One batch: the same person twice in one round (the second is AlreadyAnswered), and in
    three rounds (each context counts the points of the earlier answers in the batch)."""
    store, _ = two
    p, q = await _player(store, 1), await _player(store, 2)
    r1, r2, r3 = await _rounds(store, 3)
    seen: list[int] = []

    def probe(ctx: AnswerContext) -> Award:
        seen.append(ctx.points_today)
        return Award(True, 10, 10)

    sizes = _batches(monkeypatch)
    results = await asyncio.gather(
        store.record_answer(an_attempt(r1, p), probe),
        store.record_answer(an_attempt(r1, q), ten_points),
        store.record_answer(an_attempt(r1, p), probe),
        store.record_answer(an_attempt(r2, p), probe),
        store.record_answer(an_attempt(r3, p), probe),
        return_exceptions=True,
    )
    assert sizes == [2, 1, 1, 1]  # one batch: p and q, then p's three later answers
    assert [type(r).__name__ for r in results] == [
        "Award", "Award", "AlreadyAnswered", "Award", "Award",
    ]  # fmt: skip
    assert seen == [0, 10, 20]  # the duplicate was never scored
    stats = await store.player_stats(p)
    assert (stats.answered, stats.points) == (3, 30)


async def test_one_answer_per_round_and_person_across_two_processes(
    two: tuple[PgQuizStore, PgQuizStore],
) -> None:
    a, b = two
    players = [await _player(a, i) for i in range(5)]
    rounds = await _rounds(a, 20)
    results = await asyncio.gather(
        *(
            store.record_answer(an_attempt(rnd, p), ten_points)
            for rnd in rounds
            for p in players
            for store in (a, b)
        ),
        return_exceptions=True,
    )
    assert sum(isinstance(r, Award) for r in results) == 100
    assert sum(isinstance(r, AlreadyAnswered) for r in results) == 100
    for p in players:
        stats = await b.player_stats(p)
        assert (stats.answered, stats.points) == (20, 200)


@pytest.mark.parametrize("same_question", [False, True], ids=["daily cap", "repeat"])
async def test_the_caps_hold_across_two_processes(
    two: tuple[PgQuizStore, PgQuizStore], same_question: bool
) -> None:
    """One person answers 20 rounds through each of two processes at once: 200 points a day
    at most (a different question each round), or one question's points once a week (the
    same question in every round)."""
    a, b = two
    p = await _player(a, 1)
    rounds = [
        replace(a_round(i), question_id="alpha-one" if same_question else f"q{i}")
        for i in range(40)
    ]
    for rnd in rounds:
        await a.create_round(rnd)

    def attempt(rnd: Round) -> Attempt:
        return an_attempt(rnd, p)._replace(question_id=rnd.question_id)

    results = await asyncio.gather(
        *(
            (a if i % 2 else b).record_answer(attempt(rnd), _scored(rnd, i))
            for i, rnd in enumerate(rounds)
        )
    )
    stats = await a.player_stats(p)
    assert stats.answered == 40
    expected = 30 if same_question else RULES.daily_cap
    assert stats.points == sum(r.points for r in results) == expected
    capped = "repeat" if same_question else "daily_cap"
    assert sum(r.capped == capped for r in results) == (39 if same_question else 34)


async def _superuser() -> asyncpg.Connection:
    """A connection of the test server's superuser (the tests' role is one)."""
    return await asyncpg.connect(server_url())


async def _waiting_for(admin: asyncpg.Connection, player: int) -> int:
    """The backend waiting for `player`'s lock (polled until it waits)."""
    for _ in range(500):
        pid = await admin.fetchval(
            "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND NOT granted "
            "AND classid = $1 AND objid = $2",
            PLAYER_LOCKS, lock_key(player),
        )  # fmt: skip
        if pid is not None:
            return int(pid)
        await asyncio.sleep(0.01)
    raise AssertionError("nobody waits for the player's lock")


async def _hold_then_answer(
    store: PgQuizStore, admin: asyncpg.Connection, player: int, other: Attempt, points: Award
) -> None:
    """While `store`'s answer of `player` waits for the player's lock (held by `admin`, as
    another process's transaction would), `admin` records `other` with `points` (the trigger
    updates the day's points, the streak), and lets go."""
    await _waiting_for(admin, player)
    schema = await store.db.fetchval("SELECT current_schema()")
    await admin.execute(f"SET search_path = {schema}")
    values = answer_values(other, points)
    places = ", ".join(f"${i}" for i in range(1, len(values) + 1))
    await admin.execute(f"INSERT INTO answers ({ANSWER_COLUMNS}) VALUES ({places})", *values)
    await admin.execute("SELECT pg_advisory_unlock($1, $2)", PLAYER_LOCKS, lock_key(player))


CHANGED = {  # what another process's answer changes, and the context it leaves
    "points today": AnswerContext(10, None, 0, None),  # an answer to another question
    "question scored": AnswerContext(0, T0, 0, None),  # a daily answer to this question
    "streak": AnswerContext(0, None, 2, T0.date()),  # a daily answer the same day
    "streak day": AnswerContext(0, None, 1, T0.date()),  # the first daily answer today
}


@pytest.mark.parametrize("changed", list(CHANGED))
async def test_an_answer_scored_on_a_context_another_process_changed_is_scored_again(
    two: tuple[PgQuizStore, PgQuizStore], changed: str
) -> None:
    """The answer's context is read without a lock; another process's answer of the same
    player commits before this one gets the player's lock: the answer is scored again on the
    context as it is now, never on the old one, whichever part of it the other answer
    changed (the points today, when this question last scored, the daily streak, its day)."""
    store, _ = two
    # an id past 32 bits: the lock record_answers takes is the one lock_key names
    await store.db.execute(
        "SELECT setval(pg_get_serial_sequence('players', 'id'), $1)",
        2**32 + random.randrange(10**9),
    )
    p = await _player(store, 1)
    mine, theirs = await _rounds(store, 2)
    yesterday = (T0 - timedelta(days=1)).date()
    before = AnswerContext(0, None, 0, None)
    other, points = an_attempt(theirs, p), Award(True, 10, 10)
    daily = replace(theirs, kind=RoundKind.DAILY, day=T0.date())
    if changed == "points today":
        other = other._replace(question_id="beta-two")
    elif changed == "question scored":
        other = an_attempt(daily, p)  # daily points are not self-served: not today's
    else:
        day = T0.date() if changed == "streak" else yesterday
        before = AnswerContext(0, None, 1, day)
        await store.db.execute(
            "UPDATE players SET daily_streak = 1, last_daily_day = $2 WHERE id = $1",
            p, day.isoformat(),
        )  # fmt: skip
        other = an_attempt(daily, p)._replace(question_id="beta-two")
        points = Award(True, 0, 0, daily_streak=CHANGED[changed].daily_streak)
    contexts: list[AnswerContext] = []

    def probe(ctx: AnswerContext) -> Award:
        contexts.append(ctx)
        return Award(True, 10, 10)

    admin = await _superuser()
    try:
        await admin.execute("SELECT pg_advisory_lock($1, $2)", PLAYER_LOCKS, lock_key(p))
        blocked = asyncio.ensure_future(store.record_answer(an_attempt(mine, p), probe))
        await _hold_then_answer(store, admin, p, other, points)
        assert await asyncio.wait_for(blocked, 10) == Award(True, 10, 10)
    finally:
        await admin.close()
    assert contexts == [before, CHANGED[changed]]  # scored on what the other answer left
    stats = await store.player_stats(p)
    assert (stats.answered, stats.points) == (2, 10 + points.points)


async def test_an_answer_another_process_recorded_meanwhile_is_already_answered(
    two: tuple[PgQuizStore, PgQuizStore],
) -> None:
    store, _ = two
    p = await _player(store, 1)
    (rnd,) = await _rounds(store, 1)
    admin = await _superuser()
    try:
        await admin.execute("SELECT pg_advisory_lock($1, $2)", PLAYER_LOCKS, lock_key(p))
        blocked = asyncio.ensure_future(store.record_answer(an_attempt(rnd, p), ten_points))
        await _hold_then_answer(store, admin, p, an_attempt(rnd, p), Award(True, 10, 10))
        with pytest.raises(AlreadyAnswered):
            await asyncio.wait_for(blocked, 10)
    finally:
        await admin.close()
    stats = await store.player_stats(p)
    assert (stats.answered, stats.points) == (1, 10)


async def test_a_connection_ended_mid_answer_fails_that_batch_and_the_store_recovers(
    two: tuple[PgQuizStore, PgQuizStore],
) -> None:
    """The server ends the connection of a batch in its transaction (pg_terminate_backend, as
    a restart or a failover does): its callers hear "try again in a moment", nothing of it is
    recorded, what was acknowledged before stays, and the next answers are written again
    without anyone restarting anything."""
    store, _ = two
    # advisory locks are the database's, whatever the schema: an id no other test's player has
    await store.db.execute(
        "SELECT setval(pg_get_serial_sequence('players', 'id'), $1)",
        random.randrange(10**9, 2 * 10**9),
    )
    p = await _player(store, 1)
    r1, r2 = await _rounds(store, 2)
    assert (await store.record_answer(an_attempt(r1, p), ten_points)).points == 10
    admin = await _superuser()
    try:
        await admin.execute("SELECT pg_advisory_lock($1, $2)", PLAYER_LOCKS, lock_key(p))
        blocked = asyncio.ensure_future(store.record_answer(an_attempt(r2, p), ten_points))
        assert await admin.fetchval("SELECT pg_terminate_backend($1)", await _waiting_for(admin, p))
        with pytest.raises(StorageUnavailable, match="Try again in a moment"):
            await blocked
        await admin.execute("SELECT pg_advisory_unlock($1, $2)", PLAYER_LOCKS, lock_key(p))
    finally:
        await admin.close()
    stats = await store.player_stats(p)
    assert (stats.answered, stats.points) == (1, 10)  # r1 kept; nothing of r2
    assert (await store.record_answer(an_attempt(r2, p), ten_points)).points == 10
    assert (await store.player_stats(p)).points == 20


async def test_nothing_acknowledged_is_lost_when_every_connection_ends_under_load(
    url: str,
) -> None:
    """Answers keep coming while the server ends every connection of the pool: each caller
    gets its award or StorageUnavailable; every award is in the database; the ones that
    failed can be answered again (or are found recorded: COMMIT got through)."""
    db = PgDatabase(url, min_size=3, max_size=3)
    await db.open()
    store = PgQuizStore(db)
    players = [await _player(store, i) for i in range(40)]
    rounds = await _rounds(store, 10)
    holders = [await db.pool.acquire() for _ in range(3)]  # the pool's every connection
    pids = [await c.fetchval("SELECT pg_backend_pid()") for c in holders]
    for held in holders:
        await db.pool.release(held)
    work = [(rnd, p) for rnd in rounds for p in players]
    done = asyncio.Event()
    finished = 0

    async def one(rnd: Round, p: int) -> Award | Exception:
        nonlocal finished
        try:
            return await store.record_answer(an_attempt(rnd, p), ten_points)
        except StorageUnavailable as exc:
            return exc
        finally:
            finished += 1
            if finished == 100:
                done.set()

    async def offered() -> list[Award | Exception]:
        tasks = []
        for rnd, p in work:
            tasks.append(asyncio.ensure_future(one(rnd, p)))
            await asyncio.sleep(0.0005)
        return list(await asyncio.gather(*tasks))

    load = asyncio.ensure_future(offered())
    await done.wait()
    admin = await _superuser()
    try:
        await admin.execute("SELECT pg_terminate_backend(pid) FROM unnest($1::int[]) pid", pids)
    finally:
        await admin.close()
    results = await load
    try:
        assert all(isinstance(r, Award | StorageUnavailable) for r in results)
        acked = {
            (rnd.id, p) for (rnd, p), r in zip(work, results, strict=True) if isinstance(r, Award)
        }
        recorded = {
            (r["round_id"], r["player_id"])
            for r in await db.fetch("SELECT round_id, player_id FROM answers")
        }
        assert acked <= recorded
        for (rnd, p), r in zip(work, results, strict=True):
            if isinstance(r, StorageUnavailable):
                assert "Try again in a moment" in r.message
                try:
                    await store.record_answer(an_attempt(rnd, p), ten_points)
                except AlreadyAnswered:
                    assert (rnd.id, p) in recorded  # its COMMIT had got through
        assert (await db.fetchval("SELECT count(*) FROM answers")) == len(work)
        assert (await db.fetchval("SELECT sum(points) FROM players")) == 10 * len(work)
    finally:
        await db.close()


async def test_one_bad_answer_fails_alone_and_the_flusher_goes_on(
    two: tuple[PgQuizStore, PgQuizStore],
) -> None:
    store, _ = two
    p, q = await _player(store, 1), await _player(store, 2)
    r1, r2 = await _rounds(store, 2)

    def broken(ctx: AnswerContext) -> Award:
        raise ZeroDivisionError("a bug in scoring")

    results = await asyncio.gather(
        store.record_answer(an_attempt(r1, p), ten_points),
        store.record_answer(an_attempt(a_round(99), p), ten_points),  # no such round
        store.record_answer(an_attempt(r1, q), broken),
        store.record_answer(an_attempt(r2, q), ten_points),
        return_exceptions=True,
    )
    assert isinstance(results[0], Award) and isinstance(results[3], Award)
    assert isinstance(results[1], StorageUnavailable)
    assert isinstance(results[2], ZeroDivisionError)
    assert await store.record_answer(an_attempt(r2, p), ten_points) == Award(True, 10, 10)
    assert (await store.player_stats(p)).answered == 2
    assert (await store.player_stats(q)).answered == 1


async def test_close_writes_the_answers_still_queued(url: str) -> None:
    db = PgDatabase(url)
    await db.open()
    store = PgQuizStore(db)
    players = [await _player(store, i) for i in range(50)]
    (rnd,) = await _rounds(store, 1)
    pending = [
        asyncio.ensure_future(store.record_answer(an_attempt(rnd, p), ten_points)) for p in players
    ]
    await asyncio.sleep(0)  # every answer queued, none written yet
    await db.close()
    assert all(t.done() and t.result() == Award(True, 10, 10) for t in pending)
    again = PgDatabase(url)
    await again.open()
    try:
        assert await again.fetchval("SELECT count(*) FROM answers") == 50
        assert await again.fetchval("SELECT sum(points) FROM scores WHERE period = 'all'") == 500
    finally:
        await again.close()


async def test_players_met_by_two_processes_at_once_are_one_player(
    two: tuple[PgQuizStore, PgQuizStore],
) -> None:
    a, b = two
    users = [UserRef(Platform.TELEGRAM, str(100 + i)) for i in range(30)]
    ids = await asyncio.gather(*(store.player(u, "same") for u in users for store in (a, b)))
    assert all(ids[2 * i] == ids[2 * i + 1] for i in range(len(users)))
    assert len(set(ids)) == len(users)
    assert await a.db.fetchval("SELECT count(*) FROM players") == len(users)


async def test_a_rename_by_another_process_is_overwritten_once_the_name_is_checked(
    two: tuple[PgQuizStore, PgQuizStore], monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot.storage.postgres import players as players_module

    monkeypatch.setattr(players_module, "NAME_CHECK_AGE", 0.05)
    a, b = two
    checked = PgQuizStore(a.db)  # a cache whose names are checked every 0.05 s
    user = UserRef(Platform.DISCORD, "42")
    pid = await checked.player(user, "Ada")
    assert await a.player(user, "Ada") == pid
    assert await b.player(user, "Ada L.") == pid  # the other process renames

    async def name() -> str:
        return str(await a.db.fetchval("SELECT name FROM players WHERE id = $1", pid))

    assert await a.player(user, "Ada") == pid
    assert await name() == "Ada L."  # a's cache still believes "Ada" is stored
    await asyncio.sleep(0.1)
    assert await checked.player(user, "Ada") == pid  # at once, from the cache ...
    await checked.close()  # ... and the name stored again meanwhile (close waits for it)
    assert await name() == "Ada"


class _Down(PgDatabase):
    """A database whose server is down: every connection attempt fails after a moment, as a
    refused or timed-out connect does."""

    @contextlib.asynccontextmanager
    async def connection(self) -> AsyncIterator[asyncpg.Connection]:
        await asyncio.sleep(0.01)
        raise StorageUnavailable(UNREACHABLE)
        yield  # an async generator, for asynccontextmanager


async def test_answers_fail_at_once_while_no_connection_can_be_had() -> None:
    store = PgQuizStore(_Down("postgresql://stackprep@127.0.0.1:1/none"))
    users = range(5)
    results = await asyncio.wait_for(
        asyncio.gather(
            *(store.record_answer(an_attempt(a_round(1), p), ten_points) for p in users),
            return_exceptions=True,
        ),
        timeout=5,
    )
    assert all(isinstance(r, StorageUnavailable) and r.message == UNREACHABLE for r in results)
    with pytest.raises(StorageUnavailable, match="Try again in a moment"):  # and the next one
        await asyncio.wait_for(store.record_answer(an_attempt(a_round(2), 1), ten_points), 5)
