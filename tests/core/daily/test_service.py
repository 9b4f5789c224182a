"""DailyService against both store pairs: admin-only commands, exactly-once posts, failure
handling, reveals with stats, weekly recaps and streaks by the place's local date."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, date, datetime, timedelta

import pytest

from bot.app.bootstrap import App
from bot.core.bank.library import Library
from bot.core.bank.question_bank import QuestionBank
from bot.core.bank.questions import LABELS, Topic
from bot.core.common.errors import EmptyBank, NotAllowed, QuizError, RoundClosed
from bot.core.common.identity import ChatRef, Platform, UserRef
from bot.core.common.replies import Reply
from bot.core.daily.model import DailyDefaults, DeliveryKind, DeliveryState, Subscription
from bot.core.daily.service import DailyService, Outcome
from bot.core.quiz.service import QuizService
from tests.fakes.app import Stores, make_app
from tests.fakes.clock import FixedClock
from tests.fakes.outbox import FakeOutbox, gone, transient

GROUP = ChatRef(Platform.TELEGRAM, "-1001", "-1001")
OTHER = ChatRef(Platform.TELEGRAM, "-1002", "-1002")
CHANNEL = ChatRef(Platform.DISCORD, "555", "777")
DISCORD_DM = ChatRef(Platform.DISCORD, "42", None)
TODAY = date(2026, 12, 1)  # a Tuesday; the fixed clock says 12:00 UTC


def text(reply: Reply) -> str:
    return reply.plain_text()


async def subscribed(daily: DailyService, chat: ChatRef = GROUP, *words: str) -> Subscription:
    await daily.subscribe(chat, list(words), is_admin=True)
    found = await daily.store.subscription_for(chat)
    assert found is not None
    return found


def user(n: int) -> UserRef:
    return UserRef(Platform.TELEGRAM, str(100 + n))


async def answer(quiz: QuizService, round_id: str, n: int, name: str, right: bool) -> int:
    rnd = await quiz.get_round(round_id)
    assert rnd is not None
    question = quiz.bank.get(rnd.question_id)
    assert question is not None
    good = rnd.correct_label(question)
    label = good if right else next(x for x in LABELS[: len(rnd.order)] if x != good)
    await quiz.answer_choice(user(n), name, round_id, label)
    return await quiz.store.player(user(n), name)


# -- commands ---------------------------------------------------------------------------------


async def test_only_admins_change_the_schedule(daily: DailyService) -> None:
    with pytest.raises(NotAllowed, match="creator and administrators"):
        await daily.command(GROUP, ["set", "09:00"], is_admin=False)
    with pytest.raises(NotAllowed, match="Manage Server"):
        await daily.command(CHANNEL, ["off"], is_admin=False)
    with pytest.raises(NotAllowed, match="for server channels"):
        await daily.command(DISCORD_DM, ["set"], is_admin=True)
    await subscribed(daily)
    with pytest.raises(NotAllowed):
        await daily.command(GROUP, ["recap", "off"], is_admin=False)
    with pytest.raises(NotAllowed):
        await daily.command(GROUP, ["off"], is_admin=False)
    assert "Every day at 09:00 (UTC)" in text(await daily.command(GROUP, [], is_admin=False))


async def test_set_uses_defaults_and_reports_the_next_post(
    quiz: QuizService, stores: Stores, clock: FixedClock
) -> None:
    defaults = DailyDefaults(window=timedelta(hours=6))
    daily = DailyService(
        quiz, stores.daily, bank=quiz.bank, results=stores.quiz, clock=clock, defaults=defaults
    )
    reply = await daily.command(GROUP, ["set"], is_admin=True)
    assert "Every day at 09:00 (UTC)" in text(reply)
    assert "Answer window: 6 h" in text(reply)
    assert "Next: Wednesday 2 December at 09:00" in text(reply)
    reply = await daily.command(
        GROUP, ["set", "07:30", "asia/tokyo", "alpha", "mid", "2h"], is_admin=True
    )
    status = text(await daily.command(GROUP, ["status"], is_admin=False))
    assert "Every day at 07:30 (Asia/Tokyo)" in status
    assert "Questions: alpha; mid" in status and "Answer window: 2 h" in status
    assert "Next: Wednesday 2 December at 07:30" in status  # 12:00 UTC is 21:00 in Tokyo
    assert [s.id for s in await stores.daily.subscriptions()] == [1]


async def test_bad_input_gets_a_specific_message(daily: DailyService) -> None:
    with pytest.raises(QuizError, match="Did you mean Europe/Paris"):
        await daily.command(GROUP, ["set", "09:00", "Paris"], is_admin=True)
    with pytest.raises(EmptyBank, match="no questions for those topics"):
        await daily.command(GROUP, ["set", "09:00", "beta", "senior"], is_admin=True)
    with pytest.raises(QuizError, match="Use /daily recap on or /daily recap off"):
        await daily.command(GROUP, ["recap", "maybe"], is_admin=True)
    with pytest.raises(QuizError, match="I don't know '/daily frobnicate'"):
        await daily.command(GROUP, ["frobnicate"], is_admin=True)
    assert await daily.store.subscription_for(GROUP) is None


async def test_off_recap_and_change_listeners(daily: DailyService) -> None:
    seen: list[tuple[int, bool, bool]] = []
    daily.on_change(lambda s: seen.append((s.id, s.active, s.recap)))
    assert "There is no daily question here" in text(await daily.status(GROUP))
    await subscribed(daily)
    assert "is off" in text(await daily.command(GROUP, ["recap", "off"], is_admin=True))
    assert "Weekly recap: off" in text(await daily.status(GROUP))
    assert "is off here" in text(await daily.command(GROUP, ["off"], is_admin=True))
    status = text(await daily.status(GROUP))
    assert "It was stopped: turned off with /daily off." in status
    assert seen == [(1, True, True), (1, True, False), (1, False, False)]
    assert "Weekly recap: off" in text(await daily.command(GROUP, ["set"], is_admin=True))


# -- posting ----------------------------------------------------------------------------------


async def test_a_post_goes_out_once_with_a_daily_round(
    daily: DailyService, quiz: QuizService, outbox: FakeOutbox, clock: FixedClock
) -> None:
    clock.current = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)
    a = await subscribed(daily, GROUP, "09:00", "Europe/Berlin")
    b = await subscribed(daily, OTHER, "10:00", "Europe/Berlin")
    first = await daily.run_post(a, TODAY, outbox)
    assert first.outcome is Outcome.DELIVERED and first.claim is not None
    again = await daily.run_post(a, TODAY, outbox)
    assert again.outcome is Outcome.DONE
    [sent] = outbox.questions()
    assert sent.nonce == f"sp-{first.claim.id}-q"
    assert sent.reply.blocks[0].text == "📅 Daily question · Tuesday 1 December"
    assert "Open until 21:00 (Europe/Berlin)" in text(sent.reply)
    assert sent.asked is not None and sent.asked.round.kind == "daily"
    assert sent.asked.question.id == "beta-two"  # the pick of 2026-12-01 for the test bank
    assert sent.asked.poll is not None  # it fits a Telegram quiz poll, which shows only this:
    assert sent.asked.poll.question == f"📅 Daily question: {sent.asked.question.prompt}"
    assert sent.asked.round.day == TODAY
    assert sent.asked.round.closes_at == datetime(2026, 12, 1, 20, 0, tzinfo=UTC)
    other = await daily.run_post(b, TODAY, outbox)
    assert other.outcome is Outcome.DELIVERED
    questions = {s.asked.question.id for s in outbox.questions() if s.asked}
    assert questions == {daily.question_for(a, TODAY).id}  # same filters, same question
    assert (await quiz.get_round(sent.asked.round.id)) == sent.asked.round


async def test_no_post_once_the_window_closed(
    daily: DailyService, outbox: FakeOutbox, clock: FixedClock
) -> None:
    s = await subscribed(daily, GROUP, "00:00", "UTC", "1h")
    assert (await daily.run_post(s, TODAY, outbox)).outcome is Outcome.SKIPPED
    assert outbox.sent == []


async def test_concurrent_runs_post_once(daily: DailyService, outbox: FakeOutbox) -> None:
    s = await subscribed(daily, GROUP, "11:00")
    outbox.gate = asyncio.Event()
    runs = [asyncio.create_task(daily.run_post(s, TODAY, outbox)) for _ in range(4)]
    await asyncio.sleep(0.01)
    outbox.gate.set()
    outcomes = sorted(r.outcome.value for r in await asyncio.gather(*runs))
    assert outcomes == ["busy", "busy", "busy", "delivered"]
    assert len(outbox.questions()) == 1


async def test_two_processes_on_one_database_post_once(
    app: App, clock: FixedClock, outbox: FakeOutbox
) -> None:
    if app.database is None:
        pytest.skip("two processes share only a database file")
    path = app.database.path
    async with make_app(path.parent, db=path.name, bank=app.bank, clock=clock) as second:
        services = [app.daily, second.daily]
        s = await subscribed(services[0], GROUP, "11:00")
        results = await asyncio.gather(*(svc.run_post(s, TODAY, outbox) for svc in services * 3))
        assert [r.outcome for r in results].count(Outcome.DELIVERED) == 1
        assert len(outbox.questions()) == 1


async def test_gone_place_is_disabled_with_the_reason(
    daily: DailyService, outbox: FakeOutbox, caplog: pytest.LogCaptureFixture
) -> None:
    s = await subscribed(daily, GROUP, "11:00")
    outbox.fail[GROUP.chat_id] = [gone("403 Forbidden: bot was kicked from the group chat")]
    with caplog.at_level(logging.WARNING):
        result = await daily.run_post(s, TODAY, outbox)
    assert result.outcome is Outcome.GONE
    stored = await daily.store.subscription(s.id)
    assert stored is not None and not stored.active
    assert "bot was kicked" in (stored.disabled_reason or "")
    assert "-1001 is gone, subscription disabled" in caplog.text
    assert "bot was kicked" in text(await daily.status(GROUP))
    assert (await daily.run_post(stored, TODAY, outbox)).outcome is Outcome.SKIPPED


async def test_topics_that_left_the_bank_disable_the_place_with_the_reason(
    daily: DailyService, outbox: FakeOutbox, bank: QuestionBank
) -> None:
    s = await subscribed(daily, GROUP, "11:00", "alpha", "senior")
    beta = [q for q in bank.questions if q.topic == "beta"]
    daily.bank = daily.quiz.bank = QuestionBank(
        [t for t in bank_topics(bank) if t.slug == "beta"], beta
    )
    daily.quiz.library = Library(daily.quiz.bank)  # what a place picks from
    result = await daily.run_post(s, TODAY, outbox)
    assert result.outcome is Outcome.FAILED
    assert outbox.sent == []
    stored = await daily.store.subscription(s.id)
    assert stored is not None and not stored.active
    assert "no questions match its topics and level" in (stored.disabled_reason or "")
    assert "no questions match" in text(await daily.status(GROUP))


def bank_topics(bank: QuestionBank) -> list[Topic]:
    return [Topic(t.slug, t.title) for t in bank.topics()]


async def test_transient_failures_are_retried_a_bounded_number_of_times(
    daily: DailyService, outbox: FakeOutbox, caplog: pytest.LogCaptureFixture
) -> None:
    s = await subscribed(daily, GROUP, "11:00")
    outbox.fail[GROUP.chat_id] = [transient(), RuntimeError("adapter bug")]
    first = await daily.run_post(s, TODAY, outbox)
    assert (first.outcome, first.retry, first.error) == (Outcome.FAILED, True, "502 Bad Gateway")
    second = await daily.run_post(s, TODAY, outbox)
    assert (second.outcome, second.retry) == (Outcome.FAILED, True)
    assert "question of telegram:-1001 failed" in caplog.text  # logged with its traceback
    third = await daily.run_post(s, TODAY, outbox)
    assert third.outcome is Outcome.DELIVERED
    outbox.fail[OTHER.chat_id] = [transient()] * 5
    o = await subscribed(daily, OTHER, "11:00")
    results = [await daily.run_post(o, TODAY, outbox) for _ in range(5)]
    assert [(r.outcome.value, r.retry) for r in results] == [
        ("failed", True), ("failed", True), ("failed", True), ("failed", False),
        ("failed", False),  # out of attempts: not even tried
    ]  # fmt: skip
    assert len(outbox.fail[OTHER.chat_id]) == 1


# -- reveal, recap, streaks -------------------------------------------------------------------


async def test_reveal_closes_the_round_and_shows_stats(
    daily: DailyService, quiz: QuizService, outbox: FakeOutbox, clock: FixedClock
) -> None:
    s = await subscribed(daily, GROUP, "11:00", "2h")
    posted = await daily.run_post(s, TODAY, outbox)
    assert posted.claim is not None
    claim = await daily.store.get_claim(posted.claim.id)
    assert claim is not None and claim.round_id is not None
    opened = clock.current
    for n, name, right, after in ((1, "Ada", True, 5), (2, "Bob", False, 9), (3, "Cy", True, 40)):
        clock.current = opened + timedelta(seconds=after)
        await answer(quiz, claim.round_id, n, name, right)
    clock.current = claim.closes_at
    with pytest.raises(RoundClosed, match="This round is closed"):
        await answer(quiz, claim.round_id, 4, "Late", True)
    result = await daily.run_reveal(claim, outbox)
    assert result.outcome is Outcome.DELIVERED
    edit, reveal = outbox.sent[-2:]
    assert edit.kind == "edit" and edit.nonce == "m1" and edit.reply.choices == ()
    assert "closed" in text(edit.reply)
    body = text(reveal.reply)
    assert "The answer to Tuesday 1 December's daily question" in body
    assert "3 answered, 67% right." in body
    assert "Fastest: Ada (5s), Cy (40s)" in body
    assert reveal.nonce == f"sp-{claim.id}-r"
    assert (await daily.run_reveal(claim, outbox)).outcome is Outcome.DONE
    assert len(outbox.sent) == 3
    assert await daily.store.open_claims(clock.current - timedelta(days=1)) == []


async def test_nothing_to_reveal_when_the_post_never_went_out(
    daily: DailyService, outbox: FakeOutbox
) -> None:
    s = await subscribed(daily, GROUP, "11:00")
    outbox.fail[GROUP.chat_id] = [transient()]
    failed = await daily.run_post(s, TODAY, outbox)
    assert failed.claim is not None
    assert (await daily.run_reveal(failed.claim, outbox)).outcome is Outcome.SKIPPED
    assert outbox.sent == []
    reveal = await daily.store.delivery(failed.claim.id, DeliveryKind.REVEAL)
    assert reveal is not None and reveal.state is DeliveryState.SKIPPED


async def test_monday_recap_before_the_question(
    daily: DailyService, quiz: QuizService, outbox: FakeOutbox, clock: FixedClock
) -> None:
    s = await subscribed(daily, GROUP, "11:00")
    tuesday = await daily.run_post(s, TODAY, outbox)
    assert tuesday.claim is not None
    claim = await daily.store.get_claim(tuesday.claim.id)
    assert claim is not None and claim.round_id
    await answer(quiz, claim.round_id, 1, "Ada", True)
    clock.advance(minutes=30)  # a smaller speed bonus
    await answer(quiz, claim.round_id, 2, "Bob", True)
    monday = date(2026, 12, 7)
    clock.current = datetime(2026, 12, 7, 11, 1, tzinfo=UTC)
    outbox.sent.clear()
    assert (await daily.run_post(s, monday, outbox)).outcome is Outcome.DELIVERED
    recap, question = outbox.sent
    assert "Weekly recap — this group, week 2026-W49" in text(recap.reply)
    assert "1. Ada" in text(recap.reply) and "2. Bob" in text(recap.reply)
    assert question.kind == "question"
    outbox.sent.clear()
    clock.current += timedelta(days=7)
    await daily.command(GROUP, ["recap", "off"], is_admin=True)
    off = await daily.store.subscription(s.id)
    assert off is not None
    await daily.run_post(off, monday + timedelta(days=7), outbox)
    assert [x.kind for x in outbox.sent] == ["question"]


async def test_streak_counts_the_places_local_days_across_utc_midnight(
    daily: DailyService, quiz: QuizService, outbox: FakeOutbox, clock: FixedClock
) -> None:
    """Tokyo, 07:00 local, 23 h window. Day 1 answered at 07:05 local (Nov 30 UTC), day 2 at
    23:30 local (Dec 2 UTC): two UTC days apart, but consecutive local days: streak 2."""
    clock.current = datetime(2026, 11, 29, 0, 0, tzinfo=UTC)
    s = await subscribed(daily, GROUP, "07:00", "Asia/Tokyo", "23h")
    day1, day2, day4 = date(2026, 12, 1), date(2026, 12, 2), date(2026, 12, 4)
    clock.current = datetime(2026, 11, 30, 22, 5, tzinfo=UTC)
    first = await daily.run_post(s, day1, outbox)
    assert first.claim is not None
    c1 = await daily.store.get_claim(first.claim.id)
    assert c1 and c1.round_id
    await answer(quiz, c1.round_id, 1, "Ada", True)
    clock.current = datetime(2026, 12, 2, 14, 30, tzinfo=UTC)  # 23:30 on Dec 2 in Tokyo
    second = await daily.run_post(s, day2, outbox)
    assert second.claim is not None
    c2 = await daily.store.get_claim(second.claim.id)
    assert c2 and c2.round_id
    player = await answer(quiz, c2.round_id, 1, "Ada", False)
    stats = await quiz.store.player_stats(player)
    assert (stats.daily_streak, stats.last_daily_day) == (2, day2)
    assert "Daily streak: 2" in text(await quiz.score(user(1), "Ada"))
    clock.current = datetime(2026, 12, 3, 22, 30, tzinfo=UTC)  # skipped Dec 3 local
    fourth = await daily.run_post(s, day4, outbox)
    assert fourth.claim is not None
    c4 = await daily.store.get_claim(fourth.claim.id)
    assert c4 and c4.round_id
    await answer(quiz, c4.round_id, 1, "Ada", True)
    assert (await quiz.store.player_stats(player)).daily_streak == 1
