"""Telegram adapter: a python-telegram-bot Application over QuizService.

Everything goes through the services; this module only turns updates into service calls and
sends the Replies back (rendering lives in `render`, sending in `outbox`). Commands are one
table, `COMMANDS` in `commands` (practice's in `practice`): add a `CommandSpec` there to add a
command; `admin=True` commands are checked against the group's admins and shown only to them.
Errors follow the one policy of `bot.adapters.base.error_notice`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from typing import Any

from telegram import (
    BotCommand,
    BotCommandScopeAllChatAdministrators,
    BotCommandScopeDefault,
    Message,
    ReplyParameters,
    Update,
)
from telegram.constants import ChatMemberStatus
from telegram.error import Conflict, Forbidden, InvalidToken, TelegramError
from telegram.ext import (
    AIORateLimiter,
    ApplicationBuilder,
    BaseRateLimiter,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    PollAnswerHandler,
    filters,
)
from telegram.request import BaseRequest

from bot.adapters.base import AdapterError, Services, error_notice
from bot.adapters.telegram import practice as practice_handlers
from bot.adapters.telegram.commands import COMMANDS, DAILY_COMMAND
from bot.adapters.telegram.incoming import (
    App,
    CommandSpec,
    Incoming,
    chat_ref,
    display_name,
    incoming,
    thread_of,
    user_ref,
)
from bot.adapters.telegram.outbox import TelegramOutbox
from bot.adapters.telegram.render import alert_text
from bot.core.common.errors import InvalidAnswer, NotAllowed, QuizError
from bot.core.common.identity import Platform
from bot.core.common.replies import Reply
from bot.core.common.secret import Secret
from bot.core.common.texts import unknown_command
from bot.core.daily.service import DailyService
from bot.core.practice.service import PracticeService
from bot.core.practice.tokens import is_practice_token
from bot.core.quiz import Asked, QuizService, texts

log = logging.getLogger(__name__)

Context = ContextTypes.DEFAULT_TYPE
ALLOWED_UPDATES = (Update.MESSAGE, Update.CALLBACK_QUERY, Update.POLL_ANSWER)
CONFLICT = (
    "Telegram: another program is already receiving updates for this bot token (409 "
    "Conflict); only one Stackprep may run per token, so stop the other one first"
)
UNAUTHORIZED = (
    "Telegram rejected STACKPREP_TELEGRAM_TOKEN (invalid or revoked); copy the bot's token "
    "from @BotFather again"
)


def build_application(
    token: str,
    *,
    base_url: str | None = None,
    request: BaseRequest | None = None,
    get_updates_request: BaseRequest | None = None,
    rate_limiter: BaseRateLimiter[Any] | None = None,
) -> App:
    """The Application, without PTB's JobQueue (the scheduler is shared across platforms)."""
    builder: Any = ApplicationBuilder().token(token).job_queue(None).concurrent_updates(True)
    if base_url:
        builder = builder.base_url(base_url)
    if request is not None:
        builder = builder.request(request)
    if get_updates_request is not None:
        builder = builder.get_updates_request(get_updates_request)
    if rate_limiter is not None:
        builder = builder.rate_limiter(rate_limiter)
    app: App = builder.build()
    return app


@dataclass(eq=False, repr=False)
class TelegramAdapter:
    service: QuizService
    app: App
    commands: Sequence[CommandSpec] = COMMANDS
    practice: PracticeService | None = None  # /practice & co. and free-text answers in DMs
    daily: DailyService | None = None  # /daily set|off|status|recap for group admins
    name: str = field(default="telegram", init=False)
    outbox: TelegramOutbox = field(init=False)
    ready: asyncio.Event = field(default_factory=asyncio.Event, init=False)  # Bot API usable

    def __post_init__(self) -> None:
        self.outbox = TelegramOutbox(self.app.bot, self.service)
        only_new = filters.UpdateType.MESSAGE
        if self.daily is not None:
            self.commands = (*self.commands, DAILY_COMMAND)
        if self.practice is not None:
            self.commands = (*self.commands, *practice_handlers.PRACTICE_COMMANDS)
            private_text = filters.TEXT & ~filters.COMMAND & filters.ChatType.PRIVATE & only_new
            self.app.add_handler(MessageHandler(private_text, self._on_practice_text))
        for spec in self.commands:
            names = (spec.name, *spec.aliases)
            self.app.add_handler(CommandHandler(names, self._command(spec), filters=only_new))
        unknown = filters.COMMAND & filters.ChatType.PRIVATE & only_new
        self.app.add_handler(MessageHandler(unknown, self._on_unknown_command))
        self.app.add_handler(CallbackQueryHandler(self._on_button))
        self.app.add_handler(PollAnswerHandler(self._on_poll_answer))
        self.app.add_error_handler(self._on_error)

    def __repr__(self) -> str:
        return "TelegramAdapter()"  # the Application's repr contains the bot token

    # -- running ----------------------------------------------------------------------------

    async def run(self) -> None:
        """Poll Telegram until cancelled; AdapterError for a bad token or a second instance."""
        fatal: asyncio.Future[str] = asyncio.get_running_loop().create_future()

        def on_polling_error(exc: TelegramError) -> None:
            if isinstance(exc, Conflict):
                if not fatal.done():
                    fatal.set_result(CONFLICT)
            else:
                log.warning("telegram: polling failed (%s: %s); retrying", type(exc).__name__, exc)

        quiet = _QuietConflictCleanup()
        updater_log = logging.getLogger("telegram.ext.Updater")
        updater_log.addFilter(quiet)
        try:
            await self._initialize()
            self.ready.set()  # the bot can post now (the daily scheduler waits for this)
            try:
                await self.publish_commands()
                await self.app.start()
                updater = self.app.updater
                if updater is None:
                    raise AdapterError("Telegram: the application was built without an updater")
                try:
                    await updater.start_polling(
                        allowed_updates=ALLOWED_UPDATES, error_callback=on_polling_error
                    )
                    log.info("telegram: serving as @%s", self.app.bot.username)
                    reason = await fatal
                finally:
                    if updater.running:
                        await updater.stop()
                    if self.app.running:
                        await self.app.stop()
            finally:
                await self.app.shutdown()
        except InvalidToken:
            raise AdapterError(UNAUTHORIZED) from None
        finally:
            updater_log.removeFilter(quiet)
        raise AdapterError(reason)

    async def _initialize(self) -> None:
        try:
            await self.app.initialize()  # getMe: checks the token
        except BaseException as exc:
            await self.app.bot.shutdown()  # close the HTTP clients the failed start opened
            if isinstance(exc, TelegramError) and not isinstance(exc, InvalidToken):
                raise AdapterError(f"Telegram: cannot reach the Bot API ({exc.message})") from None
            raise

    async def publish_commands(self) -> None:
        """The command menu: everyone sees the public commands, group admins also the admin
        ones (BotCommandScopeAllChatAdministrators replaces the default list for them)."""
        listed = [s for s in self.commands if s.listed]
        everyone = [BotCommand(s.name, s.description) for s in listed if not s.admin]
        admins = everyone + [BotCommand(s.name, s.description) for s in listed if s.admin]
        try:
            await self.app.bot.set_my_commands(everyone, scope=BotCommandScopeDefault())
            await self.app.bot.set_my_commands(admins, scope=BotCommandScopeAllChatAdministrators())
        except TelegramError as exc:
            log.warning("telegram: could not publish the command menu (%s)", exc.message)

    # -- replying ---------------------------------------------------------------------------

    async def respond(self, inc: Incoming, reply: Reply) -> None:
        """Send a Reply where the command came from; a private one quotes the command in a
        group (Telegram has no messages visible to one member only)."""
        quote = inc.message_id if reply.private and not inc.chat.is_private else None
        await self.outbox.send_reply(inc.chat_id, reply, reply_to=quote, thread_id=inc.thread_id)

    async def say(self, inc: Incoming, text: str) -> None:
        """A short plain-text answer to a command (errors, hints), quoting it."""
        await self.app.bot.send_message(
            inc.chat_id,
            text,
            reply_parameters=ReplyParameters(inc.message_id, allow_sending_without_reply=True),
            message_thread_id=inc.thread_id,
        )

    async def require_admin(self, inc: Incoming, command: str) -> None:
        if inc.chat.is_private:
            raise NotAllowed(texts.group_admins_only(command))
        if inc.anonymous_admin:
            return
        member = await self.app.bot.get_chat_member(inc.chat_id, int(inc.user.user_id))
        if member.status not in {ChatMemberStatus.OWNER, ChatMemberStatus.ADMINISTRATOR}:
            raise NotAllowed(texts.group_admins_only(command))

    # -- handlers ---------------------------------------------------------------------------

    def _command(self, spec: CommandSpec) -> Callable[[Update, Context], Coroutine[Any, Any, None]]:
        async def callback(update: Update, context: Context) -> None:
            inc = incoming(update, context.args or [])
            if inc is None:
                return

            async def work() -> None:
                if spec.admin:
                    await self.require_admin(inc, spec.name)
                await spec.run(self, inc)

            await self._guarded(update, work, lambda text: self.say(inc, text))

        return callback

    async def _on_unknown_command(self, update: Update, context: Context) -> None:
        inc = incoming(update, [])
        message = update.effective_message
        if inc is None or message is None or not message.text:
            return
        command = message.text.split(maxsplit=1)[0].removeprefix("/").split("@")[0]
        text = unknown_command(command)
        await self._guarded(update, lambda: self.say(inc, text), None)

    async def _on_button(self, update: Update, context: Context) -> None:
        query = update.callback_query
        if query is None:
            return

        async def work() -> None:
            message = query.message
            if message is None:  # a button on an inline-mode message: not ours
                raise InvalidAnswer()
            if self.practice is not None and is_practice_token(query.data):
                await practice_handlers.on_button(self, query, message.chat.id)
                return
            chat = chat_ref(message.chat)
            user, name = user_ref(query.from_user), display_name(query.from_user)
            result = await self.service.press(user, name, chat, query.data or "")
            if isinstance(result, Asked):  # "Next question"
                thread = thread_of(message) if isinstance(message, Message) else None
                await self.outbox.send_question(message.chat.id, result, thread_id=thread)
                await query.answer()
                return
            # the result privately: an alert in a group; in a DM a toast plus the full answer
            await query.answer(alert_text(result), show_alert=not chat.is_private)
            if chat.is_private:
                await self.outbox.send_reply(message.chat.id, result)

        await self._guarded(update, work, lambda text: query.answer(text, show_alert=True))

    async def _on_practice_text(self, update: Update, context: Context) -> None:
        inc = incoming(update, [])
        message = update.effective_message
        if inc is None or message is None or not message.text:
            return
        text = message.text
        await self._guarded(
            update, lambda: practice_handlers.answer(self, inc, text), lambda t: self.say(inc, t)
        )

    async def _on_poll_answer(self, update: Update, context: Context) -> None:
        answer = update.poll_answer
        if answer is None or answer.user is None or not answer.option_ids:
            return  # an anonymous (voter_chat) vote or a retracted one
        voter = answer.user

        async def work() -> None:
            reply = await self.service.answer_poll(
                user_ref(voter), display_name(voter), Platform.TELEGRAM,
                answer.poll_id, answer.option_ids[0],
            )  # fmt: skip
            # The poll shows right/wrong itself. The core offers a next step only in private
            # rounds; then follow up in the DM (a private chat's id is the user's id).
            if reply.actions:
                await self.outbox.send_reply(voter.id, reply)

        await self._guarded(update, work, None)

    async def _guarded(
        self,
        update: Update,
        work: Callable[[], Awaitable[None]],
        tell: Callable[[str], Awaitable[object]] | None,
    ) -> None:
        """Run one update's work: a QuizError is told to the user privately, anything else
        is logged with the update id and chat, and the user gets a short apology."""
        try:
            await work()
        except Forbidden as exc:
            log.info(
                "telegram: update %s: cannot write to chat %s (%s)",
                update.update_id, _chat_id(update), exc.message,
            )  # fmt: skip
        except Exception as exc:
            where = f"telegram: update {update.update_id} in chat {_chat_id(update)}"
            notice = error_notice(exc, log=log, what=where)
            if tell is None and isinstance(exc, QuizError):
                log.info("%s: %s", where, notice)
            await _tell(tell, notice)

    async def _on_error(self, update: object, context: Context) -> None:
        """Last resort for errors outside the guarded handlers; polling goes on."""
        update_id = update.update_id if isinstance(update, Update) else None
        log.error("telegram: update %s failed", update_id, exc_info=context.error)


class _QuietConflictCleanup(logging.Filter):
    """On stop, PTB calls getUpdates once more to confirm the last updates; after a 409 that
    call conflicts too and PTB logs it with a traceback. The conflict is already reported as
    one clear AdapterError line, so that record is dropped."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        return not (isinstance(error, Conflict) and "one more time" in record.getMessage())


async def _tell(tell: Callable[[str], Awaitable[object]] | None, text: str) -> None:
    if tell is None:
        return
    try:
        await tell(text)
    except TelegramError as exc:
        log.warning("telegram: could not tell the user (%s: %s)", type(exc).__name__, exc)


def _chat_id(update: Update) -> int | None:
    chat = update.effective_chat
    return chat.id if chat else None


def create_adapter(
    token: Secret | None, services: Services, *, api_base_url: str | None = None
) -> TelegramAdapter:
    """The adapter as `stackprep run` uses it: real HTTP, AIORateLimiter for flood limits."""
    if token is None:
        raise AdapterError("Telegram: STACKPREP_TELEGRAM_TOKEN is not set")
    app = build_application(
        token.reveal(), base_url=api_base_url, rate_limiter=AIORateLimiter(max_retries=2)
    )
    return TelegramAdapter(services.quiz, app, practice=services.practice, daily=services.daily)
