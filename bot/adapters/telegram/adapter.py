"""Telegram adapter: a python-telegram-bot Application over QuizService.

Everything goes through the services; this module only turns updates into service calls and
sends the Replies back (rendering lives in `render`, sending in `outbox`, and `sending` queues
it per chat: a handler never waits for a chat's flood budget, see `_handle`). Commands are one
table, `COMMANDS` in `commands` (practice's in `practice`): add a `CommandSpec` there to add a
command; `admin=True` commands are checked against the group's admins and shown only to them.
Errors follow the one policy of `bot.adapters.base.error_notice`.
"""

from __future__ import annotations

import asyncio
import functools
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
from telegram.error import Forbidden, TelegramError
from telegram.ext import (
    ApplicationBuilder,
    BaseRateLimiter,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    PollAnswerHandler,
    TypeHandler,
    filters,
)
from telegram.request import BaseRequest, HTTPXRequest

from bot.adapters.base import AdapterError, Services, error_notice, outcome
from bot.adapters.telegram import community as community_handlers
from bot.adapters.telegram import practice as practice_handlers
from bot.adapters.telegram import reports as report_handlers
from bot.adapters.telegram.commands import COMMANDS, DAILY_COMMAND
from bot.adapters.telegram.games import QUIZ_COMMAND
from bot.adapters.telegram.incoming import (
    App,
    CommandSpec,
    Incoming,
    chat_id_of,
    chat_ref,
    display_name,
    incoming,
    is_admin,
    log_ids,
    press,
    thread_of,
    user_ref,
)
from bot.adapters.telegram.metered import MeteredRequest, Reachability, command_name
from bot.adapters.telegram.outbox import TelegramOutbox
from bot.adapters.telegram.polling import Poller
from bot.adapters.telegram.receiving import Backoff, retrying
from bot.adapters.telegram.render import alert_text
from bot.adapters.telegram.sending import BUSY, SLOW_DOWN, ChatKey, Job, SendScheduler, deliver
from bot.adapters.telegram.webhook import Webhook, WebhookReceiver
from bot.core.common.errors import InvalidAnswer, NotAllowed, QuizError, StorageUnavailable
from bot.core.common.identity import Platform
from bot.core.common.metrics import NO_METRICS, Metrics
from bot.core.common.replies import Reply
from bot.core.common.secret import Secret
from bot.core.common.texts import unknown_command
from bot.core.community import CommunityService
from bot.core.daily.service import DailyService
from bot.core.delivery import UpdateInbox
from bot.core.games import GameService
from bot.core.practice.service import PracticeService
from bot.core.practice.tokens import is_practice_token
from bot.core.quiz import Asked, QuizService, texts
from bot.core.quiz.reports import ReportService
from bot.core.quiz.tokens import is_next_token, is_report_token

log = logging.getLogger(__name__)

Context = ContextTypes.DEFAULT_TYPE
ALLOWED_UPDATES = (Update.MESSAGE, Update.CALLBACK_QUERY, Update.POLL_ANSWER)


def build_application(
    token: str,
    *,
    base_url: str | None = None,
    request: BaseRequest | None = None,
    get_updates_request: BaseRequest | None = None,
    rate_limiter: BaseRateLimiter[Any] | None = None,
    metrics: Metrics = NO_METRICS,
    reach: Reachability | None = None,
) -> App:
    """The Application, without PTB's JobQueue (the scheduler is shared across platforms).
    Both transports (PTB's defaults unless given) report the Bot API's error answers to
    `metrics`; getUpdates' also keeps `reach` (whether the Bot API answers)."""
    builder: Any = ApplicationBuilder().token(token).job_queue(None).concurrent_updates(True)
    if base_url:  # and its file server beside it (the path members' files come from)
        builder = builder.base_url(base_url).base_file_url(community_handlers.file_base(base_url))
    request = MeteredRequest(request or HTTPXRequest(connection_pool_size=256), metrics)
    polling = get_updates_request or HTTPXRequest(connection_pool_size=1)
    builder = builder.request(request).get_updates_request(MeteredRequest(polling, metrics, reach))
    # our SendScheduler paces every send per chat (the adapter queues its replies on it)
    builder = builder.rate_limiter(rate_limiter if rate_limiter is not None else SendScheduler())
    app: App = builder.build()
    return app


@dataclass(eq=False, repr=False)
class TelegramAdapter:
    service: QuizService
    app: App
    commands: Sequence[CommandSpec] = COMMANDS
    practice: PracticeService | None = None  # /practice & co. and free-text answers in DMs
    daily: DailyService | None = None  # /daily set|off|status|recap for group admins
    games: GameService | None = None  # /quiz (bot/adapters/telegram/games.py)
    reports: ReportService | None = None  # the Report button, its reasons and note replies
    community: CommunityService | None = None  # /questions, /import, /propose (community.py)
    inbox: UpdateInbox | None = None  # fetched updates until processed; run() needs one
    backoff: Backoff = field(default_factory=Backoff)  # retries of an unreachable Bot API
    metrics: Metrics = NO_METRICS  # handled updates by command and outcome
    reach: Reachability | None = None  # whether getUpdates is answered (build_application's)
    webhook: Webhook | None = None  # receive by webhook (webhook.py); None: by polling
    receiver: Poller | WebhookReceiver | None = field(default=None, init=False)  # while running
    name: str = field(default="telegram", init=False)
    outbox: TelegramOutbox = field(init=False)
    sending: SendScheduler = field(init=False)  # per-chat queues and budgets (sending.py)
    ready: asyncio.Event = field(default_factory=asyncio.Event, init=False)  # Bot API usable

    def __post_init__(self) -> None:
        limiter = self.app.bot.rate_limiter
        if not isinstance(limiter, SendScheduler):
            raise TypeError("build the Application with build_application (a SendScheduler)")
        self.sending = limiter
        self.outbox = TelegramOutbox(self.app.bot, self.service)
        self.app.add_handler(TypeHandler(Update, log_ids), group=-1)  # first, for every update
        only_new = filters.UpdateType.MESSAGE
        if self.reports is not None:  # before practice's: a reply to the note prompt
            self.app.add_handler(MessageHandler(report_handlers.NOTE_REPLIES, self._on_note))
        if self.daily is not None:
            self.commands = (*self.commands, DAILY_COMMAND)
        if self.games is not None:
            self.commands = (*self.commands, QUIZ_COMMAND)
        if self.community is not None:  # before practice's and the table: /import, proposals
            self.commands = (*self.commands, *community_handlers.install(self))
        if self.practice is not None:
            self.commands = (*self.commands, *practice_handlers.PRACTICE_COMMANDS)
            private_text = filters.TEXT & ~filters.COMMAND & filters.ChatType.PRIVATE & only_new
            self.app.add_handler(MessageHandler(private_text, self._on_practice_text))
        for spec in self.commands:
            names = (spec.name, *spec.aliases)
            self.app.add_handler(CommandHandler(names, self._command(spec), filters=only_new))
        self._command_names = frozenset(n for c in self.commands for n in (c.name, *c.aliases))
        unknown = filters.COMMAND & filters.ChatType.PRIVATE & only_new
        self.app.add_handler(MessageHandler(unknown, self._on_unknown_command))
        self.app.add_handler(CallbackQueryHandler(self._on_button))
        self.app.add_handler(PollAnswerHandler(self._on_poll_answer))
        self.app.add_error_handler(self._on_error)

    def __repr__(self) -> str:
        return "TelegramAdapter()"  # the Application's repr contains the bot token

    def connected(self) -> bool:
        """getMe answered, the application runs, and the last getUpdates was answered (a
        webhook: its listener serves and the webhook is set)."""
        if isinstance(self.receiver, WebhookReceiver):
            answering = self.receiver.serving
        else:
            answering = self.reach is None or self.reach.answering
        return self.ready.is_set() and self.app.running and answering

    # -- running ----------------------------------------------------------------------------

    async def run(self) -> None:
        """Serve until cancelled: getMe (retried while the Bot API is unreachable), the command
        menu, then the polling loop over the inbox (bot/adapters/telegram/polling.py) or the
        webhook's listener (webhook.py). AdapterError, one line, for a rejected token (at start
        or later), a refusal, another program polling the same token, or a webhook that
        cannot be served."""
        if self.inbox is None:
            raise AdapterError("Telegram: the adapter was built without an update inbox")
        await self._initialize()
        try:
            self.ready.set()  # the bot can post now (the daily scheduler waits for this)
            await self.publish_commands()
            await self.app.start()
            try:
                log.info("telegram: serving as @%s", self.app.bot.username)
                self.receiver = (
                    Poller(self.app, self.inbox, allowed_updates=ALLOWED_UPDATES,
                           backoff=self.backoff)
                    if self.webhook is None
                    else WebhookReceiver(self.app, self.inbox, self.webhook,
                                         allowed_updates=ALLOWED_UPDATES, backoff=self.backoff)
                )  # fmt: skip
                await self.receiver.run()
            finally:
                if self.app.running:
                    await self.app.stop()
        finally:
            await self.app.shutdown()

    async def _initialize(self) -> None:
        """getMe until it answers: a rejected token is fatal at once, an unreachable Bot API
        (timeouts, refused connections, 5xx, 429) is retried with backoff."""
        try:
            await retrying(
                self.app.initialize, what="connecting to the Bot API (getMe)",
                backoff=self.backoff, after_failure=self.app.bot.shutdown,
            )  # fmt: skip
        except BaseException:
            await self.app.bot.shutdown()  # close the HTTP clients the failed start opened
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

    def later(self, chat_id: int, send: Job) -> None:
        """Send after the update's work, through the chat's queue (see `_handle`)."""
        if not self.sending.later(chat_id, send):
            self.sending.overflow(chat_id, None)

    async def respond(self, inc: Incoming, reply: Reply) -> None:
        """Send a Reply where the command came from; a private one quotes the command in a
        group (Telegram has no messages visible to one member only)."""
        quote = inc.message_id if reply.private and not inc.chat.is_private else None
        self.later(
            inc.chat_id,
            lambda: self.outbox.send_reply(
                inc.chat_id, reply, reply_to=quote, thread_id=inc.thread_id
            ),
        )

    async def say(self, inc: Incoming, text: str) -> None:
        """A short plain-text answer to a command (errors, hints), quoting it."""
        self.later(inc.chat_id, lambda: self._say_now(inc, text))

    async def _say_now(self, inc: Incoming, text: str) -> None:
        await self.app.bot.send_message(
            inc.chat_id,
            text,
            reply_parameters=ReplyParameters(inc.message_id, allow_sending_without_reply=True),
            message_thread_id=inc.thread_id,
        )

    async def require_admin(self, inc: Incoming, command: str) -> None:
        if not await is_admin(self.app, inc):
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

            if self._has_room(inc.chat_id, inc.thread_id):
                await self._handle(update, work, inc)

        return callback

    async def _on_unknown_command(self, update: Update, context: Context) -> None:
        inc = incoming(update, [])
        message = update.effective_message
        if inc is None or message is None or not message.text:
            return
        command = message.text.split(maxsplit=1)[0].removeprefix("/").split("@")[0]
        text = unknown_command(command)
        if self._has_room(inc.chat_id, inc.thread_id):
            await self._handle(update, lambda: self.say(inc, text), inc)

    async def _on_button(self, update: Update, context: Context) -> None:
        query = update.callback_query
        if query is None:
            return

        async def work() -> None:
            # The press is answered at once (answerCallbackQuery never waits for a chat's
            # budget); what it sends to the chat goes through the chat's queue. A press that
            # would send to a chat whose queue is full gets an alert instead.
            message = query.message
            if message is None:  # a button on an inline-mode message: not ours
                raise InvalidAnswer()
            chat_id = message.chat.id
            thread = thread_of(message) if isinstance(message, Message) else None
            chat = chat_ref(message.chat, thread)  # a forum topic's own place
            if chat.is_private and not self.sending.has_room(chat_id):
                await query.answer(BUSY, show_alert=True)  # pressed again later, it counts
                return
            if self.practice is not None and is_practice_token(query.data):
                await practice_handlers.on_button(self, query, chat_id)
                return
            if self.reports is not None and is_report_token(query.data):
                await report_handlers.on_button(self, query, chat_id, thread)
                return
            if is_next_token(query.data) and not self.sending.has_room(chat_id):
                await query.answer(BUSY, show_alert=True)  # before a round is opened unseen
                return
            user, name = user_ref(query.from_user), display_name(query.from_user)
            result = await press(self.service, user, name, chat, query.data or "")
            if isinstance(result, Asked):  # "Next question"
                if not self.sending.has_room(chat_id):
                    await query.answer(BUSY, show_alert=True)
                    return
                self.later(
                    chat_id, lambda: self.outbox.send_question(chat_id, result, thread_id=thread)
                )
                await query.answer()
                return
            # the result privately: an alert in a group; in a DM a toast plus the full answer
            await query.answer(alert_text(result), show_alert=not chat.is_private)
            if chat.is_private:
                self.later(chat_id, lambda: self.outbox.send_reply(chat_id, result))

        await self._handle(update, work, lambda text: query.answer(text, show_alert=True))

    async def _on_practice_text(self, update: Update, context: Context) -> None:
        inc = incoming(update, [])
        message = update.effective_message
        if inc is None or message is None or not message.text:
            return
        text = message.text
        if self._has_room(inc.chat_id, inc.thread_id):
            await self._handle(update, lambda: practice_handlers.answer(self, inc, text), inc)

    async def _on_note(self, update: Update, context: Context) -> None:
        inc, message = incoming(update, []), update.effective_message
        if inc is None or not isinstance(message, Message):
            return
        if self._has_room(inc.chat_id, inc.thread_id):
            await self._handle(update, lambda: report_handlers.note(self, inc, message), inc)

    async def _on_poll_answer(self, update: Update, context: Context) -> None:
        answer = update.poll_answer
        if answer is None or answer.user is None or not answer.option_ids:
            return  # an anonymous (voter_chat) vote or a retracted one
        voter = answer.user

        async def work() -> None:
            try:
                reply = await self.service.answer_poll(
                    user_ref(voter), display_name(voter), Platform.TELEGRAM,
                    answer.poll_id, answer.option_ids[0],
                )  # fmt: skip
            except StorageUnavailable:  # retried for a minute; the voter cannot vote again
                log.warning("telegram: a vote by user %s in poll %s was lost", voter.id,
                            answer.poll_id)  # fmt: skip
                raise
            # The poll shows right/wrong itself. The core offers a next step only in private
            # rounds; then follow up in the DM (a private chat's id is the user's id).
            if any(is_next_token(b.token) for b in reply.actions):
                self.later(voter.id, lambda: self.outbox.send_reply(voter.id, reply))

        await self._handle(update, work, None)

    # -- the per-chat queues --------------------------------------------------------------

    def _has_room(self, chat_id: int, thread_id: int | None) -> bool:
        """Whether the chat's queue takes another reply; if not, the chat is told (once per
        overflow) to slow down, and the command is skipped before it changes anything."""
        if self.sending.has_room(chat_id):
            return True
        self._overflow(chat_id, thread_id)
        return False

    def _overflow(self, chat_id: ChatKey, thread_id: int | None) -> None:
        async def notice() -> None:
            try:
                await self.app.bot.send_message(chat_id, SLOW_DOWN, message_thread_id=thread_id)
            except TelegramError as exc:
                log.warning("telegram: could not ask chat %s to slow down (%s)", chat_id, exc)

        if self.sending.overflow(chat_id, notice):
            log.warning(
                "telegram: chat %s sends commands faster than Telegram lets us answer; "
                "skipping them until its replies have gone out", chat_id,
            )  # fmt: skip

    async def _handle(
        self,
        update: Update,
        work: Callable[[], Awaitable[None]],
        tell: Incoming | Callable[[str], Awaitable[object]] | None,
    ) -> None:
        """One update: its work now (guarded), with what it sends collected; then the sends
        go to their chat's queue as one job, and the update-processing slot is free. `tell`:
        how to tell the person about a failure (an Incoming: a message quoting it)."""
        inc: Incoming | None = None
        told: Callable[[str], Awaitable[object]] | None = None
        if isinstance(tell, Incoming):
            inc, told = tell, functools.partial(self.say, tell)
        else:
            told = tell
        with self.sending.collect() as sends:
            await self._guarded(update, work, told)
        chats: dict[ChatKey, list[Job]] = {}
        for chat_id, send in sends:
            chats.setdefault(chat_id, []).append(send)
        where = f"telegram: update {update.update_id} in chat {chat_id_of(update)}"
        apology = functools.partial(self._say_now, inc) if inc is not None else None
        for chat_id, jobs in chats.items():
            job = functools.partial(deliver, jobs, where=where, tell=apology, log=log)
            if self.sending.submit(chat_id, job):
                continue
            if inc is not None:
                self._overflow(chat_id, inc.thread_id)
            else:
                self.sending.overflow(chat_id, None)  # a follow-up to a press or vote: dropped

    async def _guarded(
        self,
        update: Update,
        work: Callable[[], Awaitable[None]],
        tell: Callable[[str], Awaitable[object]] | None,
    ) -> None:
        """Run one update's work: a QuizError is told to the user privately, anything else
        is logged with the update id and chat, and the user gets a short apology."""
        name = command_name(update, self._command_names)
        try:
            await work()
        except Forbidden as exc:
            self.metrics.command(Platform.TELEGRAM.value, name, "error")
            log.info(
                "telegram: update %s: cannot write to chat %s (%s)",
                update.update_id, chat_id_of(update), exc.message,
            )  # fmt: skip
        except Exception as exc:
            self.metrics.command(Platform.TELEGRAM.value, name, outcome(exc))
            where = f"telegram: update {update.update_id} in chat {chat_id_of(update)}"
            notice = error_notice(exc, log=log, what=where)
            if tell is None and isinstance(exc, QuizError):
                log.info("%s: %s", where, notice)
            await _tell(tell, notice)
        else:
            self.metrics.command(Platform.TELEGRAM.value, name, "ok")

    async def _on_error(self, update: object, context: Context) -> None:
        """Last resort for errors outside the guarded handlers; polling goes on."""
        update_id = update.update_id if isinstance(update, Update) else None
        log.error("telegram: update %s failed", update_id, exc_info=context.error)

    handle, has_room = _handle, _has_room  # the guard, for handlers of other modules (Guarded)


async def _tell(tell: Callable[[str], Awaitable[object]] | None, text: str) -> None:
    if tell is None:
        return
    try:
        await tell(text)
    except TelegramError as exc:
        log.warning("telegram: could not tell the user (%s: %s)", type(exc).__name__, exc)


def create_adapter(
    token: Secret | None,
    services: Services,
    *,
    api_base_url: str | None = None,
    request: BaseRequest | None = None,
    webhook: Webhook | None = None,
) -> TelegramAdapter:
    """The adapter as `stackprep run` uses it: real HTTP (`request` replaces it in tests), our
    SendScheduler for Telegram's flood limits, and a webhook to serve (None: polling)."""
    if token is None:
        raise AdapterError("Telegram: STACKPREP_TELEGRAM_TOKEN is not set")
    reach = Reachability()
    app = build_application(
        token.reveal(), base_url=api_base_url, request=request, get_updates_request=request,
        metrics=services.metrics, reach=reach,
    )  # fmt: skip
    return TelegramAdapter(
        services.quiz, app, practice=services.practice, daily=services.daily,
        inbox=services.inbox, metrics=services.metrics, reach=reach, reports=services.reports,
        games=services.games, community=services.community, webhook=webhook,
    )  # fmt: skip
