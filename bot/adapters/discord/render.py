"""Rendering core `Reply` values for Discord, and the persistent button that carries a token.

Only this module knows Discord's markdown. Every text block from the core is escaped, so a
question, an explanation or a player's display name can never turn into formatting, a masked
link or a list; code blocks are fenced so that no code can break out of them. Buttons carry
the core's opaque tokens as their custom_id and are dispatched by `TokenButton`, a
`DynamicItem` registered at start, so buttons on messages from before a restart still work.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Protocol, Self, assert_never, runtime_checkable

import discord

from bot.core.common.replies import Button, Code, Countdown, Link, Paragraph, Reply

CONTENT_MAX = 2000  # Discord's message content limit
URL_MAX = 512  # a link button's URL
NO_MENTIONS = discord.AllowedMentions.none()

# The core's button tokens: `a1.<round>.<label>`, `n1.<topic>.<difficulty>`, reports'
# `r1.<round>[.<word>]`, practice's `p1.<kind>.<ref>[.<value>]` and a proposal's decision
# `cq1.<proposal>.<a|r>`. The template is deliberately wider than the valid tokens (any
# version, any payload), so that stale, truncated or tampered ids in our namespace still reach
# the core and get its clear answer ("no longer open", "not valid") instead of Discord's
# silent "This interaction failed".
TOKEN_TEMPLATE = r"(?P<token>(?:[anpr]|cq)\d{1,2}\.[^\s]{0,96})"  # noqa: S105 - a pattern

_LEADING_NUMBER = re.compile(r"^(\s*\d+)\.", re.MULTILINE)
_LANGUAGE = re.compile(r"[^A-Za-z0-9+#-]")


def escape(text: str) -> str:
    """Plain text -> Discord markdown that displays exactly that text."""
    escaped = discord.utils.escape_markdown(text)  # bare URLs stay clickable
    # "1. Ann" would become an ordered list, renumbered by Discord (ties share a rank)
    return _LEADING_NUMBER.sub(r"\1\\.", escaped)


def code_block(code: str, language: str) -> str:
    fenced = code.strip("\n").replace("```", "``\u200b`")  # a fence inside code cannot close ours
    return f"```{_LANGUAGE.sub('', language)}\n{fenced}\n```"


def render_text(reply: Reply) -> str:
    """The blocks of a Reply as one Discord message content (at most 2000 characters)."""
    parts: list[str] = []
    for block in reply.blocks:
        match block:
            case Paragraph(text=text, bold=bold):
                if text.strip():
                    parts.append(f"**{escape(text)}**" if bold else escape(text))
            case Code(text=code, language=language):
                parts.append(code_block(code, language))
            case Countdown(label=label, until=until):
                # the client shows "in 25 seconds" and counts it down itself: no edits
                parts.append(f"⏱ {escape(label)} <t:{int(until.timestamp())}:R>")
            case Link():
                pass  # a link button in the view (build_view), never a link in the text
            case _:
                assert_never(block)
    return fit("\n\n".join(parts) or "\u200b", CONTENT_MAX)


def fit(text: str, limit: int) -> str:
    """Cut `text` to `limit` characters, closing a code block left open by the cut."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 5].rstrip()
    if cut.count("```") % 2:
        cut = cut[: limit - 9].rstrip() + "\n…\n```"
    else:
        cut += " …"
    return cut[:limit]


def links(reply: Reply) -> list[Link]:
    """The Reply's links that a link button can carry (https, within Discord's 512)."""
    return [
        b
        for b in reply.blocks
        if isinstance(b, Link) and b.url.startswith("https://") and len(b.url) <= URL_MAX
    ]


def build_view(reply: Reply) -> discord.ui.View | None:
    """Answer buttons (row 0), then action buttons such as "Next question" and "Report" and
    the "Learn more" link buttons (row 1; the links on row 2 if row 1 would be full), or
    None."""
    found = links(reply)
    if not reply.choices and not reply.actions and not found:
        return None
    view = discord.ui.View(timeout=None)
    for button in reply.choices:
        view.add_item(TokenButton.make(button, discord.ButtonStyle.primary, row=0))
    for button in reply.actions:
        view.add_item(TokenButton.make(button, discord.ButtonStyle.secondary, row=1))
    row = 1 if len(reply.actions) + len(found) <= 5 else 2  # five buttons to a row
    for link in found:
        view.add_item(discord.ui.Button(label=link.label[:80], url=link.url, row=row))
    return view


@dataclass(frozen=True, slots=True)
class Rendered:
    """Keyword arguments for send/edit: content, view (None removes buttons), no pings."""

    content: str
    view: discord.ui.View | None
    ephemeral: bool

    def message_kwargs(self) -> dict[str, Any]:
        kwargs: dict[str, Any] = {"content": self.content, "allowed_mentions": NO_MENTIONS}
        if self.view is not None:
            kwargs["view"] = self.view
        return kwargs

    def release(self) -> None:
        """Forget the view once sent: clicks reach TokenButton through its registered
        template, not through this object. (discord.py gives views on ephemeral messages a
        15-minute timeout task; stopping the view ends it, so nothing lingers.)"""
        if self.view is not None:
            self.view.stop()


def render(reply: Reply) -> Rendered:
    return Rendered(render_text(reply), build_view(reply), reply.private)


@runtime_checkable
class TokenHandler(Protocol):
    """What a client must offer for TokenButton to hand it a pressed token."""

    async def handle_token(self, interaction: discord.Interaction[Any], token: str) -> None: ...


class TokenButton(discord.ui.DynamicItem[discord.ui.Button[Any]], template=TOKEN_TEMPLATE):
    """A button whose custom_id is a core token; survives restarts (registered at start)."""

    def __init__(
        self,
        token: str,
        label: str = "?",
        style: discord.ButtonStyle = discord.ButtonStyle.secondary,
        row: int | None = None,
    ) -> None:
        super().__init__(discord.ui.Button(label=label[:80], style=style, custom_id=token), row=row)
        self.token = token

    @classmethod
    def make(cls, button: Button, style: discord.ButtonStyle, *, row: int) -> TokenButton:
        return cls(button.token, button.label, style, row)

    @classmethod
    async def from_custom_id(
        cls,
        interaction: discord.Interaction[Any],
        item: discord.ui.Item[Any],
        match: re.Match[str],
        /,
    ) -> Self:
        label = getattr(item, "label", None) or "?"
        style = getattr(item, "style", discord.ButtonStyle.secondary)
        return cls(match["token"], label, style)

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        client = interaction.client
        if isinstance(client, TokenHandler):
            await client.handle_token(interaction, self.token)
