"""Private practice on Telegram: /practice (and /practice weak), /stop, /due, /progress,
/export, /remind, /plan, /mock, the practice buttons (p1.* callback data) and free-text answers in
the private chat.

An open question is sent with ForceReply, so Telegram opens the reply field at once; any text
message in the private chat then answers the question the session waits for. The chart goes
as a photo and the Anki export as a document.
"""

from __future__ import annotations

from dataclasses import replace
from functools import partial

from telegram import CallbackQuery, ForceReply, InputFile, LinkPreviewOptions, Message
from telegram.constants import ParseMode

from bot.adapters.chart import chart_png
from bot.adapters.telegram.incoming import CommandSpec, Host, Incoming, display_name, user_ref
from bot.adapters.telegram.render import alert_text, html_messages
from bot.core.common.replies import Reply
from bot.core.practice import texts as pt
from bot.core.practice.ports import Awaiting
from bot.core.practice.service import PracticeService, Step

PLACEHOLDER_MAX = 64  # Telegram's limit for ForceReply.input_field_placeholder
_NO_PREVIEW = LinkPreviewOptions(is_disabled=True)


def _practice(bot: Host) -> PracticeService:
    if bot.practice is None:  # the commands are only registered with a PracticeService
        raise RuntimeError("practice is not enabled")
    return bot.practice


def send_step(bot: Host, chat_id: int, step: Step) -> None:
    """Each reply of a step as a message; an open question asks for a reply (ForceReply).
    Queued on the chat (`Host.later`), sent in order once the update's work is done."""
    for index, reply in enumerate(step.replies):
        last = index == len(step.replies) - 1
        if last and step.awaiting is Awaiting.TEXT:
            bot.later(chat_id, partial(ask_for_text, bot, chat_id, replace(reply, actions=())))
        else:
            bot.later(chat_id, partial(bot.outbox.send_reply, chat_id, reply))


async def ask_for_text(bot: Host, chat_id: int, reply: Reply) -> Message:
    force = ForceReply(input_field_placeholder=pt.ANSWER_PLACEHOLDER[:PLACEHOLDER_MAX])
    messages = html_messages(reply)
    sent: Message | None = None
    for index, text in enumerate(messages):
        sent = await bot.app.bot.send_message(
            chat_id,
            text,
            parse_mode=ParseMode.HTML,
            reply_markup=force if index == len(messages) - 1 else None,
            link_preview_options=_NO_PREVIEW,
        )
    assert sent is not None
    return sent


async def on_button(bot: Host, query: CallbackQuery, chat_id: int) -> None:
    """A practice button under one of the bot's messages in the private chat."""
    practice = _practice(bot)
    user, name = user_ref(query.from_user), display_name(query.from_user)
    step = await practice.press(user, name, query.data or "")
    first = step.replies[0] if step.replies else None
    await query.answer(alert_text(first) if first and first.summary else None)
    send_step(bot, chat_id, step)


async def answer(bot: Host, inc: Incoming, text: str) -> None:
    """Text (not a command) in a private chat: the answer to the open practice question."""
    step = await _practice(bot).answer_text(inc.user, inc.name, text)
    send_step(bot, inc.chat_id, step)


async def _start(bot: Host, inc: Incoming) -> None:
    topic = " ".join(inc.args) or None
    send_step(bot, inc.chat_id, await _practice(bot).start(inc.user, inc.name, inc.chat, topic))


async def _stop(bot: Host, inc: Incoming) -> None:
    await bot.respond(inc, await _practice(bot).stop(inc.user, inc.name))


async def _due(bot: Host, inc: Incoming) -> None:
    await bot.respond(inc, await _practice(bot).due(inc.user, inc.name))


async def _progress(bot: Host, inc: Incoming) -> None:
    progress = await _practice(bot).progress(inc.user, inc.name)
    await bot.respond(inc, progress.reply)
    if progress.chart is not None:
        png = await chart_png(progress.chart)
        photo, title = InputFile(png, filename=pt.CHART_FILENAME), progress.chart.title
        bot.later(
            inc.chat_id,
            lambda: bot.app.bot.send_photo(
                inc.chat_id, photo, caption=title, message_thread_id=inc.thread_id
            ),
        )


async def _export(bot: Host, inc: Incoming) -> None:
    export = await _practice(bot).export(inc.user, inc.name)
    last = len(export.files) - 1
    for i, file in enumerate(export.files):  # the .apkg first; the explanation under the last
        send = partial(
            bot.app.bot.send_document,
            inc.chat_id,
            file.data,
            filename=file.name,
            caption=export.reply.plain_text()[:1024] if i == last else None,
            message_thread_id=inc.thread_id,
        )
        bot.later(inc.chat_id, send)


async def _remind(bot: Host, inc: Incoming) -> None:
    await bot.respond(
        inc, await _practice(bot).remind(inc.user, inc.name, inc.chat, list(inc.args))
    )


async def _plan(bot: Host, inc: Incoming) -> None:
    await bot.respond(inc, await _practice(bot).plan(inc.user, inc.name, inc.chat, list(inc.args)))


async def _mock(bot: Host, inc: Incoming) -> None:
    send_step(bot, inc.chat_id, await _practice(bot).mock.start(inc.user, inc.name, inc.chat))


_D = pt.COMMAND_DESCRIPTIONS
PRACTICE_COMMANDS: tuple[CommandSpec, ...] = (
    CommandSpec("practice", _start, _D["practice"]),
    CommandSpec("stop", _stop, _D["stop"]),
    CommandSpec("due", _due, _D["due"]),
    CommandSpec("progress", _progress, _D["progress"]),
    CommandSpec("export", _export, _D["export"]),
    CommandSpec("remind", _remind, _D["remind"]),
    CommandSpec("plan", _plan, _D["plan"]),
    CommandSpec("mock", _mock, _D["mock"]),
)

__all__ = ["PRACTICE_COMMANDS", "answer", "on_button", "send_step"]
