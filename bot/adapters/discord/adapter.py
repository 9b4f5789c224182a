"""Discord adapter: a discord.py client with slash commands and persistent answer buttons.

Thin by design: every command and button goes to a service, and what comes back (a Reply, or
an Asked for a new question) is rendered by `render`. Runs inside the bot's own event loop
(login + connect, never `client.run`), needs no privileged intents, and never syncs its
commands at start (`stackprep discord sync` does that on request). The client is sharded
(`shards`): the shards Discord recommends, or those configured; commands and buttons are
answered whichever of them brings them. Inside a command, `await adapter.serve(interaction,
coroutine, private=True, what=...)` gives the 3-second defer, the error policy
(`bot.adapters.base.error_notice`) and rendering.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Coroutine, Iterable
from typing import Any

import aiohttp
import discord
from discord import app_commands

from bot.adapters.base import AdapterError, Services, error_notice, outcome
from bot.adapters.discord.commands import daily_commands, quiz_commands
from bot.adapters.discord.community import DiscordCommunity
from bot.adapters.discord.connection import (
    FIRST_RETRY,
    REST_TIMEOUT,
    backoff,
    login,
    read_json_leniently,
    rest_timeout,
    stay_connected,
    why_failed,
)
from bot.adapters.discord.games import game_commands
from bot.adapters.discord.interactions import ANY_INSTALL, EVERYWHERE, AnyCommand, Interaction, who
from bot.adapters.discord.metered import api_trace, command_name
from bot.adapters.discord.outbox import DiscordOutbox
from bot.adapters.discord.practice import DiscordPractice
from bot.adapters.discord.render import NO_MENTIONS, render, token_of
from bot.adapters.discord.reports import DiscordReports
from bot.adapters.discord.shards import IDENTIFY_SPACING, ShardedClient
from bot.core.common.errors import NotAllowed, QuizError
from bot.core.common.identity import Platform
from bot.core.common.metrics import NO_METRICS, Metrics
from bot.core.common.replies import Reply
from bot.core.common.secret import Secret
from bot.core.common.texts import notice_reply, unknown_command
from bot.core.community import CommunityService, is_decision_token
from bot.core.daily.service import DailyService
from bot.core.games import GameService
from bot.core.practice.service import PracticeService
from bot.core.practice.tokens import is_practice_token
from bot.core.quiz import Asked, QuizService
from bot.core.quiz.reports import ReportService
from bot.core.quiz.tokens import NextToken, decode, is_report_token
from bot.log import log_context

log = logging.getLogger(__name__)

DEFER_AFTER = 2.0  # seconds of work before an interaction is deferred (Discord allows 3)
BUTTON = discord.ComponentType.button.value


def create_adapter(
    token: Secret | None,
    services: Services,
    *,
    shard_count: int | None = None,
    shard_ids: Iterable[int] | None = None,
) -> DiscordAdapter:
    """The adapter `stackprep` runs, and the one whose commands `discord sync` registers;
    `[discord] shard_count` and `shard_ids` (None: as many shards as Discord recommends)."""
    if token is None:
        raise AdapterError("set STACKPREP_DISCORD_TOKEN to the bot token to use Discord")
    return DiscordAdapter(
        token, services.quiz, practice=services.practice, daily=services.daily,
        metrics=services.metrics, reports=services.reports, games=services.games,
        community=services.community, shard_count=shard_count, shard_ids=shard_ids,
    )  # fmt: skip


def _log_ids(interaction: Interaction) -> None:
    """This interaction's ids on every log line of the task that handles it (bot.log)."""
    log_context(
        platform="discord", guild_id=interaction.guild_id, channel_id=interaction.channel_id,
        user_id=interaction.user.id, interaction_id=interaction.id,
    )  # fmt: skip


class _Tree(app_commands.CommandTree["StackprepClient"]):
    async def interaction_check(self, interaction: Interaction, /) -> bool:
        _log_ids(interaction)  # called first in the task that runs the command
        return True

    async def _call(self, interaction: Interaction) -> None:
        """A slash command or an autocomplete (one a keystroke), run by discord.py in its own
        task; the interaction let go of after it (`let_go`: the tree is its only handler)."""
        try:
            await super()._call(interaction)
        finally:
            let_go(interaction)


class StackprepClient(ShardedClient):
    def __init__(
        self,
        adapter: DiscordAdapter,
        *,
        guild_ready_timeout: float,
        metrics: Metrics,
        shard_count: int | None,
        shard_ids: Iterable[int] | None,
        identify_spacing: float,
    ) -> None:
        intents = discord.Intents.none()
        intents.guilds = True  # not privileged; keeps guild state coherent
        super().__init__(
            shard_count=shard_count,
            shard_ids=shard_ids,
            identify_spacing=identify_spacing,
            first_retry=adapter.first_retry,
            intents=intents,
            allowed_mentions=NO_MENTIONS,
            guild_ready_timeout=guild_ready_timeout,
            max_ratelimit_timeout=30.0,  # longer waits surface as RetryLater to the scheduler
            max_messages=None,
            member_cache_flags=discord.MemberCacheFlags.none(),
            chunk_guilds_at_startup=False,
            # the API's error answers, 429s included; with metrics off no trace at all (each
            # request would still await its signals: tens of microseconds a click)
            http_trace=api_trace(metrics) if metrics is not NO_METRICS else None,
        )
        self.adapter = adapter
        self.tree: app_commands.CommandTree[StackprepClient] = _Tree(
            self,
            allowed_contexts=EVERYWHERE,  # servers, DMs with the bot, group DMs
            allowed_installs=ANY_INSTALL,  # added to a server, or to a user's own apps
        )
        self.tree.error(adapter.on_command_error)

    async def on_interaction(self, interaction: Interaction) -> None:
        """Every interaction, in a task of its own (discord.py's dispatch): a button carrying a
        core token (of any message, from before a restart too) and the modal submissions of
        practice, reports and /propose. Slash commands go to the tree (discord.py).

        One router for our custom_ids rather than a registered DynamicItem: discord.py runs a
        dynamic item in a second task per click, after rebuilding the clicked message's whole
        view (`View.from_message`), and drops the click when the message no longer shows the
        button (bench/README.md, the group quiz's Discord click path)."""
        kind = interaction.type
        if kind is discord.InteractionType.component:
            data: Any = interaction.data or {}
            token = token_of(data.get("custom_id"))
            if token is not None and data.get("component_type") == BUTTON:
                _log_ids(interaction)
                try:
                    await self.adapter.on_button(interaction, token)
                finally:
                    let_go(interaction)
        elif kind is discord.InteractionType.modal_submit:  # our forms: none kept in a view
            _log_ids(interaction)
            try:
                if self.adapter.practice is not None:
                    await self.adapter.practice.on_interaction(interaction)
                if self.adapter.reports is not None:
                    await self.adapter.reports.on_interaction(interaction)
                if self.adapter.community is not None:  # the /propose form
                    await self.adapter.community.on_interaction(interaction)
            finally:
                let_go(interaction)

    async def on_ready(self) -> None:
        """Every shard of this process is READY."""
        user, shards = self.user, len(self.serving())
        plural = "s" if shards > 1 else ""
        log.info(
            "discord: connected as %s (id %s) on %d shard%s", user, user and user.id, shards, plural
        )
        self.adapter.ready.set()

    async def on_error(self, event_method: str, /, *args: Any, **kwargs: Any) -> None:
        log.exception("discord: event %s failed; carrying on", event_method)


def let_go(interaction: Interaction) -> None:
    """Break the reference cycle discord.py builds in every interaction we are done with: it
    caches its InteractionResponse (`_cs_response`), which points back at it. Left alone, the
    interaction and all it holds (the clicked message, its components, the member, the user:
    about 30 objects a click) are garbage only the cycle collector frees: in the games
    benchmark each young collection of the bot's process collected 5,000-6,000 such objects,
    a pause of 5-7 ms of the event loop's time, on every 200th click (bench/README.md). Only
    for an interaction no one else handles (our buttons: discord.py runs no view of its own
    for them; a form's submission: every form is stopped before it is sent; a slash
    command's or an autocomplete's, after the tree ran it); the slot is filled again if
    anything asks for `response` after this."""
    with contextlib.suppress(AttributeError):
        del interaction._cs_response  # type: ignore[attr-defined]


class DiscordAdapter:
    name = "discord"

    def __init__(
        self,
        token: Secret,
        service: QuizService,
        *,
        guild_ready_timeout: float = 2.0,
        defer_after: float = DEFER_AFTER,
        practice: PracticeService | None = None,
        daily: DailyService | None = None,
        metrics: Metrics = NO_METRICS,
        rest_timeout_s: float = REST_TIMEOUT,
        first_retry: float = FIRST_RETRY,
        reports: ReportService | None = None,
        games: GameService | None = None,
        community: CommunityService | None = None,
        shard_count: int | None = None,
        shard_ids: Iterable[int] | None = None,
        identify_spacing: float = IDENTIFY_SPACING,
    ) -> None:
        self._token = token
        self.service = service
        self.defer_after = defer_after
        self.rest_limit = rest_timeout_s
        self.rest_timeout = rest_timeout(rest_timeout_s)
        self.first_retry = first_retry  # seconds before the first retry to reach Discord
        self.metrics = metrics
        self.ready = asyncio.Event()
        read_json_leniently()  # one event orjson refuses must not end the session
        self.client = StackprepClient(
            self, guild_ready_timeout=guild_ready_timeout, metrics=metrics,
            shard_count=shard_count, shard_ids=shard_ids, identify_spacing=identify_spacing,
        )  # fmt: skip
        self.tree = self.client.tree
        self.outbox = DiscordOutbox(self.client, rest_timeout_s)
        self.add_commands(*quiz_commands(self, service, community))
        self.practice: DiscordPractice | None = None
        if practice is not None:  # /practice & co., practice buttons, the answer modal
            self.practice = DiscordPractice(self, practice)
            self.add_commands(*self.practice.commands())
            # its modal submissions reach it through StackprepClient.on_interaction
        # the Report button's modal (its submissions also reach on_interaction)
        self.reports = DiscordReports(self, reports) if reports is not None else None
        self.daily = daily
        if daily is not None:  # /daily, for server managers
            self.add_commands(daily_commands(self, daily, community))
        self.games = games
        if games is not None:  # /quiz start|stop|status (the GameEngine posts the games)
            self.add_commands(game_commands(self, games, community))
        # /questions ..., /propose (its form's submissions also reach on_interaction)
        self.community = DiscordCommunity(self, community) if community is not None else None
        if self.community is not None:
            self.add_commands(*self.community.commands())

    def __repr__(self) -> str:
        return "DiscordAdapter(token=********)"

    def add_commands(self, *commands: AnyCommand) -> None:
        """Add commands or groups (e.g. an AdminGroup) before run() or sync()."""
        for command in commands:
            self.tree.add_command(command)

    # -- lifecycle --------------------------------------------------------------------------

    async def run(self) -> None:
        """Serve Discord until cancelled. Waits (with backoff) while Discord cannot be reached;
        AdapterError (one line) on a fatal problem such as a rejected token, at the start or
        at any later time (`connection` says which are which)."""
        async with self.client:  # closes the client (gateway, HTTP session) however we leave
            delays = backoff(self.first_retry)
            await login(
                self.client, self._token, retry=True, limit=self.rest_timeout, delays=delays
            )
            log.info("discord: logged in; commands: %s", ", ".join(self._names()))
            # each shard is retried until it connects; then discord.py reconnects it by itself
            await stay_connected(self.client)

    async def sync(self, guild_id: int | None = None) -> list[str]:
        """Register the commands with Discord (globally, or in one server at once)."""
        async with self.client:
            await login(self.client, self._token, retry=False, limit=self.rest_timeout)
            guild = discord.Object(id=guild_id) if guild_id is not None else None
            if guild is not None:
                self.tree.copy_global_to(guild=guild)
            try:
                synced = await self.tree.sync(guild=guild)
            except discord.Forbidden:
                raise AdapterError(
                    f"Discord refused to register commands in server {guild_id}: invite the bot "
                    "there with the applications.commands scope (see the README)"
                ) from None
            except discord.HTTPException as exc:
                raise AdapterError(
                    f"Discord refused the commands: {exc.status} {exc.text[:200]}"
                ) from None
            except (aiohttp.ClientError, TimeoutError) as exc:
                raise AdapterError(
                    f"could not register the commands: {why_failed(exc, self.rest_limit)}"
                ) from None
        return [command.name for command in synced]

    def connected(self) -> bool:
        """Past READY on every shard of this process, not closed, and each shard's gateway
        socket open now (none reconnecting)."""
        client = self.client
        return client.is_ready() and not client.is_closed() and client.all_connected()

    def _names(self) -> list[str]:
        return sorted(f"/{command.name}" for command in self.tree.get_commands())

    # -- answering interactions -------------------------------------------------------------

    async def on_button(self, interaction: Interaction, token: str) -> None:
        if self.community is not None and is_decision_token(token):
            await self.community.on_button(interaction, token)
            return
        if self.reports is not None and is_report_token(token):
            await self.reports.on_button(interaction, token)
            return
        if self.practice is not None and is_practice_token(token):
            await self.practice.on_button(interaction, token)
            return
        user, name, chat = who(interaction)
        await self.serve(
            interaction,
            self.service.press(user, name, chat, token),
            private=not _is_next(token),
            what=f"button {token[:40]}",
        )

    async def serve(
        self,
        interaction: Interaction,
        work: Coroutine[Any, Any, Reply | Asked],
        *,
        private: bool,
        what: str,
    ) -> None:
        """Run `work`, deferring (as `private` or not) if it takes longer than `defer_after`,
        then answer with its Reply; QuizErrors privately, anything else as a logged apology.

        The work runs in the caller's task (an interaction's own, from discord.py's dispatch);
        a timer starts the defer beside it only when it is slow. (A task per interaction for
        the work and `asyncio.wait` on it cost every click a task, a future and a pass of the
        event loop before the work even began.)"""
        loop = asyncio.get_running_loop()
        deferring: list[asyncio.Task[bool | None]] = []

        def defer() -> None:
            deferring.append(loop.create_task(self._defer(interaction, private)))

        timer = loop.call_later(self.defer_after, defer) if self.defer_after > 0 else None
        if timer is None:  # 0: always defer (before the work has even started)
            defer()
        result: Reply | Asked | None = None
        error: Exception | None = None
        try:
            try:
                result = await work
            except Exception as exc:
                error = exc
            finally:
                if timer is not None:
                    timer.cancel()
            deferred_private = await deferring[0] if deferring else None
        except asyncio.CancelledError:
            for task in deferring:
                task.cancel()
            raise
        reply = self._outcome(interaction, result, error, what)
        await self.deliver(interaction, reply, deferred_private=deferred_private)

    async def _defer(self, interaction: Interaction, private: bool) -> bool | None:
        """Defer the interaction ("thinking..."): `private` if it was deferred, None if not."""
        try:
            await interaction.response.defer(ephemeral=private, thinking=True)
        except (discord.HTTPException, aiohttp.ClientError, TimeoutError) as exc:
            log.warning(
                "discord: could not defer interaction %s (guild %s): %s",
                interaction.id, interaction.guild_id, why_failed(exc, self.rest_limit),
            )  # fmt: skip
            return None
        return private

    def _outcome(
        self,
        interaction: Interaction,
        result: Reply | Asked | None,
        error: Exception | None,
        what: str,
    ) -> Reply:
        self.metrics.command(Platform.DISCORD.value, command_name(what), outcome(error))
        if error is not None or result is None:
            return self.notice(interaction, error or RuntimeError("no reply"), what)
        return result.reply if isinstance(result, Asked) else result

    def notice(self, interaction: Interaction, error: BaseException, what: str) -> Reply:
        """The error policy's private reply, logged with the interaction's place."""
        where = (
            f"discord: {what} (interaction {interaction.id}, guild {interaction.guild_id}, "
            f"channel {interaction.channel_id})"
        )
        return notice_reply(error_notice(error, log=log, what=where))

    async def deliver(
        self, interaction: Interaction, reply: Reply, *, deferred_private: bool | None = None
    ) -> None:
        """Answer an interaction with a Reply, whether or not it was responded to already."""
        rendered = render(reply)
        kwargs = rendered.message_kwargs()
        try:
            if not interaction.response.is_done():
                await interaction.response.send_message(**kwargs, ephemeral=rendered.ephemeral)
                return
            if deferred_private is False and rendered.ephemeral:
                # a public "thinking..." message would show a private answer to everyone
                await interaction.delete_original_response()
            await interaction.followup.send(**kwargs, ephemeral=rendered.ephemeral, wait=True)
        except (discord.HTTPException, aiohttp.ClientError, TimeoutError) as exc:
            log.warning(
                "discord: could not answer interaction %s (guild %s): %s",
                interaction.id, interaction.guild_id, why_failed(exc, self.rest_limit),
            )  # fmt: skip
        finally:
            rendered.release()

    async def on_command_error(
        self, interaction: Interaction, error: app_commands.AppCommandError
    ) -> None:
        original = error.original if isinstance(error, app_commands.CommandInvokeError) else error
        command = interaction.command.qualified_name if interaction.command else "unknown"
        refused = isinstance(original, app_commands.CheckFailure | app_commands.CommandNotFound)
        self.metrics.command(
            Platform.DISCORD.value, command, "refused" if refused else outcome(original)
        )
        if isinstance(original, app_commands.CheckFailure):
            reply = notice_reply(NotAllowed().message)
        elif isinstance(original, app_commands.CommandNotFound):
            reply = notice_reply(unknown_command(original.name))
        else:
            reply = self.notice(interaction, original, f"/{command}")
        await self.deliver(interaction, reply)


def _is_next(token: str) -> bool:
    try:
        return isinstance(decode(token), NextToken)
    except QuizError:
        return False
