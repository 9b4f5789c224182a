"""PgPracticeStore with several processes on one database (one PgDatabase pool each): every
stored answer's card update is applied exactly once, in the order the answers were stored,
however the processes' card writers race; one active session per player; a day's reminder
and a plan's mock offer claimed once. The single-process contract is test_practice_store.py's
(all three engines)."""

from __future__ import annotations

import asyncio
import random
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

import pytest
from fsrs import Rating

from bot.core.common.identity import ChatRef, Platform
from bot.core.practice.cards import CardWriter
from bot.core.practice.ports import Awaiting, Reminder, Session, StudyPlan
from bot.core.practice.srs import CardState, Review, Source, Srs, new_card
from bot.storage.postgres import PgDatabase, PgPracticeStore
from tests.fakes.pg_processes import add_players, processes, store_answer

T0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
DM = ChatRef(Platform.DISCORD, "dm-1")
QUESTIONS = ("alpha-one", "alpha-two", "alpha-three", "alpha-four")


def choice(card: CardState) -> tuple[CardState, Review]:
    return card, Review(card.player_id, card.question_id, card.topic, 3, Source.CHOICE, T0)


async def reviews_of(db: PgDatabase, player: int) -> int:
    count: int = await db.fetchval(
        "SELECT count(*) FROM practice_reviews WHERE player_id = $1", player
    )
    return count


async def answers(db: PgDatabase, player: int, count: int) -> list[int]:
    """`count` answers of one player to one question; their feed numbers."""
    return [
        await store_answer(db, f"r{n:04d}", player, "alpha-one", True, T0 + timedelta(minutes=n))
        for n in range(count)
    ]


async def test_two_processes_apply_every_answer_once_in_the_order_stored() -> None:
    async with processes(3) as (one, two, answering):
        players = await add_players(answering, 3)
        writers = [CardWriter(PgPracticeStore(db), Srs()) for db in (one, two)]
        rng = random.Random(14)
        plan = [
            (rng.choice(players), rng.choice(QUESTIONS), rng.random() < 0.7) for _ in range(400)
        ]
        stored: list[tuple[int, int, str, bool, datetime]] = []
        done = asyncio.Event()

        async def answer(part: int) -> None:  # four inserters at once, as busy processes
            for n in range(part, len(plan), 4):
                pid, qid, correct = plan[n]
                at = T0 + timedelta(seconds=n)
                seq = await store_answer(answering, f"round{n:05d}", pid, qid, correct, at)
                stored.append((seq, pid, qid, correct, at))

        async def apply(writer: CardWriter) -> None:  # each process's writer, all along
            while not done.is_set():
                await writer.flush()
                await asyncio.sleep(0)

        appliers = [asyncio.create_task(apply(w)) for w in writers]
        await asyncio.gather(*(answer(part) for part in range(4)))
        done.set()
        await asyncio.gather(*appliers)
        for writer in writers:
            await writer.flush()

        srs, expected = Srs(), dict[tuple[int, str], CardState]()
        for _, pid, qid, correct, at in sorted(stored):  # the order they were stored
            card = expected.get((pid, qid)) or new_card(pid, qid, "alpha", at)
            expected[pid, qid] = srs.review(card, Rating.Good if correct else Rating.Again, at)
        found = await PgPracticeStore(one).cards(list(expected))
        assert found.keys() == expected.keys()
        for key, want in expected.items():
            got = found[key]
            assert (got.reps, got.lapses, got.phase, got.step) == (
                want.reps, want.lapses, want.phase, want.step,
            ), key  # fmt: skip
            assert got.stability == pytest.approx(want.stability)
            assert abs(got.due - want.due) < timedelta(milliseconds=1)
        counted = await one.fetch(
            "SELECT player_id, question_id, reviews FROM practice_cards ORDER BY 1, 2"
        )
        assert {(p, q): n for p, q, n in counted} == {
            key: sum(1 for _, p, q, _, _ in stored if (p, q) == key) for key in expected
        }
        assert await one.fetchval("SELECT count(*) FROM practice_reviews") == len(plan)
        assert await one.fetchval("SELECT applied FROM practice_watermark") == max(stored)[0]
        assert await one.fetchval("SELECT count(*) FROM practice_feed") == 0  # pruned


async def test_a_slice_is_written_by_one_process_only() -> None:
    async with processes(2) as (one, two):
        (pid,) = await add_players(one, 1)
        seqs = await answers(one, pid, 2)
        a, b = PgPracticeStore(one), PgPracticeStore(two)
        pa, pb = await a.pending_choices(10), await b.pending_choices(10)
        assert (pa.after, pa.through) == (pb.after, pb.through) == (0, seqs[-1])
        first = new_card(pid, "alpha-one", "alpha", T0)
        items = [choice(replace(first, reps=1)), choice(replace(first, reps=2))]
        await asyncio.gather(
            a.apply_choices(pa.after, pa.through, items),
            b.apply_choices(pb.after, pb.through, items),
        )
        assert await reviews_of(one, pid) == 2  # not 4
        card = await a.card(pid, "alpha-one")
        assert card is not None and card.reps == 2
        assert await one.fetchval("SELECT reviews FROM practice_cards") == 2


@pytest.mark.parametrize("other", ["commits", "rolls back"])
async def test_a_slice_waits_for_the_watermark_and_writes_only_if_it_moves_it(
    other: str,
) -> None:
    """Another process's transaction holds the watermark's row (moving it over the same
    slice): this process's write of the slice waits for it, then writes nothing if that one
    committed (cards, reviews and the feed as the other left them), and the whole slice if it
    rolled back."""
    async with processes(2) as (one, two):
        (pid,) = await add_players(one, 1)
        seqs = await answers(one, pid, 2)
        store = PgPracticeStore(one)
        pending = await store.pending_choices(10)
        card = replace(new_card(pid, "alpha-one", "alpha", T0), reps=2)
        async with two.connection() as conn:  # the other process's transaction
            await conn.execute("BEGIN")
            await conn.execute("UPDATE practice_watermark SET applied = $1", seqs[-1])
            xid = await conn.fetchval("SELECT pg_current_xact_id()::xid::text")
            write = asyncio.ensure_future(
                store.apply_choices(pending.after, pending.through, [choice(card)])
            )
            for _ in range(500):  # until the write waits for the other's row lock
                if await one.fetchval(
                    "SELECT count(*) FROM pg_locks WHERE locktype = 'transactionid' "
                    "AND NOT granted AND transactionid::text = $1",
                    xid,
                ):
                    break
                await asyncio.sleep(0.01)
            else:
                raise AssertionError("the write does not wait for the watermark's row")
            assert not write.done()
            await conn.execute("COMMIT" if other == "commits" else "ROLLBACK")
        await asyncio.wait_for(write, 10)
        written = other == "rolls back"
        assert await reviews_of(one, pid) == (1 if written else 0)
        assert (await store.card(pid, "alpha-one") is not None) == written
        assert await one.fetchval("SELECT applied FROM practice_watermark") == seqs[-1]
        assert await one.fetchval("SELECT count(*) FROM practice_feed") == (0 if written else 2)


async def test_a_slice_after_one_that_lost_the_race_writes_nothing() -> None:
    """Process b reads the pending answers, then its cards after a wrote the first slice;
    b's first slice loses (the watermark moved); its second starts where a's first ended,
    but was computed on top of b's own lost slice: it must not be written."""
    async with processes(2) as (one, two):
        (pid,) = await add_players(one, 1)
        seqs = await answers(one, pid, 4)
        a, b = PgPracticeStore(one), PgPracticeStore(two)
        pa, pb = await a.pending_choices(10), await b.pending_choices(10)
        base = new_card(pid, "alpha-one", "alpha", T0)
        reps = [choice(replace(base, reps=n)) for n in range(1, 7)]
        await a.apply_choices(pa.after, seqs[1], reps[0:2])
        # b's cards now show reps 2, so its slices say 3, 4 then 5, 6
        await b.apply_choices(pb.after, seqs[1], reps[2:4])
        await b.apply_choices(seqs[1], seqs[3], reps[4:6])
        await a.apply_choices(seqs[1], seqs[3], reps[2:4])
        card = await a.card(pid, "alpha-one")
        assert card is not None and card.reps == 4  # each answer once: not 6
        assert await reviews_of(one, pid) == 4
        assert await one.fetchval("SELECT applied FROM practice_watermark") == seqs[3]
        # b's next pass starts afresh from the database: nothing left
        rest = await b.pending_choices(10)
        assert rest.answers == () and rest.after == rest.through == seqs[3]


async def test_applied_feed_rows_are_deleted_and_numbers_go_on() -> None:
    async with processes(1) as (db,):
        (pid,) = await add_players(db, 1)
        seqs = await answers(db, pid, 3)
        store = PgPracticeStore(db)
        first = await store.pending_choices(2)
        await store.apply_choices(first.after, first.through, [])
        assert [r[0] for r in await db.fetch("SELECT seq FROM practice_feed")] == [seqs[2]]
        rest = await store.pending_choices(10)
        await store.apply_choices(rest.after, rest.through, [])
        assert await db.fetchval("SELECT count(*) FROM practice_feed") == 0
        later = await store_answer(db, "later", pid, "alpha-one", False, T0)
        assert later > seqs[2]
        (pending,) = (await store.pending_choices(10)).answers
        assert (pending.seq, pending.correct) == (later, False)


async def test_one_active_session_per_player_across_processes() -> None:
    async with processes(2) as dbs:
        (pid,) = await add_players(dbs[0], 1)
        stores = [PgPracticeStore(db) for db in dbs]
        sessions = [
            Session(f"sess00000{n}", pid, DM, None, ("q1",), 0, Awaiting.CHOICE, T0, T0)
            for n in range(6)
        ]
        results = await asyncio.gather(
            *(stores[n % 2].save_session(s) for n, s in enumerate(sessions)),
            return_exceptions=True,
        )
        assert sum(r is None for r in results) == 1
        assert all(r is None or isinstance(r, ValueError) for r in results)
        active = await stores[1].active_session(pid)
        assert active is not None and active == sessions[results.index(None)]


async def test_a_reminder_and_a_mock_offer_are_claimed_once_across_processes() -> None:
    async with processes(2) as dbs:
        (pid,) = await add_players(dbs[0], 1)
        a, b = (PgPracticeStore(db) for db in dbs)
        await a.set_reminder(Reminder(pid, DM, "08:30", "UTC"))
        day = date(2026, 12, 1)
        claims = await asyncio.gather(*(s.claim_reminder(pid, day) for s in (a, b, a, b)))
        assert sorted(claims) == [False, False, False, True]
        await a.set_plan(StudyPlan(pid, DM, day, "UTC", (), T0))
        offers = await asyncio.gather(*(s.claim_mock_offer(pid, day) for s in (a, b, a, b)))
        assert sorted(offers) == [False, False, False, True]
