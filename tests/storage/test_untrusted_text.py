"""Text with lone surrogates through the services, on every engine (memory, SQLite and
PostgreSQL): a JSON escape in a platform's payload ("\\ud800") or a byte of argv that is not
UTF-8 carries one, which neither SQLite nor asyncpg can bind. The core drops them where the text
enters it, so what is stored is what was typed around them, and nothing fails."""

from __future__ import annotations

from datetime import date

from bot.app.bootstrap import App
from bot.core.common.identity import ChatRef, Platform, UserRef
from bot.core.community import ProposalFields

ANN = UserRef(Platform.TELEGRAM, "501")
ANNS_DM = ChatRef(Platform.TELEGRAM, "501")
GROUP = ChatRef(Platform.TELEGRAM, "-500", "-500")


async def test_a_proposal_is_stored_without_them(app: App) -> None:
    fields = ProposalFields(
        "What\ud800 is a GIL?", ("yes\udfff", "no", "\ud800maybe", "never"), 0, "Because\ud800."
    )
    await app.community.propose(ANN, "Ann", GROUP, fields)
    (waiting,) = await app.community.store.pending("telegram:-500", 5)
    assert waiting.fields == ProposalFields(
        "What is a GIL?", ("yes", "no", "maybe", "never"), 0, "Because."
    )


async def test_a_plan_a_reminder_and_a_daily_schedule_keep_what_was_typed(app: App) -> None:
    await app.practice.remind(ANN, "Ann", ANNS_DM, ["08:30", "Europe/\ud800Berlin"])
    await app.practice.plan(ANN, "Ann", ANNS_DM, ["2027-01-30", "alpha\udfff"])
    player = await app.practice.players.player(ANN, "Ann")
    reminder, plan = (
        await app.practice.store.reminder(player),
        await app.practice.store.plan(player),
    )
    assert reminder is not None and (reminder.time, reminder.timezone) == ("08:30", "Europe/Berlin")
    assert plan is not None and (plan.target, plan.topics) == (date(2027, 1, 30), ("alpha",))
    await app.daily.command(GROUP, ["set", "09:00", "UTC\ud800", "beta\udfff"], is_admin=True)
    sub = await app.daily.store.subscription_for(GROUP)
    assert sub is not None and (sub.timezone, sub.topics) == ("UTC", ("beta",))


async def test_a_report_is_resolved_by_an_id_typed_with_one(app: App) -> None:
    asked = await app.quiz.ask(ANN, "Ann", GROUP, question_id="beta-two")
    await app.reports.file(ANN, "Ann", asked.round.id, "typo", "a t\ud800ypo")
    assert await app.reports.resolve("beta-two\udcff", "fixed \udce9") == 1  # argv's bytes
    (report,) = await app.reports.store.reports(open_only=False)
    assert (report.note, report.resolution) == ("a typo", "fixed")
