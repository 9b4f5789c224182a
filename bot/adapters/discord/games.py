"""The group quiz on Discord: `/quiz start [count] [topic] [difficulty] [seconds] [hints]`,
`/quiz stop` and `/quiz status`.

Discord allows no options on a command that has subcommands, so the settings are options of
`/quiz start`. Each subcommand only turns its options into a GameService call and hands the
work to the `Responder` (the adapter): start and stop answer in public (the announcement, the
final standings), status privately; errors go privately through the one error policy. The
questions, closes, reveals and standings are posted by the GameEngine through the outbox, and
the answers are the ordinary answer buttons (`a1.*` tokens), so nothing here handles them.

A game posts messages of its own into the channel, so `/quiz start` refuses where the bot
could not post: a server that has the app installed for a user only (the bot is not a member
there), or a channel or thread where it lacks View Channel / Send Messages (in Threads). In
a DM with the bot it is a game of one. Group DMs cannot host one (the bot cannot post there),
so the command is not offered in them.
"""

from __future__ import annotations

from dataclasses import replace

from discord import app_commands

from bot.adapters.discord import texts as discord_texts
from bot.adapters.discord.commands import missing_to_post, place_topic_choices
from bot.adapters.discord.interactions import ANY_INSTALL, Interaction, Responder, who
from bot.core.bank.questions import DIFFICULTY_NAMES
from bot.core.common.errors import NotAllowed
from bot.core.common.identity import ChatRef
from bot.core.common.replies import Reply
from bot.core.community import CommunityService
from bot.core.games import COUNT_RANGE, SECONDS_RANGE, GameService
from bot.core.games.args import game_settings

# servers and DMs with the bot; not group DMs (the bot cannot post a game's questions there)
GAME_PLACES = app_commands.AppCommandContext(guild=True, dm_channel=True, private_channel=False)


def is_admin(interaction: Interaction) -> bool:
    """Manage Server (or Administrator) in the server of the interaction; never in a DM."""
    perms = interaction.permissions
    return interaction.guild_id is not None and (perms.manage_guild or perms.administrator)


def cannot_host(interaction: Interaction) -> str | None:
    """Why a game cannot be played where `interaction` came from, or None."""
    if interaction.guild_id is None:
        return None  # a DM with the bot: the bot posts there
    if not interaction.is_guild_integration():
        return discord_texts.GAME_NEEDS_THE_BOT  # installed for a user only: no bot member
    missing, thread = missing_to_post(interaction)
    return discord_texts.cannot_post_game(missing, thread=thread) if missing else None


def game_commands(
    adapter: Responder, games: GameService, community: CommunityService | None = None
) -> app_commands.Group:
    """The /quiz group: start, stop, status (its topic autocomplete shows a server's own
    topics first, with `community`)."""
    described = discord_texts.QUIZ_SUBCOMMANDS
    option = discord_texts.QUIZ_OPTIONS
    group = app_commands.Group(
        name="quiz",
        description=discord_texts.QUIZ_DESCRIPTION,
        allowed_contexts=GAME_PLACES,
        allowed_installs=ANY_INSTALL,
    )
    levels = [app_commands.Choice(name=DIFFICULTY_NAMES[i], value=i) for i in (1, 2, 3)]

    @group.command(name="start", description=described["start"])
    @app_commands.describe(
        count=option["count"], topic=option["topic"], difficulty=option["difficulty"],
        seconds=option["seconds"], hints=option["hints"],
    )  # fmt: skip
    @app_commands.choices(difficulty=levels)
    async def start(
        interaction: Interaction,
        count: app_commands.Range[int, COUNT_RANGE[0], COUNT_RANGE[1]] | None = None,
        topic: str | None = None,
        difficulty: int | None = None,  # a plain int: an unknown level reaches `validated`
        seconds: app_commands.Range[int, SECONDS_RANGE[0], SECONDS_RANGE[1]] | None = None,
        hints: bool | None = None,
    ) -> None:
        user, name, chat = who(interaction)
        refusal = cannot_host(interaction)
        if refusal is not None:
            await adapter.serve(interaction, _refuse(refusal), private=True, what="/quiz start")
            return

        async def work() -> Reply:  # inside the served work: a bad option is its QuizError
            settings = game_settings(
                games.library.for_scope(chat.scope),  # this server's own topics too
                count=count, topic=topic, difficulty=difficulty, seconds=seconds, hints=hints,
            )  # fmt: skip
            return await games.start(user, name, chat, settings)

        await adapter.serve(interaction, work(), private=False, what="/quiz start")

    @start.autocomplete("topic")
    async def topics_like(interaction: Interaction, current: str) -> list[app_commands.Choice[str]]:
        return place_topic_choices(community, games.bank, interaction, current)

    @group.command(name="stop", description=described["stop"])
    async def stop(interaction: Interaction) -> None:
        user, name, chat = who(interaction)
        work = games.stop(user, name, chat, admin=is_admin(interaction))
        await adapter.serve(interaction, work, private=False, what="/quiz stop")

    @group.command(name="status", description=described["status"])
    async def status(interaction: Interaction) -> None:
        _, _, chat = who(interaction)
        await adapter.serve(interaction, _status(games, chat), private=True, what="/quiz status")

    return group


async def _status(games: GameService, chat: ChatRef) -> Reply:
    """Only to the one who asked: a game's channel is not flooded by status checks."""
    return replace(await games.status(chat), private=True)


async def _refuse(message: str) -> Reply:
    raise NotAllowed(message)
