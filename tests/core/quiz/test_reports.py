"""Question reports (bot/core/quiz/reports.py) against both stores, with a fixed clock: the
"Learn more" link and the Report button on results and reveals, filing, notes, the held set
that daily picks leave out, and resolving."""

from __future__ import annotations

import logging
from datetime import date, time

import pytest

from bot.app.bootstrap import App
from bot.core.common.errors import QuizError
from bot.core.common.identity import ChatRef, Platform, UserRef
from bot.core.common.replies import Link
from bot.core.daily.model import Subscription
from bot.core.daily.pick import daily_pool
from bot.core.quiz.reports import (
    HOLD_AT,
    AlreadyReported,
    Filed,
    InvalidReport,
    Reason,
    ReportForm,
    ReportState,
)
from bot.core.quiz.rounds import RoundKind
from bot.core.quiz.service import Asked
from bot.core.quiz.texts import reveal_reply
from tests.fakes.clock import FixedClock
from tests.fakes.outbox import FakeOutbox

GROUP = ChatRef(Platform.DISCORD, "5550", "777")
DM = ChatRef(Platform.TELEGRAM, "42", None)


def u(n: int) -> UserRef:
    return UserRef(Platform.TELEGRAM, str(n))


async def ask(app: App, chat: ChatRef = GROUP, question_id: str = "alpha-one") -> Asked:
    return await app.quiz.ask(u(99), "Asker", chat, question_id=question_id)


def right(asked: Asked) -> str:
    label = asked.round.correct_label(asked.question)
    return next(b.token for b in asked.reply.choices if b.label == label)


async def test_results_and_reveals_carry_learn_more_and_report(app: App) -> None:
    asked = await ask(app)
    first = await app.quiz.answer(u(1), "Ann", right(asked), chat=GROUP)
    (link,) = [b for b in first.blocks if isinstance(b, Link)]
    assert link == Link("Learn more", "https://docs.python.org/3/library/functions.html#len")
    assert [(b.label, b.token) for b in first.actions] == [("Report", f"r1.{asked.round.id}")]
    # in a shared chat the reply stays built once per round, label and award
    second = await app.quiz.answer(u(2), "Bob", right(asked), chat=GROUP)
    assert second is first

    stats = await app.store.round_stats(asked.round.id)
    reveal = reveal_reply(asked.question, asked.round, stats)
    assert link in reveal.blocks
    assert [b.token for b in reveal.actions] == [f"r1.{asked.round.id}"]


async def test_the_button_opens_the_form_then_a_report_is_stored_once(
    app: App, clock: FixedClock
) -> None:
    asked = await ask(app)
    form = await app.reports.press(u(1), "Ann", f"r1.{asked.round.id}")
    assert isinstance(form, ReportForm) and form.question.id == "alpha-one"
    assert [b.token for b in (*form.reply.choices, *form.reply.actions)] == [
        f"r1.{asked.round.id}.{r}" for r in ("wrong", "unclear", "outdated", "typo", "other")
    ]

    filed = await app.reports.press(u(1), "Ann", f"r1.{asked.round.id}.outdated")
    assert isinstance(filed, Filed)
    report = filed.report
    assert (report.question_id, report.platform, report.place, report.reason) == (
        "alpha-one", "discord", "discord:5550", Reason.OUTDATED,
    )  # fmt: skip
    assert report.player_id == await app.store.player(u(1), "Ann")
    assert (report.state, report.note, report.created_at) == (ReportState.OPEN, "", clock.now())
    assert "report #" in filed.reply.plain_text()

    # a second report by the same person: said clearly, nothing changes
    for again in (
        app.reports.press(u(1), "Ann", f"r1.{asked.round.id}"),
        app.reports.file(u(1), "Ann", asked.round.id, "wrong", "another go"),
    ):
        with pytest.raises(AlreadyReported, match="already reported this question"):
            await again
    assert await app.reports.store.reports(open_only=False) == [report]


async def test_forged_garbled_and_unknown_round_buttons_change_nothing(app: App) -> None:
    asked = await ask(app)
    for forged in (
        "r1.", "r1.short", "r1.x!y$zzzzzz", f"r1.{asked.round.id}\n", f"r1.{asked.round.id}.",
        f"r1.{asked.round.id}.delete", "r1." + "a" * 70, "garbage", "",
    ):  # fmt: skip
        with pytest.raises(InvalidReport, match="not valid"):
            await app.reports.press(u(1), "Ann", forged)
    for missing in ("r1.nosuchround1", "r1.nosuchround1.wrong", "r1.nosuchround1.skip"):
        with pytest.raises(InvalidReport, match="can't find the question"):
            await app.reports.press(u(1), "Ann", missing)
    assert await app.reports.store.reports(open_only=False) == []


async def test_notes_are_cleaned_and_held_to_the_limit(app: App) -> None:
    asked = await ask(app)
    with pytest.raises(QuizError, match="501 characters; the limit is 500"):
        await app.reports.file(u(1), "Ann", asked.round.id, "typo", "x" * 501)
    with pytest.raises(QuizError, match="I don't know the reason 'sideways'"):
        await app.reports.file(u(1), "Ann", asked.round.id, "sideways")
    assert await app.reports.store.reports(open_only=False) == []

    noisy = "  Says \x1b[31mlen\x1b[0m; \u202eshould\u202c be size()\r\nsee docs  "
    filed = await app.reports.file(u(1), "Ann", asked.round.id, "Typo", noisy)
    assert filed.report.note == "Says [31mlen[0m; should be size()\nsee docs"
    assert "with your note" in filed.reply.plain_text()


async def test_a_note_added_later_only_to_ones_own_open_report(app: App) -> None:
    asked = await ask(app, DM)
    filed = await app.reports.file(u(1), "Ann", asked.round.id, "unclear")
    rid = filed.report.id
    with pytest.raises(QuizError, match=f"no open report #{rid}"):
        await app.reports.add_note(u(2), "Bob", rid, "not mine to note")
    with pytest.raises(QuizError, match="empty"):
        await app.reports.add_note(u(1), "Ann", rid, " \x00 ")
    with pytest.raises(QuizError, match="600 characters"):
        await app.reports.add_note(u(1), "Ann", rid, "y" * 600)
    assert (await app.reports.store.reports(open_only=True))[0].note == ""
    added = await app.reports.add_note(u(1), "Ann", rid, "Option B reads both ways.")
    assert f"report #{rid}" in added.plain_text()
    (stored,) = await app.reports.store.reports(open_only=True)
    assert stored.note == "Option B reads both ways."

    skipped = await app.reports.press(u(1), "Ann", f"r1.{asked.round.id}.skip")
    assert "Thanks" in skipped.plain_text()  # type: ignore[union-attr]
    with pytest.raises(QuizError, match="not reported this question"):
        await app.reports.press(u(2), "Bob", f"r1.{asked.round.id}.skip")


async def test_three_people_hold_a_question_out_of_daily_picks_until_resolved(
    app: App, clock: FixedClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bot.core.quiz.reports")
    asked = await ask(app)
    rounds = [asked.round.id, (await ask(app)).round.id]  # the same question, another round
    for n in range(1, HOLD_AT):
        await app.reports.file(u(n), f"P{n}", rounds[n % 2], "wrong")
    assert await app.reports.held_questions() == frozenset()
    await app.reports.file(u(HOLD_AT), "Third", rounds[0], "typo")
    assert await app.reports.held_questions() == {"alpha-one"}
    await app.reports.file(u(HOLD_AT + 1), "Fourth", rounds[1], "other")
    held_lines = [r for r in caplog.records if "is now held" in r.getMessage()]
    assert len(held_lines) == 1 and held_lines[0].levelno == logging.INFO
    assert "alpha-one" in held_lines[0].getMessage()

    # daily picks leave it out; the lead's games ask the same method
    sub = Subscription(GROUP, time(12, 30), "UTC", since=clock.now(), topics=("alpha",))
    picks = {app.daily.question_for(sub, date(2026, 12, d), {"alpha-one"}).id for d in range(1, 30)}
    assert picks == {"alpha-two", "alpha-three"}

    with pytest.raises(QuizError, match="'beta-one' has no open reports"):
        await app.reports.resolve("beta-one", "nothing to do")
    assert await app.reports.resolve("alpha-one", "Fixed the wording.") == HOLD_AT + 1
    assert await app.reports.held_questions() == frozenset()
    closed = await app.reports.store.reports(open_only=False)
    assert {(r.state, r.resolution, r.resolved_at) for r in closed} == {
        (ReportState.RESOLVED, "Fixed the wording.", clock.now())
    }
    assert await app.reports.store.reports(open_only=True) == []
    # once resolved, the same person may report it again (one open report per person)
    again = await app.reports.file(u(1), "P1", rounds[0], "wrong")
    assert again.report.id not in {r.id for r in closed}


async def test_the_held_set_is_cached_briefly(app: App, clock: FixedClock) -> None:
    asked = await ask(app)
    for n in range(HOLD_AT):
        await app.reports.file(u(n), f"P{n}", asked.round.id, "wrong")
    assert await app.reports.held_questions() == {"alpha-one"}
    # another process (the operator's `questions resolve`) closes them behind our back
    await app.reports.store.resolve("alpha-one", "done elsewhere", clock.now())
    assert await app.reports.held_questions() == {"alpha-one"}  # cached
    clock.advance(seconds=app.reports.held_ttl.total_seconds())
    assert await app.reports.held_questions() == frozenset()


async def test_daily_pool_keeps_a_place_going_when_everything_is_held(app: App) -> None:
    everything = {q.id for q in app.bank.questions}
    pool = daily_pool(app.bank, ("beta",), None, held=everything)
    assert [q.id for q in pool] == ["beta-one", "beta-two"]  # nothing left: held ones still go
    assert [q.id for q in daily_pool(app.bank, ("beta",), None, {"beta-one"})] == ["beta-two"]


async def test_a_daily_run_skips_held_questions(app: App, clock: FixedClock) -> None:
    sub = await app.daily.store.save_subscription(
        Subscription(GROUP, time(12, 30), "UTC", since=clock.now(), topics=("beta",))
    )
    day = clock.now().date()
    natural = app.daily.question_for(sub, day)
    asked = await app.quiz.ask(u(1), "Ann", GROUP, question_id=natural.id)
    for n in range(HOLD_AT):
        await app.reports.file(u(n), f"P{n}", asked.round.id, "outdated")
    result = await app.daily.run_post(sub, day, FakeOutbox())
    assert result.claim is not None and result.claim.question_id != natural.id
    practice = await app.quiz.open_round(
        asked.question, DM, RoundKind.PRACTICE, clock.now(), None
    )  # a practice round is reportable too
    assert isinstance(await app.reports.press(u(9), "Cy", f"r1.{practice.round.id}"), ReportForm)
