"""Private practice on Discord: /practice (and /practice weak), /stop, /due, /progress,
/export, /remind, /plan, /mock, the practice buttons (p1.* tokens), and the "Answer in my own
words" modal.

Everything goes to PracticeService; Steps come back and each of their Replies is sent as a
message (the first answers the interaction, the rest are follow-ups). In a DM the messages
are ordinary ones, so the session stays readable; in a server every answer is ephemeral.

The modal is stateless: its custom_id carries the session (`p1.m.<session>`), it is not kept
in discord.py's view store, and its submission is picked up by an `on_interaction` listener,
so an answer typed while the bot restarted is still graded.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Coroutine, Mapping, Sequence
from dataclasses import replace
from typing import Any

import aiohttp
import discord
from discord import app_commands

from bot.adapters.base import outcome
from bot.adapters.chart import chart_png
from bot.adapters.discord import texts
from bot.adapters.discord.commands import topic_choices
from bot.adapters.discord.connection import why_failed
from bot.adapters.discord.interactions import AnyCommand, Interaction, Responder, who
from bot.adapters.discord.render import render
from bot.core.common.identity import ChatRef, Platform
from bot.core.common.replies import Reply
from bot.core.common.texts import notice_reply
from bot.core.practice import plan_texts
from bot.core.practice import texts as pt
from bot.core.practice.plans import WEAK_WORD
from bot.core.practice.service import PracticeService, Step

log = logging.getLogger(__name__)

OWN_WORDS_PREFIX = "p1.o."
MODAL_PREFIX = "p1.m."
ANSWER_INPUT = "answer"
ANSWER_MAX = 2000


def here(reply: Reply, chat: ChatRef) -> Reply:
    """In a DM, send practice messages as ordinary messages (they stay in the history)."""
    return replace(reply, private=reply.private and not chat.is_private)


def answer_modal(session_id: str) -> discord.ui.Modal:
    modal = discord.ui.Modal(title=pt.ANSWER_MODAL_TITLE, custom_id=MODAL_PREFIX + session_id)
    modal.add_item(
        discord.ui.TextInput(
            label=pt.ANSWER_FIELD_LABEL,
            style=discord.TextStyle.paragraph,
            custom_id=ANSWER_INPUT,
            placeholder=pt.ANSWER_PLACEHOLDER,
            max_length=ANSWER_MAX,
        )
    )
    modal.stop()  # not kept in the view store: the submission is handled by on_interaction
    return modal


def modal_text(components: Sequence[Mapping[str, Any]]) -> str:
    """The text typed into the answer field of a submitted modal (action rows or labels)."""
    for component in components:
        if component.get("type") == 1:
            found = modal_text(component.get("components", []))
        elif component.get("type") == 18:
            found = modal_text([component.get("component", {})])
        else:
            found = str(component.get("value") or "") if component.get("custom_id") else ""
        if found:
            return found
    return ""


async def send_with_file(
    adapter: Responder,
    interaction: Interaction,
    work: Coroutine[Any, Any, tuple[Reply, list[discord.File]]],
    *,
    private: bool,
) -> None:
    """Defer, then answer with a Reply and its attachments (the chart, the Anki files, a
    community's export), only to the person when `private`; a failing `work` gets the error
    policy's reply instead."""
    command = interaction.command.qualified_name if interaction.command else "file"
    try:
        await interaction.response.defer(ephemeral=private, thinking=True)
    except (discord.HTTPException, aiohttp.ClientError, TimeoutError) as exc:
        work.close()  # nothing can be sent without the first response
        log.warning(
            "discord: could not defer interaction %s (guild %s): %s",
            interaction.id, interaction.guild_id, why_failed(exc, adapter.rest_limit),
        )  # fmt: skip
        return
    try:
        reply, files = await work
    except Exception as exc:
        adapter.metrics.command(Platform.DISCORD.value, command, outcome(exc))
        await adapter.deliver(interaction, adapter.notice(interaction, exc, f"/{command}"))
        return
    adapter.metrics.command(Platform.DISCORD.value, command, "ok")
    rendered = render(reply)
    try:
        await interaction.followup.send(
            **rendered.message_kwargs(), files=files, ephemeral=private, wait=True
        )
    except (discord.HTTPException, aiohttp.ClientError, TimeoutError) as exc:
        reason = why_failed(exc, adapter.rest_limit)
        log.warning("discord: could not send a file: %s", reason)
        await adapter.deliver(interaction, notice_reply(texts.file_not_sent(reason)))
    finally:
        rendered.release()


class DiscordPractice:
    """Practice's commands, buttons and modal; the adapter registers `commands()` and routes
    modal submissions to `on_interaction` (see the module docstring)."""

    def __init__(self, adapter: Responder, practice: PracticeService) -> None:
        self.adapter = adapter
        self.practice = practice

    # -- delivering steps -------------------------------------------------------------------

    async def run_step(
        self, interaction: Interaction, work: Coroutine[Any, Any, Step], chat: ChatRef, what: str
    ) -> None:
        """Like `adapter.serve` (defer if slow, errors privately), for every reply of a Step."""
        rest: list[Reply] = []

        async def first() -> Reply:
            step = await work
            replies = [here(r, chat) for r in step.replies] or [notice_reply("…")]
            rest.extend(replies[1:])
            return replies[0]

        await self.adapter.serve(interaction, first(), private=not chat.is_private, what=what)
        for reply in rest:
            await self.adapter.deliver(interaction, reply)

    async def on_button(self, interaction: Interaction, token: str) -> None:
        user, name, chat = who(interaction)
        if token.startswith(OWN_WORDS_PREFIX):
            try:
                await interaction.response.send_modal(answer_modal(token[len(OWN_WORDS_PREFIX) :]))
            except discord.HTTPException as exc:
                log.warning("discord: could not open the answer modal: %s", exc.status)
            return
        work = self.practice.press(user, name, token)
        await self.run_step(interaction, work, chat, f"practice button {token[:40]}")

    async def on_interaction(self, interaction: Interaction) -> None:
        if interaction.type is not discord.InteractionType.modal_submit:
            return
        data: Mapping[str, Any] = interaction.data or {}
        custom_id = str(data.get("custom_id", ""))
        if not custom_id.startswith(MODAL_PREFIX):
            return
        user, name, chat = who(interaction)
        text = modal_text(data.get("components", []))
        session_id = custom_id[len(MODAL_PREFIX) :]
        work = self.practice.answer_text(user, name, text, session_id=session_id)
        await self.run_step(interaction, work, chat, "practice answer")

    async def send_with_file(
        self, interaction: Interaction, work: Coroutine[Any, Any, tuple[Reply, list[discord.File]]]
    ) -> None:
        """Defer, then answer with a Reply and its attachments (the chart, the Anki files)."""
        _, _, chat = who(interaction)
        await send_with_file(self.adapter, interaction, work, private=not chat.is_private)

    # -- commands ---------------------------------------------------------------------------

    def commands(self) -> list[AnyCommand]:
        practice, describe = self.practice, pt.COMMAND_DESCRIPTIONS

        @app_commands.command(name="practice", description=describe["practice"])
        @app_commands.describe(topic=pt.OPTION_DESCRIPTIONS["topic"])
        async def practice_(interaction: Interaction, topic: str | None = None) -> None:
            user, name, chat = who(interaction)
            work = practice.start(user, name, chat, topic)
            await self.run_step(interaction, work, chat, "/practice")

        @practice_.autocomplete("topic")
        async def topics_like(
            interaction: Interaction, current: str
        ) -> list[app_commands.Choice[str]]:
            weak = app_commands.Choice(name=plan_texts.WEAK_CHOICE, value=WEAK_WORD)
            found = await topic_choices(practice.bank, current)
            return ([weak] if current.strip().casefold() in WEAK_WORD else []) + found[:24]

        @app_commands.command(name="stop", description=describe["stop"])
        async def stop(interaction: Interaction) -> None:
            user, name, chat = who(interaction)
            await self._reply(interaction, practice.stop(user, name), chat, "/stop")

        @app_commands.command(name="due", description=describe["due"])
        async def due(interaction: Interaction) -> None:
            user, name, chat = who(interaction)
            await self._reply(interaction, practice.due(user, name), chat, "/due")

        @app_commands.command(name="progress", description=describe["progress"])
        async def progress(interaction: Interaction) -> None:
            user, name, _ = who(interaction)

            async def work() -> tuple[Reply, list[discord.File]]:
                result = await practice.progress(user, name)
                if result.chart is None:
                    return result.reply, []
                png = await chart_png(result.chart)
                file = discord.File(
                    io.BytesIO(png), filename=pt.CHART_FILENAME, description=result.chart.alt_text
                )
                return result.reply, [file]

            await self.send_with_file(interaction, work())

        @app_commands.command(name="export", description=describe["export"])
        async def export(interaction: Interaction) -> None:
            user, name, _ = who(interaction)

            async def work() -> tuple[Reply, list[discord.File]]:
                result = await practice.export(user, name)
                files = [discord.File(io.BytesIO(f.data), filename=f.name) for f in result.files]
                return result.reply, files

            await self.send_with_file(interaction, work())

        @app_commands.command(name="remind", description=describe["remind"])
        @app_commands.describe(
            time=pt.OPTION_DESCRIPTIONS["time"], timezone=pt.OPTION_DESCRIPTIONS["timezone"]
        )
        async def remind(
            interaction: Interaction, time: str | None = None, timezone: str | None = None
        ) -> None:
            user, name, chat = who(interaction)
            args = [a for a in (time, timezone) if a]
            await self._reply(interaction, practice.remind(user, name, chat, args), chat, "/remind")

        @app_commands.command(name="plan", description=describe["plan"])
        @app_commands.describe(
            date=plan_texts.PLAN_OPTIONS["date"], topics=plan_texts.PLAN_OPTIONS["topics"]
        )
        async def plan(
            interaction: Interaction, date: str | None = None, topics: str | None = None
        ) -> None:
            user, name, chat = who(interaction)
            args = [a for a in (date, topics) if a]
            await self._reply(interaction, practice.plan(user, name, chat, args), chat, "/plan")

        @app_commands.command(name="mock", description=describe["mock"])
        async def mock(interaction: Interaction) -> None:
            user, name, chat = who(interaction)
            await self.run_step(interaction, practice.mock.start(user, name, chat), chat, "/mock")

        return [practice_, stop, due, progress, export, remind, plan, mock]

    async def _reply(
        self, interaction: Interaction, work: Coroutine[Any, Any, Reply], chat: ChatRef, what: str
    ) -> None:
        async def shown() -> Reply:
            return here(await work, chat)

        await self.adapter.serve(interaction, shown(), private=not chat.is_private, what=what)
