"""What every Discord command module needs: who and where an interaction comes from, and the
`Responder` that answers it (the adapter), as a protocol so command modules never import the
adapter itself.
"""

from __future__ import annotations

from collections.abc import Coroutine
from typing import Any, Protocol

import discord
from discord import app_commands

from bot.core.common.identity import ChatRef, Platform, UserRef
from bot.core.common.metrics import Metrics
from bot.core.common.replies import Reply
from bot.core.quiz import Asked

Interaction = discord.Interaction[Any]
AnyCommand = app_commands.Command[Any, ..., Any] | app_commands.Group

EVERYWHERE = app_commands.AppCommandContext(guild=True, dm_channel=True, private_channel=True)
ANY_INSTALL = app_commands.AppInstallationType(guild=True, user=True)


def who(interaction: Interaction) -> tuple[UserRef, str, ChatRef]:
    """The person (stable id, display name) and the place of an interaction."""
    user = interaction.user
    guild = str(interaction.guild_id) if interaction.guild_id else None
    if guild is None and interaction.context.private_channel:
        # a group DM (or a DM between people, with the app user-installed): others read
        # along, so it is a shared place with its own board, never a private tutor session
        guild = f"gdm-{interaction.channel_id}"
    chat = ChatRef(Platform.DISCORD, str(interaction.channel_id), guild)
    return UserRef(Platform.DISCORD, str(user.id)), user.display_name, chat


class Responder(Protocol):
    """Answers interactions: defers slow work, renders Replies, applies the error policy."""

    metrics: Metrics  # where handled commands are counted
    rest_limit: float  # seconds one REST call to Discord may take

    async def serve(
        self,
        interaction: Interaction,
        work: Coroutine[Any, Any, Reply | Asked],
        *,
        private: bool,
        what: str,
    ) -> None: ...

    async def deliver(
        self, interaction: Interaction, reply: Reply, *, deferred_private: bool | None = None
    ) -> None: ...

    def notice(self, interaction: Interaction, error: BaseException, what: str) -> Reply:
        """The error policy's reply for `error` (bot.adapters.base.error_notice)."""
        ...
