"""The card writer: stored multiple-choice answers become FSRS cards, in order, exactly once,
a batch at a time. Through the real services over both stores; the backlog and memory checks
on a real SQLite file."""

from __future__ import annotations

import asyncio
import gc
import logging
import random
import sqlite3
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime

import pytest
from fsrs import Rating

from bot.app.bootstrap import App
from bot.core.common.errors import StorageUnavailable
from bot.core.common.identity import ChatRef, Platform, UserRef
from bot.core.practice import cards as cards_module
from bot.core.practice import service as service_module
from bot.core.practice.ports import ChoiceAnswer, PendingChoices
from bot.core.practice.service import PracticeService
from bot.core.practice.srs import CardState, Review, new_card
from bot.core.quiz import AnswerEvent, QuizService
from tests.fakes.clock import FixedClock

GROUP = ChatRef(Platform.TELEGRAM, "-100", "-100")
PEOPLE = [UserRef(Platform.TELEGRAM, str(500 + n)) for n in range(50)]
QUESTIONS = ("alpha-one", "alpha-two", "beta-one")

Items = Sequence[tuple[CardState, Review]]


async def answer(quiz: QuizService, user: UserRef, question_id: str, right: bool) -> None:
    asked = await quiz.ask(user, "x", GROUP, question_id=question_id)
    good = asked.round.correct_label(asked.question)
    label = good if right else next(x for x in "ABC" if x != good)
    await quiz.answer_choice(user, "x", asked.round.id, label)


async def test_a_burst_of_answers_shares_card_writes(
    practice: PracticeService, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The reply never waits for the card; many answers share one card write."""
    writes: list[int] = []
    apply = practice.store.apply_choices

    async def counting(after: int, through: int, items: Items) -> None:
        writes.append(len(items))
        await apply(after, through, items)

    monkeypatch.setattr(practice.store, "apply_choices", counting)
    quiz = practice.quiz
    asked = await quiz.ask(PEOPLE[0], "x", GROUP, question_id="beta-two")
    right = asked.round.correct_label(asked.question)
    await asyncio.gather(*(quiz.answer_choice(p, "x", asked.round.id, right) for p in PEOPLE[:20]))
    await practice.flush()
    assert sum(writes) == 20
    assert len(writes) < 20  # batched
    for p in PEOPLE[:20]:
        card = await practice.store.card(await quiz.store.player(p, "x"), "beta-two")
        assert card is not None and card.reps == 1


async def test_cards_are_fsrs_applied_to_every_answer_in_order(
    practice: PracticeService, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Many answers across several passes and slices: each card is exactly what FSRS makes of
    its answers one after the other, from a new card at the first."""
    monkeypatch.setattr(cards_module, "CARD_BATCH", 5)
    monkeypatch.setattr(cards_module, "CARD_SLICE", 2)
    rng = random.Random(4)
    quiz = practice.quiz
    history: dict[tuple[int, str], list[tuple[bool, datetime]]] = defaultdict(list)
    for n in range(60):
        user, qid, right = rng.choice(PEOPLE[:3]), rng.choice(QUESTIONS), rng.random() < 0.6
        clock.advance(minutes=rng.choice((1, 7, 30, 600, 3000)))
        await answer(quiz, user, qid, right)
        history[(await quiz.store.player(user, "x"), qid)].append((right, clock.now()))
        if n % 25 == 24:
            await practice.flush()  # a backlog of 25, then the rest as they come
    await practice.flush()

    srs = practice.srs
    for (pid, qid), answers in history.items():
        expected = new_card(pid, qid, qid.split("-")[0], answers[0][1])
        for right, at in answers:
            expected = srs.review(expected, Rating.Good if right else Rating.Again, at)
        assert await practice.store.card(pid, qid) == expected
    first = await quiz.store.player(PEOPLE[0], "x")
    progress = await practice.store.progress(first)
    assert sum(p.reviews for p in progress) == sum(
        len(a) for (p, _), a in history.items() if p == first
    )


async def test_a_backlog_is_worked_off_without_lingering_between_batches(
    practice: PracticeService, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The linger that lets answers share a card write is for a quiet queue: while a pass
    leaves a backlog the next starts at once (a linger per batch let the backlog grow)."""
    monkeypatch.setattr(cards_module, "CARD_BATCH", 4)
    monkeypatch.setattr(cards_module, "CARD_WRITE_LINGER", 1.0)
    passes = 0
    pending = practice.store.pending_choices

    async def counted(limit: int) -> PendingChoices:
        nonlocal passes
        passes += 1
        return await pending(limit)

    monkeypatch.setattr(practice.store, "pending_choices", counted)
    quiz = practice.quiz
    asked = await quiz.ask(PEOPLE[0], "x", GROUP, question_id="beta-two")
    right = asked.round.correct_label(asked.question)
    await asyncio.gather(*(quiz.answer_choice(p, "x", asked.round.id, right) for p in PEOPLE[:24]))
    started = asyncio.get_running_loop().time()
    while passes < 6:  # 24 answers, 4 a pass; lingering before each would take 6 s
        await asyncio.sleep(0.01)
        assert asyncio.get_running_loop().time() - started < 4.0, f"{passes} passes"
    await practice.flush()
    for p in PEOPLE[:24]:
        card = await practice.store.card(await quiz.store.player(p, "x"), "beta-two")
        assert card is not None and card.reps == 1


async def test_a_failed_card_write_is_retried_and_applied_once(
    practice: PracticeService, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(cards_module, "CARD_SLICE", 1)
    apply = practice.store.apply_choices
    failures: list[int] = []

    async def flaky(after: int, through: int, items: Items) -> None:
        if not failures and items and items[0][0].question_id == "beta-one":
            failures.append(through)
            raise StorageUnavailable()  # e.g. the database stayed locked
        await apply(after, through, items)

    monkeypatch.setattr(practice.store, "apply_choices", flaky)
    for qid in ("beta-two", "beta-one", "alpha-one"):
        await answer(practice.quiz, PEOPLE[0], qid, True)
    await practice.flush()
    await practice.flush()  # one of the two passes failed; the other applied the rest

    assert len(failures) == 1
    assert "applying stored answers to cards failed" in caplog.text
    player = await practice.quiz.store.player(PEOPLE[0], "x")
    for qid in ("beta-two", "beta-one", "alpha-one"):
        card = await practice.store.card(player, qid)
        assert card is not None and card.reps == 1, qid  # each applied, and only once
    assert sum(p.reviews for p in await practice.store.progress(player)) == 3


async def test_after_a_failed_write_the_writer_tries_again_by_itself(
    practice: PracticeService, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No flush, no further answer: the loop itself comes back after its pause."""
    monkeypatch.setattr(cards_module, "RETRY_PAUSES", (0.01, 0.05))
    apply = practice.store.apply_choices
    failures: list[int] = []

    async def fails_once(after: int, through: int, items: Items) -> None:
        if not failures:
            failures.append(through)
            raise StorageUnavailable()
        await apply(after, through, items)

    monkeypatch.setattr(practice.store, "apply_choices", fails_once)
    await answer(practice.quiz, PEOPLE[0], "beta-one", True)
    player = await practice.quiz.store.player(PEOPLE[0], "x")
    card = None
    for _ in range(1000):  # up to ~10 s: a bound on waiting, not a timing assertion
        if (card := await practice.store.card(player, "beta-one")) is not None:
            break
        await asyncio.sleep(0.01)
    assert failures and card is not None and card.reps == 1


async def test_a_card_fsrs_cannot_compute_is_skipped_not_stalling_the_rest(
    practice: PracticeService, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    review = practice.srs.review

    def broken_for_beta_one(card: CardState, rating: Rating, at: datetime) -> CardState:
        if card.question_id == "beta-one":
            raise ValueError("a bug")
        return review(card, rating, at)

    monkeypatch.setattr(practice.srs, "review", broken_for_beta_one)
    for qid in ("beta-one", "beta-two"):
        await answer(practice.quiz, PEOPLE[0], qid, True)
    await practice.flush()
    player = await practice.quiz.store.player(PEOPLE[0], "x")
    assert await practice.store.card(player, "beta-one") is None
    assert await practice.store.card(player, "beta-two") is not None
    assert "could not update its card" in caplog.text
    assert (await practice.store.pending_choices(10)).answers == ()


async def test_readers_of_cards_wait_for_a_backlog_only_so_long(
    practice: PracticeService, monkeypatch: pytest.MonkeyPatch
) -> None:
    """/due while card writes stall: answered with the cards as they are, not hanging."""
    monkeypatch.setattr(service_module, "CARDS_READ_WAIT", 0.1)
    writable = asyncio.Event()
    apply = practice.store.apply_choices

    async def stalled(after: int, through: int, items: Items) -> None:
        await writable.wait()
        await apply(after, through, items)

    monkeypatch.setattr(practice.store, "apply_choices", stalled)
    await answer(practice.quiz, PEOPLE[0], "beta-one", False)
    async with asyncio.timeout(10):
        due = await practice.due(PEOPLE[0], "x")
    assert "no practice cards yet" in due.plain_text()  # the card is not written yet
    writable.set()
    await practice.flush()
    due = await practice.due(PEOPLE[0], "x")
    assert "Nothing is due right now (1 cards)" in due.plain_text()  # Again: due in a minute


# -- SQLite: a backlog lives in the database, not in memory -----------------------------------


def store_answers_directly(app: App, players: int, rounds: int) -> None:
    """players x rounds answers committed by another connection, as a crash leaves them: the
    card updates of all of them are pending."""
    assert app.database is not None
    conn = sqlite3.connect(app.database.path, isolation_level=None)
    conn.execute("BEGIN")
    conn.executemany(
        "INSERT INTO players (id, name, created_at) VALUES (?, ?, 0)",
        ((1000 + p, f"p{p}") for p in range(players)),
    )
    conn.executemany(
        "INSERT INTO rounds (id, question_id, platform, chat_id, community_id, kind, "
        "choice_order, opened_at) VALUES (?, ?, 'telegram', '-100', '-100', 'ask', '0,1,2', 0)",
        ((f"r{r:06d}", QUESTIONS[r % 3]) for r in range(rounds)),
    )
    conn.executemany(
        "INSERT INTO answers VALUES (?, ?, ?, ?, 'ask', 'A', ?, 0, ?, 1, NULL, NULL, '2026-W49', "
        "'2026-12-01', NULL, NULL)",
        (
            (f"r{r:06d}", 1000 + p, QUESTIONS[r % 3], QUESTIONS[r % 3].split("-")[0],
             (r + p) % 2, 1_764_590_400 + r)
            for r in range(rounds) for p in range(players)
        ),
    )  # fmt: skip
    conn.execute("COMMIT")
    conn.close()


async def test_a_large_backlog_is_read_a_batch_at_a_time(
    sqlite_app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    store_answers_directly(sqlite_app, players=100, rounds=100)  # 10,000 pending updates
    practice, db = sqlite_app.practice, sqlite_app.database
    assert db is not None
    batches: list[int] = []
    pending_choices = practice.store.pending_choices

    async def spying(limit: int) -> PendingChoices:
        pending = await pending_choices(limit)
        batches.append(len(pending.answers))
        return pending

    monkeypatch.setattr(practice.store, "pending_choices", spying)
    await practice.flush()

    assert max(batches) == cards_module.CARD_BATCH  # never more held at once
    assert sum(batches) == 10_000
    assert await db.read("SELECT sum(reviews), count(*) FROM practice_cards") == [(10_000, 300)]
    assert await db.read("SELECT count(*) FROM practice_reviews") == [(10_000,)]
    assert await db.read(
        "SELECT count(*), max(seq) = (SELECT applied FROM practice_watermark) FROM practice_feed"
    ) == [(1, 1)]  # consumed, but for the row at the watermark


async def test_answers_while_cards_cannot_be_written_hold_nothing_in_memory(
    sqlite_app: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    """While card writes stall, answers go on and their card updates wait in the database:
    the bot holds at most one batch of them (before: every AnswerEvent, in a list)."""
    practice, quiz = sqlite_app.practice, sqlite_app.quiz
    writable = asyncio.Event()
    apply = practice.store.apply_choices

    async def stalled(after: int, through: int, items: Items) -> None:
        await writable.wait()
        await apply(after, through, items)

    monkeypatch.setattr(practice.store, "apply_choices", stalled)
    for _ in range(20):
        asked = await quiz.ask(PEOPLE[0], "x", GROUP, question_id="alpha-one")
        right = asked.round.correct_label(asked.question)
        await asyncio.gather(*(quiz.answer_choice(p, "x", asked.round.id, right) for p in PEOPLE))
    gc.collect()
    held = sum(isinstance(o, AnswerEvent | ChoiceAnswer) for o in gc.get_objects())
    assert held <= cards_module.CARD_BATCH, f"{held} pending card updates held in memory"

    writable.set()
    await practice.flush()
    db = sqlite_app.database
    assert db is not None
    assert await db.read("SELECT sum(reviews) FROM practice_cards") == [(1000,)]


async def test_a_write_failing_for_good_logs_once_and_keeps_the_answers(
    sqlite_app: App, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Every pass failing (say the disk is full): one warning, not one per answer, and the
    updates are all applied once writing works again."""
    practice = sqlite_app.practice
    apply = practice.store.apply_choices
    broken = True

    async def failing(after: int, through: int, items: Items) -> None:
        if broken:
            raise StorageUnavailable()
        await apply(after, through, items)

    monkeypatch.setattr(practice.store, "apply_choices", failing)
    monkeypatch.setattr(cards_module, "RETRY_PAUSES", (0.01, 0.02))
    for n in range(30):
        await answer(practice.quiz, PEOPLE[n % 5], QUESTIONS[n % 3], True)
        await practice.flush()
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1
    broken = False
    await practice.flush()
    db = sqlite_app.database
    assert db is not None
    assert await db.read("SELECT sum(reviews) FROM practice_cards") == [(30,)]
