"""Sending to Telegram: questions (quiz poll or HTML + keyboard), replies, edits.

`TelegramOutbox` is used by the command handlers (raw `TelegramError`s, the handler's guard
deals with them; they run as jobs on the chat's send queue, see `sending`) and, through the
`Outbox` methods, by the daily scheduler, which gets typed `DeliveryFailed` errors instead.
Every send waits for its chat's budget in the SendScheduler; after a 429 the handlers' sends
are retried there, while the Outbox methods ask for none (`rate_limit_args=NO_RETRY`) and
raise `RetryLater` at once: the scheduler's pacing retries them itself. Message references are
`msg:<id>` for text messages and `poll:<id>` for quiz polls, so `edit` knows whether to edit
text or close a poll.

A ChatRef's `chat_id` here is a place id (`places.py`): a chat, or a forum topic of one, so
a game or a daily subscription started in a topic posts into it (`message_thread_id`). A
topic that was closed or deleted refuses posts ("TOPIC_CLOSED", "message thread not found"):
that place is gone (`ChatGone`), as a chat the bot was removed from is.
"""

from __future__ import annotations

import logging
from typing import Any, Literal

from telegram import LinkPreviewOptions, Message, Poll, ReplyParameters
from telegram.constants import ParseMode
from telegram.error import BadRequest, ChatMigrated, Forbidden, RetryAfter, TelegramError
from telegram.ext import ExtBot

from bot.adapters.telegram.places import BadPlace, Place, parse_place
from bot.adapters.telegram.render import html_messages, keyboard
from bot.adapters.telegram.sending import NO_RETRY, Retries, retry_seconds, topic_gone
from bot.core.common.identity import ChatRef, Platform
from bot.core.common.replies import Reply
from bot.core.delivery import ChatGone, DeliveryFailed, RetryLater
from bot.core.quiz.service import Asked, QuizService

log = logging.getLogger(__name__)

# Bad Request descriptions that mean the bot can no longer post in a chat.
_GONE = (
    "chat not found",
    "group chat was deactivated",
    "peer_id_invalid",
    "chat_write_forbidden",
    "not enough rights to send",
    "have no rights to send",
    "bot is not a member",
    "bot was kicked",
)
_UNCHANGED = ("message is not modified", "poll has already been closed")

ChatId = int | str
_NO_PREVIEW = LinkPreviewOptions(is_disabled=True)
_OPTION_IDS: tuple[Literal[0, 1, 2, 3], ...] = (0, 1, 2, 3)  # questions have 3-4 choices


def place_of(chat: ChatRef) -> Place:
    """The chat (its numeric id, or an @username) and forum topic a ChatRef names; a place
    id that is not one can never be posted to (`ChatGone`, with what is wrong with it)."""
    try:
        return parse_place(chat.chat_id)
    except BadPlace as exc:
        raise ChatGone(str(exc)) from None


class TelegramOutbox:
    """Posts Replies and questions to Telegram chats; implements `bot.core.delivery.Outbox`."""

    platform = Platform.TELEGRAM
    closes_polls = True  # a game's poll closes by itself (open_period): no stopPoll needed

    def __init__(self, bot: ExtBot[Any], service: QuizService) -> None:
        self._bot = bot
        self._service = service

    def __repr__(self) -> str:
        return "TelegramOutbox()"  # the Bot's repr contains the token

    # -- raw sending (TelegramError propagates) ---------------------------------------------

    async def send_reply(
        self,
        chat_id: ChatId,
        reply: Reply,
        *,
        reply_to: int | None = None,
        thread_id: int | None = None,
        retries: Retries | None = None,
    ) -> Message:
        """Send a Reply as HTML; its buttons go on the last message. Returns that message.
        `retries`: after a 429 (None: the SendScheduler's default)."""
        texts = html_messages(reply)
        last: Message | None = None
        for index, text in enumerate(texts):
            final = index == len(texts) - 1
            last = await self._bot.send_message(
                chat_id,
                text,
                parse_mode=ParseMode.HTML,
                reply_markup=keyboard(reply) if final else None,
                reply_parameters=ReplyParameters(reply_to, allow_sending_without_reply=True)
                if reply_to is not None and index == 0
                else None,
                message_thread_id=thread_id,
                link_preview_options=_NO_PREVIEW,
                rate_limit_args=retries,
            )
        assert last is not None
        return last

    async def send_question(
        self,
        chat_id: ChatId,
        asked: Asked,
        *,
        thread_id: int | None = None,
        retries: Retries | None = None,
    ) -> Message:
        """A native quiz poll when the question fits one, else HTML with lettered buttons."""
        poll = asked.poll
        if poll is None:
            return await self.send_reply(chat_id, asked.reply, thread_id=thread_id, retries=retries)
        message = await self._bot.send_poll(
            chat_id,
            poll.question,
            list(poll.options),
            is_anonymous=False,  # else Telegram sends no poll_answer updates
            type=Poll.QUIZ,
            correct_option_ids=[_OPTION_IDS[poll.correct_index]],
            explanation=poll.explanation,
            # a game's poll closes by itself, its time counted from when Telegram has it (the
            # engine starts the round's time when the post is out, also after a wait for the
            # chat's budget), so no stopPoll is needed at the deadline
            open_period=None if poll.open_seconds is None else max(5, poll.open_seconds),
            message_thread_id=thread_id,
            rate_limit_args=retries,
        )
        if message.poll is None:
            raise DeliveryFailed("Telegram answered sendPoll without a poll")
        try:
            await self._service.link(Platform.TELEGRAM, message.poll.id, asked.round.id)
        except Exception:
            # The poll is out: failing now would make a daily retry post a second one. Its
            # votes just cannot be scored; that is logged, the post counts as delivered.
            log.exception("telegram: poll %s of round %s was sent but not linked",
                          message.poll.id, asked.round.id)  # fmt: skip
        return message

    # -- the Outbox protocol (typed errors) -------------------------------------------------

    async def post_question(self, chat: ChatRef, asked: Asked, *, nonce: str) -> str:
        """`nonce` is not used: the Bot API has no idempotency key for sends."""
        place = place_of(chat)
        try:
            message = await self.send_question(
                place.chat_id, asked, thread_id=place.thread_id, retries=NO_RETRY
            )
        except TelegramError as exc:
            raise self.delivery_error(exc, place) from None
        return f"poll:{message.message_id}" if asked.poll else f"msg:{message.message_id}"

    async def post(self, chat: ChatRef, reply: Reply, *, nonce: str) -> str:
        place = place_of(chat)
        try:
            message = await self.send_reply(
                place.chat_id, reply, thread_id=place.thread_id, retries=NO_RETRY
            )
        except TelegramError as exc:
            raise self.delivery_error(exc, place) from None
        return f"msg:{message.message_id}"

    async def edit(self, chat: ChatRef, message_ref: str, reply: Reply) -> None:
        """Replace a message's text and buttons (no buttons: the keyboard goes); a poll
        reference closes the poll instead, as a poll's text cannot be edited."""
        kind, _, raw_id = message_ref.partition(":")
        if kind not in {"msg", "poll"} or not raw_id.isdigit():
            raise DeliveryFailed(f"not a Telegram message reference: {message_ref[:40]!r}")
        place = place_of(chat)  # a message id is the chat's: editing takes no topic
        chat_id, message_id = place.chat_id, int(raw_id)
        try:
            if kind == "poll":
                await self._bot.stop_poll(chat_id, message_id, rate_limit_args=NO_RETRY)
            else:
                await self._bot.edit_message_text(
                    html_messages(reply)[0],
                    chat_id,
                    message_id,
                    parse_mode=ParseMode.HTML,
                    reply_markup=keyboard(reply),
                    rate_limit_args=NO_RETRY,
                )
        except BadRequest as exc:
            if any(text in exc.message.lower() for text in _UNCHANGED):
                return
            raise self.delivery_error(exc, place) from None
        except TelegramError as exc:
            raise self.delivery_error(exc, place) from None

    def budget_key(self, chat: ChatRef) -> str:
        """Whose sending budget a post to `chat` spends (bot/jobs/pacing.py): Telegram
        counts a group's messages whatever topic they go to, so the group's."""
        try:
            return ChatRef(chat.platform, str(parse_place(chat.chat_id).chat_id)).key
        except BadPlace:
            return chat.key  # never posted to (ChatGone): any key will do

    def delivery_error(self, exc: TelegramError, place: Place | None = None) -> DeliveryFailed:
        """The typed Outbox error for a Telegram error; its reason never holds the token.
        A forum topic that is closed or deleted (`place`: where it was posted) is gone."""
        reason = f"{type(exc).__name__}: {exc.message}".replace(self._bot.token, "********")
        if topic_gone(exc):
            thread = place.thread_id if place is not None else None
            topic = "the forum topic" if thread is None else f"forum topic {thread}"
            return ChatGone(f"{topic} is closed or deleted ({reason})")
        if isinstance(exc, RetryAfter):
            return RetryLater(reason, retry_seconds(exc))
        if isinstance(exc, Forbidden):
            return ChatGone(reason)
        if isinstance(exc, ChatMigrated):
            return ChatGone(f"the group became a supergroup with chat id {exc.new_chat_id}")
        if isinstance(exc, BadRequest) and any(t in exc.message.lower() for t in _GONE):
            return ChatGone(reason)
        return DeliveryFailed(reason)
