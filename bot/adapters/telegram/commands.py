"""The Telegram command table: add a `CommandSpec` to `COMMANDS` to add a command.

Its function receives the adapter (as `Host`) and the `Incoming` command. With `admin=True`
only the group's admins may run it (checked with getChatMember on every use), and Telegram's
command menu shows it only to them.
"""

from __future__ import annotations

from bot.adapters.telegram.incoming import CommandSpec, Host, Incoming
from bot.core.common.errors import QuizError
from bot.core.common.identity import Platform
from bot.core.daily import texts as daily_texts
from bot.core.quiz import texts

DEEP_LINK_QUESTION = "q_"  # t.me/<bot>?start=q_<question-id> opens that question


async def _start(bot: Host, inc: Incoming) -> None:
    payload = inc.args[0] if inc.args else ""
    if payload.startswith(DEEP_LINK_QUESTION):
        question_id = payload.removeprefix(DEEP_LINK_QUESTION)
        asked = await bot.service.ask(inc.user, inc.name, inc.chat, question_id=question_id)
        bot.later(
            inc.chat_id,
            lambda: bot.outbox.send_question(inc.chat_id, asked, thread_id=inc.thread_id),
        )
    else:
        await bot.respond(inc, bot.service.welcome(Platform.TELEGRAM))


async def _help(bot: Host, inc: Incoming) -> None:
    await bot.respond(inc, bot.service.help(Platform.TELEGRAM))


async def _question(bot: Host, inc: Incoming) -> None:
    asked = await bot.service.ask(inc.user, inc.name, inc.chat, inc.arg(0), inc.arg(1))
    bot.later(
        inc.chat_id, lambda: bot.outbox.send_question(inc.chat_id, asked, thread_id=inc.thread_id)
    )


async def _topics(bot: Host, inc: Incoming) -> None:
    await bot.respond(inc, bot.service.topics())


async def _score(bot: Host, inc: Incoming) -> None:
    await bot.respond(inc, await bot.service.score(inc.user, inc.name))


async def _leaderboard(bot: Host, inc: Incoming) -> None:
    board = await bot.service.leaderboard(inc.user, inc.name, inc.chat, inc.arg(0), inc.arg(1))
    await bot.respond(inc, board)


async def _daily(bot: Host, inc: Incoming) -> None:
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
