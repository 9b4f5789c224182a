"""Practice sessions through the real services and both stores, with a fixed clock."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from bot.core.common.errors import InvalidAnswer, QuizError
from bot.core.common.identity import ChatRef, Platform, UserRef
from bot.core.common.replies import Reply
from bot.core.practice import texts as pt
from bot.core.practice.ports import Awaiting, SessionState
from bot.core.practice.service import PracticeService, Step
from bot.core.practice.srs import CardPhase, Review, Source, new_card
from bot.core.quiz.rounds import RoundKind
from tests.fakes.clock import FixedClock
from tests.fakes.people import ADA, DM

CHOICE = Source.CHOICE
GROUP = ChatRef(Platform.TELEGRAM, "-100", "-100")
GOOD_ALPHA_ONE = "The built-in len() returns how many items there are; it calls the __len__ method."


async def choice_labels(practice: PracticeService, step: Step) -> tuple[str, str]:
    """(right, wrong) labels of the multiple-choice question shown last in `step`."""
    token = step.replies[-1].choices[0].token
    round_id = token.split(".")[2]
    rnd = await practice.quiz.get_round(round_id)
    assert rnd is not None
    question = practice.quiz.bank.get(rnd.question_id)
    assert question is not None
    right = rnd.correct_label(question)
    wrong = next(b.label for b in step.replies[-1].choices if b.label != right)
    return right, wrong


def token_for(reply: Reply, label: str) -> str:
    return next(b.token for b in reply.choices if b.label == label)


async def pick(practice: PracticeService, step: Step, *, right: bool) -> Step:
    good, bad = await choice_labels(practice, step)
    return await practice.press(ADA, "Ada", token_for(step.replies[-1], good if right else bad))


async def test_practice_is_for_private_chats_only(practice: PracticeService) -> None:
    with pytest.raises(QuizError, match="direct message"):
        await practice.start(ADA, "Ada", GROUP)


async def test_a_whole_session_alternates_choice_and_own_words(
    practice: PracticeService, clock: FixedClock
) -> None:
    step = await practice.start(ADA, "Ada", DM)
    assert "5 questions (5 new)" in step.replies[0].plain_text()
    assert step.awaiting is Awaiting.CHOICE
    question = step.replies[-1]
    assert question.private and question.plain_text().startswith("Practice 1/5 · multiple choice")
    assert all(re.fullmatch(r"p1\.c\.[\w-]+\.[A-D]", b.token) for b in question.choices)

    step = await pick(practice, step, right=True)
    feedback, open_q = step.replies
    assert "Right" in feedback.plain_text()
    assert [(b.label, b.token[:3]) for b in feedback.actions] == [("Report", "r1.")]
    assert step.awaiting is Awaiting.TEXT
    assert open_q.plain_text().startswith("Practice 2/5 · in your own words")
    assert [b.label for b in open_q.actions] == [pt.OWN_WORDS_BUTTON]
    assert open_q.actions[0].token == f"p1.o.{step.session_id}"
    prompt = await practice.press(ADA, "Ada", open_q.actions[0].token)
    assert prompt.awaiting is Awaiting.TEXT and pt.ANSWER_PROMPT in prompt.replies[0].plain_text()

    session = await practice.store.active_session(await practice.quiz.store.player(ADA, "Ada"))
    assert session is not None
    question_id = session.question_id
    clock.advance(seconds=40)
    graded = await practice.answer_text(ADA, "Ada", "I am not sure, something with threads?")
    assert graded.awaiting is Awaiting.RATING
    text = graded.replies[0].plain_text()
    assert "Key points: 0 of 2 covered" in text and "❌" in text and "Model answer" in text
    labels = [b.label for b in graded.replies[0].actions]
    assert labels[0].startswith(f"{pt.SUGGESTED_MARK} Again · ")  # the grader's suggestion
    assert [label.split(" · ")[0].lstrip("★ ") for label in labels] == [
        "Again", "Hard", "Good", "Easy",
    ]  # fmt: skip
    assert labels[1].endswith("· 6 min") and labels[3].endswith(" d")  # FSRS intervals

    step = await practice.press(ADA, "Ada", graded.replies[0].actions[2].token)  # Good
    assert step.replies[0].plain_text() == "Rated Good: this question comes back in 10 min."
    card = await practice.store.card(session.player_id, question_id)
    assert card is not None and card.reps == 1
    assert card.due == clock.now() + timedelta(minutes=10)
    assert step.awaiting is Awaiting.CHOICE  # question 3 is multiple choice again

    step = await pick(practice, step, right=False)
    assert step.awaiting is Awaiting.TEXT
    step = await practice.answer_text(ADA, "Ada", "No idea at all, sorry about that one.")
    step = await practice.rate(ADA, "Ada", 1)
    step = await pick(practice, step, right=True)
    assert step.awaiting is Awaiting.NOTHING
    assert "Session complete" in step.replies[-1].plain_text()
    assert "5 answered, 3 recalled" in step.replies[-1].plain_text()
    assert await practice.store.active_session(session.player_id) is None
    assert (await practice.due(ADA, "Ada")).plain_text().startswith("Nothing is due right now")


async def test_free_text_never_touches_the_leaderboard(practice: PracticeService) -> None:
    step = await practice.start(ADA, "Ada", DM)
    step = await pick(practice, step, right=True)  # practice MC: recorded, 0 points
    await practice.answer_text(ADA, "Ada", GOOD_ALPHA_ONE)
    await practice.rate(ADA, "Ada", 4)
    player = await practice.quiz.store.player(ADA, "Ada")
    stats = await practice.quiz.store.player_stats(player)
    assert (stats.answered, stats.correct, stats.points) == (1, 1, 0)
    assert await practice.quiz.store.top("global", "all", 10) == []


async def test_multiple_choice_anywhere_updates_the_card(
    practice: PracticeService, clock: FixedClock
) -> None:
    quiz = practice.quiz
    player = await quiz.store.player(ADA, "Ada")
    asked = await quiz.ask(ADA, "Ada", GROUP, question_id="alpha-one")
    wrong = next(lbl for lbl in "ABC" if lbl != asked.round.correct_label(asked.question))
    reply = await quiz.answer_choice(ADA, "Ada", asked.round.id, wrong)
    assert "Not quite" in reply.plain_text()
    await practice.flush()  # card updates are queued, not written inline
    card = await practice.store.card(player, "alpha-one")
    assert card is not None
    assert (card.phase, card.reps, card.due) == (
        CardPhase.LEARNING, 1, clock.now() + timedelta(minutes=1),
    )  # fmt: skip  # Again: back in one minute
    clock.advance(minutes=2)
    again = await quiz.ask(ADA, "Ada", GROUP, question_id="alpha-one")
    await quiz.answer_choice(ADA, "Ada", again.round.id, again.round.correct_label(again.question))
    await practice.flush()
    card = await practice.store.card(player, "alpha-one")
    assert card is not None and card.reps == 2
    assert card.due == clock.now() + timedelta(minutes=10)  # Good: the next learning step
    progress = await practice.progress(ADA, "Ada")
    assert "Alpha topic: 50% right (1/2), 0/1 cards learned" in progress.reply.plain_text()
    assert progress.chart is not None and progress.chart.bars[0][:2] == ("Alpha topic", 50.0)


async def test_a_failing_listener_never_fails_the_answer(
    practice: PracticeService, caplog: pytest.LogCaptureFixture
) -> None:
    async def broken(event: object) -> None:
        raise RuntimeError("boom")

    practice.quiz.answer_listeners.insert(0, broken)
    asked = await practice.quiz.ask(ADA, "Ada", GROUP, question_id="beta-one")
    label = asked.round.correct_label(asked.question)
    reply = await practice.quiz.answer_choice(ADA, "Ada", asked.round.id, label)
    assert "Right" in reply.plain_text()
    assert "answer listener" in caplog.text
    player = await practice.quiz.store.player(ADA, "Ada")
    await practice.flush()
    assert await practice.store.card(player, "beta-one") is not None  # later listeners ran


async def test_due_cards_come_first_most_overdue_first(
    practice: PracticeService, clock: FixedClock
) -> None:
    player = await practice.quiz.store.player(ADA, "Ada")
    now = clock.now()
    for qid, days in [("beta-two", -1), ("alpha-three", -4), ("alpha-one", 3)]:
        card = new_card(player, qid, qid.split("-")[0], now + timedelta(days=days))
        await practice.store.save_review(card, Review(player, qid, card.topic, 3, CHOICE, now))
    step = await practice.start(ADA, "Ada", DM)
    session = await practice.store.active_session(player)
    assert session is not None
    assert session.plan[:2] == ("alpha-three", "beta-two")  # due: most overdue first
    assert set(session.plan[2:4]) == {"alpha-two", "beta-one"}  # then the new ones
    assert session.plan[4] == "alpha-one"  # then the card due soonest
    assert "(2 due for review, 3 new)" in step.replies[0].plain_text()
    topic_only = await practice.start(ADA, "Ada", DM, "beta")
    session = await practice.store.active_session(player)
    assert session is not None and session.plan == ("beta-two", "beta-one")
    assert "on Beta topic: 2 questions" in topic_only.replies[0].plain_text()


async def test_an_unanswered_session_times_out_politely(
    practice: PracticeService, clock: FixedClock
) -> None:
    step = await practice.start(ADA, "Ada", DM)
    step = await pick(practice, step, right=True)
    assert step.awaiting is Awaiting.TEXT
    clock.advance(minutes=29)
    assert await practice.awaiting(ADA, "Ada") is Awaiting.TEXT
    clock.advance(minutes=2)
    assert await practice.awaiting(ADA, "Ada") is Awaiting.NOTHING
    notes = await practice.expire_idle()
    assert [chat for chat, _ in notes] == [DM]
    assert "ended after 30 minutes without an answer" in notes[0][1].plain_text()
    assert await practice.expire_idle() == []  # told once
    with pytest.raises(QuizError, match="No practice session"):
        await practice.answer_text(ADA, "Ada", GOOD_ALPHA_ONE)


async def test_a_late_answer_is_told_the_session_timed_out(
    practice: PracticeService, clock: FixedClock
) -> None:
    step = await practice.start(ADA, "Ada", DM)
    step = await pick(practice, step, right=True)
    clock.advance(hours=2)
    with pytest.raises(QuizError, match="30 minutes without an answer"):
        await practice.answer_text(ADA, "Ada", GOOD_ALPHA_ONE)
    player = await practice.quiz.store.player(ADA, "Ada")
    assert await practice.store.active_session(player) is None
    step = await practice.start(ADA, "Ada", DM)  # a fresh start works
    assert step.awaiting is Awaiting.CHOICE


async def test_stop_ends_the_session_and_old_buttons_say_so(practice: PracticeService) -> None:
    step = await practice.start(ADA, "Ada", DM)
    step = await pick(practice, step, right=True)
    own_words = step.replies[-1].actions[0].token
    reply = await practice.stop(ADA, "Ada")
    assert "Practice stopped after 1 of 5 questions (1 recalled)" in reply.plain_text()
    with pytest.raises(QuizError, match="No practice session"):
        await practice.press(ADA, "Ada", own_words)
    with pytest.raises(QuizError, match="No practice session"):
        await practice.stop(ADA, "Ada")


async def test_out_of_turn_input_gets_specific_messages(practice: PracticeService) -> None:
    first = await practice.start(ADA, "Ada", DM)
    with pytest.raises(QuizError, match="multiple choice"):
        await practice.answer_text(ADA, "Ada", GOOD_ALPHA_ONE)
    with pytest.raises(QuizError, match="earlier step"):
        await practice.rate(ADA, "Ada", 3)
    step = await pick(practice, first, right=True)
    graded = await practice.answer_text(ADA, "Ada", GOOD_ALPHA_ONE)
    with pytest.raises(QuizError, match="rate how well"):
        await practice.answer_text(ADA, "Ada", GOOD_ALPHA_ONE)
    with pytest.raises(QuizError, match="earlier step"):
        await practice.press(ADA, "Ada", f"p1.r.{'x' * 11}.3")  # another session's rating
    with pytest.raises(InvalidAnswer):
        await practice.press(ADA, "Ada", "p1.r.forged")
    assert step.session_id == graded.session_id
    restarted = await practice.start(ADA, "Ada", DM)  # ends the running session
    with pytest.raises(QuizError, match="earlier step"):
        await practice.press(ADA, "Ada", graded.replies[0].actions[0].token)
    assert restarted.session_id != graded.session_id


async def test_export_hardest_questions_for_anki(practice: PracticeService) -> None:
    with pytest.raises(QuizError, match="no practice cards"):
        await practice.export(ADA, "Ada")
    quiz = practice.quiz
    for qid in ("alpha-two", "beta-one"):
        asked = await quiz.ask(ADA, "Ada", GROUP, question_id=qid)
        wrong = next(lbl for lbl in "ABC" if lbl != asked.round.correct_label(asked.question))
        await quiz.answer_choice(ADA, "Ada", asked.round.id, wrong)
    export = await practice.export(ADA, "Ada")
    apkg, text_file = export.files
    assert (apkg.name, text_file.name) == ("stackprep-hardest.apkg", "stackprep-hardest.txt")
    assert apkg.data.startswith(b"PK")  # a zip: its notes are checked by importing into Anki
    content = text_file.data.decode("utf-8")
    assert content.startswith("#separator:tab\n#html:true\n")
    assert "stackprep-alpha-two\tStackprep::Alpha topic" in content
    assert "stackprep-beta-one\tStackprep::Beta topic" in content
    assert "alpha-one" not in content
    assert "2 hardest questions" in export.reply.plain_text()


async def test_reminders_fire_once_a_local_day_when_cards_are_due(
    practice: PracticeService, clock: FixedClock
) -> None:
    # clock: 2026-12-01 12:00 UTC = 13:00 in Berlin
    with pytest.raises(QuizError, match="not a time"):
        await practice.remind(ADA, "Ada", DM, ["25:00"])
    with pytest.raises(QuizError, match="timezone 'Mars/Olympus'"):
        await practice.remind(ADA, "Ada", DM, ["08:30", "Mars/Olympus"])
    for folder in ("America", "x" * 300):  # a tzdata directory, a name too long for a file
        with pytest.raises(QuizError, match="timezone"):
            await practice.remind(ADA, "Ada", DM, ["08:30", folder])
    with pytest.raises(QuizError, match="direct message"):
        await practice.remind(ADA, "Ada", GROUP, ["08:30"])
    # the same parser as /daily set: a city alone gets the same hint, any case is understood
    with pytest.raises(QuizError, match=r"Did you mean Europe/Berlin\?"):
        await practice.remind(ADA, "Ada", DM, ["14:30", "Berlin"])
    assert (
        "(Europe/Berlin)"
        in (await practice.remind(ADA, "Ada", DM, ["7h05", "europe/berlin"])).plain_text()
    )
    reply = await practice.remind(ADA, "Ada", DM, ["14:30", "Europe/Berlin"])
    assert "14:30 (Europe/Berlin)" in reply.plain_text()
    assert "14:30" in (await practice.remind(ADA, "Ada", DM, [])).plain_text()

    assert await practice.due_reminders() == []  # 13:00 local: not yet
    clock.advance(hours=2)  # 15:00 local, but no cards
    assert await practice.due_reminders() == []
    asked = await practice.quiz.ask(ADA, "Ada", GROUP, question_id="alpha-one")
    await practice.quiz.answer_choice(ADA, "Ada", asked.round.id, "A")  # due within 10 min
    clock.advance(minutes=11)
    sent = await practice.due_reminders()
    assert [chat for chat, _ in sent] == [DM]
    assert "1 practice card is due" in sent[0][1].plain_text()
    assert await practice.due_reminders() == []  # once per local day
    clock.advance(days=1)
    assert len(await practice.due_reminders()) == 1
    assert "off" in (await practice.remind(ADA, "Ada", DM, ["off"])).plain_text()
    clock.advance(days=1)
    assert await practice.due_reminders() == []


async def test_reminder_set_after_todays_time_starts_tomorrow(
    practice: PracticeService, clock: FixedClock
) -> None:
    asked = await practice.quiz.ask(ADA, "Ada", GROUP, question_id="alpha-one")
    await practice.quiz.answer_choice(ADA, "Ada", asked.round.id, "A")
    clock.advance(minutes=30)
    await practice.remind(ADA, "Ada", DM, ["9.15"])  # UTC, already past today
    assert await practice.due_reminders() == []
    clock.advance(hours=20, minutes=44)  # next day 09:14 UTC: not yet
    assert await practice.due_reminders() == []
    clock.advance(minutes=1)
    assert len(await practice.due_reminders()) == 1


async def test_practice_rounds_are_practice_kind(practice: PracticeService) -> None:
    step = await practice.start(ADA, "Ada", DM)
    round_id = step.replies[-1].choices[0].token.split(".")[2]
    rnd = await practice.quiz.get_round(round_id)
    assert rnd is not None and rnd.kind is RoundKind.PRACTICE and rnd.chat == DM
    player = await practice.quiz.store.player(ADA, "Ada")
    session = await practice.store.active_session(player)
    assert session is not None and session.state is SessionState.ACTIVE


async def test_other_users_do_not_share_sessions(practice: PracticeService) -> None:
    await practice.start(ADA, "Ada", DM)
    bob = UserRef(Platform.TELEGRAM, "777")
    with pytest.raises(QuizError, match="No practice session"):
        await practice.answer_text(bob, "Bob", GOOD_ALPHA_ONE)


async def test_resume_shows_the_current_step_again(practice: PracticeService) -> None:
    first = await practice.start(ADA, "Ada", DM)
    again = await practice.resume(ADA, "Ada")
    assert again.awaiting is Awaiting.CHOICE
    assert again.replies[0].choices == first.replies[-1].choices  # same round, same buttons
    assert again.replies[0].plain_text() == first.replies[-1].plain_text()
    step = await pick(practice, again, right=True)
    assert (await practice.resume(ADA, "Ada")).replies[0] == step.replies[-1]
    await practice.answer_text(ADA, "Ada", GOOD_ALPHA_ONE)
    with pytest.raises(QuizError, match="rate how well"):
        await practice.resume(ADA, "Ada")
