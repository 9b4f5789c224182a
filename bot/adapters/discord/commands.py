"""The slash commands: /question, /topics, /score, /leaderboard, /help, AdminGroup, /daily.

Each command only turns its options into a service call and hands the work to the
`Responder` (the adapter), which defers when needed, renders the result and reports errors.
Names, descriptions and choice labels come from the core's texts.
"""

from __future__ import annotations

import re
from typing import TypeVar

import discord
from discord import app_commands

from bot.adapters.discord import texts as discord_texts
from bot.adapters.discord.interactions import AnyCommand, Interaction, Responder, who
from bot.core.bank.question_bank import QuestionBank
from bot.core.bank.questions import DIFFICULTY_NAMES
from bot.core.common.errors import NotAllowed
from bot.core.common.identity import ChatRef, Platform
from bot.core.common.replies import Reply
from bot.core.common.timeparse import zone_names
from bot.core.community import CommunityService
from bot.core.daily import texts as daily_texts
from bot.core.daily.service import DailyService
from bot.core.quiz import QuizService, texts

T = TypeVar("T")
_LAST_WORD = re.compile(r"(.*[\s,])?([^\s,]*)", re.DOTALL)  # the words before, the last one
THREADS = frozenset(
    {discord.ChannelType.public_thread, discord.ChannelType.private_thread,
     discord.ChannelType.news_thread}
)  # fmt: skip


class AdminGroup(app_commands.Group):
    """A command group for server managers only: hidden from members by default
    (default_permissions manage_guild, which a server may re-map), usable only in a server
    the bot is installed in, and checked again on every call (a DM or an ordinary member can
    never change a server's settings; they get NotAllowed's message)."""

    def __init__(self, *, name: str, description: str) -> None:
        super().__init__(
            name=name,
            description=description,
            guild_only=True,
            default_permissions=discord.Permissions(manage_guild=True),
            allowed_contexts=app_commands.AppCommandContext(
                guild=True, dm_channel=False, private_channel=False
            ),
            allowed_installs=app_commands.AppInstallationType(guild=True, user=False),
        )

    async def interaction_check(self, interaction: Interaction, /) -> bool:
        return interaction.guild_id is not None and interaction.permissions.manage_guild


async def topic_choices(bank: QuestionBank, current: str) -> list[app_commands.Choice[str]]:
    """The topic option's autocomplete (/question and /practice): up to 25 matches."""
    return _bank_choices(bank, current)


def _bank_choices(bank: QuestionBank, current: str) -> list[app_commands.Choice[str]]:
    return [
        app_commands.Choice(name=f"{t.title} ({t.slug})"[:100], value=t.slug)
        for t in bank.search_topics(current)
    ]


def place_topic_choices(
    community: CommunityService | None, bank: QuestionBank, interaction: Interaction, current: str
) -> list[app_commands.Choice[str]]:
    """The topic autocomplete where `interaction` comes from: a server's own topics first,
    marked as the server's (CommunityService.topic_choices), then the bot's."""
    if community is None:
        return _bank_choices(bank, current)
    found = community.topic_choices(who(interaction)[2], current)
    return [app_commands.Choice(name=c.label, value=c.slug) for c in found]


def last_word(text: str) -> tuple[str, str]:
    """(everything up to the last word, the last word) of a list typed with spaces or commas:
    "alpha, be" -> ("alpha, ", "be")."""
    found = _LAST_WORD.fullmatch(text)
    return (found.group(1) or "", found.group(2)) if found else ("", text)


async def zone_choices(current: str) -> list[app_commands.Choice[str]]:
    """The timezone option's autocomplete (/daily set): up to 25 IANA names."""
    needle = current.casefold().strip().replace(" ", "_")
    found = [z for z in zone_names() if needle in z.casefold()]
    return [app_commands.Choice(name=z, value=z) for z in found[:25]]


def quiz_commands(
    adapter: Responder, service: QuizService, community: CommunityService | None = None
) -> list[AnyCommand]:
    describe = texts.COMMAND_DESCRIPTIONS
    options = texts.OPTION_DESCRIPTIONS
    levels = [app_commands.Choice(name=DIFFICULTY_NAMES[i], value=i) for i in (1, 2, 3)]
    periods = [app_commands.Choice(name=n, value=v) for v, n in texts.PERIOD_NAMES.items()]
    scopes = [app_commands.Choice(name=n, value=v) for v, n in texts.SCOPE_NAMES.items()]

    @app_commands.command(name="question", description=describe["question"])
    @app_commands.describe(topic=options["topic"], difficulty=options["difficulty"])
    @app_commands.choices(difficulty=levels)
    async def question(
        interaction: Interaction,
        topic: str | None = None,
        difficulty: app_commands.Choice[int] | None = None,
    ) -> None:
        user, name, chat = who(interaction)
        level = difficulty.value if difficulty else None
        work = service.ask(user, name, chat, topic, level)
        await adapter.serve(interaction, work, private=False, what="/question")

    @question.autocomplete("topic")
    async def topics_like(interaction: Interaction, current: str) -> list[app_commands.Choice[str]]:
        return place_topic_choices(community, service.bank, interaction, current)

    @app_commands.command(name="topics", description=describe["topics"])
    async def topics(interaction: Interaction) -> None:
        await adapter.serve(interaction, _value(service.topics()), private=False, what="/topics")

    @app_commands.command(name="score", description=describe["score"])
    async def score(interaction: Interaction) -> None:
        user, name, _ = who(interaction)
        await adapter.serve(interaction, service.score(user, name), private=True, what="/score")

    @app_commands.command(name="leaderboard", description=describe["leaderboard"])
    @app_commands.describe(period=options["period"], scope=options["scope"])
    @app_commands.choices(period=periods, scope=scopes)
    async def leaderboard(
        interaction: Interaction,
        period: app_commands.Choice[str] | None = None,
        scope: app_commands.Choice[str] | None = None,
    ) -> None:
        user, name, chat = who(interaction)
        work = service.leaderboard(
            user, name, chat, period.value if period else None, scope.value if scope else None
        )
        await adapter.serve(interaction, work, private=False, what="/leaderboard")

    @app_commands.command(name="help", description=describe["help"])
    async def help_(interaction: Interaction) -> None:
        reply = service.help(Platform.DISCORD)
        await adapter.serve(interaction, _value(reply), private=False, what="/help")

    return [question, topics, score, leaderboard, help_]


def daily_commands(
    adapter: Responder, daily: DailyService, community: CommunityService | None = None
) -> AdminGroup:
    """/daily set|off|status|recap: hidden from members (default_permissions manage_guild,
    re-mappable by the server), checked again on every call by AdminGroup, and the core gets
    the caller's Manage Server permission as well. The topics option completes its last word
    (a server's own topics first, with `community`)."""
    d = daily_texts
    sub, option = d.SUBCOMMAND_DESCRIPTIONS, d.OPTION_DESCRIPTIONS
    group = AdminGroup(name="daily", description=d.COMMAND_DESCRIPTION[:100])
    levels = [app_commands.Choice(name=DIFFICULTY_NAMES[i], value=i) for i in (1, 2, 3)]
    switch = [app_commands.Choice(name=n, value=n) for n in ("on", "off")]

    def place(interaction: Interaction) -> tuple[ChatRef, bool]:
        return who(interaction)[2], interaction.permissions.manage_guild

    @group.command(name="set", description=sub["set"])
    @app_commands.describe(
        time=option["time"], timezone=option["timezone"], topics=option["topics"],
        difficulty=option["difficulty"], window=option["window"],
    )  # fmt: skip
    @app_commands.choices(difficulty=levels)
    async def set_(
        interaction: Interaction,
        time: str | None = None,
        timezone: str | None = None,
        topics: str | None = None,
        difficulty: app_commands.Choice[int] | None = None,
        window: str | None = None,
    ) -> None:
        chat, admin = place(interaction)
        level = str(difficulty.value) if difficulty else None
        words = [w for w in (time, timezone, topics, level, window) if w]
        missing, thread = missing_to_post(interaction)
        if missing:  # accepted now, it would be switched off at its first post
            refusal = NotAllowed(discord_texts.cannot_post_daily(missing, thread=thread))
            await adapter.serve(interaction, _raise(refusal), private=True, what="/daily set")
            return
        work = daily.subscribe(chat, words, is_admin=admin)
        await adapter.serve(interaction, work, private=False, what="/daily set")

    @set_.autocomplete("topics")
    async def topics_like(interaction: Interaction, current: str) -> list[app_commands.Choice[str]]:
        head, last = last_word(current)
        found = place_topic_choices(community, daily.quiz.bank, interaction, last)
        return [
            app_commands.Choice(name=f"{head}{c.name}"[:100], value=f"{head}{c.value}"[:100])
            for c in found
        ]

    @set_.autocomplete("timezone")
    async def zones(interaction: Interaction, current: str) -> list[app_commands.Choice[str]]:
        return await zone_choices(current)

    @group.command(name="off", description=sub["off"])
    async def off(interaction: Interaction) -> None:
        chat, admin = place(interaction)
        work = daily.unsubscribe(chat, is_admin=admin)
        await adapter.serve(interaction, work, private=False, what="/daily off")

    @group.command(name="status", description=sub["status"])
    async def status(interaction: Interaction) -> None:
        chat, _ = place(interaction)
        await adapter.serve(interaction, daily.status(chat), private=False, what="/daily status")

    @group.command(name="recap", description=sub["recap"])
    @app_commands.describe(state=option["on"])
    @app_commands.choices(state=switch)
    async def recap(interaction: Interaction, state: app_commands.Choice[str]) -> None:
        chat, admin = place(interaction)
        work = daily.set_recap(chat, state.value == "on", is_admin=admin)
        await adapter.serve(interaction, work, private=False, what="/daily recap")

    return group


def missing_to_post(interaction: Interaction) -> tuple[list[str], bool]:
    """The permissions the bot lacks to post the daily question where `interaction` came from
    (what Discord computed for the bot in that channel: `app_permissions`), and whether it is
    a thread. In a thread or forum post, Send Messages does not count: Discord asks for Send
    Messages in Threads."""
    channel = interaction.channel
    thread = isinstance(channel, discord.Thread) or getattr(channel, "type", None) in THREADS
    return missing_permissions(interaction.app_permissions, thread=thread), thread


def missing_permissions(allowed: discord.Permissions, *, thread: bool) -> list[str]:
    """Which of the permissions a post needs (in a thread or not) `allowed` lacks."""
    needed = ("view_channel", "send_messages_in_threads" if thread else "send_messages")
    return [flag for flag in needed if not getattr(allowed, flag)]


async def _value(value: T) -> T:
    return value


async def _raise(error: Exception) -> Reply:
    raise error
