"""Rendering core `Reply` values for Discord, and the persistent button that carries a token.

Only this module knows Discord's markdown. Every text block from the core is escaped, so a
question, an explanation or a player's display name can never turn into formatting, a masked
link or a list; code blocks are fenced so that no code can break out of them. Buttons carry
the core's opaque tokens as their custom_id; a click comes back as an interaction whose
custom_id `token_of` recognises, and the adapter's one `on_interaction` routes it, so buttons
on messages from before a restart still work.

Cheap on the answer path (bench/games.py, bench/README.md): everyone who answers a round
gets one of a few replies, equal in their text or at least in their buttons, so `render`
keeps the last RENDER_CACHE texts and views by value (and escaped texts, ESCAPE_CACHE). The
views are stopped before they are sent: discord.py then keeps no state for them (no view
store entry, no timeout task), which is all we want, since no view object handles a click.
"""

from __future__ import annotations

import functools
import re
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, assert_never

import discord

from bot.core.common.replies import Block, Button, Code, Countdown, Link, Paragraph, Reply

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
_TOKEN = re.compile(TOKEN_TEMPLATE)
RENDER_CACHE = 512  # renderings kept (a busy round's shared answer replies, the last posts)
ESCAPE_CACHE = 4096  # escaped texts kept (explanations, questions: the same for everyone)

_LEADING_NUMBER = re.compile(r"^(\s*\d+)\.", re.MULTILINE)
_LANGUAGE = re.compile(r"[^A-Za-z0-9+#-]")


def token_of(custom_id: object) -> str | None:
    """The core token a button's custom_id carries (any id in our namespace, valid or not, so
    the core can say what is wrong with it), or None for another feature's id."""
    if isinstance(custom_id, str) and (match := _TOKEN.fullmatch(custom_id)) is not None:
        return match["token"]
    return None


@functools.lru_cache(maxsize=ESCAPE_CACHE)
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
    return _text(reply.blocks)


@functools.lru_cache(maxsize=RENDER_CACHE)
def _text(blocks: tuple[Block, ...]) -> str:
    parts: list[str] = []
    for block in blocks:
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
        view.add_item(token_button(button, discord.ButtonStyle.primary, row=0))
    for button in reply.actions:
        view.add_item(token_button(button, discord.ButtonStyle.secondary, row=1))
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
        """Once sent: stop the view if it was not stopped already (one built outside a running
        event loop cannot be), so discord.py forgets it and ends the 15-minute timeout task it
        gives views on ephemeral messages. Clicks never reach a view object (`token_of`)."""
        if self.view is not None:
            self.view.stop()


ViewKey = tuple[tuple[Button, ...], tuple[Button, ...], tuple[Link, ...]]
_views: OrderedDict[ViewKey, discord.ui.View] = OrderedDict()


def render(reply: Reply) -> Rendered:
    """The Reply rendered; its text and its view made once for equal ones rendered lately (a
    round's answer replies differ in their points, and share their buttons and links)."""
    return Rendered(_text(reply.blocks), _view(reply), reply.private)


def _view(reply: Reply) -> discord.ui.View | None:
    key = (reply.choices, reply.actions, tuple(links(reply)))
    view = _views.get(key)
    if view is not None:
        _views.move_to_end(key)
        return view
    view = build_view(reply)
    if view is None:
        return None
    view.stop()
    if view.is_finished():  # not when built outside an event loop: not shareable then
        _views[key] = view
        if len(_views) > RENDER_CACHE:
            _views.popitem(last=False)
    return view


def token_button(
    button: Button, style: discord.ButtonStyle, *, row: int | None = None
) -> discord.ui.Button[Any]:
    """A button whose custom_id is the core's token (at most 100 characters, as Discord
    allows; the core's tokens are shorter)."""
    return discord.ui.Button(label=button.label[:80], style=style, custom_id=button.token, row=row)
