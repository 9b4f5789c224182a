"""What a Telegram command handler gets: the command (`Incoming`), its table entry
(`CommandSpec`), and the `Host` that runs it (the adapter, as a protocol, so command modules
never import the adapter itself); `Guarded`, the adapter as handlers registered outside the
table use it; and what is read off any update (who, which chat, its ids for the log)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from telegram import Chat, Message, Update, User
from telegram.constants import ChatMemberStatus, ChatType
from telegram.ext import Application

from bot.adapters.telegram.outbox import TelegramOutbox
from bot.adapters.telegram.places import place_id, topic_of
from bot.core.common.errors import InvalidAnswer
from bot.core.common.identity import ChatRef, Platform, UserRef
from bot.core.common.replies import Reply
from bot.core.common.texts import FOREIGN_BUTTON
from bot.core.community import CommunityService
from bot.core.daily.service import DailyService
from bot.core.games import GameService
from bot.core.practice.service import PracticeService
from bot.core.quiz import Asked, QuizService
from bot.core.quiz.reports import ReportService
from bot.log import log_context

NAME_MAX = 64
App = Application[Any, Any, Any, Any, Any, Any]


@dataclass(frozen=True, slots=True)
class Incoming:
    """A command as the handlers need it: who, where, which words."""

    user: UserRef
    name: str
    chat: ChatRef
    chat_id: int
    message_id: int
    thread_id: int | None  # forum topic, so answers stay in it
    args: tuple[str, ...]
    anonymous_admin: bool  # sent by a group admin posting anonymously as the group

    def arg(self, index: int) -> str | None:
        return self.args[index] if index < len(self.args) else None


class Host(Protocol):
    """What a command runs against: the services, the outbox and the bot. A command sends
    through `respond`, `say` or `later`, which queue the sending on the chat (see
    bot/adapters/telegram/sending.py), never by awaiting the Bot API itself."""

    service: QuizService
    practice: PracticeService | None
    daily: DailyService | None
    games: GameService | None
    reports: ReportService | None
    community: CommunityService | None
    outbox: TelegramOutbox
    app: App

    async def respond(self, inc: Incoming, reply: Reply) -> None: ...

    async def say(self, inc: Incoming, text: str) -> None: ...

    def later(self, chat_id: int, send: Callable[[], Awaitable[object]]) -> None: ...


class Guarded(Host, Protocol):
    """The adapter as a module registering its own handlers needs it (community.py,
    proposing.py): one update's work run under the adapter's guard (the error policy; what
    it sends collected and queued on its chats), and whether a chat's queue takes more.
    `tell`: an Incoming (a message quoting it) or how to tell the person (an alert)."""

    async def handle(
        self,
        update: Update,
        work: Callable[[], Awaitable[None]],
        tell: Incoming | Callable[[str], Awaitable[object]] | None,
    ) -> None: ...

    def has_room(self, chat_id: int, thread_id: int | None) -> bool: ...


CommandFn = Callable[[Host, Incoming], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class CommandSpec:
    name: str
    run: CommandFn
    description: str  # shown in Telegram's command menu
    aliases: tuple[str, ...] = ()
    admin: bool = False  # group admins only, and listed only for them
    listed: bool = True


async def is_admin(app: App, inc: Incoming) -> bool:
    """Whether the sender is an admin of the group (owner or administrator, by getChatMember
    on every use; an admin posting anonymously as the group is one); never in a private chat."""
    if inc.chat.is_private:
        return False
    if inc.anonymous_admin:
        return True
    member = await app.bot.get_chat_member(inc.chat_id, int(inc.user.user_id))
    return member.status in {ChatMemberStatus.OWNER, ChatMemberStatus.ADMINISTRATOR}


def user_ref(user: User) -> UserRef:
    return UserRef(Platform.TELEGRAM, str(user.id))


def display_name(user: User) -> str:
    return user.full_name.strip()[:NAME_MAX] or str(user.id)


def chat_ref(chat: Chat, thread_id: int | None = None) -> ChatRef:
    """The place: a private chat, a group, or a forum topic of a group (`thread_id`, from
    `thread_of`; places.py). The community, and so the boards, is the group either way."""
    if chat.type == ChatType.PRIVATE:  # a private chat's topics stay one place
        return ChatRef(Platform.TELEGRAM, str(chat.id))
    return ChatRef(Platform.TELEGRAM, place_id(chat.id, thread_id), str(chat.id))


def thread_of(message: Message) -> int | None:
    """The forum topic of a message, so answers stay in it (None outside forum topics and
    in General: a reply thread of a group without topics is no topic)."""
    return topic_of(message.message_thread_id) if message.is_topic_message else None


async def press(
    service: QuizService, user: UserRef, name: str, chat: ChatRef, data: str
) -> Reply | Asked:
    """`QuizService.press` where the button is. In a forum topic, a button under a question
    asked there before topics were told apart (its round's place: the group alone) counts
    too; one of another topic or chat stays refused."""
    try:
        return await service.press(user, name, chat, data)
    except InvalidAnswer as exc:
        group = ChatRef(chat.platform, chat.community_id or chat.chat_id, chat.community_id)
        if group == chat or exc.message != FOREIGN_BUTTON:
            raise
        return await service.press(user, name, group, data)


def incoming(update: Update, args: Sequence[str]) -> Incoming | None:
    message, user, chat = update.effective_message, update.effective_user, update.effective_chat
    if message is None or user is None or chat is None or chat.type == ChatType.CHANNEL:
        return None
    sender_chat = getattr(message, "sender_chat", None)
    thread_id = thread_of(message) if isinstance(message, Message) else None
    return Incoming(
        user=user_ref(user),
        name=display_name(user),
        chat=chat_ref(chat, thread_id),
        chat_id=chat.id,
        message_id=message.message_id,
        thread_id=thread_id,
        args=tuple(args),
        anonymous_admin=sender_chat is not None and sender_chat.id == chat.id,
    )


def chat_id_of(update: Update) -> int | None:
    chat = update.effective_chat
    return chat.id if chat else None


async def log_ids(update: Update, context: object) -> None:
    """This update's ids on every log line of its processing (bot.log; one task per update):
    the adapter's first handler, for every update."""
    user, chat = update.effective_user, update.effective_chat
    log_context(
        platform="telegram", update_id=update.update_id,
        chat_id=chat.id if chat else None, user_id=user.id if user else None,
    )  # fmt: skip
