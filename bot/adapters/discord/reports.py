"""Question reports on Discord: the Report button (`r1.<round>`, under a private answer result
or a daily reveal) opens a modal with a menu of reasons and an optional note; its submission
files the report (bot/core/quiz/reports.py).

Like practice's answer modal, the modal is stateless: its custom_id is the report token itself,
it is not kept in discord.py's view store, and its submission is picked up by the client's
`on_interaction` listener, so a form sent while the bot restarted still counts. Whether the
person may report (the round exists, no open report of theirs) is checked before the modal
opens, and again when it is submitted.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Mapping
from typing import Any

import aiohttp
import discord

from bot.adapters.base import outcome
from bot.adapters.discord.connection import why_failed
from bot.adapters.discord.interactions import Interaction, Responder, who
from bot.core.common.identity import Platform
from bot.core.common.replies import Reply
from bot.core.quiz import report_texts as rt
from bot.core.quiz.reports import Filed, InvalidReport, ReportForm, ReportService
from bot.core.quiz.tokens import decode_report, is_report_token, report_token

log = logging.getLogger(__name__)

REASON_INPUT = "reason"
NOTE_INPUT = "note"


def report_modal(round_id: str) -> discord.ui.Modal:
    """The form: a required menu of reasons, then an optional paragraph for the note."""
    modal = discord.ui.Modal(title=rt.MODAL_TITLE, custom_id=report_token(round_id))
    options = [
        discord.SelectOption(label=label, value=word, description=rt.REASON_HINTS[word])
        for word, label in rt.REASON_LABELS.items()
    ]
    menu: discord.ui.Select[Any] = discord.ui.Select(
        custom_id=REASON_INPUT, options=options, min_values=1, max_values=1, required=True
    )
    note: discord.ui.TextInput[Any] = discord.ui.TextInput(
        custom_id=NOTE_INPUT,
        style=discord.TextStyle.paragraph,
        placeholder=rt.NOTE_PLACEHOLDER,
        max_length=rt.NOTE_MAX,
        required=False,
    )
    modal.add_item(discord.ui.Label(text=rt.REASON_FIELD, component=menu))
    modal.add_item(discord.ui.Label(text=rt.NOTE_FIELD, component=note))
    modal.stop()  # not kept in the view store: the submission is handled by on_interaction
    return modal


def modal_values(components: object) -> dict[str, str]:
    """custom_id -> what was submitted (a text input's text, a menu's first choice), through
    action rows (type 1) and labels (type 18); anything malformed is left out."""
    found: dict[str, str] = {}
    if not isinstance(components, list):
        return found
    for component in components:
        if not isinstance(component, Mapping):
            continue
        if component.get("type") == 1:
            found |= modal_values(component.get("components"))
        elif component.get("type") == 18:
            found |= modal_values([component.get("component")])
        elif isinstance(custom_id := component.get("custom_id"), str):
            values = component.get("values")
            if isinstance(values, list) and values and isinstance(values[0], str):
                found[custom_id] = values[0]
            elif isinstance(value := component.get("value"), str):
                found[custom_id] = value
    return found


class DiscordReports:
    """The Report button and its modal; the adapter routes `r1.` buttons to `on_button` and
    every interaction to `on_interaction` (modal submissions)."""

    def __init__(self, adapter: Responder, reports: ReportService) -> None:
        self.adapter = adapter
        self.reports = reports

    async def on_button(self, interaction: Interaction, token: str) -> None:
        user, name, _ = who(interaction)
        decoded = decode_report(token)
        if decoded is None or decoded.word is not None:
            # garbled, or a reason word (Telegram's buttons, never sent here): the service
            # files it or says what is wrong, privately
            work = self._pressed(self.reports.press(user, name, token))
            await self.adapter.serve(interaction, work, private=True, what="report button")
            return
        try:
            form = await self.reports.form(user, name, decoded.round_id)
        except Exception as exc:  # a QuizError (already reported, no such round) is told
            self.adapter.metrics.command(Platform.DISCORD.value, "report button", outcome(exc))
            notice = self.adapter.notice(interaction, exc, "report button")
            await self.adapter.deliver(interaction, notice)
            return
        self.adapter.metrics.command(Platform.DISCORD.value, "report button", "ok")
        try:
            await interaction.response.send_modal(report_modal(form.round_id))
        except (discord.HTTPException, aiohttp.ClientError, TimeoutError) as exc:
            log.warning(
                "discord: could not open the report form: %s",
                why_failed(exc, self.adapter.rest_limit),
            )

    async def on_interaction(self, interaction: Interaction) -> None:
        if interaction.type is not discord.InteractionType.modal_submit:
            return
        data: Mapping[str, Any] = interaction.data or {}
        custom_id = str(data.get("custom_id", ""))
        if not is_report_token(custom_id):
            return  # another feature's modal
        decoded = decode_report(custom_id)
        user, name, _ = who(interaction)
        values = modal_values(data.get("components"))

        async def work() -> Reply:
            if decoded is None or decoded.word is not None:
                raise InvalidReport()
            reason, note = values.get(REASON_INPUT, ""), values.get(NOTE_INPUT, "")
            filed = await self.reports.file(user, name, decoded.round_id, reason, note)
            return filed.reply

        await self.adapter.serve(interaction, work(), private=True, what="report form")

    async def _pressed(self, work: Awaitable[ReportForm | Filed | Reply]) -> Reply:
        result = await work
        return result if isinstance(result, Reply) else result.reply
