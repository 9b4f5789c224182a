"""The group quiz on Telegram: `/quiz [count] [topic] [difficulty] [seconds] [hints]`,
`/quiz stop` and `/quiz status` (also `/quiz@<bot> ...`, as every command: PTB's handler).

The words after `/quiz` go to the core's parser as typed (`GameService.start(settings=text)`,
which names any word it does not understand). Start and stop answer in public (the
announcement, the final standings); status quotes the one who asked. Refusals (a game
already running here, an unknown word, a number out of range, a stop by someone else) follow
the adapter's error policy: a message quoting the command. A game may be stopped by its
starter or a group admin (the getChatMember check /daily uses); in a private chat it is a game
of one, which its starter stops.

This module only starts, stops and shows games. The GameEngine plays them through the Outbox
(`TelegramOutbox`, paced by `bot.jobs.pacing` in production, and every Bot API call it makes
waits for its chat's budget in the SendScheduler, so a busy game holds up no other chat):
each question is a native quiz poll that closes by itself (`open_period`) where it fits, else
a message with A-D buttons. Its answers are the ordinary poll answers and button presses.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from bot.adapters.telegram.incoming import CommandSpec, Host, Incoming, is_admin
from bot.core.common.errors import NotAllowed, QuizError
from bot.core.common.replies import Reply
from bot.core.games import GameService
from bot.core.games import texts as game_texts

STOP, STATUS = "stop", "status"


def settings_text(args: Sequence[str]) -> str:
    """The settings as typed after `/quiz` (PTB splits the message's words into `args`)."""
    return " ".join(args)


async def _quiz(bot: Host, inc: Incoming) -> None:
    if bot.games is None:
        raise QuizError(game_texts.UNAVAILABLE)
    word = inc.args[0].casefold() if inc.args else ""
    if word == STOP:
        reply = await _stop(bot, bot.games, inc)
    elif word == STATUS:
        reply = replace(await bot.games.status(inc.chat), private=True)  # quotes the asker
    else:
        reply = await bot.games.start(inc.user, inc.name, inc.chat, settings_text(inc.args))
    await bot.respond(inc, reply)


async def _stop(bot: Host, games: GameService, inc: Incoming) -> Reply:
    """The starter stops their game without a Bot API call; anyone else only if getChatMember
    says they are an admin of the group."""
    try:
        return await games.stop(inc.user, inc.name, inc.chat, admin=False)
    except NotAllowed:
        if not await is_admin(bot.app, inc):
            raise
    return await games.stop(inc.user, inc.name, inc.chat, admin=True)


QUIZ_COMMAND = CommandSpec("quiz", _quiz, game_texts.COMMAND_DESCRIPTION)
