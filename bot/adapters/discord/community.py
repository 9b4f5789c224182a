"""A server's own questions on Discord: `/questions import|list|export|remove|pending`,
`/propose` (a modal) and the Approve / Reject buttons of a pending proposal (`cq1.*`).

`/questions` is one group for every member, because `/questions list` is for everyone and
Discord cannot hide one subcommand of a group: import, export, remove and pending check the
caller's Manage Server permission on every call, and CommunityService refuses anyone else in
its own words. Both commands work in servers only (a community is a server).

`/questions import file:<attachment>`: a member without Manage Server is refused before
anything is downloaded; the attachment's size, as Discord gives it, is checked before the
download, and the download itself stops right after the limit (bot/adapters/download.py), so
a size that is wrong costs nothing either. Everything a file gets back (imported, or every
problem) is private, as are export (the file), pending (one message per proposal, with its
buttons) and a decision. The proposer is told by DM, and not at all if their DMs are closed.

`/propose` opens a modal of five fields, Discord's most: the question, the four options one a
line, which is right (a menu A-D), the explanation and, optionally, a topic of the server's.
Like the report form it is stateless: a fixed custom_id, not kept in discord.py's view store,
its submission picked up by the client's `on_interaction`.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Mapping
from typing import Any, cast

import aiohttp
import discord
from discord import app_commands

from bot.adapters.discord.connection import why_failed
from bot.adapters.discord.games import is_admin
from bot.adapters.discord.interactions import (
    ANY_INSTALL,
    AnyCommand,
    Interaction,
    Responder,
    who,
)
from bot.adapters.discord.practice import send_with_file
from bot.adapters.discord.render import render
from bot.adapters.discord.reports import modal_values
from bot.adapters.download import fetch_file
from bot.core.bank.questions import LABELS, MAX_CHOICE, MAX_EXPLANATION, MAX_PROMPT
from bot.core.common.identity import Platform, UserRef
from bot.core.common.replies import Reply
from bot.core.common.texts import notice_reply
from bot.core.community import CommunityService, Decision, FileRejected, ProposalFields
from bot.core.community import texts as ct
from bot.core.community.files import shown_filename
from bot.core.community.proposals import options_from_lines, parse_right

log = logging.getLogger(__name__)

SERVERS = app_commands.AppCommandContext(guild=True, dm_channel=False, private_channel=False)
PROPOSE_MODAL = "cp1.propose"  # the /propose modal's custom_id (never a button's)
FIELDS = ("prompt", "options", "right", "explanation", "topic")  # the modal's custom_ids

DESCRIPTION = "This server's own questions: list them; admins import, export, remove, review"
SUBCOMMANDS = {
    "import": "Import a topic from a TOML file in the bank's format (Manage Server)",
    "list": "The topics and questions of this server's own",
    "export": "Get one of this server's topics back as a TOML file (Manage Server)",
    "remove": "Remove one of this server's topics and its questions (Manage Server)",
    "pending": "The members' proposals waiting for a decision (Manage Server)",
}
OPTIONS = {
    "file": "The topic's TOML file (at most 1 MB; format: docs/question-format.md)",
    "topic": "One of this server's own topics",
}
PROPOSE_DESCRIPTION = "Propose a question for this server's own; its admins approve it"
FORM_TITLE = "Propose a question"
FORM_LABELS = {
    "prompt": ("The question", "What is asked, as players will read it"),
    "options": ("The four options", "One a line: A, B, C, D (each up to 80 characters)"),
    "right": ("Which option is right?", None),
    "explanation": ("Why it is right", "Shown after answering (up to 200 characters)"),
    "topic": ("Topic (optional)", "One of this server's own topics; empty: proposals"),
}


def exported(filename: str) -> str:
    return (
        f"{filename}: this topic as a file. Edit it and send it back with /questions import "
        "(importing a topic again replaces it)."
    )


def proposal_fields(values: Mapping[str, str]) -> ProposalFields:
    """What the modal's fields hold, as the service takes a proposal."""
    options = options_from_lines(values.get("options", ""))
    return ProposalFields(
        prompt=values.get("prompt", ""),
        options=cast(tuple[str, str, str, str], options),  # checked to be four by the service
        right=parse_right(values.get("right", "")),
        explanation=values.get("explanation", ""),
        topic=values.get("topic") or None,
    )


def propose_modal() -> discord.ui.Modal:
    """The /propose form: five fields, Discord's most for one modal."""
    modal = discord.ui.Modal(title=FORM_TITLE, custom_id=PROPOSE_MODAL)
    limits = {
        "prompt": MAX_PROMPT,
        "options": len(LABELS) * (MAX_CHOICE + 4),
        "explanation": MAX_EXPLANATION,
        "topic": 60,
    }
    for field in FIELDS:
        label, hint = FORM_LABELS[field]
        component: discord.ui.Item[Any]
        if field == "right":
            component = discord.ui.Select(
                custom_id=field,
                options=[discord.SelectOption(label=letter, value=letter) for letter in LABELS],
                min_values=1,
                max_values=1,
                required=True,
            )
        else:
            short = field == "topic"
            component = discord.ui.TextInput(
                custom_id=field,
                style=discord.TextStyle.short if short else discord.TextStyle.paragraph,
                max_length=limits[field],
                required=not short,
            )
        modal.add_item(discord.ui.Label(text=label, description=hint, component=component))
    modal.stop()  # not kept in the view store: the submission is handled by on_interaction
    return modal


class DiscordCommunity:
    """The commands, the modal and the decision buttons; the adapter registers `commands()`,
    routes `cq1.` buttons to `on_button` and every interaction to `on_interaction`."""

    def __init__(self, adapter: Responder, community: CommunityService) -> None:
        self.adapter = adapter
        self.community = community

    # -- /questions ---------------------------------------------------------------------------

    async def import_file(self, interaction: Interaction, file: discord.Attachment) -> Reply:
        """An admin's attachment, size-checked, downloaded (capped), then imported whole."""
        user, name, chat = who(interaction)
        admin = is_admin(interaction)
        data = await self.download(file) if admin else b""  # refused below, unread
        return await self.community.import_file(
            user, name, chat, admin=admin, filename=file.filename, data=data
        )

    async def download(self, file: discord.Attachment) -> bytes:
        limit, shown = self.community.MAX_FILE_BYTES, shown_filename(file.filename)
        if file.size > limit:  # Discord's word, before anything is read
            raise FileRejected([ct.too_big(shown, file.size, limit)])
        return await fetch_file(file.url, filename=shown, limit=limit)

    async def export(self, interaction: Interaction, topic: str | None) -> None:
        user, _, chat = who(interaction)
        admin = is_admin(interaction)

        async def work() -> tuple[Reply, list[discord.File]]:
            filename, data = await self.community.export(user, chat, admin=admin, topic=topic)
            file = discord.File(io.BytesIO(data), filename=filename)
            return notice_reply(exported(filename)), [file]

        await send_with_file(self.adapter, interaction, work(), private=True)

    async def pending(self, interaction: Interaction) -> None:
        """One private message per waiting proposal, each with its buttons."""
        user, _, chat = who(interaction)
        admin = is_admin(interaction)
        rest: list[Reply] = []

        async def first() -> Reply:
            replies = await self.community.pending(user, chat, admin=admin)
            rest.extend(replies[1:])
            return replies[0]

        await self.adapter.serve(interaction, first(), private=True, what="/questions pending")
        for reply in rest:
            await self.adapter.deliver(interaction, reply)

    # -- proposals ----------------------------------------------------------------------------

    async def on_interaction(self, interaction: Interaction) -> None:
        """The /propose modal's submission (other interactions are not ours)."""
        if interaction.type is not discord.InteractionType.modal_submit:
            return
        data: Mapping[str, Any] = interaction.data or {}
        if data.get("custom_id") != PROPOSE_MODAL:
            return
        user, name, chat = who(interaction)
        fields = proposal_fields(modal_values(data.get("components") or []))
        work = self.community.propose(user, name, chat, fields)
        await self.adapter.serve(interaction, work, private=True, what="propose form")

    async def on_button(self, interaction: Interaction, token: str) -> None:
        """Approve or Reject: the admin is answered privately, then the proposer by DM."""
        user, name, chat = who(interaction)
        decided: list[Decision] = []

        async def work() -> Reply:
            decision = await self.community.decide(
                user, name, chat, token, admin=is_admin(interaction)
            )
            decided.append(decision)
            return decision.reply

        await self.adapter.serve(interaction, work(), private=True, what="proposal button")
        for decision in decided:
            if decision.notify is not None:
                await self.tell(interaction.client, *decision.notify)

    async def tell(self, client: discord.Client, person: UserRef, reply: Reply) -> None:
        """A DM to the proposer; quietly nothing if they do not take DMs from the bot."""
        if person.platform is not Platform.DISCORD or not person.user_id.isdigit():
            return
        rendered = render(reply)
        try:
            channel = await client.create_dm(discord.Object(id=int(person.user_id)))
            await channel.send(**rendered.message_kwargs())
        except discord.Forbidden:
            log.info("discord: user %s takes no DMs; the proposal's outcome was not sent",
                     person.user_id)  # fmt: skip
        except (discord.HTTPException, aiohttp.ClientError, TimeoutError) as exc:
            log.warning(
                "discord: could not DM user %s the proposal's outcome: %s",
                person.user_id, why_failed(exc, self.adapter.rest_limit),
            )  # fmt: skip
        finally:
            rendered.release()

    # -- the commands -------------------------------------------------------------------------

    def commands(self) -> list[AnyCommand]:
        group = app_commands.Group(
            name="questions", description=DESCRIPTION, allowed_contexts=SERVERS,
            allowed_installs=ANY_INSTALL,
        )  # fmt: skip
        serve = self.adapter.serve

        @group.command(name="import", description=SUBCOMMANDS["import"])
        @app_commands.describe(file=OPTIONS["file"])
        async def import_(interaction: Interaction, file: discord.Attachment) -> None:
            work = self.import_file(interaction, file)
            await serve(interaction, work, private=True, what="/questions import")

        @group.command(name="list", description=SUBCOMMANDS["list"])
        async def list_(interaction: Interaction) -> None:
            work = self.community.listing(who(interaction)[2])
            await serve(interaction, work, private=False, what="/questions list")

        @group.command(name="export", description=SUBCOMMANDS["export"])
        @app_commands.describe(topic=OPTIONS["topic"])
        async def export(interaction: Interaction, topic: str | None = None) -> None:
            await self.export(interaction, topic)

        @group.command(name="remove", description=SUBCOMMANDS["remove"])
        @app_commands.describe(topic=OPTIONS["topic"])
        async def remove(interaction: Interaction, topic: str) -> None:
            user, _, chat = who(interaction)
            work = self.community.remove(user, chat, topic, admin=is_admin(interaction))
            await serve(interaction, work, private=True, what="/questions remove")

        @group.command(name="pending", description=SUBCOMMANDS["pending"])
        async def pending(interaction: Interaction) -> None:
            await self.pending(interaction)

        @export.autocomplete("topic")
        @remove.autocomplete("topic")
        async def own_topics(
            interaction: Interaction, current: str
        ) -> list[app_commands.Choice[str]]:
            choices = self.community.topic_choices(who(interaction)[2], current)
            return [app_commands.Choice(name=c.label, value=c.slug) for c in choices if c.own]

        @app_commands.command(name="propose", description=PROPOSE_DESCRIPTION)
        @app_commands.allowed_contexts(guilds=True, dms=False, private_channels=False)
        async def propose(interaction: Interaction) -> None:
            try:
                await interaction.response.send_modal(propose_modal())
            except (discord.HTTPException, aiohttp.ClientError, TimeoutError) as exc:
                reason = why_failed(exc, self.adapter.rest_limit)
                log.warning("discord: could not open the proposal form: %s", reason)

        return [group, propose]


__all__ = ["DiscordCommunity", "proposal_fields", "propose_modal"]
