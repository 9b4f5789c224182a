"""Question reports on Telegram: a short keyboard, then an optional note by replying.

The Report button (`r1.<round>`, under an answer's result in the private chat or a daily
reveal in a group) sends "What is wrong?" with one button per reason (`r1.<round>.<reason>`);
a reason files the report and sends the note prompt, whose first words name the report
("📝 Report #12 saved"). A reply to that prompt adds the note to the replier's own open report
(`NOTE_REPLIES` picks such replies out before practice's private text handler); its Skip
button (`r1.<round>.skip`) ends it without one. In a group every member can use the same
keyboard, each for their own report. Everything goes through ReportService; nothing here
trusts the button for more than the round.
"""

from __future__ import annotations

import logging

from telegram import CallbackQuery, Message
from telegram.error import TelegramError
from telegram.ext import filters

from bot.adapters.telegram.incoming import Host, Incoming, display_name, user_ref
from bot.adapters.telegram.render import alert_text
from bot.core.quiz import report_texts as rt
from bot.core.quiz.reports import Filed, InvalidReport, ReportForm, ReportService
from bot.core.quiz.tokens import decode_report

log = logging.getLogger(__name__)


def _reports(bot: Host) -> ReportService:
    if bot.reports is None:  # the handlers are only reached with a ReportService
        raise InvalidReport()
    return bot.reports


class _NotePrompt(filters.MessageFilter):
    """A reply to this bot's note prompt."""

    def filter(self, message: Message) -> bool:
        replied = message.reply_to_message
        if replied is None or replied.from_user is None or not replied.text:
            return False
        try:
            ours = replied.from_user.id == message.get_bot().id
        except RuntimeError:  # no bot attached to the update
            return False
        return ours and rt.NOTE_PROMPT_RE.match(replied.text) is not None


NOTE_REPLIES = filters.TEXT & ~filters.COMMAND & filters.UpdateType.MESSAGE & _NotePrompt()


async def on_button(bot: Host, query: CallbackQuery, chat_id: int, thread_id: int | None) -> None:
    """A report button: the reasons keyboard, a reason (the report, then the note prompt)
    or Skip. Errors (QuizError) reach the caller's guard, which answers with an alert."""
    user, name = user_ref(query.from_user), display_name(query.from_user)
    token = query.data or ""
    result = await _reports(bot).press(user, name, token)
    outbox = bot.outbox
    if isinstance(result, ReportForm):
        await query.answer()
        form = result.reply
        bot.later(chat_id, lambda: outbox.send_reply(chat_id, form, thread_id=thread_id))
    elif isinstance(result, Filed):
        decoded = decode_report(token)
        assert decoded is not None  # press decoded it
        label = rt.REASON_LABELS[result.report.reason]
        prompt = rt.note_prompt(result.report.id, label, decoded.round_id)
        await query.answer(alert_text(result.reply))
        bot.later(chat_id, lambda: outbox.send_reply(chat_id, prompt, thread_id=thread_id))
    else:  # Skip: the prompt loses its button
        await query.answer(alert_text(result))
        message = query.message
        if isinstance(message, Message):
            bot.later(chat_id, lambda: _drop_keyboard(bot, chat_id, message.message_id))


async def note(bot: Host, inc: Incoming, message: Message) -> None:
    """A reply to the note prompt: the note for the replier's own open report."""
    replied = message.reply_to_message
    found = rt.NOTE_PROMPT_RE.match(replied.text or "") if replied is not None else None
    if replied is None or found is None or not message.text:
        return  # NOTE_REPLIES lets only such replies through
    reply = await _reports(bot).add_note(inc.user, inc.name, int(found.group(1)), message.text)
    await bot.respond(inc, reply)
    bot.later(inc.chat_id, lambda: _drop_keyboard(bot, inc.chat_id, replied.message_id))


async def _drop_keyboard(bot: Host, chat_id: int, message_id: int) -> None:
    """Best effort: the prompt's Skip button goes once the note is settled."""
    try:
        await bot.app.bot.edit_message_reply_markup(chat_id, message_id, reply_markup=None)
    except TelegramError as exc:  # gone, too old, already without buttons: nothing to undo
        log.info("telegram: could not remove the note prompt's button (%s)", exc.message)


__all__ = ["NOTE_REPLIES", "note", "on_button"]
