"""/daily on Telegram end to end: the real Application and handlers with the DailyService, a
real SQLite file, the loopback Bot API; and the scheduler's posts through the real outbox."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from bot.adapters.telegram.adapter import TelegramAdapter, build_application
from bot.app.bootstrap import App
from bot.core.common.identity import ChatRef, Platform
from bot.core.daily.service import DailyService, Outcome
from tests.fakes.clock import FixedClock
from tests.fakes.telegram_api import GROUP_ID, TOKEN, FakeBotApi, Harness, command

DM_ID = 4242
GROUP = ChatRef(Platform.TELEGRAM, str(GROUP_ID), str(GROUP_ID))


@pytest.fixture
def seed() -> int:
    return 5


@pytest.fixture
def daily(sqlite_app: App) -> DailyService:
    return sqlite_app.daily


@pytest.fixture
async def tg(daily: DailyService) -> AsyncIterator[Harness]:
    api = FakeBotApi()
    app = build_application(TOKEN, request=api, get_updates_request=api)
    adapter = TelegramAdapter(daily.quiz, app, daily=daily)
    async with app:
        api.clear()
        yield Harness(adapter, api, daily.quiz)


def last_text(tg: Harness) -> str:
    return str(tg.api.sent("sendMessage")[-1].params["text"])


async def test_daily_is_in_the_admins_menu_only(tg: Harness) -> None:
    await tg.adapter.publish_commands()
    default, admins = tg.api.sent("setMyCommands")
    assert "daily" not in [c["command"] for c in default.params["commands"]]
    assert admins.params["commands"][-1] == {
        "command": "daily",
        "description": "Daily question here (admins): set, off, status, recap",
    }


@pytest.mark.parametrize("status", ["administrator", "creator"])
async def test_group_admins_schedule_the_daily_question(
    tg: Harness, daily: DailyService, status: str
) -> None:
    tg.api.member_status = status
    await tg.send(command("/daily set 07:30 Europe/Berlin alpha mid 6h", user_id=DM_ID))
    assert tg.api.sent("getChatMember")[-1].params == {"chat_id": GROUP_ID, "user_id": DM_ID}
    text = last_text(tg)
    assert text.startswith("<b>✅ Daily question scheduled here</b>")
    assert "Every day at 07:30 (Europe/Berlin)" in text and "Questions: alpha; mid" in text
    sub = await daily.store.subscription_for(GROUP)
    assert sub is not None and sub.active and f"{sub.time:%H:%M}" == "07:30"
    await tg.send(command("/daily recap off", user_id=DM_ID))
    assert "weekly recap is off" in last_text(tg)
    await tg.send(command("/daily", user_id=DM_ID))
    assert "Weekly recap: off" in last_text(tg)
    await tg.send(command("/daily off", user_id=DM_ID))
    assert "The daily question is off here" in last_text(tg)
    stored = await daily.store.subscription_for(GROUP)
    assert stored is not None and not stored.active


@pytest.mark.parametrize(("status", "chat_id"), [("member", GROUP_ID), ("administrator", DM_ID)])
async def test_others_cannot_change_it(
    tg: Harness, daily: DailyService, status: str, chat_id: int
) -> None:
    tg.api.member_status = status
    await tg.send(command("/daily set 09:00", chat_id=chat_id, user_id=DM_ID))
    assert last_text(tg) == "Only the admins of a group can use /daily, and only in that group."
    assert await daily.store.subscriptions(active_only=False) == []


async def test_bad_input_gets_the_cores_message_quoted(tg: Harness) -> None:
    tg.api.member_status = "administrator"
    await tg.send(command("/daily set 09:00 Berlin", user_id=DM_ID))
    reply = tg.api.sent("sendMessage")[-1]
    assert "Did you mean Europe/Berlin?" in reply.params["text"]
    assert reply.params["reply_parameters"]["message_id"] == 10


async def test_scheduler_posts_through_the_outbox_and_a_kicked_bot_disables_it(
    tg: Harness, daily: DailyService, clock: FixedClock
) -> None:
    tg.api.member_status = "administrator"
    clock.current = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
    await tg.send(command("/daily set 09:00 UTC", user_id=DM_ID))
    sub = await daily.store.subscription_for(GROUP)
    assert sub is not None
    clock.current = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    tg.api.clear()
    posted = await daily.run_post(sub, clock.current.date(), tg.adapter.outbox)
    assert posted.outcome is Outcome.DELIVERED
    [sent] = tg.api.sent("sendMessage", "sendPoll")
    assert sent.params["chat_id"] == GROUP_ID
    tomorrow = clock.current.date().replace(day=2)
    clock.current = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)
    tg.api.fail("sendMessage", 403, "Forbidden: bot was kicked from the supergroup chat")
    tg.api.fail("sendPoll", 403, "Forbidden: bot was kicked from the supergroup chat")
    gone = await daily.run_post(sub, tomorrow, tg.adapter.outbox)
    assert gone.outcome is Outcome.GONE
    stored = await daily.store.subscription_for(GROUP)
    assert stored is not None and not stored.active
    assert "bot was kicked" in (stored.disabled_reason or "")
    assert TOKEN not in (stored.disabled_reason or "")
