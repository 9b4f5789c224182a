"""The Telegram command table and what a command handler gets (`Incoming`).

To add a command, add a `CommandSpec` to `COMMANDS` (or pass a longer table to
`TelegramAdapter`): its function receives the adapter and the `Incoming` command. With
`admin=True` only the group's admins may run it (checked with getChatMember on every use),
and Telegram's command menu shows it only to them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from telegram import Chat, Message, Update, User
from telegram.constants import ChatType

from bot.core.common.errors import QuizError
from bot.core.common.identity import ChatRef, Platform, UserRef
from bot.core.daily import texts as daily_texts
from bot.core.quiz import texts

if TYPE_CHECKING:
    from bot.adapters.telegram.adapter import TelegramAdapter

DEEP_LINK_QUESTION = "q_"  # t.me/<bot>?start=q_<question-id> opens that question
NAME_MAX = 64


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


CommandFn = Callable[["TelegramAdapter", Incoming], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class CommandSpec:
    name: str
    run: CommandFn
    description: str  # shown in Telegram's command menu
    aliases: tuple[str, ...] = ()
    admin: bool = False  # group admins only, and listed only for them
    listed: bool = True


async def _start(bot: TelegramAdapter, inc: Incoming) -> None:
    payload = inc.args[0] if inc.args else ""
    if payload.startswith(DEEP_LINK_QUESTION):
        question_id = payload.removeprefix(DEEP_LINK_QUESTION)
        asked = await bot.service.ask(inc.user, inc.name, inc.chat, question_id=question_id)
        await bot.outbox.send_question(inc.chat_id, asked, thread_id=inc.thread_id)
    else:
        await bot.respond(inc, bot.service.welcome(Platform.TELEGRAM))


async def _help(bot: TelegramAdapter, inc: Incoming) -> None:
    await bot.respond(inc, bot.service.help(Platform.TELEGRAM))


async def _question(bot: TelegramAdapter, inc: Incoming) -> None:
    asked = await bot.service.ask(inc.user, inc.name, inc.chat, inc.arg(0), inc.arg(1))
    await bot.outbox.send_question(inc.chat_id, asked, thread_id=inc.thread_id)


async def _topics(bot: TelegramAdapter, inc: Incoming) -> None:
    await bot.respond(inc, bot.service.topics())


async def _score(bot: TelegramAdapter, inc: Incoming) -> None:
    await bot.respond(inc, await bot.service.score(inc.user, inc.name))


async def _leaderboard(bot: TelegramAdapter, inc: Incoming) -> None:
    board = await bot.service.leaderboard(inc.user, inc.name, inc.chat, inc.arg(0), inc.arg(1))
    await bot.respond(inc, board)


async def _daily(bot: TelegramAdapter, inc: Incoming) -> None:
    """/daily set|off|status|recap: group admins only (checked by the table, admin=True)."""
    if bot.daily is None:
        raise QuizError(daily_texts.unavailable())
    await bot.respond(inc, await bot.daily.command(inc.chat, inc.args, is_admin=True))


DAILY_COMMAND = CommandSpec("daily", _daily, daily_texts.COMMAND_DESCRIPTION, admin=True)

_D = texts.COMMAND_DESCRIPTIONS
COMMANDS: tuple[CommandSpec, ...] = (
    CommandSpec("question", _question, _D["question"], aliases=("q",)),
    CommandSpec("topics", _topics, _D["topics"]),
    CommandSpec("score", _score, _D["score"], aliases=("me",)),
    CommandSpec("leaderboard", _leaderboard, _D["leaderboard"], aliases=("lb",)),
    CommandSpec("help", _help, _D["help"]),
    CommandSpec("start", _start, _D["start"]),
)


def user_ref(user: User) -> UserRef:
    return UserRef(Platform.TELEGRAM, str(user.id))


def display_name(user: User) -> str:
    return user.full_name.strip()[:NAME_MAX] or str(user.id)


def chat_ref(chat: Chat) -> ChatRef:
    community = None if chat.type == ChatType.PRIVATE else str(chat.id)
    return ChatRef(Platform.TELEGRAM, str(chat.id), community)


def thread_of(message: Message) -> int | None:
    """The forum topic of a message, so answers stay in it (None outside forum topics)."""
    return message.message_thread_id if message.is_topic_message else None


def incoming(update: Update, args: Sequence[str]) -> Incoming | None:
    message, user, chat = update.effective_message, update.effective_user, update.effective_chat
    if message is None or user is None or chat is None or chat.type == ChatType.CHANNEL:
        return None
    sender_chat = getattr(message, "sender_chat", None)
    return Incoming(
        user=user_ref(user),
        name=display_name(user),
        chat=chat_ref(chat),
        chat_id=chat.id,
        message_id=message.message_id,
        thread_id=thread_of(message) if isinstance(message, Message) else None,
        args=tuple(args),
        anonymous_admin=sender_chat is not None and sender_chat.id == chat.id,
    )
