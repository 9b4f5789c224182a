"""Reporting a question on Telegram end to end: the real Application and handlers, real Update
payloads, a real SQLite file and the loopback Bot API. The Report button sends a short keyboard
of reasons; a reason stores the report and sends the note prompt; a reply to the prompt adds
the note (before practice's own handler of private text), Skip ends it. The daily reveal in a
group carries the button and the "Learn more" link (previews off). Forged, stale, repeated
and oversized input gets a clear answer and stores nothing."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest

from bot.adapters.telegram.adapter import TelegramAdapter, build_application
from bot.adapters.telegram.sending import SendScheduler
from bot.app.bootstrap import App
from bot.core.common.identity import ChatRef, Platform
from bot.core.daily.service import Outcome
from bot.core.quiz.reports import Reason, ReportState
from bot.core.quiz.rounds import Round
from tests.fakes.clock import FixedClock
from tests.fakes.telegram_api import (
    BOT_USER,
    DATE,
    GROUP_ID,
    TOKEN,
    UNPACED,
    Call,
    FakeBotApi,
    Harness,
    chat,
    command,
    press,
    user,
)

DM_ID = 5151  # a private chat's id is the user's id
_ids = itertools.count(50_000)


@pytest.fixture
async def tg(sqlite_app: App) -> AsyncIterator[Harness]:
    api = FakeBotApi()
    app = build_application(  # unpaced: no real waits for the chats' budgets
        TOKEN, request=api, get_updates_request=api, rate_limiter=SendScheduler(UNPACED)
    )
    adapter = TelegramAdapter(
        sqlite_app.quiz, app, practice=sqlite_app.practice, daily=sqlite_app.daily,
        reports=sqlite_app.reports,
    )  # fmt: skip
    async with app:
        api.clear()
        yield Harness(adapter, api, sqlite_app.quiz)


def keyboard(call: Call) -> list[list[tuple[str, str]]]:
    rows = call.params.get("reply_markup", {}).get("inline_keyboard", [])
    return [[(b["text"], b["callback_data"]) for b in row] for row in rows]


def reply_to(prompt: Call, text: str, *, chat_id: int = DM_ID, user_id: int = DM_ID) -> Any:
    """A text message replying to one of the bot's messages (Telegram quotes it whole)."""
    return {
        "update_id": next(_ids),
        "message": {
            "message_id": next(_ids), "date": DATE, "chat": chat(chat_id),
            "from": user(user_id), "text": text,
            "reply_to_message": {
                "message_id": 4242, "date": DATE, "chat": chat(chat_id), "from": BOT_USER,
                "text": _plain(prompt.params["text"]),
            },
        },
    }  # fmt: skip


def _plain(html_text: str) -> str:
    return html_text.replace("<b>", "").replace("</b>", "")


async def test_report_from_a_dm_result_with_a_note(tg: Harness, sqlite_app: App) -> None:
    await tg.send(command("/question alpha mid", chat_id=DM_ID, user_id=DM_ID))
    (question,) = tg.api.sent()
    round_id = keyboard(question)[0][0][1].split(".")[1]
    rnd = await tg.service.get_round(round_id)
    assert rnd is not None
    right = rnd.correct_label(sqlite_app.bank.get(rnd.question_id))  # type: ignore[arg-type]
    tg.api.clear()
    await tg.send(press(f"a1.{round_id}.{right}", chat_id=DM_ID, user_id=DM_ID))
    _, result = tg.api.sent()
    assert keyboard(result) == [[("Next question", "n1.-.0"), ("Report", f"r1.{round_id}")]]
    assert (
        '<a href="https://docs.python.org/3/reference/executionmodel.html#naming-and-binding">'
        "Learn more</a> (docs.python.org)"
    ) in result.params["text"]
    assert result.params["link_preview_options"] == {"is_disabled": True}

    # Report: the reasons, as a short keyboard
    tg.api.clear()
    await tg.send(press(f"r1.{round_id}", chat_id=DM_ID, user_id=DM_ID))
    ack, form = tg.api.sent()
    assert ack.method == "answerCallbackQuery" and "text" not in ack.params
    assert "What is wrong with this question?" in form.params["text"]
    assert keyboard(form) == [
        [("Wrong answer", f"r1.{round_id}.wrong"), ("Unclear", f"r1.{round_id}.unclear"),
         ("Outdated", f"r1.{round_id}.outdated")],
        [("Typo", f"r1.{round_id}.typo"), ("Other", f"r1.{round_id}.other")],
    ]  # fmt: skip
    assert all(len(data.encode()) <= 64 for row in keyboard(form) for _, data in row)

    # a reason: stored at once, then the note prompt with Skip
    tg.api.clear()
    await tg.send(press(f"r1.{round_id}.unclear", chat_id=DM_ID, user_id=DM_ID))
    toast, prompt = tg.api.sent()
    assert toast.params["text"].startswith("Thanks! Your report #1 (Unclear)")
    assert prompt.params["text"].startswith("📝 Report #1 saved (Unclear). Thanks!")
    assert keyboard(prompt) == [[("Skip", f"r1.{round_id}.skip")]]
    (stored,) = await sqlite_app.reports.store.reports(open_only=True)
    assert (stored.question_id, stored.reason, stored.note, stored.place) == (
        "alpha-two", Reason.UNCLEAR, "", f"telegram:{DM_ID}",
    )  # fmt: skip

    # the note, by replying to the prompt (practice's text handler does not take it)
    tg.api.clear()
    await tg.send(reply_to(prompt, "x" * 501))
    (refused,) = tg.api.sent()
    assert "Your note is 501 characters; the limit is 500" in refused.params["text"]
    tg.api.clear()
    await tg.send(reply_to(prompt, "Option C reads both ways."))
    thanks, unbuttoned = tg.api.sent("sendMessage", "editMessageReplyMarkup")
    assert thanks.params["text"] == "Your note was added to report #1. Thanks!"
    assert unbuttoned.method == "editMessageReplyMarkup"
    (stored,) = await sqlite_app.reports.store.reports(open_only=True)
    assert stored.note == "Option C reads both ways."

    # a second report by the same person: an alert, nothing sent or stored
    for again in (f"r1.{round_id}", f"r1.{round_id}.wrong"):
        tg.api.clear()
        await tg.send(press(again, chat_id=DM_ID, user_id=DM_ID))
        (alert,) = tg.api.sent()
        assert alert.method == "answerCallbackQuery" and alert.params["show_alert"] is True
        assert "You already reported this question" in alert.params["text"]
    assert len(await sqlite_app.reports.store.reports(open_only=False)) == 1


@pytest.mark.parametrize(
    ("data", "said"),
    [
        ("r1.bad$", "not valid"),
        ("r1.aaaaaaaaaaa.delete", "not valid"),
        ("r1.aaaaaaaaaaa.wrong\n", "not valid"),
        ("r1.NoSuchRound1", "can't find the question"),
        ("r1.NoSuchRound1.typo", "can't find the question"),
        ("r1.NoSuchRound1.skip", "can't find the question"),
    ],
)
async def test_forged_garbled_and_unknown_report_buttons_get_an_alert(
    tg: Harness, sqlite_app: App, data: str, said: str
) -> None:
    await tg.send(press(data, chat_id=DM_ID, user_id=DM_ID))
    (alert,) = tg.api.sent()
    assert alert.method == "answerCallbackQuery" and alert.params["show_alert"] is True
    assert said in alert.params["text"] and len(alert.params["text"]) <= 200
    assert await sqlite_app.reports.store.reports(open_only=False) == []


async def test_a_reply_to_someone_elses_prompt_changes_nothing(
    tg: Harness, sqlite_app: App
) -> None:
    rnd = await _ask_in_group(tg)
    await tg.send(press(f"r1.{rnd.id}.typo", user_id=21))
    prompt = tg.api.sent("sendMessage")[-1]
    tg.api.clear()
    await tg.send(reply_to(prompt, "my own words", chat_id=GROUP_ID, user_id=22))
    (refused,) = tg.api.sent()
    assert "no open report #1 to add a note to" in refused.params["text"]
    (stored,) = await sqlite_app.reports.store.reports(open_only=True)
    assert stored.note == ""
    # a text that quotes some other message of the bot is not a note
    tg.api.clear()
    other = reply_to(prompt, "hello", chat_id=DM_ID, user_id=DM_ID)
    other["message"]["reply_to_message"]["text"] = "Practice 2/3 · in your own words"
    await tg.send(other)
    assert "no practice session" in tg.api.sent()[-1].params["text"].casefold()


async def _ask_in_group(tg: Harness) -> Round:
    await tg.send(command("/question alpha mid"))  # code: a message with lettered buttons
    (question,) = tg.api.sent()
    rnd = await tg.service.get_round(keyboard(question)[0][0][1].split(".")[1])
    assert rnd is not None
    tg.api.clear()
    return rnd


async def test_the_daily_reveal_in_a_group_reports_with_skip(
    tg: Harness, sqlite_app: App, clock: FixedClock
) -> None:
    daily = sqlite_app.daily
    group = ChatRef(Platform.TELEGRAM, str(GROUP_ID), str(GROUP_ID))
    clock.current = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
    await daily.subscribe(group, ["09:00", "UTC"], is_admin=True)
    sub = await daily.store.subscription_for(group)
    assert sub is not None
    clock.current = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    posted = await daily.run_post(sub, clock.current.date(), tg.adapter.outbox)
    assert posted.outcome is Outcome.DELIVERED and posted.claim is not None
    claim = await daily.store.get_claim(posted.claim.id)
    assert claim is not None and claim.round_id is not None
    question = sqlite_app.bank.get(claim.question_id)
    assert question is not None
    clock.current = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)
    tg.api.clear()
    assert (await daily.run_reveal(claim, tg.adapter.outbox)).outcome is Outcome.DELIVERED
    reveal = tg.api.sent("sendMessage")[-1]
    assert keyboard(reveal) == [[("Report", f"r1.{claim.round_id}")]]
    assert f'<a href="{question.references[0]}">Learn more</a>' in reveal.params["text"]
    assert reveal.params["link_preview_options"] == {"is_disabled": True}

    # a member reports from the reveal; another member uses the same keyboard
    tg.api.clear()
    await tg.send(press(f"r1.{claim.round_id}", user_id=31))
    _, form = tg.api.sent()
    assert form.params["chat_id"] == GROUP_ID
    for member, reason in ((31, "outdated"), (32, "wrong")):
        await tg.send(press(f"r1.{claim.round_id}.{reason}", user_id=member))
    tg.api.clear()
    await tg.send(press(f"r1.{claim.round_id}.skip", user_id=31, message_id=777))
    toast, unbuttoned = tg.api.sent("answerCallbackQuery", "editMessageReplyMarkup")
    assert toast.params["text"] == "Saved without a note. Thanks!"
    assert (unbuttoned.method, unbuttoned.params["message_id"]) == ("editMessageReplyMarkup", 777)
    tg.api.clear()
    await tg.send(press(f"r1.{claim.round_id}.skip", user_id=33))
    (alert,) = tg.api.sent()
    assert "You have not reported this question" in alert.params["text"]
    stored = await sqlite_app.reports.store.reports(open_only=False)
    assert {(r.reason, r.state, r.question_id) for r in stored} == {
        (Reason.OUTDATED, ReportState.OPEN, question.id),
        (Reason.WRONG, ReportState.OPEN, question.id),
    }
