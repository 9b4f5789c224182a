"""Render core Replies for Telegram: HTML text (escaped here), inline keyboards, alert text.

Telegram's HTML parse mode needs only `<`, `>` and `&` escaped outside tags; code goes as
`<pre><code class="language-...">`. A message holds at most 4096 characters after entity
parsing (counted in UTF-16 code units), so a long Reply is split between blocks; a callback
alert holds at most 200 characters; callback_data at most 64 bytes.
"""

from __future__ import annotations

import html
import re
from typing import assert_never

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.core.common.replies import Block, Code, Countdown, Link, Paragraph, Reply

MESSAGE_MAX = 4096
ALERT_MAX = 200
CALLBACK_DATA_MAX = 64
URL_MAX = 2048  # a link's URL kept in the text
_SEPARATOR = "\n\n"
_LANGUAGE_RE = re.compile(r"[a-z0-9+#-]{1,20}")


def escape(text: str) -> str:
    return html.escape(text, quote=False)


# Telegram makes every "@username" in a message a mention, which notifies that member: in our
# text (a community's question may carry one) an invisible word joiner after "@" keeps it
# plain. Code blocks are left exact (a decorator there is not linked).
_MENTION = re.compile(r"@(?=\w)")


def inert(text: str) -> str:
    return _MENTION.sub("@\u2060", text)


def _host(url: str) -> str:
    return url.removeprefix("https://").removeprefix("http://").split("/", 1)[0][:100]


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _fit(text: str, limit: int) -> str:
    """`text` cut to at most `limit` UTF-16 code units, marked with an ellipsis when cut."""
    if utf16_len(text) <= limit:
        return text
    cut = text[: max(limit - 1, 0)]
    while utf16_len(cut) > limit - 1:
        cut = cut[:-1]
    return cut + "…"


def _block(block: Block, limit: int) -> tuple[str, int]:
    """(HTML, visible length) of one block, its text cut to `limit` visible characters."""
    match block:
        case Paragraph(text=text, bold=bold):
            visible = _fit(inert(text), limit)
            markup = f"<b>{escape(visible)}</b>" if bold else escape(visible)
        case Code(text=code, language=language):
            visible = _fit(code.strip("\n"), limit)
            attr = f' class="language-{language}"' if _LANGUAGE_RE.fullmatch(language) else ""
            markup = f"<pre><code{attr}>{escape(visible)}</code></pre>"
        case Countdown() as countdown:
            visible = _fit(f"⏱ {countdown.text}", limit)
            markup = escape(visible)
        case Link(label=label, url=url):
            # a link in the text (the senders turn link previews off), its host beside it
            host = _host(url)
            visible = f"{label} ({host})"
            if url.startswith("https://") and len(url) <= URL_MAX:
                href = html.escape(url, quote=True)
                markup = f'<a href="{href}">{escape(label)}</a> ({escape(host)})'
            else:
                markup = escape(visible)
        case _:
            assert_never(block)
    return markup, utf16_len(visible)


def html_messages(reply: Reply) -> list[str]:
    """The Reply's blocks as HTML, split between blocks into messages that each fit."""
    if not reply.blocks:
        raise ValueError("a Reply needs at least one block")
    messages: list[str] = []
    current: list[str] = []
    size = 0
    for block in reply.blocks:
        markup, length = _block(block, MESSAGE_MAX)
        extra = utf16_len(_SEPARATOR) if current else 0
        if current and size + extra + length > MESSAGE_MAX:
            messages.append(_SEPARATOR.join(current))
            current, size, extra = [], 0, 0
        current.append(markup)
        size += extra + length
    messages.append(_SEPARATOR.join(current))
    return messages


def keyboard(reply: Reply) -> InlineKeyboardMarkup | None:
    """Answer buttons (A-D) on one row, other actions ("Next question") on the next."""
    rows = [row for row in (reply.choices, reply.actions) if row]
    if not rows:
        return None
    for button in (*reply.choices, *reply.actions):
        if len(button.token.encode()) > CALLBACK_DATA_MAX:
            raise ValueError(f"button token longer than {CALLBACK_DATA_MAX} bytes")
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(b.label, callback_data=b.token) for b in row] for row in rows]
    )


def alert_text(reply: Reply) -> str:
    """Plain text for a callback alert: the Reply's summary, else its text, cut to fit."""
    return _fit(reply.summary or reply.plain_text(), ALERT_MAX)
