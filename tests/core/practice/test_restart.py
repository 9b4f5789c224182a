"""FSRS cards and practice sessions survive a restart (a real SQLite file, closed and reopened)
and a kill -9 under load (a bot process killed mid-stream, then restarted)."""

from __future__ import annotations

import asyncio
import signal
import sys
from collections import defaultdict
from datetime import datetime, timedelta
from pathlib import Path

from fsrs import Rating

from bot.app.bootstrap import App
from bot.core.bank.question_bank import QuestionBank
from bot.core.practice.ports import Awaiting
from bot.core.practice.srs import CardPhase, Srs, new_card
from bot.storage.sqlite.values import from_ts
from tests.fakes.app import make_app
from tests.fakes.clock import FixedClock
from tests.fakes.paths import REPO
from tests.fakes.people import ADA, DM


async def boot(folder: Path, bank: QuestionBank, clock: FixedClock) -> App:
    """The app as a new process starts it, over the same database file."""
    app = make_app(folder, bank=bank, clock=clock, seed=3)
    await app.open()
    return app


async def test_cards_and_sessions_survive_a_restart(
    tmp_path: Path, bank: QuestionBank, clock: FixedClock
) -> None:
    app = await boot(tmp_path, bank, clock)
    practice = app.practice
    try:
        step = await practice.start(ADA, "Ada", DM)
        first = step.replies[-1].choices[0].token.split(".")[2]
        rnd = await practice.quiz.get_round(first)
        assert rnd is not None
        question = bank.get(rnd.question_id)
        assert question is not None
        right = rnd.correct_label(question)
        step = await practice.press(ADA, "Ada", f"p1.c.{first}.{right}")
        await practice.answer_text(ADA, "Ada", "It makes a copy of the list, so xs stays [1, 2].")
        step = await practice.rate(ADA, "Ada", int(Rating.Hard))
        assert step.awaiting is Awaiting.CHOICE
        pending = step.replies[-1].choices[0].token  # question 3, shown before the restart
        player = await practice.quiz.store.player(ADA, "Ada")
        await practice.flush()
        before = {qid: await practice.store.card(player, qid) for qid in bank_ids(bank)}
    finally:
        await app.close()  # flushes queued card updates, then closes

    clock.advance(minutes=3)
    app = await boot(tmp_path, bank, clock)
    practice = app.practice
    try:
        after = {qid: await practice.store.card(player, qid) for qid in bank_ids(bank)}
        assert after == before
        assert sum(card is not None for card in after.values()) == 2
        session = await practice.store.active_session(player)
        assert session is not None and session.position == 2 and session.answered == 2
        step = await practice.press(ADA, "Ada", pending)  # an old button still works
        assert step.awaiting is Awaiting.TEXT

        # the FSRS state read back schedules exactly like one that never left memory
        srs, card = Srs(), after[question.id]
        assert card is not None and card.phase is CardPhase.LEARNING
        clock.advance(days=2)
        expected = srs.review(srs.review(card, Rating.Good, clock.now()), Rating.Good,
                              clock.now() + timedelta(days=3))  # fmt: skip
        for at in (clock.now(), clock.now() + timedelta(days=3)):
            clock.current = at
            asked = await practice.quiz.ask(ADA, "Ada", DM, question_id=question.id)
            label = asked.round.correct_label(asked.question)
            await practice.quiz.answer_choice(ADA, "Ada", asked.round.id, label)
    finally:
        await app.close()

    app = await boot(tmp_path, bank, clock)
    practice = app.practice
    try:
        await practice.flush()  # whatever the last run left pending (nothing if it drained)
        final = await practice.store.card(player, question.id)
        assert final == expected
        assert final is not None and final.phase is CardPhase.REVIEW and final.reps == 3
    finally:
        await app.close()


def bank_ids(bank: QuestionBank) -> list[str]:
    return sorted(q.id for q in bank.questions)


async def test_kill_9_under_load_loses_no_card_update_and_applies_none_twice(
    tmp_path: Path, bank: QuestionBank, clock: FixedClock
) -> None:
    """A bot answering 100 questions at a time is killed (SIGKILL) mid-stream. After a
    restart the card writer applies every stored answer, acknowledged or not, exactly once:
    each card is FSRS applied to its answers in order, and counts each answer once."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tests.core.practice.answer_load", str(tmp_path), cwd=REPO,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert proc.stdout is not None and proc.stderr is not None
    acked: set[tuple[str, str]] = set()
    try:
        async with asyncio.timeout(60):
            while len(acked) < 3000:
                line = await proc.stdout.readline()
                assert line, (await proc.stderr.read()).decode()[-2000:]
                round_id, user_id = line.decode().split()
                acked.add((round_id, user_id))
    finally:
        proc.kill()  # SIGKILL: no shutdown, no final flush
        await proc.wait()
    assert proc.returncode == -signal.SIGKILL

    app = make_app(tmp_path, bank=bank, clock=clock)
    async with app:
        db = app.database
        assert db is not None
        backlog = await db.read(
            "SELECT count(*) FROM practice_feed "
            "WHERE seq > (SELECT applied FROM practice_watermark)"
        )
        await app.practice.flush()
        answers = await db.read(
            "SELECT a.round_id, i.user_id, a.player_id, a.question_id, a.topic, a.correct, "
            "a.answered_at FROM answers a JOIN identities i ON i.player_id = a.player_id "
            "ORDER BY a.answered_at"
        )
        assert acked <= {(r, u) for r, u, *_ in answers}  # every acknowledged answer is there
        by_card: dict[tuple[int, str], list[tuple[bool, datetime]]] = defaultdict(list)
        for _, _, pid, qid, _, correct, at in answers:
            by_card[(pid, qid)].append((bool(correct), from_ts(at)))
        srs = app.practice.srs
        for (pid, qid), history in by_card.items():
            expected = new_card(pid, qid, qid.split("-")[0], history[0][1])
            for right, at in history:
                expected = srs.review(expected, Rating.Good if right else Rating.Again, at)
            assert await app.practice.store.card(pid, qid) == expected
        counts = await db.read("SELECT player_id, question_id, reviews FROM practice_cards")
        assert {(p, q): n for p, q, n in counts} == {k: len(v) for k, v in by_card.items()}
        assert await db.read("SELECT count(*) FROM practice_reviews") == [(len(answers),)]
        assert (await app.practice.store.pending_choices(10)).answers == ()
    print(f"{len(answers)} answers stored, {backlog[0][0]} card updates pending at the kill")
