"""The Telegram outbox (what the daily scheduler uses) and the HTML rendering of Replies."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.adapters.telegram.outbox import TelegramOutbox
from bot.adapters.telegram.render import alert_text, html_messages, keyboard, utf16_len
from bot.app.bootstrap import App
from bot.core.common.errors import StorageUnavailable
from bot.core.common.identity import ChatRef, Platform
from bot.core.common.replies import Button, Code, Paragraph, Reply
from bot.core.delivery import ChatGone, DeliveryFailed, Outbox, RetryLater
from bot.core.quiz.rounds import RoundKind
from bot.core.quiz.service import Asked
from bot.storage.sqlite import SqliteQuizStore
from tests.fakes.telegram_api import GROUP_ID, TOKEN, Harness, harness

GROUP = ChatRef(Platform.TELEGRAM, str(GROUP_ID), str(GROUP_ID))


@pytest.fixture
def seed() -> int:
    return 3


@pytest.fixture
async def tg(sqlite_app: App) -> AsyncIterator[Harness]:
    async with harness(sqlite_app.quiz) as h:
        yield h


async def daily(tg: Harness, question_id: str) -> Asked:
    question = tg.service.bank.get(question_id)
    assert question is not None
    now = tg.service.clock.now()
    return await tg.service.open_round(question, GROUP, RoundKind.DAILY, now, None)


def outbox(tg: Harness) -> Outbox:
    box: Outbox = tg.adapter.outbox  # the scheduler sees only the Outbox protocol
    return box


# -- posting -----------------------------------------------------------------------------------


async def test_post_question_as_a_quiz_poll_links_the_poll_to_its_round(
    tg: Harness, sqlite_store: SqliteQuizStore
) -> None:
    asked = await daily(tg, "beta-two")
    ref = await outbox(tg).post_question(GROUP, asked, nonce="run-1:chat")
    call = tg.api.sent()[0]
    assert call.method == "sendPoll" and call.params["chat_id"] == GROUP_ID
    assert call.params["type"] == "quiz" and call.params["is_anonymous"] is False
    poll_id = next(iter(tg.api._polls))
    assert await sqlite_store.linked_round("telegram", poll_id) == asked.round.id
    message_id = int(ref.removeprefix("poll:"))
    assert ref.startswith("poll:") and message_id > 0

    await outbox(tg).edit(GROUP, ref, asked.reply)  # closing a poll stops it
    stop = tg.api.sent("stopPoll")[0]
    assert stop.params == {"chat_id": GROUP_ID, "message_id": message_id}


async def test_a_poll_that_went_out_counts_as_delivered_even_if_linking_fails(
    tg: Harness, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Failing the post would make the scheduler retry it: a second poll in the group."""
    asked = await daily(tg, "beta-two")

    async def broken(*args: object) -> None:
        raise StorageUnavailable()

    monkeypatch.setattr(tg.service, "link", broken)
    ref = await outbox(tg).post_question(GROUP, asked, nonce="run-1:chat")
    assert ref.startswith("poll:")
    assert [c.method for c in tg.api.sent()] == ["sendPoll"]
    assert "was sent but not linked" in caplog.text


async def test_post_code_question_with_buttons_then_close_it_by_editing(tg: Harness) -> None:
    asked = await daily(tg, "alpha-two")
    ref = await outbox(tg).post_question(GROUP, asked, nonce="n")
    sent = tg.api.sent()[0]
    assert sent.method == "sendMessage" and "<pre><code" in sent.params["text"]
    assert len(sent.params["reply_markup"]["inline_keyboard"][0]) == 4
    closed = Reply(asked.reply.blocks)  # the same text without buttons
    await outbox(tg).edit(GROUP, ref, closed)
    edit = tg.api.sent("editMessageText")[0]
    assert edit.params == {
        "chat_id": GROUP_ID,
        "message_id": int(ref.removeprefix("msg:")),
        "text": sent.params["text"],
        "parse_mode": "HTML",
    }  # no reply_markup: Telegram removes the keyboard


async def test_post_plain_reply(tg: Harness) -> None:
    reply = Reply((Paragraph("Answer: B) 201 Created", bold=True), Paragraph("3 answered")))
    ref = await outbox(tg).post(GROUP, reply, nonce="reveal")
    call = tg.api.sent()[0]
    assert call.params == {
        "chat_id": GROUP_ID,
        "text": "<b>Answer: B) 201 Created</b>\n\n3 answered",
        "parse_mode": "HTML",
        "link_preview_options": {"is_disabled": True},
    }
    assert ref.startswith("msg:")


async def test_editing_to_the_same_content_or_a_closed_poll_is_not_an_error(tg: Harness) -> None:
    tg.api.fail("editMessageText", 400, "Bad Request: message is not modified: specified new")
    tg.api.fail("stopPoll", 400, "Bad Request: poll has already been closed")
    await outbox(tg).edit(GROUP, "msg:5", Reply((Paragraph("x"),)))
    await outbox(tg).edit(GROUP, "poll:6", Reply((Paragraph("x"),)))


async def test_a_foreign_message_reference_is_refused(tg: Harness) -> None:
    with pytest.raises(DeliveryFailed, match="not a Telegram message reference"):
        await outbox(tg).edit(GROUP, "discord:123", Reply((Paragraph("x"),)))
    assert tg.api.calls == []


# -- typed failures ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "description", "parameters", "expected"),
    [
        (403, "Forbidden: bot was kicked from the supergroup chat", {}, ChatGone),
        (403, "Forbidden: bot was blocked by the user", {}, ChatGone),
        (400, "Bad Request: chat not found", {}, ChatGone),
        (400, "Bad Request: not enough rights to send text messages to the chat", {}, ChatGone),
        (400, "Bad Request: group chat was upgraded", {"migrate_to_chat_id": -100777}, ChatGone),
        (429, "Too Many Requests: retry after 7", {"retry_after": 7}, RetryLater),
        (400, "Bad Request: message text is empty", {}, DeliveryFailed),
        (500, "Internal Server Error", {}, DeliveryFailed),
    ],
)
async def test_failures_are_typed_for_the_scheduler(
    tg: Harness,
    monkeypatch: pytest.MonkeyPatch,
    status: int,
    description: str,
    parameters: dict[str, int],
    expected: type,
) -> None:
    # PTB warns about its own RetryAfter.retry_after type change unless opted in
    monkeypatch.setenv("PTB_TIMEDELTA", "true")
    tg.api.fail("sendMessage", status, description, **parameters)
    with pytest.raises(DeliveryFailed) as caught:
        await outbox(tg).post(GROUP, Reply((Paragraph("hello"),)), nonce="n")
    assert type(caught.value) is expected
    assert TOKEN not in caught.value.reason
    if isinstance(caught.value, RetryLater):
        assert caught.value.retry_after == 7.0
    if "migrate_to_chat_id" in parameters:
        assert "-100777" in caught.value.reason


def test_reason_never_contains_the_token(tg: Harness) -> None:
    from telegram.error import NetworkError

    box = tg.adapter.outbox
    failure = box.delivery_error(NetworkError(f"connect to https://x/bot{TOKEN}/sendMessage"))
    assert TOKEN not in failure.reason and "********" in failure.reason
    assert TOKEN not in repr(box) and TOKEN not in repr(tg.adapter)


def test_outbox_is_the_adapters_and_names_its_platform(tg: Harness) -> None:
    assert isinstance(tg.adapter.outbox, TelegramOutbox)
    assert tg.adapter.outbox.platform is Platform.TELEGRAM


# -- rendering ---------------------------------------------------------------------------------


def test_text_and_code_are_escaped_for_telegram_html() -> None:
    reply = Reply(
        (
            Paragraph("Is a < b && c > d?", bold=True),
            Code("if a < b:\n    print('&', \"<tag>\")\n", "python"),
            Code("<div>", 'html" onclick="x'),  # an odd language never reaches the markup
        )
    )
    assert html_messages(reply) == [
        "<b>Is a &lt; b &amp;&amp; c &gt; d?</b>\n\n"
        '<pre><code class="language-python">if a &lt; b:\n    print(\'&amp;\', "&lt;tag&gt;")'
        "</code></pre>\n\n<pre><code>&lt;div&gt;</code></pre>"
    ]


def test_long_replies_are_split_between_blocks_and_each_message_fits() -> None:
    blocks = (Paragraph("a" * 2500), Paragraph("b" * 2500), Paragraph("😀" * 3000))
    messages = html_messages(Reply(blocks))
    assert messages[0] == "a" * 2500 and messages[1] == "b" * 2500
    assert 4094 <= utf16_len(messages[2]) <= 4096  # an emoji is two UTF-16 units, never split
    assert messages[2].endswith("😀…")
    assert len(html_messages(Reply((Paragraph("x" * 5000),)))[0]) == 4096


def test_keyboard_rows_and_callback_data_limits() -> None:
    reply = Reply(
        (Paragraph("q"),),
        choices=(Button("A", "a1.abcdefgh.A"), Button("B", "a1.abcdefgh.B")),
        actions=(Button("Next question", "n1.-.0"),),
    )
    markup = keyboard(reply)
    assert markup is not None
    assert markup.to_dict() == {
        "inline_keyboard": [
            [{"text": "A", "callback_data": "a1.abcdefgh.A"},
             {"text": "B", "callback_data": "a1.abcdefgh.B"}],
            [{"text": "Next question", "callback_data": "n1.-.0"}],
        ]
    }  # fmt: skip
    assert keyboard(Reply((Paragraph("q"),))) is None
    with pytest.raises(ValueError, match="64 bytes"):
        keyboard(Reply((Paragraph("q"),), choices=(Button("A", "é" * 33),)))


def test_alert_text_uses_the_summary_and_fits_in_200_characters() -> None:
    assert alert_text(Reply((Paragraph("long " * 100),), summary="short")) == "short"
    text = alert_text(Reply((Paragraph("long " * 100),)))
    assert len(text) == 200 and text.endswith("…")


def test_an_empty_reply_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="at least one block"):
        html_messages(Reply(()))
