"""Private practice on Telegram end to end: the real Application and handlers, real Update
payloads, a real SQLite file and the loopback Bot API. /practice in the private chat, an open
question asked with ForceReply, the text reply graded, rating buttons, chart and Anki file."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from telegram.request import RequestData

from bot.adapters.telegram.adapter import TelegramAdapter, build_application
from bot.app.bootstrap import App
from bot.core.practice.service import PracticeService
from bot.core.quiz.service import QuizService
from tests.fakes.telegram_api import (
    DATE,
    GROUP_ID,
    TOKEN,
    Call,
    FakeBotApi,
    chat,
    command,
    press,
    user,
)

DM_ID = 5151  # a private chat's id is the user's id
_ids = itertools.count(10_000)


@dataclass(eq=False)
class FilesBotApi(FakeBotApi):
    """The loopback Bot API, also answering sendPhoto / sendDocument and keeping the files."""

    files: list[tuple[str, str, bytes]] = field(default_factory=list)  # method, name, bytes

    async def do_request(
        self, url: str, method: str, request_data: RequestData | None = None, *a: Any, **k: Any
    ) -> tuple[int, bytes]:
        name = url.rsplit("/", 1)[-1]
        if request_data is not None:
            for filename, content, _ in request_data.multipart_data.values():
                data = content if isinstance(content, bytes) else content.read()
                self.files.append((name, filename, data))
        return await super().do_request(url, method, request_data, *a, **k)

    def _result(self, name: str, params: dict[str, Any]) -> Any:
        if name in {"sendPhoto", "sendDocument"}:
            return self._message(params["chat_id"], next(self._ids), caption=params.get("caption"))
        return super()._result(name, params)


@dataclass
class Tg:
    adapter: TelegramAdapter
    api: FilesBotApi
    quiz: QuizService
    practice: PracticeService

    async def send(self, payload: dict[str, Any]) -> None:
        from telegram import Update

        await self.adapter.app.process_update(Update.de_json(payload, self.adapter.app.bot))
        await self.adapter.sending.idle()  # the replies it queued have been sent

    def sent(self, *methods: str) -> list[Call]:
        return self.api.sent(*(methods or ("sendMessage", "answerCallbackQuery")))


@pytest.fixture
def seed() -> int:
    return 6


@pytest.fixture
async def tg(sqlite_app: App) -> AsyncIterator[Tg]:
    quiz, practice = sqlite_app.quiz, sqlite_app.practice
    api = FilesBotApi()
    app = build_application(TOKEN, request=api, get_updates_request=api)
    adapter = TelegramAdapter(quiz, app, practice=practice)
    async with app:
        api.clear()
        yield Tg(adapter, api, quiz, practice)


def text_message(text: str, *, chat_id: int = DM_ID, user_id: int = DM_ID) -> dict[str, Any]:
    """A plain text message (no command), as Telegram sends it."""
    return {
        "update_id": next(_ids),
        "message": {
            "message_id": next(_ids), "date": DATE, "chat": chat(chat_id),
            "from": user(user_id), "text": text,
        },
    }  # fmt: skip


def keyboard_tokens(call: Call) -> list[str]:
    rows = call.params.get("reply_markup", {}).get("inline_keyboard", [])
    return [b["callback_data"] for row in rows for b in row]


async def right_token(tg: Tg, call: Call) -> str:
    first = keyboard_tokens(call)[0]  # p1.c.<round>.<label>
    rnd = await tg.quiz.get_round(first.split(".")[2])
    assert rnd is not None
    question = tg.quiz.bank.get(rnd.question_id)
    assert question is not None
    return f"p1.c.{rnd.id}.{rnd.correct_label(question)}"


async def test_a_practice_session_with_force_reply_and_rating_buttons(tg: Tg) -> None:
    await tg.send(command("/practice alpha", chat_id=DM_ID, user_id=DM_ID))
    intro, question = tg.sent()
    assert intro.params["text"].startswith("Practice session on Alpha topic: 3 questions")
    assert question.params["text"].startswith("Practice 1/3 · multiple choice")
    assert all(t.startswith("p1.c.") for t in keyboard_tokens(question))

    tg.api.clear()
    await tg.send(press(await right_token(tg, question), chat_id=DM_ID, user_id=DM_ID))
    toast, feedback, open_q = tg.sent()
    assert toast.method == "answerCallbackQuery" and "Right" in toast.params["text"]
    assert "Right!" in feedback.params["text"]
    assert open_q.params["text"].startswith("Practice 2/3 · in your own words")
    assert open_q.params["reply_markup"] == {
        "force_reply": True,
        "input_field_placeholder": "Two or three sentences: what happens, and why.",
    }  # the reply field opens at once; no inline keyboard on this message

    tg.api.clear()
    await tg.send(text_message("Honestly no idea what this one does, sorry."))
    (graded,) = tg.sent()
    assert "Key points: 0 of 2 covered" in graded.params["text"]
    assert graded.params["parse_mode"] == "HTML"
    ratings = keyboard_tokens(graded)
    assert [t.rsplit(".", 1)[1] for t in ratings] == ["1", "2", "3", "4"]
    labels = [b["text"] for row in graded.params["reply_markup"]["inline_keyboard"] for b in row]
    assert labels[0] == "★ Again · 1 min"

    tg.api.clear()
    await tg.send(press(ratings[0], chat_id=DM_ID, user_id=DM_ID))
    _, rated, third = tg.sent()
    assert rated.params["text"] == "Rated Again: this question comes back in 1 min."
    assert third.params["text"].startswith("Practice 3/3 · multiple choice")

    # text while a multiple-choice question is open gets a specific hint, not a grade
    tg.api.clear()
    await tg.send(text_message("B"))
    (hint,) = tg.sent()
    assert hint.params["text"] == "This one is multiple choice: pick one of the options."


async def test_practice_is_private_and_group_chatter_is_ignored(tg: Tg) -> None:
    await tg.send(command("/practice", chat_id=GROUP_ID, user_id=7))
    (refusal,) = tg.sent()
    assert refusal.params["text"] == "Practice is private: send me /practice in a direct message."
    tg.api.clear()
    await tg.send(text_message("just chatting in the group", chat_id=GROUP_ID, user_id=7))
    assert tg.sent() == []
    await tg.send(text_message("hello there, what can you do?"))
    (hint,) = tg.sent()
    assert hint.params["text"].startswith("No practice session is running.")


async def test_progress_chart_is_a_photo_and_export_a_document(tg: Tg) -> None:
    await tg.send(command("/practice beta", chat_id=DM_ID, user_id=DM_ID))
    question = tg.sent()[-1]
    await tg.send(press(await right_token(tg, question), chat_id=DM_ID, user_id=DM_ID))
    tg.api.clear()
    await tg.send(command("/progress", chat_id=DM_ID, user_id=DM_ID))
    (text,) = tg.sent()
    assert "Beta topic: 100% right (1/1)" in text.params["text"]
    await tg.send(command("/export", chat_id=DM_ID, user_id=DM_ID))
    await tg.send(command("/remind 07:30 Asia/Tokyo", chat_id=DM_ID, user_id=DM_ID))
    assert [(m, n) for m, n, _ in tg.api.files] == [
        ("sendPhoto", "stackprep-progress.png"),
        ("sendDocument", "stackprep-hardest.apkg"),
        ("sendDocument", "stackprep-hardest.txt"),
    ]
    assert tg.api.files[0][2].startswith(b"\x89PNG\r\n\x1a\n")
    assert tg.api.files[1][2].startswith(b"PK")  # a zip
    assert tg.api.files[2][2].startswith(b"#separator:tab")
    assert tg.sent()[-1].params["text"].startswith("I will remind you at 07:30 (Asia/Tokyo)")


async def test_the_command_menu_lists_practice(tg: Tg) -> None:
    await tg.adapter.publish_commands()
    menu = tg.api.sent("setMyCommands")[0].params["commands"]
    names = [c["command"] for c in menu]
    assert {"practice", "stop", "due", "progress", "export", "remind"} <= set(names)


async def test_plan_and_practice_weak_in_the_private_chat(tg: Tg) -> None:
    """/plan sets, shows and removes a plan (a bad date refused, nothing lost), /due shows the
    countdown, /practice weak says why it cannot start yet, and the menu lists /plan."""
    await tg.send(command("/plan 2027-01-15 alpha", chat_id=DM_ID, user_id=DM_ID))
    (set_,) = tg.sent()
    assert set_.params["text"].startswith(
        "Plan set: interview on 2027-01-15 (Friday) (UTC). 3 cards to study in Alpha topic "
        "(3 unseen, 0 not learned yet) over 45 days: 1 a day."
    )
    tg.api.clear()
    await tg.send(command("/plan 2026-13-01", chat_id=DM_ID, user_id=DM_ID))
    await tg.send(command("/due", chat_id=DM_ID, user_id=DM_ID))
    refused, due = tg.sent()
    assert refused.params["text"].startswith("2026-13-01 is not a date in the calendar")
    assert due.params["text"].endswith(
        "🎯 Interview in 45 days (2027-01-15 (Friday)): today 0 of 1 planned cards done; "
        "3 cards left to study."
    )
    tg.api.clear()
    await tg.send(command("/practice weak", chat_id=DM_ID, user_id=DM_ID))
    await tg.send(command("/plan off", chat_id=DM_ID, user_id=DM_ID))
    await tg.send(command("/plan", chat_id=DM_ID, user_id=DM_ID))
    weak, off, none = tg.sent()
    assert weak.params["text"].startswith("Not enough practice to find your weak topics")
    assert off.params["text"] == "Plan removed."
    assert none.params["text"].startswith("You have no plan.")

    tg.api.clear()
    await tg.send(command("/plan 2027-01-15", chat_id=GROUP_ID, user_id=DM_ID))
    (in_group,) = tg.sent()
    assert in_group.params["text"] == "Plans are private: send me /plan in a direct message."

    await tg.adapter.publish_commands()
    menu = tg.api.sent("setMyCommands")[0].params["commands"]
    assert {"command": "plan", "description": "Interview date plan: /plan YYYY-MM-DD [topics], "
            "or /plan off"} in menu  # fmt: skip
