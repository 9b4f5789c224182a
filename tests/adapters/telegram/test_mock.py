"""`/mock` on Telegram end to end: PTB's real Application against the loopback Bot API, a real
SQLite file and a fixed clock: a mock of the plan's topic (a button, an open answer through
ForceReply, a button pressed after the deadline and the report), refused in a group, and
listed in the command menu."""

from __future__ import annotations

from tests.adapters.telegram import test_practice as base
from tests.adapters.telegram.test_practice import (
    DM_ID,
    Tg,
    keyboard_tokens,
    right_token,
    text_message,
)
from tests.fakes.clock import FixedClock
from tests.fakes.telegram_api import GROUP_ID, command, press

seed, tg = base.seed, base.tg  # the fixtures, shared (a seed that pins the option order)


async def test_a_mock_in_the_private_chat_ends_with_the_report(tg: Tg, clock: FixedClock) -> None:
    await tg.send(command("/plan 2027-01-15 alpha", chat_id=DM_ID, user_id=DM_ID))
    tg.api.clear()
    await tg.send(command("/mock", chat_id=DM_ID, user_id=DM_ID))
    intro, first = tg.sent()
    assert intro.params["text"].startswith("Mock interview: 3 questions on Alpha topic")
    assert first.params["text"].startswith("Practice 1/3 · multiple choice")

    tg.api.clear()
    await tg.send(press(await right_token(tg, first), chat_id=DM_ID, user_id=DM_ID))
    _, feedback, open_q = tg.sent()
    assert "Right!" in feedback.params["text"]
    assert open_q.params["text"].startswith("Practice 2/3 · in your own words")
    assert open_q.params["reply_markup"]["force_reply"] is True

    tg.api.clear()
    await tg.send(text_message("No idea, honestly: I have never had to think about this one."))
    noted, third = tg.sent()
    assert noted.params["text"].startswith("Answer noted (2 of 3)")  # no rating buttons
    assert "reply_markup" not in noted.params
    assert third.params["text"].startswith("Practice 3/3 · multiple choice")

    clock.advance(minutes=31)
    tg.api.clear()
    await tg.send(press(await right_token(tg, third), chat_id=DM_ID, user_id=DM_ID))
    toast, report = tg.sent()
    assert toast.method == "answerCallbackQuery"
    text = report.params["text"]
    assert text.startswith("⏱ Time is up: answers from now on are not counted.")
    assert "Alpha topic: 1/3 right (1 unanswered); open answers 0% on average." in text
    assert "Verdict: review Alpha topic" in text and "Right!" not in text


async def test_mock_in_a_group_points_to_the_private_chat_and_is_in_the_menu(tg: Tg) -> None:
    await tg.send(command("/mock", chat_id=GROUP_ID, user_id=DM_ID))
    (refused,) = tg.sent()
    assert refused.params["text"] == (
        "Mock interviews are private: send me /mock in a direct message."
    )
    await tg.adapter.publish_commands()
    menu = tg.api.sent("setMyCommands")[0].params["commands"]
    assert {"command": "mock", "description": "A timed mock interview: 10 questions in 30 "
            "minutes, then a report"} in menu  # fmt: skip
    assert keyboard_tokens(refused) == []
