"""FSRS cards and practice sessions survive a restart (a real SQLite file, closed and reopened)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from fsrs import Rating

from bot.app.bootstrap import App
from bot.core.bank.question_bank import QuestionBank
from bot.core.practice.ports import Awaiting
from bot.core.practice.srs import CardPhase, Srs
from tests.fakes.app import make_app
from tests.fakes.clock import FixedClock
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
        final = await practice.store.card(player, question.id)
        assert final == expected
        assert final is not None and final.phase is CardPhase.REVIEW and final.reps == 3
    finally:
        await app.close()


def bank_ids(bank: QuestionBank) -> list[str]:
    return sorted(q.id for q in bank.questions)
